package zulipauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// cheapParams keep argon2id fast in tests; the behaviour under test does not
// depend on the cost.
var cheapParams = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

const (
	iagoEmail    = "Iago@zulip.com"
	iagoPassword = "correct horse battery"
)

// fixture is a login server over memstore and the password backend, with a
// clock the test moves by hand.
type fixture struct {
	t     testing.TB
	store *memstore.Store
	pw    *password.Authenticator
	auth  *zulipauth.Auth
	iago  zulipauth.User
	logs  *syncBuffer
	clock *fakeClock
	mu    sync.Mutex
	evs   []zulipauth.Event
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newFixture builds the server; mutate lets a test adjust the config.
func newFixture(t testing.TB, mutate ...func(*zulipauth.Config)) *fixture {
	t.Helper()
	return newFixtureOn(t, memstore.New(), mutate...)
}

// newFixtureOn is newFixture over store, which a test may wrap in
// Config.Users.
func newFixtureOn(t testing.TB, store *memstore.Store, mutate ...func(*zulipauth.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, store: store, logs: &syncBuffer{},
		clock: &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}}
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	// Failures are not padded to the failure time: these tests are about
	// what the handler answers, and they fail many logins in a row.
	f.pw, err = password.New(f.store, password.WithParams(cheapParams), password.WithLogger(logger), password.WithInsecureFastFailures())
	if err != nil {
		t.Fatal(err)
	}
	f.iago = f.createUser("", iagoEmail, iagoPassword)
	cfg := zulipauth.Config{
		Users:         f.store,
		Authenticator: f.pw,
		Logger:        logger,
		Now:           f.clock.Now,
		OnEvent: func(e zulipauth.Event) {
			f.mu.Lock()
			f.evs = append(f.evs, e)
			f.mu.Unlock()
		},
	}
	cfg.UsernameLimiter = zulipauth.NewMemoryLimiter(zulipauth.DefaultUsernameBudget(), zulipauth.WithClock(f.clock.Now))
	cfg.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.DefaultIPBudget(), zulipauth.WithClock(f.clock.Now))
	for _, m := range mutate {
		m(&cfg)
	}
	f.auth, err = zulipauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) createUser(realm, email, pw string) zulipauth.User {
	f.t.Helper()
	hash, err := f.pw.Hash(context.Background(), pw)
	if err != nil {
		f.t.Fatal(err)
	}
	u, err := f.store.CreateUser(context.Background(), zulipauth.NewUser{Realm: realm, Email: email, FullName: "Iago", PasswordHash: hash})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) events() []zulipauth.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]zulipauth.Event(nil), f.evs...)
}

// lastEvent is the newest event reported, or the zero Event.
func (f *fixture) lastEvent() zulipauth.Event {
	evs := f.events()
	if len(evs) == 0 {
		return zulipauth.Event{}
	}
	return evs[len(evs)-1]
}

// do sends r through the fetch_api_key handler.
func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.auth.FetchAPIKeyHandler().ServeHTTP(w, r)
	return w
}

// login posts an urlencoded username and password from remote.
func (f *fixture) login(username, pw, remote string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := formRequest(url.Values{"username": {username}, "password": {pw}}.Encode())
	if remote != "" {
		r.RemoteAddr = remote
	}
	return f.do(r)
}

const fetchURL = "http://zulip.example.com/api/v1/fetch_api_key"

func formRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, fetchURL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// multipartRequest builds the multipart/form-data body zulip-js sends.
func multipartRequest(fields ...[2]string) *http.Request {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, kv := range fields {
		mw.WriteField(kv[0], kv[1])
	}
	mw.Close()
	r := httptest.NewRequest(http.MethodPost, fetchURL, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

// decode checks that body is one Zulip JSON object and returns it.
func decode(t testing.TB, body []byte) map[string]any {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\n")) {
		t.Errorf("body %q does not end in a newline", body)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("body %q has trailing data", body)
	}
	if m["result"] != "success" && m["result"] != "error" {
		t.Fatalf("body %q has no result", body)
	}
	if _, ok := m["msg"].(string); !ok {
		t.Fatalf("body %q has no msg", body)
	}
	return m
}

// resolverFunc adapts a function to zulipauth.RealmResolver.
type resolverFunc func(r *http.Request) (zulipauth.Realm, error)

func (f resolverFunc) ResolveRealm(r *http.Request) (zulipauth.Realm, error) { return f(r) }
