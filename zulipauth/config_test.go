package zulipauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Every misconfiguration New can see is an error there, naming what to
// fix. Each of these once passed New and then failed (most by panicking) on
// every request, or silently did nothing.
func TestNewRejectsMisconfiguration(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var nilStore *memstore.Store
	var nilLimiter *zulipauth.MemoryLimiter
	valid := func(mutate func(*zulipauth.Config)) zulipauth.Config {
		c := zulipauth.Config{Users: f.store, Authenticator: f.pw}
		mutate(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  zulipauth.Config
		want string // in the error
	}{
		{"no users", zulipauth.Config{Authenticator: f.pw}, "Config.Users is required"},
		{"a nil store", zulipauth.Config{Users: nilStore, Authenticator: f.pw}, "Config.Users is required"},
		{"no authenticator", zulipauth.Config{Users: f.store}, "Config.Authenticator is required"},
		{"an empty chain", valid(func(c *zulipauth.Config) { c.Authenticator = zulipauth.Chain() }), "Chain of no authenticators"},
		{"a nil in a chain", valid(func(c *zulipauth.Config) { c.Authenticator = zulipauth.Chain(f.pw, nil) }), "authenticator 1 of the Chain is nil"},
		{"HostRealms without Realms", valid(func(c *zulipauth.Config) { c.Realms = zulipauth.HostRealms{ExternalHost: "example.com"} }), "HostRealms without Realms"},
		{"*HostRealms without Realms", valid(func(c *zulipauth.Config) { c.Realms = &zulipauth.HostRealms{} }), "HostRealms without Realms"},
		{"HostRealms with a nil store", valid(func(c *zulipauth.Config) { c.Realms = zulipauth.HostRealms{Realms: nilStore} }), "HostRealms without Realms"},
		{"an external host that is a URL", valid(func(c *zulipauth.Config) {
			c.Realms = zulipauth.HostRealms{Realms: f.store, ExternalHost: "https://chat.example.com"}
		}), "is a URL"},
		{"an external host with a path", valid(func(c *zulipauth.Config) {
			c.Realms = zulipauth.HostRealms{Realms: f.store, ExternalHost: "chat.example.com/zulip"}
		}), "not HOST or HOST:PORT"},
		// Pins markup served as realm_url: -external-host
		// 'chat.example.test"><script>' was accepted.
		{"an external host with markup", valid(func(c *zulipauth.Config) {
			c.Realms = zulipauth.HostRealms{Realms: f.store, ExternalHost: `chat.example.test"><script>`}
		}), "not HOST or HOST:PORT"},
		{"an external host with a quote", valid(func(c *zulipauth.Config) {
			c.Realms = zulipauth.HostRealms{Realms: f.store, ExternalHost: `chat'.example.test:9991`}
		}), "not HOST or HOST:PORT"},
		{"an external host with a bad port", valid(func(c *zulipauth.Config) {
			c.Realms = zulipauth.HostRealms{Realms: f.store, ExternalHost: "chat.example.com:http"}
		}), "port is not a number"},
		{"an empty root alias", valid(func(c *zulipauth.Config) {
			c.Realms = zulipauth.HostRealms{Realms: f.store, ExternalHost: "example.com", RootAliases: []string{""}}
		}), "RootAliases"},
		{"a nil limiter", valid(func(c *zulipauth.Config) { c.IPLimiter = nilLimiter }), "Config.IPLimiter is a nil"},
		{"a negative body cap", valid(func(c *zulipauth.Config) { c.MaxBodyBytes = -1 }), "Config.MaxBodyBytes is negative"},
		{"a negative password cap", valid(func(c *zulipauth.Config) { c.MaxPasswordBytes = -1 }), "Config.MaxPasswordBytes is negative"},
		{"a negative cache TTL", valid(func(c *zulipauth.Config) { c.APIKeyCacheTTL = -time.Second }), "Config.APIKeyCacheTTL is negative"},
		{"a negative cache size", valid(func(c *zulipauth.Config) { c.APIKeyCacheTTL, c.APIKeyCacheSize = time.Second, -1 }), "Config.APIKeyCacheSize is negative"},
		{"a negative realm cache TTL", valid(func(c *zulipauth.Config) { c.RealmCacheTTL = -time.Second }), "Config.RealmCacheTTL is negative"},
		{"a realm cache without a subdomain resolver", valid(func(c *zulipauth.Config) {
			c.RealmCacheTTL = time.Second
			c.Realms = resolverFunc(func(*http.Request) (zulipauth.Realm, error) { return zulipauth.Realm{}, nil })
		}), "RealmCacheTTL needs a Realms resolver that names a request's subdomain"},
		{"a negative feature level", valid(func(c *zulipauth.Config) { c.ZulipFeatureLevel = -1 }), "Config.ZulipFeatureLevel is negative"},
		{"a cache size without a TTL", valid(func(c *zulipauth.Config) { c.APIKeyCacheSize = 100 }), "APIKeyCacheTTL is 0"},
		{"an invalid proxy prefix", valid(func(c *zulipauth.Config) { c.TrustedProxies = []netip.Prefix{{}} }), "TrustedProxies holds an invalid prefix"},
		{"a client-IP header that is no header name", valid(func(c *zulipauth.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
			c.ClientIPHeader = "X Real IP"
		}), "is not a header name"},
		{"a client-IP header without proxies", valid(func(c *zulipauth.Config) { c.ClientIPHeader = "X-Real-IP" }), "TrustedProxies is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := zulipauth.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// What New accepts, it serves without panicking.
	for name, rr := range map[string]zulipauth.RealmResolver{
		"host":      zulipauth.HostRealms{Realms: f.store, ExternalHost: "chat.example.com:9991"},
		"ipv6 host": zulipauth.HostRealms{Realms: f.store, ExternalHost: "[::1]:9991"},
		"single":    zulipauth.SingleRealm(zulipauth.Realm{}),
	} {
		auth, err := zulipauth.New(zulipauth.Config{Users: f.store, Authenticator: f.pw, Realms: rr})
		if err != nil {
			t.Errorf("%s: New = %v", name, err)
			continue
		}
		w := httptest.NewRecorder()
		auth.FetchAPIKeyHandler().ServeHTTP(w, formRequest(url.Values{"username": {iagoEmail}, "password": {iagoPassword}}.Encode()))
		if w.Code != 200 {
			t.Errorf("%s: login %d %s", name, w.Code, w.Body)
		}
	}
}

// Every login spends the client's budget before it looks the realm up, the
// first work that may reach a store. The development login once looked the
// realm up first, so a client past its budget still cost a query per
// request.
func TestLoginsSpendTheClientBudgetBeforeTheRealm(t *testing.T) {
	t.Parallel()
	for _, login := range []struct {
		name    string
		handler func(*zulipauth.Auth) http.Handler
		body    string
	}{
		{"fetch_api_key", (*zulipauth.Auth).FetchAPIKeyHandler, url.Values{"username": {iagoEmail}, "password": {"wrong"}}.Encode()},
		{"dev_fetch_api_key", (*zulipauth.Auth).InsecureDevFetchAPIKeyHandler, url.Values{"username": {iagoEmail}}.Encode()},
	} {
		t.Run(login.name, func(t *testing.T) {
			t.Parallel()
			lookups := 0
			f := newFixture(t, func(c *zulipauth.Config) {
				c.InsecureDevLogin = true
				c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 2, Per: time.Hour})
				c.Realms = resolverFunc(func(*http.Request) (zulipauth.Realm, error) {
					lookups++
					return zulipauth.Realm{}, nil
				})
			})
			h := login.handler(f.auth)
			for i := range 5 {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, formRequest(login.body))
				if want := i >= 2; (w.Code == 429) != want {
					t.Errorf("request %d: %d %s, want 429 = %v", i, w.Code, w.Body, want)
				}
			}
			if lookups != 2 {
				t.Errorf("%d realm lookups, want 2: a client past its budget must cost none", lookups)
			}
		})
	}
}

// The secrets of a user are cleared in one place.
func TestUserWithoutSecrets(t *testing.T) {
	t.Parallel()
	u := zulipauth.User{ID: 7, Email: iagoEmail, FullName: "Iago", APIKey: strings.Repeat("k", 32), PasswordHash: "$argon2id$..."}
	got := u.WithoutSecrets()
	if got.APIKey != "" || got.PasswordHash != "" || got.ID != 7 || got.Email != iagoEmail || got.FullName != "Iago" {
		t.Errorf("WithoutSecrets = %+v", got)
	}
	if u.APIKey == "" {
		t.Error("WithoutSecrets changed its receiver")
	}
}
