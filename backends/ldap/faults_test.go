package ldap_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// hangGuard bounds how long a login may take in these tests before the test
// gives up on it: far above the configured timeouts, so it never decides a
// passing run; it only turns a hang into a failure.
const hangGuard = 30 * time.Second

// login runs Authenticate and fails the test if it does not return within
// hangGuard.
func login(t *testing.T, a *ldap.Authenticator, ctx context.Context, username, password string) (zulipauth.User, error) {
	t.Helper()
	type result struct {
		u   zulipauth.User
		err error
	}
	done := make(chan result, 1)
	go func() {
		u, err := a.Authenticate(ctx, attempt(username, password))
		done <- result{u, err}
	}()
	select {
	case r := <-done:
		return r.u, r.err
	case <-time.After(hangGuard):
		t.Fatalf("Authenticate(%q) did not return within %v", username, hangGuard)
		return zulipauth.User{}, nil
	}
}

// A directory that is hung (SIGSTOP: the kernel still accepts connections,
// nothing answers) is a fault once Timeout passes, on a pooled connection
// and on a new one alike, never bad credentials; logins work again as soon
// as it answers (SIGCONT).
func TestDirectoryHung(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		cfg  func(*slapdtest.Directory, zulipauth.UserStore) ldap.Config
	}{
		{"DN template", templateConfig},
		{"search then bind", searchConfig},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			d := slapdtest.Start(t, slapdtest.Options{})
			users := storeWith(t, "hamlet@example.org", "hamlet@zulip.com")
			cfg := mode.cfg(d, users)
			cfg.Timeout, cfg.DialTimeout = 300*time.Millisecond, 300*time.Millisecond
			a := newAuth(t, cfg)
			if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
				t.Fatal(err)
			}
			d.Pause()
			for _, which := range []string{"pooled connection", "new connection"} {
				_, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword)
				if !checkErr(err, errFault) || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("%s to a hung directory: %v, want a fault wrapping os.ErrDeadlineExceeded", which, err)
				}
			}
			d.Resume()
			if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
				t.Fatalf("after the directory resumed: %v", err)
			}
			if _, err := login(t, a, t.Context(), "hamlet", "wrong"); !errors.Is(err, zulipauth.ErrBadCredentials) {
				t.Fatalf("wrong password after the directory resumed: %v", err)
			}
		})
	}
}

// The request's context bounds a login against a hung directory even when
// Timeout is long: the login returns the context's error.
func TestDirectoryHungContextEnds(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	cfg := templateConfig(d, storeWith(t, "hamlet@example.org"))
	cfg.Timeout = time.Hour
	a := newAuth(t, cfg)
	if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
		t.Fatal(err)
	}
	d.Pause()
	defer d.Resume()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := login(t, a, ctx, "hamlet", slapdtest.HamletPassword); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := login(t, a, ctx, "hamlet", slapdtest.HamletPassword); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// A directory that is down is a fault (connection refused), and logins work
// again once it is back, on the same address: the pooled connections it
// closed when it stopped are dropped and replaced.
func TestDirectoryStopped(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		cfg  func(*slapdtest.Directory, zulipauth.UserStore) ldap.Config
	}{
		{"DN template", templateConfig},
		{"search then bind", searchConfig},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			d := slapdtest.Start(t, slapdtest.Options{})
			users := storeWith(t, "hamlet@example.org", "hamlet@zulip.com")
			a := newAuth(t, mode.cfg(d, users))
			if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
				t.Fatal(err)
			}
			d.Stop()
			if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); !checkErr(err, errFault) {
				t.Fatalf("directory down: %v, want a fault", err)
			}
			d.Restart()
			// At once: a connection the directory closed while stopping may
			// not be noticed as closed yet; the one retry covers that.
			for range 3 {
				if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
					t.Fatalf("directory back: %v", err)
				}
			}
		})
	}
}

// A restart between two logins, with nothing in between: the pooled
// connections are dead, the login still succeeds.
func TestDirectoryRestartedBetweenLogins(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	a := newAuth(t, searchConfig(d, storeWith(t, "hamlet@zulip.com")))
	for range 3 {
		if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
			t.Fatal(err)
		}
		d.Stop()
		d.Restart()
	}
	if n := ldap.Dials(a); n < 6 {
		t.Fatalf("%d connections opened over 3 restarts, want new ones each time (6)", n)
	}
}

// slapd closes connections idle for idletimeout seconds, as Active
// Directory does after 15 minutes: the pool drops the closed one and the
// next login opens another.
func TestIdleConnectionClosedByDirectory(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{IdleTimeout: time.Second})
	a := newAuth(t, templateConfig(d, storeWith(t, "hamlet@example.org")))
	if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
		t.Fatal(err)
	}
	if idle, closed := ldap.IdleConns(a); idle != 1 || closed != 0 {
		t.Fatalf("after a login: %d idle connections, %d closed; want 1, 0", idle, closed)
	}
	// Wait for slapd to close it (idletimeout is checked every few seconds).
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(50 * time.Millisecond) {
		if _, closed := ldap.IdleConns(a); closed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not close the idle connection within %v", hangGuard)
		}
	}
	if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
		t.Fatalf("login after the directory closed the pooled connection: %v", err)
	}
	if n := ldap.Dials(a); n != 2 {
		t.Fatalf("%d connections opened, want 2: the closed one replaced", n)
	}
	if idle, closed := ldap.IdleConns(a); idle != 1 || closed != 0 {
		t.Fatalf("after the second login: %d idle connections, %d closed; want 1, 0", idle, closed)
	}
}

// cuttingRelay forwards TCP connections to a directory. After Cut, a
// connection opened before it is hung up on when its next request arrives,
// unanswered: a connection the directory closed while it was idle, whose
// end go-ldap had not seen yet when it was taken from the pool.
type cuttingRelay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	gen    int // connections accepted before the latest Cut have an older one
}

func startRelay(t *testing.T, target string) *cuttingRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &cuttingRelay{ln: ln, target: target}
	go r.serve()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *cuttingRelay) URL() string { return "ldap://" + r.ln.Addr().String() }

// Cut marks every connection open now for hanging up.
func (r *cuttingRelay) Cut() {
	r.mu.Lock()
	r.gen++
	r.mu.Unlock()
}

func (r *cuttingRelay) cut(gen int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return gen < r.gen
}

func (r *cuttingRelay) serve() {
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		gen := r.gen
		r.mu.Unlock()
		go r.relay(client, gen)
	}
}

func (r *cuttingRelay) relay(client net.Conn, gen int) {
	defer client.Close()
	server, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		io.Copy(client, server)
		client.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if r.cut(gen) {
				return // hang up, the request unanswered
			}
			if _, err := server.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A pooled connection that turns out closed only when a request is sent on
// it (the end of the stream arrives instead of the answer) is replaced and
// the request sent again on a new one: the login succeeds.
func TestPooledConnectionClosedUnnoticed(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	relay := startRelay(t, strings.TrimPrefix(d.URL, "ldap://"))
	for _, mode := range []struct {
		name  string
		cfg   func(*slapdtest.Directory, zulipauth.UserStore) ldap.Config
		pools int64
	}{
		{"DN template", templateConfig, 1},
		{"search then bind", searchConfig, 2},
	} {
		t.Run(mode.name, func(t *testing.T) {
			users := storeWith(t, "hamlet@example.org", "hamlet@zulip.com")
			cfg := mode.cfg(d, users)
			cfg.URL = relay.URL()
			a := newAuth(t, cfg)
			if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
				t.Fatal(err)
			}
			relay.Cut()
			if _, err := login(t, a, t.Context(), "hamlet", slapdtest.HamletPassword); err != nil {
				t.Fatalf("login on connections closed unnoticed: %v", err)
			}
			if n := ldap.Dials(a); n != 2*mode.pools {
				t.Fatalf("%d connections opened, want %d: each pool's replaced once", n, 2*mode.pools)
			}
			// A wrong password is not retried into a success.
			relay.Cut()
			if _, err := login(t, a, t.Context(), "hamlet", "wrong"); !errors.Is(err, zulipauth.ErrBadCredentials) {
				t.Fatalf("wrong password on connections closed unnoticed: %v", err)
			}
		})
	}
}
