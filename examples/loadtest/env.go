package main

import (
	"context"
	"crypto/rand"
	"errors"
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

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
)

// The passwords of the scenarios' users: test accounts in databases the
// harness creates and deletes, worth nothing outside a run, and still
// secrets no log may show (see secrets.go).
const (
	userPassword  = "correct horse battery staple"
	wrongPassword = "wrong horse battery staple"
)

// env is what the runs of one harness invocation share: a temporary folder,
// the server binary, the password hash of every user, the JWT key every
// server loads, the Redis and the directory of the variants, the children
// started, and a counter that gives each run addresses and usernames of
// its own.
type env struct {
	o      options
	stderr io.Writer
	dir    string // removed by close

	serverBin string // examples/server, built or given
	self      string // this program, for the baseline servers
	// hash is userPassword's argon2id hash with password.DefaultParams: one
	// for every user, since what a login costs does not depend on the salt.
	hash string
	// jwt is the key of the servers' -jwt-keys, nil where the harness does
	// not configure the server (-target, -cpuprofile).
	jwt *jwtKey

	redisAddr string               // the redis variant's, given or started
	redis     *redistest.Server    // the redis-server started here, if any
	directory *slapdtest.Directory // the ldap variant's slapd, if started

	footprint *footprint // measured once, by limiterFootprint

	// run is the label of the run under way (logins/redis), which names the
	// log files of the children it starts.
	run      string
	children []*child // every child started, stopped by close
	logs     int      // log files opened so far, numbering them

	runID     string // in every username, so that reruns against one Redis never share a username's budget
	nextBlock int
}

// newEnv prepares what plan needs: it builds the server (unless given or
// targeted), writes the JWT key file, starts redis-server and slapd when a
// planned run needs them, and creates the folders of -cpuprofile and
// -log-dir.
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
	if o.logDir != "" {
		if err := os.MkdirAll(o.logDir, 0o700); err != nil {
			return nil, fmt.Errorf("-log-dir: %w", err)
		}
	}
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
	secrets.add(secretPassword, userPassword)
	secrets.add(secretPassword, wrongPassword)
	e.logf("hashing the users' password (argon2id, default parameters)")
	params := password.DefaultParams()
	if e.hash, err = argon2id.CreateHash(userPassword, &params); err != nil {
		return nil, err
	}
	secrets.add(secretPasswordHash, e.hash)
	if o.target == "" && o.cpuProfile == "" {
		if e.jwt, err = newJWTKey(e.dir); err != nil {
			return nil, err
		}
	}
	if needs["redis"] {
		if err := e.prepareRedis(); err != nil {
			return nil, err
		}
	}
	if needs["ldap"] {
		e.logf("starting slapd with %d people", ldapPeople(o))
		if e.directory, err = startDirectory(ldapPeople(o)); err != nil {
			return nil, err
		}
		secrets.add(secretLDAPServicePassword, e.directory.ServicePassword)
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

// prepareRedis takes -redis, or starts a redis-server for -redis-server.
func (e *env) prepareRedis() error {
	if e.o.redisAddr != "" {
		e.redisAddr = e.o.redisAddr
		return nil
	}
	e.logf("starting redis-server")
	s, err := redistest.Launch()
	if errors.Is(err, redistest.ErrNotInstalled) {
		return fmt.Errorf("-redis-server: %w", err)
	}
	if err != nil {
		return err
	}
	e.redis, e.redisAddr = s, s.Addr()
	return nil
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

// close stops what newEnv and the runs started, writes redis-server's and
// slapd's logs and secrets.json into -log-dir, and removes the temporary
// folder. Its error says that a log of -log-dir is incomplete.
func (e *env) close() error {
	var errs []error
	for _, c := range e.children {
		c.stop() // a run stops its own; this is for one that returned early
		if err := c.out.logFailure(); err != nil {
			errs = append(errs, fmt.Errorf("-log-dir: the log of %s is incomplete: %w", c.name, err))
		}
	}
	if e.redis != nil {
		errs = append(errs, e.saveLog("redis-server", e.redis.Log()))
		e.redis.Close()
	}
	if e.directory != nil {
		e.directory.Stop() // slapd's last words are in the log once it has exited
		errs = append(errs, e.saveLog("slapd", e.directory.Log()))
		e.directory.Close()
	}
	if e.o.logDir != "" {
		errs = append(errs, secrets.writeFile(filepath.Join(e.o.logDir, secretsFile)))
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
	return errors.Join(errs...)
}

// openLog creates, with -log-dir, the log file of a child of the run under
// way: NN-RUN.NAME.log (03-flood-redis.server.log), NN numbering the files
// in the order they were opened. Without -log-dir it returns nil, nil.
func (e *env) openLog(name string) (io.WriteCloser, error) {
	if e.o.logDir == "" {
		return nil, nil
	}
	e.logs++
	label := strings.NewReplacer("/", "-", " ", "-").Replace(e.run + "." + name)
	f, err := os.OpenFile(filepath.Join(e.o.logDir, fmt.Sprintf("%02d-%s.log", e.logs, label)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("-log-dir: %w", err)
	}
	return f, nil
}

// saveLog writes, with -log-dir, the log of a server started with
// redistest or slapdtest, which keep it themselves, as DIR/NAME.log.
func (e *env) saveLog(name, log string) error {
	if e.o.logDir == "" {
		return nil
	}
	if err := os.WriteFile(filepath.Join(e.o.logDir, name+".log"), []byte(log), 0o600); err != nil {
		return fmt.Errorf("-log-dir: %w", err)
	}
	return nil
}

// startServing starts a child that logs a "serving" line (see
// startServing), with its log in -log-dir named after logName, and keeps it
// for close.
func (e *env) startServing(ctx context.Context, name, logName, bin string, args []string, dir string) (*child, string, error) {
	log, err := e.openLog(logName)
	if err != nil {
		return nil, "", err
	}
	c, host, err := startServing(ctx, name, bin, args, dir, log)
	if err != nil {
		return nil, "", err
	}
	e.children = append(e.children, c)
	return c, host, nil
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

// namespace gives the next run its addresses and usernames. The blocks
// repeat after 64 runs, far more than one invocation makes.
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
// this program run again with args after -serve-baseline KIND, and returns
// it and its host:port.
func (e *env) startBaseline(ctx context.Context, kind string, args ...string) (*child, string, error) {
	return e.startServing(ctx, "the "+kind+" baseline", kind+"-baseline", e.self, append([]string{"-serve-baseline", kind}, args...), e.dir)
}
