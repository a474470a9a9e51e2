package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Each backend the server depends on is killed and restarted while the
// server is under load: PostgreSQL, Redis, slapd. While it is down every
// answer is Zulip JSON (or the documented fallback), nothing panics; once it
// is back, full service returns within 2 s; afterwards no goroutine or
// connection is left over, and every user and API key is intact.

// loadResult counts what a load run saw.
type loadResult struct {
	mu       sync.Mutex
	statuses map[int]int
	bad      []string // transport errors and non-JSON answers
}

func (r *loadResult) add(status int, body []byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.bad = append(r.bad, err.Error())
		return
	}
	r.statuses[status]++
	if !strings.HasPrefix(string(body), `{"result":`) {
		r.bad = append(r.bad, fmt.Sprintf("%d %q", status, body))
	}
}

// underLoad runs requests from workers goroutines until stop is closed:
// logins (right and wrong passwords) and API requests with key.
func underLoad(t *testing.T, base, username, password, email, key string, stop <-chan struct{}) *loadResult {
	t.Helper()
	res := &loadResult{statuses: map[int]int{}}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	t.Cleanup(client.CloseIdleConnections)
	var wg sync.WaitGroup
	var n atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var req *http.Request
				switch (w + i) % 3 {
				case 0:
					pw := password
					if i%2 == 1 {
						pw = "wrong"
					}
					form := url.Values{"username": {username}, "password": {pw}}
					req, _ = http.NewRequest("POST", base+"/api/v1/fetch_api_key", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				default:
					req, _ = http.NewRequest("GET", base+"/api/v1/users/me", nil)
					req.SetBasicAuth(email, key)
				}
				// Many client addresses, so the load is not refused by one
				// client's budget (the server trusts the loopback proxy).
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", n.Add(1)%250+1))
				resp, err := client.Do(req)
				if err != nil {
					res.add(0, nil, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				res.add(resp.StatusCode, body, nil)
			}
		}()
	}
	t.Cleanup(wg.Wait)
	return res
}

// check fails the test on any transport error, non-JSON answer or status
// outside allowed.
func (r *loadResult) check(t *testing.T, phase string, allowed ...int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		t.Errorf("%s: %d bad answers, e.g. %q", phase, len(r.bad), r.bad[:min(3, len(r.bad))])
	}
	for status, n := range r.statuses {
		if !slices.Contains(allowed, status) {
			t.Errorf("%s: %d answers with status %d", phase, n, status)
		}
	}
}

// goroutinesSettle waits for the goroutine count to come back to at most
// baseline plus slack (connections closing, timers firing), and fails with
// the stacks if it does not within 5 s.
func goroutinesSettle(t *testing.T, baseline, slack int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline+slack {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines after the outage, %d before: a leak\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tcpConnsTo counts the established TCP connections to port on loopback,
// as the kernel lists them.
func tcpConnsTo(t *testing.T, port int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	want := fmt.Sprintf(":%04X", port)
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 3 && strings.HasSuffix(f[2], want) && f[3] == "01" { // rem_address, ESTABLISHED
			n++
		}
	}
	return n
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// afterOutage checks what every outage test checks once the backend is
// back: the user and its key as before the outage, then, with the clients
// gone, at most maxConns connections to the backend at addr (its pool's idle
// ones; not counted when addr is "") and the goroutines back near baseline.
func afterOutage(t *testing.T, st *sqlstore.Store, srv *httptest.Server, email string, keys []string, baseline int, backend, addr string, maxConns int) {
	t.Helper()
	if got := usersSnapshot(t, st, email); !slices.Equal(got, keys) {
		t.Errorf("users after the outage %v, want %v", got, keys)
	}
	srv.CloseClientConnections()
	if addr != "" {
		if n := tcpConnsTo(t, portOf(t, addr)); n > maxConns {
			t.Errorf("%d connections to %s after the load, want at most the pool's idle ones (%d)", n, backend, maxConns)
		}
	}
	srv.Close()
	goroutinesSettle(t, baseline, 20)
}

// usersSnapshot is every user's id, email and API key, to compare before
// and after an outage.
func usersSnapshot(t *testing.T, st *sqlstore.Store, emails ...string) []string {
	t.Helper()
	var out []string
	for _, e := range emails {
		u, err := st.UserByEmail(context.Background(), "", e)
		if err != nil {
			t.Fatalf("user %s: %v", e, err)
		}
		out = append(out, fmt.Sprintf("%d %s %s", u.ID, u.Email, u.APIKey))
	}
	return out
}

// inProcessServer serves buildHandler's mux over loopback, trusting the
// loopback proxy's X-Forwarded-For, and returns its logs.
func inProcessServer(t *testing.T, st *sqlstore.Store, mutate func(*serveConfig)) (*httptest.Server, *lockedWriter) {
	t.Helper()
	logs := &lockedWriter{w: &strings.Builder{}}
	c := serveConfig{}
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	c.ClientIPHeader = "X-Forwarded-For"
	c.auth.methods = []string{"password"}
	if mutate != nil {
		mutate(&c)
	}
	h, stop, err := buildHandler(st, c, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); stop() })
	return srv, logs
}

// outage runs load, takes the backend down for a second, brings it back,
// and checks the answers of each phase; it returns what the load saw while
// the backend was down.
func outage(t *testing.T, base, username, password, email, key string, down, up func(), duringDown []int) *loadResult {
	t.Helper()
	stop := make(chan struct{})
	before := underLoad(t, base, username, password, email, key, stop)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	before.check(t, "before", 200, 401, 429)

	stop = make(chan struct{})
	down()
	during := underLoad(t, base, username, password, email, key, stop)
	time.Sleep(time.Second)
	close(stop)
	during.check(t, "while down", duringDown...)
	up()

	// Full service within 2 s: a correct login and an API request succeed.
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, _ := login(t, base, username, password)
		meCode, _ := do(t, "GET", base+"/api/v1/users/me", nil, http.Header{"Authorization": {"Basic " + basicCreds(email, key)}})
		if code == 200 && meCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no full service 2 s after the restart: login %d, users/me %d", code, meCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return during
}

// count is how many answers of r had status.
func (r *loadResult) count(status int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statuses[status]
}

func TestRedisKilledUnderLoad(t *testing.T) {
	redis := redistest.Start(t)
	db := tempDB(t)
	u := parseUser(t, mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com"))
	st, err := sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	baseline := runtime.NumGoroutine()
	srv, logs := inProcessServer(t, st, func(c *serveConfig) {
		c.redis = redis.Addr()
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
	})
	keys := usersSnapshot(t, st, "iago@zulip.com")
	// The fallback limits in process, so every answer is a Zulip one.
	during := outage(t, srv.URL, "iago@zulip.com", "a long password", "iago@zulip.com", u.APIKey, redis.Kill, redis.Restart, []int{200, 401, 429})
	if during.count(200) == 0 {
		t.Error("no login or API request succeeded while Redis was down: the fallback did not take over")
	}
	if !strings.Contains(logs.String(), "Redis") {
		t.Error("the outage was not logged")
	}
	afterOutage(t, st, srv, "iago@zulip.com", keys, baseline, "Redis", redis.Addr(), 10)
}

func TestSlapdKilledUnderLoad(t *testing.T) {
	dir := slapdtest.Start(t, slapdtest.Options{})
	db := tempDB(t)
	st, err := sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	baseline := runtime.NumGoroutine()
	srv, _ := inProcessServer(t, st, func(c *serveConfig) {
		c.auth.methods = []string{"ldap", "password"}
		c.auth.ldap = ldapFlags{url: dir.URL, userDNTemplate: slapdtest.UserDNTemplate, appendDomain: "zulip.com", createUsers: true, timeout: time.Second}
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
		c.UsernameLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
	})
	code, body := login(t, srv.URL, slapdtest.HamletUID, slapdtest.HamletPassword)
	if code != 200 {
		t.Fatalf("hamlet: %d %v", code, body)
	}
	key, _ := body["api_key"].(string)
	keys := usersSnapshot(t, st, slapdtest.HamletMail)
	// While the directory is down a login is a fault (500), never a wrong
	// password; API requests do not need it.
	// (429: the user's own API budget, 200 a minute.)
	if during := outage(t, srv.URL, slapdtest.HamletUID, slapdtest.HamletPassword, slapdtest.HamletMail, key, dir.Stop, dir.Restart, []int{200, 401, 429, 500}); during.count(500) == 0 {
		t.Error("no login was a fault while slapd was down: was it down?")
	}
	afterOutage(t, st, srv, slapdtest.HamletMail, keys, baseline, "slapd", dir.URL, 16) // its two pools
}

func TestPostgresKilledUnderLoad(t *testing.T) {
	pg := startPrivatePostgres(t)
	ctx := context.Background()
	mustAdminArgsPG := func(stdin string, args ...string) string {
		var out strings.Builder
		all := append([]string{args[0], "-postgres", pg.dsn}, args[1:]...)
		if err := run(ctx, all, strings.NewReader(stdin), &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", all, err)
		}
		return out.String()
	}
	u := parseUser(t, mustAdminArgsPG("a long password\n", "create-user", "-email", "iago@zulip.com"))
	st, err := sqlstore.Open(ctx, "postgres", pg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	baseline := runtime.NumGoroutine()
	srv, logs := inProcessServer(t, st, func(c *serveConfig) {
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
		c.UsernameLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
	})
	keys := usersSnapshot(t, st, "iago@zulip.com")
	if during := outage(t, srv.URL, "iago@zulip.com", "a long password", "iago@zulip.com", u.APIKey, pg.kill, pg.start, []int{200, 401, 429, 500}); during.count(500) == 0 {
		t.Error("no request was a fault while PostgreSQL was down: was it down?")
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Error("the outage's faults were not logged")
	}
	afterOutage(t, st, srv, "iago@zulip.com", keys, baseline, "", "", 0)
}

// privatePostgres is a PostgreSQL cluster of one test, in a temporary
// directory on a free port, that the test may kill: the shared server of
// ZULIPAUTH_TEST_POSTGRES serves the other tests.
type privatePostgres struct {
	t        *testing.T
	bin, dir string
	port     int
	dsn      string
	cred     *syscall.Credential // the postgres user's, when running as root
	cmd      *exec.Cmd
	done     chan struct{}
}

// startPrivatePostgres runs initdb and postgres from Debian's package as the
// postgres user (PostgreSQL refuses to run as root).
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	postgresDSN(t) // skip (or fail in CI) where the tests have no PostgreSQL at all
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		t.Fatal("no /usr/lib/postgresql/*/bin/postgres (Debian's postgresql package)")
	}
	slices.Sort(bins)
	p := &privatePostgres{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "zulipauth-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p.dir = dir
	if os.Geteuid() == 0 {
		pgUser, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	out, err := p.command(filepath.Join(p.bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	p.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", p.port)
	p.start()
	t.Cleanup(p.kill)
	return p
}

// command runs name as the postgres user when the test runs as root, in a
// process group of its own, so that kill reaches the postmaster's children.
func (p *privatePostgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	return cmd
}

// start runs postgres and waits until it accepts connections.
func (p *privatePostgres) start() {
	p.t.Helper()
	p.cmd = p.command(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.dir, "data"), "-p", strconv.Itoa(p.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+p.dir, "-c", "fsync=on")
	var log strings.Builder
	p.cmd.Stdout, p.cmd.Stderr = &log, &log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(p.cmd, p.done)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), time.Second); err == nil {
			c.Close()
			if out, err := p.command(filepath.Join(p.bin, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(p.port)).CombinedOutput(); err == nil {
				return
			} else if time.Now().After(deadline) {
				p.t.Fatalf("postgres not ready: %s", out)
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("postgres did not start:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops the whole cluster at once (SIGKILL to its process group), as
// a crash would.
func (p *privatePostgres) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	// The postmaster's children notice its death; wait until the port is free.
	for range 100 {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), 100*time.Millisecond); err != nil {
			break
		} else {
			c.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.cmd = nil
}
