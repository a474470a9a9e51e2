package zulipauth_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// countingStore counts the lookups the middleware makes.
type countingStore struct {
	*memstore.Store
	lookups atomic.Int64
}

func (c *countingStore) UserByAPIKey(ctx context.Context, key string) (zulipauth.User, error) {
	c.lookups.Add(1)
	return c.Store.UserByAPIKey(ctx, key)
}

func (c *countingStore) UserWithRealmByAPIKey(ctx context.Context, key string) (zulipauth.User, zulipauth.Realm, error) {
	c.lookups.Add(1)
	return c.Store.UserWithRealmByAPIKey(ctx, key)
}

func (c *countingStore) RealmBySubdomain(ctx context.Context, sub string) (zulipauth.Realm, error) {
	c.lookups.Add(1)
	return c.Store.RealmBySubdomain(ctx, sub)
}

func basic(email, key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+key))
}

// me is a host endpoint that reads the authenticated user.
var me = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u, ok := zulipauth.UserFrom(r.Context())
	if !ok {
		http.Error(w, "no user in context", 500)
		return
	}
	zulipauth.WriteSuccess(w, struct {
		UserID int64  `json:"user_id"`
		Email  string `json:"email"`
		Key    string `json:"key"`
	}{u.ID, u.Email, u.APIKey})
})

func unauthorized(msg string) string {
	return `{"result":"error","msg":"` + msg + `","code":"UNAUTHORIZED"}` + "\n"
}

func TestRequireAPIKey(t *testing.T) {
	t.Parallel()
	key := func(f *fixture) string { return f.iago.APIKey }
	tests := []struct {
		name    string
		header  func(f *fixture) (string, bool)
		setup   func(f *fixture)
		host    string
		status  int
		body    string
		wwwAuth bool
	}{
		{"no header", func(*fixture) (string, bool) { return "", false }, nil, "", 401, unauthorized("Not logged in: API authentication or user session required"), true},
		{"empty header", func(*fixture) (string, bool) { return "", true }, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
		{"scheme only", func(*fixture) (string, bool) { return "Basic", true }, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
		{"three tokens", func(f *fixture) (string, bool) { return basic(iagoEmail, key(f)) + " extra", true }, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
		{"other scheme", func(f *fixture) (string, bool) { return "Bearer " + key(f), true }, nil, "", 400, `{"result":"error","msg":"This endpoint requires HTTP basic authentication.","code":"BAD_REQUEST"}` + "\n", false},
		{"bad base64", func(*fixture) (string, bool) { return "Basic abc", true }, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
		{"no colon", func(*fixture) (string, bool) {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte("iago")), true
		}, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
		{"two colons", func(f *fixture) (string, bool) { return basic(iagoEmail, key(f)+":x"), true }, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
		{"invalid UTF-8", func(*fixture) (string, bool) {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte("\xff:\xfe")), true
		}, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
		{"empty parts", func(*fixture) (string, bool) { return basic("", ""), true }, nil, "", 401, unauthorized("Malformed API key"), true},
		{"1 MB header", func(*fixture) (string, bool) { return "Basic " + strings.Repeat("QUFB", 1<<18), true }, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
		{"short key", func(*fixture) (string, bool) { return basic(iagoEmail, "abc"), true }, nil, "", 401, unauthorized("Malformed API key"), true},
		{"key with symbols", func(*fixture) (string, bool) { return basic(iagoEmail, strings.Repeat("-", 32)), true }, nil, "", 401, unauthorized("Malformed API key"), true},
		{"unknown key", func(*fixture) (string, bool) { return basic(iagoEmail, strings.Repeat("a", 32)), true }, nil, "", 401, unauthorized("Invalid API key"), true},
		{"key in another letter case", func(f *fixture) (string, bool) { return basic(iagoEmail, flipCase(key(f))), true }, nil, "", 401, unauthorized("Invalid API key"), true},
		{"another user's email", func(f *fixture) (string, bool) { return basic("othello@zulip.com", key(f)), true }, nil, "", 401, unauthorized("Invalid API key"), true},
		{"deactivated user", func(f *fixture) (string, bool) { return basic(iagoEmail, key(f)), true }, func(f *fixture) { f.store.SetUserDeactivated(context.Background(), f.iago.ID, true) }, "", 401, unauthorized("Account is deactivated"), true},
		{"deactivated realm", func(f *fixture) (string, bool) { return basic(iagoEmail, key(f)), true }, func(f *fixture) {
			f.store.UpdateRealm(context.Background(), zulipauth.Realm{Name: "Zulip", Deactivated: true})
		}, "", 401, unauthorized("This organization has been deactivated"), true},
		{"another subdomain", func(f *fixture) (string, bool) { return basic(iagoEmail, key(f)), true }, nil, "lear.example.com", 401, unauthorized("Account is not associated with this subdomain"), true},
		{"valid", func(f *fixture) (string, bool) { return basic(iagoEmail, key(f)), true }, nil, "", 200, "", false},
		{"valid, lower-case scheme, email case and spaces", func(f *fixture) (string, bool) {
			return "  basic   " + base64.StdEncoding.EncodeToString([]byte(" iago@ZULIP.com : "+key(f)+" ")) + " ", true
		}, nil, "", 200, "", false},
		{"valid, base64 with stray characters Python ignores", func(f *fixture) (string, bool) {
			enc := base64.StdEncoding.EncodeToString([]byte(iagoEmail + ":" + key(f)))
			return "Basic " + enc[:8] + "!" + enc[8:], true
		}, nil, "", 200, "", false},
		{"valid, parts with separators Python strips", func(f *fixture) (string, bool) {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte(iagoEmail+"\x1c:"+key(f)+"\x1f")), true
		}, nil, "", 200, "", false},
		{"valid, base64 with padding Python ignores", func(f *fixture) (string, bool) {
			return basic(iagoEmail, key(f)) + "==", true
		}, nil, "", 200, "", false},
		{"valid, split on a Latin-1 no-break space", func(f *fixture) (string, bool) {
			return strings.Replace(basic(iagoEmail, key(f)), " ", "\xa0", 1), true
		}, nil, "", 200, "", false},
		{"scheme with a long s", func(f *fixture) (string, bool) {
			return strings.Replace(basic(iagoEmail, key(f)), "Basic", "Ba\u017fic", 1), true
		}, nil, "", 400, `{"result":"error","msg":"This endpoint requires HTTP basic authentication.","code":"BAD_REQUEST"}` + "\n", false},
		{"non-ASCII in the base64", func(f *fixture) (string, bool) { return basic(iagoEmail, key(f)) + "\xe9", true }, nil, "", 401, unauthorized("Invalid authorization header for basic auth"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *zulipauth.Config) {
				c.Realms = zulipauth.HostRealms{Realms: c.Users.(zulipauth.RealmStore), ExternalHost: "example.com"}
			})
			f.store.CreateRealm(context.Background(), zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
			if tt.setup != nil {
				tt.setup(f)
			}
			r := httptest.NewRequest("GET", "http://example.com/api/v1/users/me", nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			if h, ok := tt.header(f); ok {
				r.Header["Authorization"] = []string{h}
			}
			w := httptest.NewRecorder()
			f.auth.RequireAPIKey(me).ServeHTTP(w, r)
			want := tt.body
			if want == "" {
				want = `{"result":"success","msg":"","user_id":1,"email":"Iago@zulip.com","key":""}` + "\n"
			}
			if w.Code != tt.status || w.Body.String() != want {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.status, want)
			}
			if got := w.Header().Get("WWW-Authenticate") == `Basic realm="zulip"`; got != tt.wwwAuth {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tt.wwwAuth)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "max-age=0, no-cache, no-store, must-revalidate, private" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if w.Header().Get("Expires") == "" {
				t.Error("no Expires header")
			}
		})
	}
}

func flipCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 32
			return string(b)
		case 'A' <= c && c <= 'Z':
			b[i] = c + 32
			return string(b)
		}
	}
	return s
}

func TestRequireAPIKeyUserBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *zulipauth.Config) {
		c.UserLimiter = zulipauth.NewMemoryLimiter(zulipauth.DefaultUserBudget(), zulipauth.WithClock(func() time.Time { return time.Unix(0, 0) }))
	})
	h := f.auth.RequireAPIKey(me)
	send := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/users/me", nil)
		r.Header.Set("Authorization", basic(iagoEmail, f.iago.APIKey))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := 0; i < 200; i++ {
		if w := send(); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	w := send()
	if w.Code != 429 || !strings.Contains(w.Body.String(), `"code":"RATE_LIMIT_HIT","retry-after":1.0}`) {
		t.Fatalf("201st request: %d %s", w.Code, w.Body)
	}
	if w.Header().Get("X-RateLimit-Limit") != "200" || w.Header().Get("Retry-After") != "1" {
		t.Errorf("headers: %v", w.Header())
	}
}

// countingFixture is a fixture whose store counts API-key lookups.
func countingFixture(t *testing.T, mutate func(*zulipauth.Config)) (*fixture, *countingStore) {
	var cs *countingStore
	f := newFixture(t, func(c *zulipauth.Config) {
		cs = &countingStore{Store: c.Users.(*memstore.Store)}
		c.Users = cs
		c.Realms = zulipauth.HostRealms{Realms: cs}
		if mutate != nil {
			mutate(c)
		}
	})
	return f, cs
}

// getMe serves GET /api/v1/users/me through h, with the Authorization
// header, from the client at remote ("" for httptest's).
func getMe(h http.Handler, remote, header string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/api/v1/users/me", nil)
	if remote != "" {
		r.RemoteAddr = remote
	}
	r.Header.Set("Authorization", header)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRequireAPIKeyLookups(t *testing.T) {
	t.Parallel()
	for _, ttl := range []time.Duration{0, time.Minute} {
		f, cs := countingFixture(t, func(c *zulipauth.Config) { c.APIKeyCacheTTL = ttl })
		h := f.auth.RequireAPIKey(me)
		send := func(key string) int { return getMe(h, "", basic(iagoEmail, key)).Code }
		for i := 0; i < 10; i++ {
			if code := send(f.iago.APIKey); code != 200 {
				t.Fatalf("ttl %v: %d", ttl, code)
			}
		}
		unknown := strings.Repeat("Z", 32)
		for i := 0; i < 10; i++ {
			send(unknown)
		}
		want := int64(20) // one lookup per request
		if ttl > 0 {
			want = 2 // one per key
		}
		if got := cs.lookups.Load(); got != want {
			t.Errorf("ttl %v: %d store lookups for 20 requests, want %d", ttl, got, want)
		}
		if ttl == 0 {
			continue
		}
		// Regenerating drops the cached key at once.
		newKey, err := f.auth.RegenerateAPIKey(context.Background(), f.iago.ID)
		if err != nil {
			t.Fatal(err)
		}
		if code := send(f.iago.APIKey); code != 401 {
			t.Errorf("old key after regeneration: %d, want 401", code)
		}
		if code := send(newKey); code != 200 {
			t.Errorf("new key: %d, want 200", code)
		}
		// A deactivation elsewhere is seen after ForgetUser.
		cs.SetUserDeactivated(context.Background(), f.iago.ID, true)
		if code := send(newKey); code != 200 {
			t.Errorf("cached user: %d, want 200 until forgotten or expired", code)
		}
		f.auth.ForgetUser(f.iago.ID)
		if code := send(newKey); code != 401 {
			t.Errorf("deactivated user after ForgetUser: %d, want 401", code)
		}
	}
}

// The cache holds one entry per user however its credentials are spelled:
// a user sending many spellings (letter case, white space) costs one lookup
// and cannot push another user out, a wrong email with a cached key is
// refused without a lookup, and ForgetUser drops the user.
func TestRequireAPIKeyCacheOneEntryPerUser(t *testing.T) {
	t.Parallel()
	f, cs := countingFixture(t, func(c *zulipauth.Config) {
		c.APIKeyCacheTTL = time.Minute
		c.APIKeyCacheSize = 4
	})
	othello := f.createUser("", "othello@zulip.com", "another long password")
	h := f.auth.RequireAPIKey(me)
	send := func(header string, want int, lookups int64) {
		t.Helper()
		if w := getMe(h, "", header); w.Code != want {
			t.Fatalf("%q: %d, want %d", header, w.Code, want)
		}
		if got := cs.lookups.Load(); got != lookups {
			t.Fatalf("%q: %d store lookups so far, want %d", header, got, lookups)
		}
	}
	send(basic(othello.Email, othello.APIKey), 200, 1)
	send(basic(othello.Email, othello.APIKey), 200, 1)
	// 100 spellings of Iago's credentials: the letters' case and the
	// white space around the email and the scheme's case vary.
	for i := range 100 {
		email := []byte(iagoEmail)
		for j := range email {
			if i>>(j%7)&1 == 1 {
				email[j] = strings.ToUpper(string(email[j]))[0]
			}
		}
		creds := strings.Repeat(" ", i%3) + string(email) + strings.Repeat("\t", i/50) + ":" + f.iago.APIKey
		scheme := []string{"Basic", "basic", "BASIC"}[i%3]
		send(scheme+" "+base64.StdEncoding.EncodeToString([]byte(creds)), 200, 2)
	}
	send(basic(othello.Email, othello.APIKey), 200, 2)
	send(basic("othello@zulip.com", f.iago.APIKey), 401, 2)
	f.auth.ForgetUser(f.iago.ID)
	send(basic(iagoEmail, f.iago.APIKey), 200, 3)
	send(basic(othello.Email, othello.APIKey), 200, 3)
}

// rotatingStore is a one-user store whose next API key is known, so that a
// test can present a key before the user is given it.
type rotatingStore struct {
	mu        sync.Mutex
	user      zulipauth.User
	next      string
	lookups   int
	midLookup func() // run inside every lookup, when set
}

func (s *rotatingStore) UserByEmail(ctx context.Context, realm, email string) (zulipauth.User, error) {
	return zulipauth.User{}, zulipauth.ErrUserNotFound
}

func (s *rotatingStore) UserByAPIKey(ctx context.Context, key string) (zulipauth.User, error) {
	s.mu.Lock()
	s.lookups++
	u, mid := s.user, s.midLookup
	s.mu.Unlock()
	if mid != nil {
		mid() // the store changes after this lookup read it
	}
	if key != u.APIKey {
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	}
	return u, nil
}

func (s *rotatingStore) RegenerateAPIKey(ctx context.Context, userID int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user.APIKey = s.next
	return s.next, nil
}

// RegenerateAPIKey revokes the old key at once, also when a lookup that read
// the old key was in flight, and the new key works at once, also when it was
// refused as unknown before.
func TestRequireAPIKeyRegenerationTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	old, next := strings.Repeat("a", 32), strings.Repeat("b", 32)
	st := &rotatingStore{user: zulipauth.User{ID: 7, Email: iagoEmail, APIKey: old}, next: next}
	auth, err := zulipauth.New(zulipauth.Config{Users: st, Authenticator: noLogins, APIKeyCacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := auth.RequireAPIKey(me)
	send := func(key string) int { return getMe(h, "", basic(iagoEmail, key)).Code }
	if code := send(next); code != 401 {
		t.Fatalf("the next key before it is given out: %d, want 401", code)
	}
	// The old key's lookup reads the store, then the key is regenerated
	// before the lookup's outcome is cached.
	st.midLookup = func() {
		st.midLookup = nil
		if _, err := auth.RegenerateAPIKey(context.Background(), 7); err != nil {
			t.Error(err)
		}
	}
	if code := send(old); code != 200 {
		t.Fatalf("old key, read before the regeneration: %d, want 200", code)
	}
	if code := send(old); code != 401 {
		t.Errorf("old key after RegenerateAPIKey returned: %d, want 401", code)
	}
	if code := send(next); code != 200 {
		t.Errorf("new key, refused as unknown before: %d, want 200", code)
	}
}

// foldingKeys is a store whose API-key index ignores letter case, against
// the UserStore contract.
type foldingKeys struct {
	*memstore.Store
	user       zulipauth.User
	keyLookups atomic.Int64
}

func (*foldingKeys) UserWithRealmByAPIKey() {} // shadows the promoted method

func (s *foldingKeys) UserByAPIKey(ctx context.Context, key string) (zulipauth.User, error) {
	s.keyLookups.Add(1)
	if strings.EqualFold(key, s.user.APIKey) {
		return s.user, nil
	}
	return zulipauth.User{}, zulipauth.ErrUserNotFound
}

// With a store that ignores the key's letter case, the case variants of a
// key are refused, and cached as unknown keys: they cannot push the key's
// user out of the cache.
func TestRequireAPIKeyCaseVariantsOfAKey(t *testing.T) {
	t.Parallel()
	st := &foldingKeys{}
	f := newFixture(t, func(c *zulipauth.Config) {
		c.APIKeyCacheTTL = time.Minute
		c.APIKeyCacheSize = 1
		st.Store = c.Users.(*memstore.Store)
		c.Users = st
	})
	st.user = f.iago
	h := f.auth.RequireAPIKey(me)
	if code := getMe(h, "", basic(iagoEmail, f.iago.APIKey)).Code; code != 200 {
		t.Fatalf("the key: %d", code)
	}
	// Variants with one letter's case flipped, each a different letter.
	variants := 0
	for j := 0; j < len(f.iago.APIKey) && variants < 8; j++ {
		c := f.iago.APIKey[j]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			continue
		}
		variant := []byte(f.iago.APIKey)
		variant[j] ^= 0x20
		variants++
		if code := getMe(h, "", basic(iagoEmail, string(variant))).Code; code != 401 {
			t.Fatalf("a case variant of the key: %d, want 401", code)
		}
	}
	// Another spelling than the canonical header, so that the key is
	// looked up in the cache's users.
	before := st.keyLookups.Load()
	if code := getMe(h, "", "basic"+strings.TrimPrefix(basic(iagoEmail, f.iago.APIKey), "Basic")).Code; code != 200 {
		t.Fatalf("the key again: %d", code)
	}
	if st.keyLookups.Load() != before {
		t.Error("the key's user was pushed out of the cache by case variants of its key")
	}
}

// Made-up keys, from many clients at once, fill the cache's refusals and
// never push out an accepted client, which keeps costing no lookup.
func TestRequireAPIKeyFloodKeepsAcceptedClients(t *testing.T) {
	t.Parallel()
	f, cs := countingFixture(t, func(c *zulipauth.Config) {
		c.APIKeyCacheTTL = time.Minute
		c.APIKeyCacheSize = 4
	})
	h := f.auth.RequireAPIKey(me)
	send := func(remote, header string) int { return getMe(h, remote, header).Code }
	valid := basic(iagoEmail, f.iago.APIKey)
	if code := send("192.0.2.1:1", valid); code != 200 {
		t.Fatalf("valid key: %d", code)
	}
	const flood = 100
	for i := range flood {
		key := fmt.Sprintf("%032d", i)
		if code := send(fmt.Sprintf("198.51.100.%d:1", i%250), basic(iagoEmail, key)); code != 401 {
			t.Fatalf("made-up key %d: %d, want 401", i, code)
		}
	}
	if code := send("192.0.2.1:1", valid); code != 200 {
		t.Fatalf("valid key after the flood: %d", code)
	}
	if got, want := cs.lookups.Load(), int64(1+flood); got != want {
		t.Errorf("%d store lookups, want %d: the flood evicted the accepted client", got, want)
	}
}

func FuzzRequireAPIKey(f *testing.F) {
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("a@b.c:"+strings.Repeat("a", 32))))
	f.Add("Basic !!")
	f.Add("bearer x")
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("\xff::")))
	fx := newFixture(f, func(c *zulipauth.Config) {
		c.UserLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: 1})
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: 1})
	})
	h := fx.auth.RequireAPIKey(me)
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/api/v1/users/me", nil)
		r.Header["Authorization"] = []string{header}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 400 && w.Code != 401 {
			t.Fatalf("status %d for %q", w.Code, header)
		}
		decode(t, w.Body.Bytes())
	})
}

// userOnly hides memstore's UserWithRealmFinder, as a custom store would.
type userOnly struct{ *memstore.Store }

func (userOnly) UserWithRealmByAPIKey() {} // shadows the promoted method

// Pins a bug where, for a store that cannot join the user's realm, the
// cache kept the realm of the first request's host, so a key cached on one
// realm's host was accepted on another's.
func TestRequireAPIKeyCacheIsNotPerHost(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	ctx := context.Background()
	store.CreateRealm(ctx, zulipauth.Realm{Subdomain: "a"})
	store.CreateRealm(ctx, zulipauth.Realm{Subdomain: "b"})
	u, _ := store.CreateUser(ctx, zulipauth.NewUser{Realm: "a", Email: iagoEmail})
	resolver := resolverFunc(func(r *http.Request) (zulipauth.Realm, error) {
		return store.RealmBySubdomain(r.Context(), strings.Split(r.Host, ".")[0])
	})
	// Both kinds of store: without the joined lookup (the bug), and with it
	// but with a resolver that cannot name a subdomain without a lookup
	// (where the check must not compare the user's realm with itself).
	for name, users := range map[string]zulipauth.UserStore{"userOnly": userOnly{store}, "joined": store} {
		auth, err := zulipauth.New(zulipauth.Config{Users: users, Authenticator: noLogins, Realms: resolver, APIKeyCacheTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		h := auth.RequireAPIKey(me)
		for _, tc := range []struct {
			host string
			want int
		}{{"a.example.com", 200}, {"b.example.com", 401}, {"a.example.com", 200}, {"b.example.com", 401}} {
			r := httptest.NewRequest("GET", "http://"+tc.host+"/api/v1/users/me", nil)
			r.Header.Set("Authorization", basic(iagoEmail, u.APIKey))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("%s, %s: %d %s, want %d", name, tc.host, w.Code, w.Body, tc.want)
			}
		}
	}
}

// Pins flood protection: made-up keys spend the client's budget, and once
// it is spent the client gets 429 without costing store lookups, until the
// budget refills; other clients are unaffected.
func TestRequireAPIKeyFailuresSpendTheClientsBudget(t *testing.T) {
	t.Parallel()
	f, cs := countingFixture(t, nil)
	h := f.auth.RequireAPIKey(me)
	send := func(remote, key string) *httptest.ResponseRecorder { return getMe(h, remote, basic(iagoEmail, key)) }
	for i := 0; i < 100; i++ {
		if w := send("198.51.100.1:1", zulipauth.GenerateAPIKey()); w.Code != 401 {
			t.Fatalf("made-up key %d: %d", i, w.Code)
		}
	}
	if got := cs.lookups.Load(); got != 100 {
		t.Fatalf("%d lookups for 100 made-up keys", got)
	}
	w := send("198.51.100.1:1", zulipauth.GenerateAPIKey())
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" || w.Header().Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("101st made-up key: %d %v %s", w.Code, w.Header(), w.Body)
	}
	// The 101st cost the lookup that found it out; no later one does.
	for i := 0; i < 50; i++ {
		if w := send("198.51.100.1:1", zulipauth.GenerateAPIKey()); w.Code != 429 {
			t.Fatalf("refused client, request %d: %d", i, w.Code)
		}
	}
	if got := cs.lookups.Load(); got != 101 {
		t.Errorf("a refused client still costs lookups: %d, want 101", got)
	}
	if w := send("198.51.100.2:1", f.iago.APIKey); w.Code != 200 {
		t.Errorf("another client: %d %s", w.Code, w.Body)
	}
	f.clock.Advance(time.Second) // the budget refills 100 per minute
	if w := send("198.51.100.1:1", f.iago.APIKey); w.Code != 200 {
		t.Errorf("after the refill: %d %s", w.Code, w.Body)
	}
}

// noLogins is an Authenticator for tests of the API middleware alone: it
// refuses every login.
var noLogins = zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
	return zulipauth.User{}, zulipauth.ErrBadCredentials
})
