package ldap_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// benchUsers is how many directory entries (and accounts) the benchmark
// logs in, in turn.
const benchUsers = 32

// benchRound is how long each side runs per round. Rounds alternate the
// sides, and which goes first, so that drift in the machine's speed (two
// cores shared with slapd and other work) falls on both alike; the median
// of the rounds' ratios is reported, so that a burst of noise during one
// round does not move it.
const (
	benchRound  = 200 * time.Millisecond
	benchRounds = 16
)

func benchUID(i int) string { return fmt.Sprintf("user%02d", i) }

func benchPassword(i int) string { return fmt.Sprintf("password-%02d", i) }

// benchLDIF is benchUsers entries, uid=userNN, password password-NN.
func benchLDIF() string {
	var b strings.Builder
	for i := range benchUsers {
		b.WriteString(slapdtest.Person("uid="+benchUID(i)+","+slapdtest.People, benchUID(i), "User "+benchUID(i), benchUID(i)+"@zulip.com", benchPassword(i)))
		b.WriteString("\n\n")
	}
	return b.String()
}

// measured is one side's share of a round.
type measured struct {
	perSec float64       // successful operations per second
	failed int64         // failed operations
	cpu    time.Duration // this process's CPU time (user and system), slapd's not included
	ops    int64         // successful operations
}

// throughput runs the op each worker gets from newOp, from workers
// goroutines, for d.
func throughput(d time.Duration, workers int, newOp func(worker int) func(i int) bool) measured {
	var ok, failed atomic.Int64
	ops := make([]func(int) bool, workers)
	for w := range ops {
		ops[w] = newOp(w)
	}
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline); i += workers {
				if ops[w](i) {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	return measured{float64(ok.Load()) / elapsed.Seconds(), failed.Load(), cpu, ok.Load()}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLogin compares, in one run and at the same concurrency, LDAP
// logins through zulipauth's fetch_api_key handler (this Authenticator,
// memstore, rate limits raised; the request served in process) with bare
// go-ldap operations doing the same directory work for the same users:
//   - dn-template: a login is one bind (UserDNTemplate, AppendDomain),
//     against one go-ldap Bind on a connection of the worker's own;
//   - search: a login is a search as the service account and the user's
//     bind (UsernameAttr, EmailAttr), against the same Search and Bind on
//     two connections of the worker's own.
//
// ratio is the median over the rounds of handler logins/s over bare
// operations/s (target >= 0.9). Run:
//
//	go test -run '^$' -bench Login -benchtime 1x ./backends/ldap
func BenchmarkLogin(b *testing.B) {
	d := slapdtest.Start(b, slapdtest.Options{LDIF: benchLDIF()})
	workers := 2 * runtime.GOMAXPROCS(0)
	for _, mode := range []struct {
		name   string
		cfg    func(*slapdtest.Directory, zulipauth.UserStore) ldap.Config
		domain string
		bare   func(b *testing.B, d *slapdtest.Directory) func(worker int) func(i int) bool
	}{
		{"dn-template", templateConfig, "example.org", bareBinds},
		{"search", searchConfig, "zulip.com", bareSearchAndBind},
	} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			users := memstore.New()
			for i := range benchUsers {
				if _, err := users.CreateUser(b.Context(), zulipauth.NewUser{Email: benchUID(i) + "@" + mode.domain}); err != nil {
					b.Fatal(err)
				}
			}
			cfg := mode.cfg(d, users)
			cfg.MaxConns = workers
			h := loginHandler(b, users, newAuth(b, cfg), io.Discard).FetchAPIKeyHandler()
			forms := make([]string, benchUsers)
			for i := range forms {
				forms[i] = url.Values{"username": {benchUID(i)}, "password": {benchPassword(i)}}.Encode()
			}
			target, _ := url.Parse("http://zulip.example.org/api/v1/fetch_api_key")
			header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			handler := func(int) func(int) bool {
				w := &discardWriter{header: make(http.Header)}
				header := header.Clone() // one per worker
				return func(i int) bool {
					// As net/http's server builds it, without httptest's
					// parsing: the harness's cost is not the login's.
					form := forms[i%benchUsers]
					req := &http.Request{
						Method: http.MethodPost, URL: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
						Header: header, Body: io.NopCloser(strings.NewReader(form)), ContentLength: int64(len(form)),
						Host: target.Host, RemoteAddr: "192.0.2.1:4711", RequestURI: target.Path,
					}
					w.reset()
					h.ServeHTTP(w, req)
					return w.status == http.StatusOK
				}
			}
			bare := mode.bare(b, d)
			throughput(benchRound, workers, handler) // warm both up: pools, slapd's caches
			throughput(benchRound, workers, bare)
			b.ResetTimer()
			for range b.N {
				var logins, ops, allocs float64
				var failed, nLogins, nOps int64
				var cpuLogins, cpuOps time.Duration
				ratios := make([]float64, benchRounds)
				for round := range benchRounds {
					var before, after runtime.MemStats
					var o measured
					if round%2 == 1 { // ABBA: neither side always runs first
						o = throughput(benchRound, workers, bare)
					}
					runtime.ReadMemStats(&before)
					l := throughput(benchRound, workers, handler)
					runtime.ReadMemStats(&after)
					if round%2 == 0 {
						o = throughput(benchRound, workers, bare)
					}
					logins, ops = logins+l.perSec/benchRounds, ops+o.perSec/benchRounds
					failed += l.failed + o.failed
					nLogins, nOps, cpuLogins, cpuOps = nLogins+l.ops, nOps+o.ops, cpuLogins+l.cpu, cpuOps+o.cpu
					allocs += float64(after.Mallocs-before.Mallocs) / float64(max(l.ops, 1)) / benchRounds
					ratios[round] = l.perSec / o.perSec
				}
				slices.Sort(ratios)
				b.ReportMetric(logins, "logins/s")
				b.ReportMetric(ops, "bare/s")
				b.ReportMetric((ratios[benchRounds/2-1]+ratios[benchRounds/2])/2, "ratio")
				b.ReportMetric(logins/ops, "mean_ratio")
				b.ReportMetric(allocs, "allocs/login")
				// The client's own CPU per operation: what this process
				// spends, apart from the directory's work and the machine's
				// noise.
				b.ReportMetric(float64(cpuLogins.Microseconds())/float64(max(nLogins, 1)), "cpu-us/login")
				b.ReportMetric(float64(cpuOps.Microseconds())/float64(max(nOps, 1)), "cpu-us/bare")
				b.ReportMetric(float64(failed), "failed")
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, reused by one worker.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status = 0
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

// bareBinds gives each worker a connection of its own, on which it binds
// as the users in turn.
func bareBinds(b *testing.B, d *slapdtest.Directory) func(int) func(int) bool {
	conns := benchConns(b, d, 2*runtime.GOMAXPROCS(0), "")
	return func(w int) func(int) bool {
		c := conns[w]
		return func(i int) bool {
			return c.Bind("uid="+benchUID(i%benchUsers)+","+slapdtest.People, benchPassword(i%benchUsers)) == nil
		}
	}
}

// bareSearchAndBind gives each worker a connection bound as the service
// account, on which it searches for the user as searchConfig's logins do,
// and another on which it binds as the entry found.
func bareSearchAndBind(b *testing.B, d *slapdtest.Directory) func(int) func(int) bool {
	workers := 2 * runtime.GOMAXPROCS(0)
	searchers, binders := benchConns(b, d, workers, d.ServiceDN), benchConns(b, d, workers, "")
	return func(w int) func(int) bool {
		s, c := searchers[w], binders[w]
		return func(i int) bool {
			res, err := s.Search(&goldap.SearchRequest{
				BaseDN: d.BaseDN, Scope: goldap.ScopeWholeSubtree, SizeLimit: 2,
				Filter:     "(&(objectClass=inetOrgPerson)(uid=" + goldap.EscapeFilter(benchUID(i%benchUsers)) + "))",
				Attributes: []string{"mail"},
			})
			if err != nil || len(res.Entries) != 1 {
				return false
			}
			return c.Bind(res.Entries[0].DN, benchPassword(i%benchUsers)) == nil
		}
	}
}

// benchConns opens n go-ldap connections, bound as bindDN when it is set.
func benchConns(b *testing.B, d *slapdtest.Directory, n int, bindDN string) []*goldap.Conn {
	conns := make([]*goldap.Conn, n)
	for i := range conns {
		c, err := goldap.DialURL(d.URL)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		if bindDN != "" {
			if err := c.Bind(bindDN, d.ServicePassword); err != nil {
				b.Fatal(err)
			}
		}
		conns[i] = c
	}
	return conns
}

// BenchmarkAuthenticateUnknownVsWrongPassword times, one login at a time,
// the failures a client can provoke without knowing a password, next to a
// wrong password for a known user: a username with no entry must cost what
// a wrong password costs, or the time of the answer tells which usernames
// the directory holds. Each sub-benchmark is one path, calling
// Authenticate directly (no handler, no rate limits), so ns/op is the
// directory's work plus this package's:
//   - search: search-then-bind by uid; unknown-user (the search finds no
//     entry), wrong-password, several-entries (two entries with one uid);
//   - search-by-email: the same with a username that is an email, looked up
//     by mail first, then by uid (Zulip's AUTH_LDAP_REVERSE_EMAIL_SEARCH);
//   - dn-template: UserDNTemplate with emails from the entry and
//     OrgMembershipAttr; unknown-user (a bind to a DN with no entry),
//     wrong-password, unmapped (a username refused before the directory is
//     asked), and, with the right password, not-member and no-account.
//
// In each mode, paired then runs unknown-user and wrong-password in turn,
// alternating which goes first, and reports the median latency of each
// (unknown-ns, wrong-ns) and their ratio (median-ratio: the issue's
// measure, whose goal is 1 within 5%). Read that rather than the ratio of
// two sub-benchmarks' ns/op: those run one after the other (with -count,
// each its count of times in a row), and on a machine shared with other
// work the load changes between them, while paired's two sides share it.
// Run:
//
//	go test -run '^$' -bench AuthenticateUnknownVsWrongPassword -count 5 ./backends/ldap
func BenchmarkAuthenticateUnknownVsWrongPassword(b *testing.B) {
	d := slapdtest.Start(b, slapdtest.Options{LDIF: dupLDIF})
	zulip := zulipauth.Realm{Subdomain: "zulip"}
	type path struct {
		name               string
		username, password string
	}
	// Each mode's paths start with unknown-user and wrong-password, which
	// paired compares.
	for _, mode := range []struct {
		name  string
		cfg   ldap.Config
		realm zulipauth.Realm
		paths []path
	}{
		{"search", searchConfig(d, memstore.New()), root, []path{
			{"unknown-user", "nobody", slapdtest.HamletPassword},
			{"wrong-password", slapdtest.HamletUID, "wrong-password"},
			{"several-entries", "dup", "dup-password"},
		}},
		{"search-by-email", searchConfig(d, memstore.New()), root, []path{
			{"unknown-user", "nobody@zulip.com", slapdtest.HamletPassword},
			{"wrong-password", slapdtest.HamletMail, "wrong-password"},
		}},
		{"dn-template", ldap.Config{
			Users: memstore.New(), URL: d.URL, UserDNTemplate: slapdtest.UserDNTemplate,
			EmailAttr: "mail", OrgMembershipAttr: "o",
		}, zulip, []path{
			{"unknown-user", "nobody", slapdtest.HamletPassword},
			{"wrong-password", slapdtest.HamletUID, "wrong-password"},
			{"unmapped", "hamlet\x00", slapdtest.HamletPassword},
			// With the password: othello is not in the zulip organisation,
			// and hamlet has no account in the (empty) store.
			{"not-member", slapdtest.OthelloUID, slapdtest.OthelloPassword},
			{"no-account", slapdtest.HamletUID, slapdtest.HamletPassword},
		}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := mode.cfg
			cfg.Logger = slog.New(slog.DiscardHandler) // several-entries warns at every login
			a := newAuth(b, cfg)
			attempts := make([]zulipauth.Attempt, len(mode.paths))
			for i, p := range mode.paths {
				attempts[i] = zulipauth.Attempt{Realm: mode.realm, Username: p.username, Password: p.password}
			}
			fail := func(b *testing.B, i int) {
				if _, err := a.Authenticate(b.Context(), attempts[i]); !errors.Is(err, zulipauth.ErrBadCredentials) {
					b.Fatalf("Authenticate(%q) = %v, want ErrBadCredentials", attempts[i].Username, err)
				}
			}
			for i, p := range mode.paths {
				b.Run(p.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						fail(b, i)
					}
				})
			}
			b.Run("paired", func(b *testing.B) {
				var latencies [2][]time.Duration // unknown-user, wrong-password
				for n := 0; b.Loop(); n++ {
					for k := range 2 {
						i := (n + k) % 2
						start := time.Now()
						fail(b, i)
						latencies[i] = append(latencies[i], time.Since(start))
					}
				}
				unknown, wrong := medianDuration(latencies[0]), medianDuration(latencies[1])
				b.ReportMetric(float64(unknown.Nanoseconds()), "unknown-ns")
				b.ReportMetric(float64(wrong.Nanoseconds()), "wrong-ns")
				b.ReportMetric(float64(unknown)/float64(wrong), "median-ratio")
			})
		})
	}
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	if n := len(ds); n%2 == 0 {
		return (ds[n/2-1] + ds[n/2]) / 2
	}
	return ds[len(ds)/2]
}
