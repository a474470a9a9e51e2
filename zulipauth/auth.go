package zulipauth

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// Auth holds one configuration of Zulip's login and hands out its handlers.
// Build it with [New]; it is safe for concurrent use.
type Auth struct {
	cfg  Config
	keys *apiKeyCache // nil when Config.APIKeyCacheTTL is 0
	// realms caches realms by subdomain (nil when Config.RealmCacheTTL is 0).
	realms *realmCache
	// subdomains is Config.Realms when it names a request's subdomain
	// without a lookup, else nil: asserted once here, read per request.
	subdomains SubdomainResolver
	// prepare is Config.Authenticator when it prepares usernames for the
	// per-username budget's key (see UsernamePreparer), else nil.
	prepare UsernamePreparer
	// follower applies the store's changes to keys and realms (nil when
	// both caches are off or the store has no ChangeFeed).
	follower *changeFollower

	// userAt is Config.UserLimiter when it is a MemoryLimiter reading the
	// clock Config.Now reads: it is handed the instant a request already
	// read, a clock read less per API request.
	userAt *MemoryLimiter

	// refused holds the clients whose budget (Config.IPLimiter) refused
	// them, in a login or a failed API authentication, until one event is
	// allowed again; spentUsernames the same for Config.LoginLimiter. See
	// refusal.
	refused, spentUsernames *expiringMap[refusal]

	date atomic.Pointer[httpDateValue] // Expires header, formatted once a second
}

// New checks cfg, fills in its defaults and returns the Auth it describes.
// Every misconfiguration New can see is an error here, naming the field,
// rather than a panic or a surprise on the first request. With the API-key
// or the realm cache on and a store that is a [ChangeFeed], New reads where the feed
// stands and starts following it (see Config.ChangePollInterval); call
// [Auth.Close] to stop.
func New(cfg Config) (*Auth, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	systemClock := cfg.Now == nil
	cfg.fillDefaults()
	var userAt *MemoryLimiter
	if m, ok := cfg.UserLimiter.(*MemoryLimiter); ok && systemClock && m.systemClock {
		userAt = m
	}
	a := &Auth{cfg: cfg, userAt: userAt, refused: newRefusalMemory(), spentUsernames: newRefusalMemory()}
	if cfg.APIKeyCacheTTL > 0 {
		size := cfg.APIKeyCacheSize
		if size == 0 {
			size = apiKeyCacheDefaultSize
		}
		a.keys = newAPIKeyCache(cfg.APIKeyCacheTTL, size)
	}
	a.subdomains, _ = cfg.Realms.(SubdomainResolver)
	a.prepare, _ = cfg.Authenticator.(UsernamePreparer)
	if cfg.RealmCacheTTL > 0 {
		if a.subdomains == nil {
			return nil, fmt.Errorf("zulipauth: Config.RealmCacheTTL needs a Realms resolver that names a request's subdomain without a lookup (a SubdomainResolver, as HostRealms is); %T is not one: leave RealmCacheTTL 0", cfg.Realms)
		}
		a.realms = newRealmCache(cfg.RealmCacheTTL)
	}
	if feed, ok := cfg.Users.(ChangeFeed); ok && cfg.ChangePollInterval > 0 && (a.keys != nil || a.realms != nil) {
		if err := a.startChangeFollower(feed, cfg.ChangePollInterval); err != nil {
			return nil, fmt.Errorf("zulipauth: reading the store's change feed: %w", err)
		}
	}
	return a, nil
}

// Mount registers the login endpoints on mux: /api/v1/fetch_api_key,
// /api/v1/jwt/fetch_api_key (see [Auth.JWTFetchAPIKey]; without
// Config.TokenVerifier it answers that JWT is not enabled, as Zulip does),
// /api/v1/server_settings, /api/v1/users/me/api_key/regenerate behind
// [Auth.RequireAPIKey] where the store can regenerate keys (an
// [APIKeyRegenerator]; see [Auth.RegenerateAPIKeyHandler]), and
// /api/v1/dev_fetch_api_key (see
// [Auth.InsecureDevFetchAPIKey]) only where Config.InsecureDevLogin is set.
//
// The path is registered without a method, so that other methods get Zulip's
// JSON 405 rather than ServeMux's plain-text one. Serve the mux through
// [MergeSlashes] so that clients given a realm URL with a trailing slash
// (which request //api/v1/...) reach it.
func (a *Auth) Mount(mux *http.ServeMux) {
	mux.Handle("/api/v1/fetch_api_key", a.FetchAPIKey())
	mux.Handle("/api/v1/jwt/fetch_api_key", a.JWTFetchAPIKey())
	mux.Handle("/api/v1/server_settings", a.ServerSettings())
	if _, ok := a.cfg.Users.(APIKeyRegenerator); ok {
		mux.Handle("/api/v1/users/me/api_key/regenerate", a.RequireAPIKey(a.RegenerateAPIKeyHandler()))
	}
	if a.cfg.InsecureDevLogin {
		mux.Handle("/api/v1/dev_fetch_api_key", a.InsecureDevFetchAPIKey())
	}
}

// ClientIP returns the address r came from, believing Config.ClientIPHeader
// only from Config.TrustedProxies.
func (a *Auth) ClientIP(r *http.Request) netip.Addr {
	return clientIP(r, a.cfg.TrustedProxies, a.cfg.ClientIPHeader)
}

func (a *Auth) emit(e Event) {
	if a.cfg.OnEvent != nil {
		a.cfg.OnEvent(e)
	}
}

// MergeSlashes serves h with runs of slashes in the URL path collapsed to one,
// as nginx's merge_slashes does in front of a Zulip server. zulip-js and other
// clients join a realm URL and "/api/v1/...", so a realm URL ending in "/"
// produces "//api/v1/fetch_api_key"; http.ServeMux would answer that with a
// redirect, which turns the POST into a GET.
func MergeSlashes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "//") {
			h.ServeHTTP(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = mergeSlashes(u.Path)
		u.RawPath = mergeSlashes(u.RawPath)
		r2.URL = &u
		h.ServeHTTP(w, r2)
	})
}

func mergeSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
