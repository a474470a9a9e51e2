package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
)

// admin runs one admin command line in-process against db, with stdin.
func admin(t testing.TB, db, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	all := append([]string{args[0], "-db", db}, args[1:]...)
	err := run(context.Background(), all, strings.NewReader(stdin), &out, io.Discard)
	return out.String(), err
}

// mustAdmin is admin that fails the test on error.
func mustAdmin(t testing.TB, db, stdin string, args ...string) string {
	t.Helper()
	out, err := admin(t, db, stdin, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out
}

// createdUser is create-user's JSON line.
type createdUser struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
	APIKey string `json:"api_key"`
}

func parseUser(t testing.TB, line string) createdUser {
	t.Helper()
	var u createdUser
	if err := json.Unmarshal([]byte(line), &u); err != nil {
		t.Fatalf("not a JSON line: %q", line)
	}
	return u
}

// testServer serves the example's handler over loopback with the SQLite
// database at db; mutate adjusts its configuration.
func testServer(t testing.TB, db string, mutate ...func(*serveConfig)) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var logs bytes.Buffer
	c := serveConfig{}
	for _, m := range mutate {
		m(&c)
	}
	h, stop, err := buildHandler(st, c, slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, &logs
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// String returns what was written, when w is a fmt.Stringer.
func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.w.(fmt.Stringer); ok {
		return s.String()
	}
	return ""
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// login posts credentials to fetch_api_key.
func login(t testing.TB, base, username, password string) (int, map[string]any) {
	t.Helper()
	code, body := do(t, "POST", base+"/api/v1/fetch_api_key", url.Values{"username": {username}, "password": {password}}, nil)
	var m map[string]any
	json.Unmarshal(body, &m)
	return code, m
}

func tempDB(t testing.TB) string {
	return filepath.Join(t.TempDir(), "zulipauth.db")
}

// postgresDSN returns the test PostgreSQL server's DSN, skipping the test
// without one, and failing it in CI.
func postgresDSN(t testing.TB) string {
	dsn := os.Getenv("ZULIPAUTH_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ZULIPAUTH_TEST_POSTGRES is not set; .ci/run starts PostgreSQL and sets it")
		}
		t.Skip("no PostgreSQL: set ZULIPAUTH_TEST_POSTGRES (see .ci/run)")
	}
	return dsn
}
