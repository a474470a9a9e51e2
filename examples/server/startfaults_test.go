package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
)

// parsePostgres parses a DSN as serve does.
func parsePostgres(t *testing.T, dsn string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// withDSN is dsn changed by f.
func withDSN(t *testing.T, dsn string, f func(u *url.URL)) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	f(u)
	return u.String()
}

// refusedPort is a loopback address where nothing listens.
func refusedPort(t *testing.T) string { return "127.0.0.1:" + freePort(t) }

// silentPort is a loopback address that accepts connections and never
// answers, as a hung server or a half-open proxy does.
func silentPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// Without its PostgreSQL, serve exits with one line saying what is wrong
// and what to do: the real cause, never the TLS attempt sslmode=prefer
// made first (pgx reported that first: "tls error: server refused TLS
// connection ... FATAL: database "nosuchdb" does not exist"), and never
// the password. Each against a real server: the shared one for a missing
// database and a wrong password, a port nothing listens on, one that
// never answers, and a private cluster without TLS for sslmode=require.
func TestServeNamesPostgresFaults(t *testing.T) {
	dsn := postgresDSN(t)
	var b [4]byte
	rand.Read(b[:])
	wrongPassword := "wrong-password-" + hex.EncodeToString(b[:])
	missing := "zulipauth_nosuchdb_" + hex.EncodeToString(b[:])
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
		want []string
	}{
		{"missing database", func(t *testing.T) string {
			return withDSN(t, dsn, func(u *url.URL) { u.Path = "/" + missing })
		}, []string{`has no database "` + missing + `"`, "create it first", "createdb -O", "SQLSTATE 3D000"}},
		{"wrong password", func(t *testing.T) string {
			return withDSN(t, dsn, func(u *url.URL) { u.User = url.UserPassword(u.User.Username(), wrongPassword) })
		}, []string{"refused the password of role", "authentication failed", "correct the password in the DSN", "SQLSTATE 28P01"}},
		{"refused port", func(t *testing.T) string {
			return withDSN(t, dsn, func(u *url.URL) { u.Host = refusedPort(t) })
		}, []string{"connection refused", "start PostgreSQL, or correct the host and port"}},
		{"no answer", func(t *testing.T) string {
			return withDSN(t, dsn, func(u *url.URL) {
				u.Host = silentPort(t)
				q := u.Query()
				q.Set("connect_timeout", "1")
				u.RawQuery = q.Encode()
			})
		}, []string{"timed out", "check that PostgreSQL runs there"}},
		{"TLS refused", func(t *testing.T) string {
			pg := startPrivatePostgres(t) // ssl is off in a new cluster
			return withDSN(t, pg.dsn, func(u *url.URL) {
				q := u.Query()
				q.Set("sslmode", "require")
				u.RawQuery = q.Encode()
			})
		}, []string{"refused TLS", "turn ssl on"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn := tc.dsn(t)
			var stderr strings.Builder
			err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-postgres", dsn}, strings.NewReader(""), io.Discard, &stderr)
			if err == nil {
				t.Fatal("serve started without its database")
			}
			msg := oneLine(err)
			t.Logf("serve: %s", msg)
			if !strings.HasPrefix(msg, "-postgres: PostgreSQL at ") {
				t.Errorf("the message does not start by naming the server: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the message does not say %q: %s", w, msg)
				}
			}
			if tc.name != "TLS refused" && strings.Contains(strings.ToLower(msg), "tls") {
				t.Errorf("the message names TLS, which is not the problem: %s", msg)
			}
			if strings.Contains(msg+stderr.String(), wrongPassword) || strings.Contains(msg+stderr.String(), dsn) {
				t.Errorf("the password or the DSN is shown: %s %s", msg, stderr.String())
			}
			if strings.Contains(stderr.String(), "level=WARN") {
				t.Errorf("the fault was logged as well as returned:\n%s", stderr.String())
			}
		})
	}
}

// linesContaining counts the log's lines that hold s.
func linesContaining(log, s string) int {
	n := 0
	for l := range strings.SplitSeq(log, "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// checkStructured fails the test for any line of the log that is not a
// slog record (go-redis's own "redis: 2026/12/07 ... pool.go:770" lines).
func checkStructured(t *testing.T, log string) {
	t.Helper()
	for l := range strings.SplitSeq(strings.TrimSpace(log), "\n") {
		if !strings.HasPrefix(l, "time=") {
			t.Errorf("a line of the log is not structured: %q", l)
		}
	}
}

// With Redis refused at start, serve says so at once in one line (fault
// refused, "connection refused", what the budgets do meanwhile) and starts
// on the in-process budgets: logins are answered and limited without
// waiting for Redis, and however many, the outage stays that one line (it
// was one per limiter, each after waiting out its timeout, and go-redis's
// own lines besides). With -redis-fail-closed, logins are refused with 429.
// When Redis comes up, the shared budgets apply again, said in one line.
func TestServeStartsWithoutRedis(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	redis.Kill()
	db := tempDB(t)
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")
	p := startServer(t, "-db", db, "-redis", redis.Addr())
	warn := p.stderr.String()
	if n := linesContaining(warn, "level=WARN"); n != 1 || !strings.Contains(warn, "Redis at "+redis.Addr()+": connection refused") ||
		!strings.Contains(warn, "fault=refused") || !strings.Contains(warn, "each instance limits logins with budgets of its own (fail-open)") {
		t.Errorf("want one warning saying Redis refused the connection, and what the budgets do:\n%s", warn)
	}
	limited := false
	for range 7 {
		code, _ := login(t, p.base, "iago@zulip.com", "wrong")
		if code == 429 {
			limited = true
		} else if code != 401 {
			t.Errorf("a login without Redis: %d", code)
		}
	}
	if !limited {
		t.Error("seven failures for one username were not limited while Redis was down")
	}
	log := p.stderr.String()
	// The start-up check's line, the limiters' own outage lines, go-redis's.
	if n := linesContaining(log, "dependency=redis") + linesContaining(log, "redislimit:") + linesContaining(log, "source=go-redis"); n != 1 {
		t.Errorf("%d lines about Redis after logins, want the one outage line:\n%s", n, log)
	}
	checkStructured(t, log)

	redis.Restart()
	waitFor(t, func() bool {
		login(t, p.base, "lear@zulip.com", "wrong")
		return strings.Contains(p.stderr.String(), "Redis answers again")
	})
	if n := linesContaining(p.stderr.String(), "Redis answers again"); n != 1 {
		t.Errorf("%d lines saying Redis answers again, want 1:\n%s", n, p.stderr)
	}

	closed := startServer(t, "-db", db, "-redis", refusedPort(t), "-redis-fail-closed")
	if !strings.Contains(closed.stderr.String(), "every login is refused with 429 (-redis-fail-closed)") {
		t.Errorf("fail-closed: the warning does not say what logins get:\n%s", closed.stderr)
	}
	if code, _ := login(t, closed.base, "iago@zulip.com", "a long password"); code != 429 {
		t.Errorf("fail-closed without Redis: %d, want 429", code)
	}
}

// A Redis that refuses the password, or that never answers, is named as
// such at start, and the password is never shown.
func TestServeNamesRedisFaults(t *testing.T) {
	t.Parallel()
	const password, wrong = "the-right-redis-password", "a-wrong-redis-password"
	redis := redistest.Start(t, "--requirepass", password)
	for _, tc := range []struct {
		name, redis string
		want        []string
	}{
		{"wrong password", "redis://:" + wrong + "@" + redis.Addr() + "/0", []string{"Redis at " + redis.Addr() + " refused the client (authentication failed", "fault=auth", "give the password in a -redis URL"}},
		{"no password", redis.Addr(), []string{"authentication failed", "NOAUTH", "fault=auth"}},
		{"no answer", silentPort(t), []string{"timed out", "fault=timeout", "a hung or paused server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := serveInProcess(t, "-db", tempDB(t), "-redis", tc.redis)
			log := p.stderr.String()
			t.Logf("%s", log)
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("the log does not say %q:\n%s", w, log)
				}
			}
			if strings.Contains(log, wrong) || strings.Contains(log, password) {
				t.Errorf("a password is in the log:\n%s", log)
			}
		})
	}
}

// Without its directory, serve warns at start, naming the fault (a stopped
// slapd's port refuses; a service account with the wrong password is
// refused), and serves: a login that asks the directory is a fault (500)
// while it is down, never a wrong password, and logs in once it is back.
func TestServeStartsWithoutDirectory(t *testing.T) {
	t.Parallel()
	dir := slapdtest.Start(t, slapdtest.Options{})
	db := tempDB(t)
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")
	ldapFlags := []string{"-auth", "ldap,password", "-ldap-url", dir.URL, "-ldap-user-dn-template", slapdtest.UserDNTemplate,
		"-ldap-append-domain", "zulip.com", "-ldap-create-users"}

	dir.Stop()
	p := startServer(t, append([]string{"-db", db}, ldapFlags...)...)
	log := p.stderr.String()
	for _, w := range []string{"LDAP directory at " + strings.TrimPrefix(dir.URL, "ldap://") + ": connection refused", "fault=refused",
		"start the directory, or correct -ldap-url", "a login that asks the directory fails with 500"} {
		if !strings.Contains(log, w) {
			t.Errorf("the warning does not say %q:\n%s", w, log)
		}
	}
	if code, _ := login(t, p.base, slapdtest.HamletUID, slapdtest.HamletPassword); code != 500 {
		t.Errorf("an LDAP login without the directory: %d, want 500 (a fault)", code)
	}
	dir.Restart()
	if code, body := login(t, p.base, slapdtest.HamletUID, slapdtest.HamletPassword); code != 200 {
		t.Errorf("an LDAP login once the directory is back: %d %v", code, body)
	}

	wrongFile := filepath.Join(t.TempDir(), "ldap-password")
	os.WriteFile(wrongFile, []byte("not-the-service-password\n"), 0o600)
	q := serveInProcess(t, "-db", tempDB(t), "-auth", "ldap", "-ldap-url", dir.URL, "-ldap-bind-dn", dir.ServiceDN,
		"-ldap-bind-password-file", wrongFile, "-ldap-search-base", slapdtest.People, "-ldap-username-attr", "uid", "-ldap-email-attr", "mail")
	log = q.stderr.String()
	for _, w := range []string{"refused the service account", "invalid credentials", "fault=auth", "correct -ldap-bind-dn or the password"} {
		if !strings.Contains(log, w) {
			t.Errorf("the warning does not say %q:\n%s", w, log)
		}
	}
	if strings.Contains(log, "not-the-service-password") {
		t.Errorf("the warning shows the password:\n%s", log)
	}
}

// PostgreSQL lost while serving (a proxy in front of it cut): each request
// that needs it is a fault, as before, and pgx's own log adds one warning
// for the whole outage, not one per failed connection, then one line when
// a connection is made again; no query argument (an API key) is logged.
func TestServeLogsPostgresOutageOnce(t *testing.T) {
	t.Parallel()
	dsn := freshPostgresSchema(t)
	u, _ := url.Parse(dsn)
	cut := newCutter(t, u.Host)
	dsn = withDSN(t, dsn, func(u *url.URL) { u.Host = cut.ln.Addr().String() })
	user := parseUser(t, adminPostgres(t, dsn, "a long password\n", "create-user", "-email", "iago@zulip.com"))
	p := serveInProcess(t, "-postgres", dsn, "-api-key-cache", "0")
	me := func() int {
		code, _ := do(t, "GET", p.base+"/api/v1/users/me", nil, map[string][]string{"Authorization": {"Basic " + basicCreds("iago@zulip.com", user.APIKey)}})
		return code
	}
	if code := me(); code != 200 {
		t.Fatalf("before the outage: %d", code)
	}
	cut.cut()
	for range 5 {
		if code := me(); code != 500 {
			t.Errorf("during the outage: %d, want 500", code)
		}
	}
	cut.restore()
	waitFor(t, func() bool { return me() == 200 })
	log := p.stderr.String()
	if n := linesContaining(log, "postgres: cannot connect"); n != 1 {
		t.Errorf("%d warnings that PostgreSQL cannot be reached, want 1 for the outage:\n%s", n, log)
	}
	if n := linesContaining(log, "postgres: connected again"); n != 1 {
		t.Errorf("%d lines saying PostgreSQL answers again, want 1:\n%s", n, log)
	}
	if strings.Contains(log, user.APIKey) {
		t.Errorf("an API key is in the log:\n%s", log)
	}
	checkStructured(t, log)
}

// adminPostgres runs one admin command against the PostgreSQL at dsn.
func adminPostgres(t *testing.T, dsn, stdin string, args ...string) string {
	t.Helper()
	var out strings.Builder
	all := append([]string{args[0], "-postgres", dsn}, args[1:]...)
	if err := run(context.Background(), all, strings.NewReader(stdin), &out, io.Discard); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String()
}
