package zulipauth_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// discardWriter is a ResponseWriter that keeps only the status, so a
// benchmark measures the handler rather than httptest's recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

// benchLoop serves the same request b.N times, rewinding its body.
func benchLoop(b *testing.B, h http.Handler, body string, wantStatus int) {
	rd := strings.NewReader(body)
	r, _ := http.NewRequest(http.MethodPost, fetchURL, io.NopCloser(rd))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "192.0.2.1:1234"
	w := &discardWriter{h: make(http.Header)}
	for range 10 { // warm up, and spend the login budget for the 429 case
		rd.Reset(body)
		h.ServeHTTP(w, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rd.Reset(body)
		r.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	b.StopTimer()
	if w.status != wantStatus {
		b.Fatalf("status %d, want %d", w.status, wantStatus)
	}
}

// benchAuth builds an Auth over a memstore holding Iago. A nil auth is a
// trivial authenticator that accepts any password: the handler's own overhead.
func benchAuth(b *testing.B, auth zulipauth.Authenticator, limiter zulipauth.Limiter) (*zulipauth.Auth, *memstore.Store) {
	store := memstore.New()
	if auth == nil {
		auth = zulipauth.AuthenticatorFunc(func(ctx context.Context, a zulipauth.Attempt) (zulipauth.User, error) {
			return store.UserByEmail(ctx, a.Realm.Subdomain, a.Username)
		})
	}
	if _, err := store.CreateUser(context.Background(), zulipauth.NewUser{Email: iagoEmail}); err != nil {
		b.Fatal(err)
	}
	a, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: auth, UsernameLimiter: limiter, IPLimiter: limiter})
	if err != nil {
		b.Fatal(err)
	}
	return a, store
}

func BenchmarkFetchAPIKeySuccessTrivialHasher(b *testing.B) {
	unlimited := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 40, Per: time.Second})
	a, _ := benchAuth(b, nil, unlimited)
	benchLoop(b, a.FetchAPIKeyHandler(), "username=Iago%40zulip.com&password=correct+horse+battery", 200)
}

func BenchmarkFetchAPIKeyRateLimited(b *testing.B) {
	refuse := zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	})
	a, _ := benchAuth(b, refuse, nil) // default budgets: spent after 5 failures
	benchLoop(b, a.FetchAPIKeyHandler(), "username=Iago%40zulip.com&password=x", 429)
}

func BenchmarkFetchAPIKeyBadEmail(b *testing.B) {
	// The client's budget is spent before the email check: keep it open.
	a, _ := benchAuth(b, nil, zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 40, Per: time.Second}))
	benchLoop(b, a.FetchAPIKeyHandler(), "username=iago&password=x", 400)
}

func BenchmarkFetchAPIKeyMissingArgument(b *testing.B) {
	a, _ := benchAuth(b, nil, nil)
	benchLoop(b, a.FetchAPIKeyHandler(), "username=Iago%40zulip.com", 400)
}

// cachedAPIKeyHandler is RequireAPIKey over an empty handler, with the
// key cached and the user's budget unlimited, and Iago's key.
func cachedAPIKeyHandler(b *testing.B) (http.Handler, string) {
	store := memstore.New()
	u, _ := store.CreateUser(context.Background(), zulipauth.NewUser{Email: iagoEmail})
	a, err := zulipauth.New(zulipauth.Config{
		Users:          store,
		Authenticator:  zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) { return zulipauth.User{}, nil }),
		UserLimiter:    zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 40, Per: time.Second}),
		APIKeyCacheTTL: time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	return a.RequireAPIKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })), u.APIKey
}

// BenchmarkRequireAPIKeyCached: an authenticated request through the
// middleware with the key cached, to an empty handler: with the canonical
// header clients send, and with another spelling, which is parsed.
func BenchmarkRequireAPIKeyCached(b *testing.B) {
	for _, spelling := range []string{"canonical", "other"} {
		b.Run(spelling, func(b *testing.B) {
			h, key := cachedAPIKeyHandler(b)
			r, _ := http.NewRequest(http.MethodGet, "http://zulip.example.com/api/v1/users/me", nil)
			r.SetBasicAuth(iagoEmail, key)
			if spelling == "other" {
				r.Header.Set("Authorization", "basic"+strings.TrimPrefix(r.Header.Get("Authorization"), "Basic"))
			}
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		})
	}
}

// BenchmarkRequireAPIKeyCachedParallel: the same, from every core at once,
// one user (the worst case for the per-user budget's lock).
func BenchmarkRequireAPIKeyCachedParallel(b *testing.B) {
	h, key := cachedAPIKeyHandler(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r, _ := http.NewRequest(http.MethodGet, "http://zulip.example.com/api/v1/users/me", nil)
		r.SetBasicAuth(iagoEmail, key)
		w := &discardWriter{h: make(http.Header)}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
}

// A request whose key is cached allocates only what its answer needs: the
// request with the user in its context (two allocations, the price of
// UserFrom), and fresh header values (Zulip's never-cache headers and the
// X-RateLimit-* headers, three). The user's budget and the cache cost none.
// A test rather than a benchmark, so that a new allocation on every API
// request fails CI.
func TestRequireAPIKeyCachedAllocations(t *testing.T) {
	store := memstore.New()
	u, _ := store.CreateUser(context.Background(), zulipauth.NewUser{Email: iagoEmail})
	a, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: noLogins, APIKeyCacheTTL: time.Hour, ChangePollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := a.RequireAPIKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	r, _ := http.NewRequest(http.MethodGet, "http://zulip.example.com/api/v1/users/me", nil)
	r.SetBasicAuth(iagoEmail, u.APIKey)
	w := &discardWriter{h: make(http.Header)}
	h.ServeHTTP(w, r) // caches the key
	if n := testing.AllocsPerRun(100, func() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}); n > 5 {
		t.Errorf("%v allocations per cached request, want at most 5", n)
	}
	if w.status != 200 {
		t.Fatalf("status %d", w.status)
	}
}

// A flood of wrong passwords at spent budgets is answered with 429s, and
// each refusal allocates little more than its answer needs: the 429 (its
// *Error), fresh header values (Cache-Control, the X-RateLimit-* values,
// Retry-After, Content-Type and its neighbours) and the body. The refusal
// of a client its budget refused comes before its body is read: 8
// allocations. The refusal of a username its budget refused comes after
// the form (four more: the body, its string, the fields, the unescaped
// username) and the username's key (two, this username having capitals):
// 17, where it was 27. A test rather than a benchmark, so that a new
// allocation on the refusal path fails CI.
func TestFetchAPIKeyRefusalAllocations(t *testing.T) {
	refuse := zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	})
	tests := []struct {
		name  string
		body  string // spends a budget, then is refused by it
		spend int    // attempts that spend it
		max   float64
	}{
		{"a client's spent budget", "username=not-an-email&password=x", zulipauth.DefaultIPBudget().Events, 8},
		{"a username's spent budget", "username=Iago%40zulip.com&password=x", zulipauth.DefaultUsernameBudget().Events, 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memstore.New()
			a, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: refuse, ChangePollInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			h := a.FetchAPIKeyHandler()
			rd := strings.NewReader(tt.body)
			r, _ := http.NewRequest(http.MethodPost, fetchURL, io.NopCloser(rd))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.RemoteAddr = "192.0.2.1:1234"
			w := &discardWriter{h: make(http.Header)}
			serve := func() {
				rd.Reset(tt.body)
				r.ContentLength = int64(len(tt.body))
				clear(w.h)
				h.ServeHTTP(w, r)
			}
			for range tt.spend + 1 {
				serve()
			}
			if w.status != 429 {
				t.Fatalf("status %d after spending the budget, want 429", w.status)
			}
			if n := testing.AllocsPerRun(100, serve); n > tt.max {
				t.Errorf("%v allocations per refusal, want at most %v", n, tt.max)
			}
			if w.status != 429 {
				t.Fatalf("status %d, want 429", w.status)
			}
		})
	}
}
