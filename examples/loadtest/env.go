package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/zulipauth/zulipauth-go/backends/password"
)

// The passwords of the scenarios' users. Not secrets: test accounts in
// databases the harness creates and deletes.
const (
	userPassword  = "correct horse battery staple"
	wrongPassword = "wrong horse battery staple"
)

// env is what the runs of one harness invocation share: a temporary folder,
// the server binary, the password hash of every user, the Redis and the
// directory of the variants, and a counter that gives each run addresses
// and usernames of its own.
type env struct {
	o      options
	stderr io.Writer
	dir    string // removed by close

	serverBin string // examples/server, built or given
	self      string // this program, for the baseline servers
	// hash is userPassword's argon2id hash with password.DefaultParams: one
	// for every user, since what a login costs does not depend on the salt.
	hash string

	redisAddr string     // the redis variant's, given or started
	redis     *child     // the redis-server started here, if any
	directory *directory // the ldap variant's slapd, if started

	footprint *footprint // measured once, by limiterFootprint

	runID     string // in every username, so that reruns against one Redis never share a budget
	nextBlock int
}

// newEnv prepares what plan needs: it builds the server (unless given or
// targeted), starts redis-server and slapd when a planned run needs them,
// and starts the CPU profile.
func newEnv(ctx context.Context, o options, plan []plannedRun, stderr io.Writer) (_ *env, err error) {
	e := &env{o: o, stderr: stderr, runID: strings.ToLower(rand.Text()[:6])}
	if e.dir, err = os.MkdirTemp("", "zulipauth-loadtest-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.self, err = os.Executable(); err != nil {
		return nil, fmt.Errorf("finding this program, for the baseline servers: %w", err)
	}
	needs := map[string]bool{}
	for _, p := range plan {
		needs[p.variant] = true
	}
	if err := e.prepareServer(ctx); err != nil {
		return nil, err
	}
	e.logf("hashing the users' password (argon2id, default parameters)")
	params := password.DefaultParams()
	if e.hash, err = argon2id.CreateHash(userPassword, &params); err != nil {
		return nil, err
	}
	if needs["redis"] {
		if err := e.prepareRedis(ctx); err != nil {
			return nil, err
		}
	}
	if needs["ldap"] {
		if e.directory, err = startDirectory(ctx, filepath.Join(e.dir, "slapd"), ldapEntries(o)); err != nil {
			return nil, err
		}
	}
	if o.cpuProfile != "" {
		if err := os.MkdirAll(o.cpuProfile, 0o755); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// prepareServer finds or builds the examples/server binary the runs start.
func (e *env) prepareServer(ctx context.Context) error {
	switch {
	case e.o.target != "" || e.o.cpuProfile != "":
		return nil
	case e.o.serverBin != "":
		e.serverBin = e.o.serverBin
		return nil
	}
	e.serverBin = filepath.Join(e.dir, "server")
	e.logf("building examples/server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", e.serverBin, "github.com/zulipauth/zulipauth-go/examples/server")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building examples/server (run from within the module, or give -server PATH): %v\n%s", err, out)
	}
	return nil
}

func (e *env) prepareRedis(ctx context.Context) error {
	if e.o.redisAddr != "" {
		e.redisAddr = e.o.redisAddr
		return nil
	}
	var err error
	e.redis, e.redisAddr, err = startRedis(ctx, filepath.Join(e.dir, "redis"))
	return err
}

// compare runs a scenario's comparison (see compare), with -cpuprofile
// DIR writing the CPU profile of this process during it to DIR/label.prof:
// the measured rounds alone, not the preparation (budgets spent by real
// verifications, say), so that the profile shows the path measured. The
// profile holds the client's stacks too; the server's are those under
// net/http.(*conn).serve.
func (e *env) compare(ctx context.Context, label string, base, subject func(time.Duration) tally) comparison {
	if e.o.cpuProfile == "" {
		return compare(ctx, e.o.rounds, e.o.duration, base, subject)
	}
	name := filepath.Join(e.o.cpuProfile, label+".prof")
	f, err := os.Create(name)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "loadtest: -cpuprofile %s: %v\n", name, err)
		return compare(ctx, e.o.rounds, e.o.duration, base, subject)
	}
	defer func() {
		pprof.StopCPUProfile()
		f.Close()
		e.logf("wrote %s", name)
	}()
	return compare(ctx, e.o.rounds, e.o.duration, base, subject)
}

// close stops what newEnv started and removes the temporary folder.
func (e *env) close() {
	if e.redis != nil {
		e.redis.stop()
	}
	if e.directory != nil {
		e.directory.stop()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// logf reports progress on standard error with -v.
func (e *env) logf(format string, args ...any) {
	if e.o.verbose {
		fmt.Fprintf(e.stderr, "loadtest: %s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// describeSubject says what is under test, for the report's header.
func (e *env) describeSubject() string {
	switch {
	case e.o.target != "":
		return "target " + e.o.target
	case e.o.cpuProfile != "":
		return "examples/server's wiring in this process (-cpuprofile)"
	case e.o.serverBin != "":
		return "server " + e.o.serverBin
	}
	return "examples/server built from this module"
}

// namespace is one run's own client addresses and usernames: budgets and
// accounts that no other run of this invocation (nor, for usernames, of
// another invocation against the same Redis or target) touches.
type namespace struct {
	block int // 2^18 addresses of 10.0.0.0/8
	tag   string
}

// addressesPerBlock is how many client addresses a run may use: more than
// a MemoryLimiter holds (zulipauth.DefaultMaxKeys), so that a flood can
// push the limiter to its bound.
const addressesPerBlock = 1 << 18

func (e *env) namespace() namespace {
	ns := namespace{block: e.nextBlock % 64, tag: fmt.Sprintf("%s%d", e.runID, e.nextBlock)}
	e.nextBlock++
	return ns
}

// addr is the run's i-th client address.
func (ns namespace) addr(i uint64) netip.Addr {
	v := uint32(10)<<24 | uint32(ns.block)<<18 | uint32(i%addressesPerBlock)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// email is the run's i-th username of a kind ("u" for users that exist,
// "nobody" for ones that do not...).
func (ns namespace) email(kind string, i int) string {
	return fmt.Sprintf("%s%d.%s@zulip.test", kind, i, ns.tag)
}

// startBaseline starts a baseline server of kind (see baselineserver.go),
// this program run again, and returns it and its host:port.
func (e *env) startBaseline(ctx context.Context, kind string) (*child, string, error) {
	return startServing(ctx, "the "+kind+" baseline", e.self, []string{"-serve-baseline", kind}, e.dir)
}
