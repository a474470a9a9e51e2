package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make a schema

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
)

// cutter is a TCP proxy in front of the database that the test can unplug:
// while down it drops every connection and refuses new ones, as a database
// that crashed or a network that failed would.
type cutter struct {
	ln     net.Listener
	target string
	up     atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

func newCutter(t *testing.T, target string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, target: target, conns: map[net.Conn]bool{}}
	c.up.Store(true)
	t.Cleanup(func() { ln.Close(); c.cut() })
	go c.serve()
	return c
}

func (c *cutter) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		if !c.up.Load() {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			in.Close()
			continue
		}
		c.mu.Lock()
		c.conns[in], c.conns[out] = true, true
		c.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// cut drops every connection and refuses new ones until restore.
func (c *cutter) cut() {
	c.up.Store(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.conns {
		conn.Close()
		delete(c.conns, conn)
	}
}

func (c *cutter) restore() { c.up.Store(true) }

// freshPostgresSchema makes an empty schema for one test and returns a DSN
// using it.
func freshPostgresSchema(t *testing.T) string {
	dsn := postgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "server_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", dsn); err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

const wantInternalError = `{"result":"error","msg":"Internal server error"}` + "\n"

var creds = url.Values{"username": {"iago@zulip.com"}, "password": {"a long password"}}

// The database unreachable mid-run: Zulip's JSON 500 without detail, no
// panic, the cause in the log, and full recovery when it is back.
func TestPostgresOutageAndRecovery(t *testing.T) {
	t.Parallel()
	dsn := freshPostgresSchema(t)
	u, _ := url.Parse(dsn)
	cut := newCutter(t, u.Host)
	u.Host = cut.ln.Addr().String()
	dsn = u.String()

	err := run(context.Background(), []string{"create-user", "-postgres", dsn, "-email", "iago@zulip.com"},
		strings.NewReader("a long password\n"), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs := &lockedWriter{w: &strings.Builder{}}
	h, _, err := buildHandler(st, serveConfig{}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	code, body := login(t, srv.URL, "iago@zulip.com", "a long password")
	if code != 200 {
		t.Fatalf("before the outage: %d %v", code, body)
	}
	key := body["api_key"].(string)
	me := func() (int, string) {
		code, b := do(t, "GET", srv.URL+"/api/v1/users/me", nil, http.Header{"Authorization": {"Basic " + basicCreds("iago@zulip.com", key)}})
		return code, string(b)
	}

	cut.cut()
	for i := 0; i < 2; i++ {
		if code, b := do(t, "POST", srv.URL+"/api/v1/fetch_api_key", creds, nil); code != 500 || string(b) != wantInternalError {
			t.Fatalf("login during the outage: %d %s", code, b)
		}
		if code, b := me(); code != 500 || b != wantInternalError {
			t.Fatalf("users/me during the outage: %d %s", code, b)
		}
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the outage is not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "a long password") || strings.Contains(logs.String(), key) {
		t.Error("a secret is in the log")
	}

	cut.restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := login(t, srv.URL, "iago@zulip.com", "a long password"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no recovery within 10 s of the database coming back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := 0; i < 5; i++ {
		if code, b := me(); code != 200 {
			t.Fatalf("users/me after recovery: %d %s", code, b)
		}
	}
}

// A store closed under a running server: 500s, never a panic.
func TestClosedStoreAnswers500(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")
	st, err := sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := buildHandler(st, serveConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	st.Close()
	if code, b := do(t, "POST", srv.URL+"/api/v1/fetch_api_key", creds, nil); code != 500 || string(b) != wantInternalError {
		t.Fatalf("closed store: %d %s", code, b)
	}
}
