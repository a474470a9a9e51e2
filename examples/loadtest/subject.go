package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// subject is the server under test of one run: examples/server started for
// it, the -target, or the in-process wiring of -cpuprofile.
type subject struct {
	host string // host:port
	// pid is the server's process, for its RSS; 0 when it is not measured.
	pid int
	// users are the accounts created for the run, in the order asked.
	users []account
	// typical is the middle one of users as the store holds it (its id,
	// its creation time): the user the api scenario's baseline answers
	// for, whose email and id have as many digits as most users' (the
	// last user's id has one more than 9 in 10 of 10,000 users').
	typical zulipauth.User
	proc    *child // the server process, when the harness started it
	stop    func()
}

// account is a user seeded for a run: what the scenarios send.
type account struct {
	Email, APIKey string
}

// seedUser is an account a run needs. hash "" is an account without a
// local password (the ldap variant's: the directory holds the password).
type seedUser struct {
	email, hash string
}

// subjectSpec says what a run's server needs.
type subjectSpec struct {
	variant string
	// ldapOnly: -auth ldap, the directory alone deciding (timing's second
	// LDAP part), instead of the ldap variant's -auth ldap,password.
	ldapOnly bool
	users    []seedUser
}

// startSubject creates spec's users in a new database and starts a server
// on it: examples/server as a child process, with the variant's flags, or
// in this process with -cpuprofile. With -target it creates the users in
// -target-db instead, and the target serves them.
func (e *env) startSubject(ctx context.Context, spec subjectSpec) (*subject, error) {
	if e.o.target != "" {
		users, typical, err := seedUsers(ctx, e.o.targetDB, spec.users)
		if err != nil {
			return nil, err
		}
		host, err := hostOf(e.o.target)
		if err != nil {
			return nil, err
		}
		return &subject{host: host, pid: e.o.targetPID, users: users, typical: typical, stop: func() {}}, nil
	}
	dir, err := os.MkdirTemp(e.dir, "server-")
	if err != nil {
		return nil, err
	}
	db := filepath.Join(dir, "zulipauth.db")
	e.logf("creating %d users", len(spec.users))
	start := time.Now()
	users, typical, err := seedUsers(ctx, db, spec.users)
	if err != nil {
		return nil, err
	}
	e.logf("created %d users in %v", len(users), time.Since(start).Round(time.Millisecond))
	if e.o.cpuProfile != "" {
		s, err := e.startInProcess(ctx, db)
		if err != nil {
			return nil, err
		}
		s.users, s.typical = users, typical
		return s, nil
	}
	// e.jwt is set whenever the harness starts the server (see newEnv).
	args := []string{"serve", "-db", db, "-addr", "127.0.0.1:0", "-trusted-proxy", "127.0.0.1", "-jwt-keys", e.jwt.file}
	flags, err := e.variantFlags(spec, dir)
	if err != nil {
		return nil, err
	}
	args = append(args, flags...)
	proc, host, err := e.startServing(ctx, "examples/server", "server", e.serverBin, args, dir)
	if err != nil {
		return nil, err
	}
	return &subject{host: host, pid: proc.pid(), users: users, typical: typical, proc: proc, stop: proc.stop}, nil
}

// startInProcess serves the default wiring in this process (-cpuprofile),
// its log in -log-dir.
func (e *env) startInProcess(ctx context.Context, db string) (*subject, error) {
	log, err := e.openLog("in-process-server")
	if err != nil {
		return nil, err
	}
	var w io.Writer = io.Discard
	if log != nil {
		w = log
	}
	s, err := startInProcess(ctx, db, w, e.stderr)
	if err != nil {
		if log != nil {
			log.Close()
		}
		return nil, err
	}
	if log != nil {
		stop := s.stop
		s.stop = func() { stop(); log.Close() }
	}
	return s, nil
}

// redisTimeout is the redis variant's -redis-timeout: far above what a
// Redis call takes, even on a loaded machine, so that every decision the
// variant measures is Redis's. At the server's default (100 ms) a call
// slowed by the load the scenarios make is answered by the in-process
// fallback (alone: while Redis answers other calls, no outage begins), and
// a fresh fallback budget may let a refused attempt through, which the
// flood's checks would count against the server.
const redisTimeout = "5s"

// variantFlags are the server's flags for spec's variant.
func (e *env) variantFlags(spec subjectSpec, dir string) ([]string, error) {
	switch spec.variant {
	case "":
		return nil, nil
	case "redis":
		return []string{"-redis", e.redisAddr, "-redis-timeout", redisTimeout}, nil
	case "ldap":
		pwFile := filepath.Join(dir, "bind-password")
		if err := os.WriteFile(pwFile, []byte(e.directory.ServicePassword+"\n"), 0o600); err != nil {
			return nil, err
		}
		auth := "ldap,password"
		if spec.ldapOnly {
			auth = "ldap"
		}
		return []string{
			"-auth", auth, "-ldap-url", e.directory.URL,
			"-ldap-search-base", slapdtest.People, "-ldap-username-attr", "uid",
			"-ldap-bind-dn", e.directory.ServiceDN, "-ldap-bind-password-file", pwFile,
			"-ldap-append-domain", ldapDomain,
		}, nil
	}
	return nil, fmt.Errorf("unknown variant %q", spec.variant)
}

// peakRSSMiB is the server's peak resident set (VmHWM), 0 when not measured.
func (s *subject) peakRSSMiB() (float64, error) { return s.memory("VmHWM") }

// rssMiB is the server's resident set now (VmRSS), 0 when not measured.
func (s *subject) rssMiB() (float64, error) { return s.memory("VmRSS") }

// memory is a field of the server's /proc/PID/status in MiB, 0 when
// the server is not measured.
func (s *subject) memory(field string) (float64, error) {
	if s.pid == 0 {
		return 0, nil
	}
	kib, err := memoryKiB(s.pid, field)
	return mib(kib), err
}

// serverLog is the last lines of the server's log, for an error message.
func (s *subject) serverLog() string {
	if s.proc == nil {
		return "(not captured)"
	}
	lines := strings.Split(s.proc.tail(), "\n")
	return strings.Join(lines[max(0, len(lines)-8):], "\n")
}

// seedUsers creates users in the root realm of the SQLite database at path
// (created and migrated if new) with the store's ImportUsers, in one
// transaction: the api scenario's 100,000 users take seconds that way,
// where CreateUser, a transaction each, took about 170 µs a user. The
// harness draws the API keys (zulipauth.GenerateAPIKey, as the store
// would) so that it knows them without reading them back; every user of a
// run shares one hash, since what a login costs does not depend on the
// salt. The keys join the secrets. typical is users[len(users)/2] as the
// store holds it, read back by its key.
func seedUsers(ctx context.Context, path string, users []seedUser) (_ []account, typical zulipauth.User, err error) {
	st, err := sqlstore.Open(ctx, "sqlite", path)
	if err != nil {
		return nil, typical, fmt.Errorf("opening %s: %w", path, err)
	}
	defer st.Close()
	imports := make([]sqlstore.ImportUser, len(users))
	out := make([]account, len(users))
	for i, u := range users {
		out[i] = account{Email: u.email, APIKey: zulipauth.GenerateAPIKey()}
		imports[i] = sqlstore.ImportUser{Email: u.email, FullName: u.email, PasswordHash: u.hash, APIKey: out[i].APIKey}
		secrets.add(secretAPIKey, out[i].APIKey)
	}
	if len(users) == 0 {
		return out, typical, nil
	}
	if _, err := st.ImportUsers(ctx, imports); err != nil {
		return nil, typical, fmt.Errorf("creating %d users: %w", len(users), err)
	}
	mid := out[len(out)/2]
	if typical, err = st.UserByAPIKey(ctx, mid.APIKey); err != nil {
		return nil, typical, fmt.Errorf("reading back user %s: %w", mid.Email, err)
	}
	return out, typical, nil
}

// usersWithHash makes n seed users of a kind, all with hash.
func usersWithHash(ns namespace, kind string, n int, hash string) []seedUser {
	out := make([]seedUser, n)
	for i := range out {
		out[i] = seedUser{email: ns.email(kind, i), hash: hash}
	}
	return out
}

// hostOf is the host:port of a server URL such as http://127.0.0.1:9991.
func hostOf(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("%w: -target %q: give the server's http://HOST:PORT", errUsage, rawURL)
	}
	return u.Host, nil
}
