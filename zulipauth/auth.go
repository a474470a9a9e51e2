package zulipauth

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/zulipauth/zulipauth-go/zulipauth/internal/expiring"
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
	subdomains subdomainResolver
	// usernames is Config.Authenticator when it compares usernames its own
	// way (see UsernameComparer), else nil.
	usernames UsernameComparer
	// flows is Config.Users as a FlowStore where identity providers need
	// one (see Config.IdentityProviders), else nil.
	flows FlowStore
	// follower applies the store's changes to keys and realms (nil when
	// both caches are off or the store has no ChangeFeed).
	follower *changeFollower

	// refused holds the clients whose budget (Config.IPLimiter) refused
	// them, in a login or a failed API authentication, until one event is
	// allowed again; spentUsernames the same for Config.UsernameLimiter. See
	// refusal.
	refused, spentUsernames *expiring.Map[refusal]

	date atomic.Pointer[httpDateValue] // Expires header, formatted once a second

	stats stats // see Auth.Stats
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
	cfg.fillDefaults()
	a := &Auth{cfg: cfg, refused: newRefusalMemory(), spentUsernames: newRefusalMemory()}
	if cfg.APIKeyCacheTTL > 0 {
		size := cfg.APIKeyCacheSize
		if size == 0 {
			size = apiKeyCacheDefaultSize
		}
		a.keys = newAPIKeyCache(cfg.APIKeyCacheTTL, size)
	}
	a.subdomains, _ = cfg.Realms.(subdomainResolver)
	a.usernames, _ = cfg.Authenticator.(UsernameComparer)
	a.flows, _ = cfg.Users.(FlowStore)
	if cfg.RealmCacheTTL > 0 {
		if a.subdomains == nil {
			return nil, fmt.Errorf("zulipauth: Config.RealmCacheTTL needs a Realms resolver that names a request's subdomain without a lookup (HostRealms or SingleRealm); %T is not one: leave RealmCacheTTL 0", cfg.Realms)
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

// Mount registers the login endpoints on mux, any router with the standard
// library mux's Handle (http.ServeMux, chi, gorilla/mux): /api/v1/fetch_api_key,
// /api/v1/jwt/fetch_api_key (without Config.TokenVerifier it answers that
// JWT is not enabled, as Zulip does), /api/v1/server_settings,
// /api/v1/users/me/api_key/regenerate behind [Auth.RequireAPIKey] where the
// store can regenerate keys (an [APIKeyRegenerator]), and
// /api/v1/dev_fetch_api_key only where Config.InsecureDevLogin is set; and,
// where Config.IdentityProviders has providers, single sign-on's
// /accounts/login/social/, /accounts/register/social/ (see
// [Auth.SSOStartHandler]), each provider's callback path
// ([Auth.SSOCallbackHandler]) and /accounts/login/subdomain/
// ([Auth.SSOLoginTokenHandler]).
//
// The paths are registered without a method, so that other methods get
// Zulip's JSON 405 rather than a router's plain-text one. Serve the mux
// through [MergeSlashes] so that clients given a realm URL with a trailing
// slash (which request //api/v1/...) reach it.
func (a *Auth) Mount(mux interface {
	Handle(pattern string, h http.Handler)
}) {
	mux.Handle("/api/v1/fetch_api_key", a.FetchAPIKeyHandler())
	mux.Handle("/api/v1/jwt/fetch_api_key", a.JWTFetchAPIKeyHandler())
	mux.Handle("/api/v1/server_settings", a.ServerSettingsHandler())
	if _, ok := a.cfg.Users.(APIKeyRegenerator); ok {
		mux.Handle("/api/v1/users/me/api_key/regenerate", a.RequireAPIKey(a.RegenerateAPIKeyHandler()))
	}
	if a.cfg.InsecureDevLogin {
		mux.Handle("/api/v1/dev_fetch_api_key", a.InsecureDevFetchAPIKeyHandler())
	}
	if len(a.cfg.IdentityProviders) > 0 {
		start := a.SSOStartHandler()
		mux.Handle("/accounts/login/social/", start)
		mux.Handle("/accounts/register/social/", start)
		mux.Handle("/accounts/login/subdomain/", a.SSOLoginTokenHandler())
		callback, mounted := a.SSOCallbackHandler(), map[string]bool{}
		for _, p := range a.cfg.IdentityProviders {
			if path := p.Info().CallbackPath; !mounted[path] {
				mux.Handle(path, callback)
				mounted[path] = true
			}
		}
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
