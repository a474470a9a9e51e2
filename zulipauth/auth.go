package zulipauth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// Config configures an [Auth]. Users and Authenticator are required; every
// other field has the default its comment states, filled in by [New].
type Config struct {
	// Users is where accounts live. Required.
	Users UserStore
	// Authenticator checks credentials: backends/password, backends/ldap,
	// or several joined with [Chain]. Required.
	Authenticator Authenticator

	// Realms resolves the organization of a request. Default: when Users is
	// also a [RealmStore], the root realm of that store ([HostRealms] without
	// an ExternalHost); otherwise one active realm named "Zulip" that allows
	// password login.
	Realms RealmResolver

	// LoginLimiter is the per-username budget of fetch_api_key, keyed by
	// realm and the trimmed, case-folded username, and cleared by a
	// successful login. Default: a [MemoryLimiter] with [DefaultLoginBudget]
	// (5 attempts per 30 minutes, Zulip's authenticate_by_username).
	LoginLimiter Limiter
	// IPLimiter is the per-client-address budget (IPv6 by /64) of
	// fetch_api_key and of failed API authentications. Default: a [MemoryLimiter] with [DefaultIPBudget] (100 per
	// minute, Zulip's api_by_ip).
	IPLimiter Limiter

	// UserLimiter is the per-user budget of requests authenticated by
	// [Auth.RequireAPIKey], keyed by user id. Default: a [MemoryLimiter]
	// with [DefaultUserBudget] (200 per minute, Zulip's api_by_user).
	UserLimiter Limiter

	// APIKeyCacheTTL, when positive, caches for that long what the store
	// says about an API key (its user, or that it is unknown), so a busy
	// client costs no store lookup per request, and no parsing when it sends
	// its canonical header. A change made to a user in the store by another
	// process (a deactivation, a new key) takes effect here within the TTL;
	// [Auth.RegenerateAPIKey] and [Auth.ForgetUser] act at once. Default:
	// 0, no cache.
	APIKeyCacheTTL time.Duration
	// APIKeyCacheSize bounds each of the cache's parts: users, unknown keys
	// and canonical headers, so that a flood of made-up keys never pushes a
	// user out. Default: 10,000.
	APIKeyCacheSize int

	// ZulipVersion, ZulipMergeBase and ZulipFeatureLevel are what
	// server_settings reports. Clients gate features on the feature level;
	// zulip-flutter refuses servers below 277. Defaults:
	// [DefaultZulipVersion], the version, [DefaultZulipFeatureLevel].
	ZulipVersion      string
	ZulipMergeBase    string
	ZulipFeatureLevel int
	// PushNotificationsEnabled is reported by server_settings. Default false.
	PushNotificationsEnabled bool

	// TrustedProxies lists the reverse proxies whose ClientIPHeader is
	// believed. Default: none, so the client address is the TCP peer and
	// headers are ignored.
	TrustedProxies []netip.Prefix
	// ClientIPHeader is the one header the trusted proxies set to the
	// client's address: "X-Forwarded-For" (the default, read from the right,
	// skipping trusted hops) or one holding a single address, such as
	// "X-Real-IP". Name the header your proxy overwrites: one it does not set
	// passes through as the client wrote it.
	ClientIPHeader string

	// MaxBodyBytes caps the request body. A larger body is refused with
	// 413 before it is read. Default: 64 KiB.
	MaxBodyBytes int64
	// MaxPasswordBytes caps the password; a longer one is refused with 400
	// before any rate-limit or hash work. Default: 1024.
	MaxPasswordBytes int

	// OnEvent, when set, is called with the outcome of every login attempt
	// that reaches the rate limits. It runs on the request's goroutine before
	// the response is written: hand slow work (sending an email) elsewhere.
	OnEvent func(Event)
	// Logger receives internal faults (a store or limiter error) and nothing
	// that is a secret. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock for X-RateLimit-Reset and events. Default: time.Now.
	Now func() time.Time
}

// Defaults for [Config] fields.
const (
	DefaultMaxBodyBytes     = 64 << 10
	DefaultMaxPasswordBytes = 1024
	// DefaultZulipVersion and DefaultZulipFeatureLevel describe Zulip 9.0,
	// whose API (realm_url, user_id in fetch_api_key) this package speaks.
	DefaultZulipVersion      = "9.0"
	DefaultZulipFeatureLevel = 278
)

// Auth holds one configuration of Zulip's login and hands out its handlers.
// Build it with [New]; it is safe for concurrent use.
type Auth struct {
	cfg  Config
	keys *apiKeyCache // nil when Config.APIKeyCacheTTL is 0

	// userAt is Config.UserLimiter when it is a MemoryLimiter reading the
	// clock Config.Now reads: it is handed the instant a request already
	// read, a clock read less per API request.
	userAt *MemoryLimiter

	// refused holds the clients whose failed API authentications spent
	// their budget, until it refills.
	refused *expiringMap[struct{}]

	// devLogin records that InsecureDevFetchAPIKey was handed out, so that
	// server_settings reports the dev method.
	devLogin atomic.Bool

	date atomic.Pointer[httpDateValue] // Expires header, formatted once a second
}

// New checks cfg, fills in its defaults and returns the Auth it describes.
func New(cfg Config) (*Auth, error) {
	if cfg.Users == nil {
		return nil, errors.New("zulipauth: Config.Users is required")
	}
	if cfg.Authenticator == nil {
		return nil, errors.New("zulipauth: Config.Authenticator is required")
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxPasswordBytes < 0 || cfg.APIKeyCacheTTL < 0 || cfg.APIKeyCacheSize < 0 || cfg.ZulipFeatureLevel < 0 {
		return nil, errors.New("zulipauth: Config's sizes, TTL and feature level must not be negative")
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("zulipauth: Config.TrustedProxies holds an invalid prefix")
		}
	}
	systemClock := cfg.Now == nil
	if systemClock {
		cfg.Now = time.Now
	}
	if cfg.ClientIPHeader == "" {
		cfg.ClientIPHeader = "X-Forwarded-For"
	}
	cfg.ClientIPHeader = http.CanonicalHeaderKey(cfg.ClientIPHeader)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxPasswordBytes == 0 {
		cfg.MaxPasswordBytes = DefaultMaxPasswordBytes
	}
	if cfg.Realms == nil {
		if rs, ok := cfg.Users.(RealmStore); ok {
			cfg.Realms = HostRealms{Realms: rs}
		} else {
			cfg.Realms = SingleRealm(Realm{Name: "Zulip"})
		}
	}
	if cfg.LoginLimiter == nil {
		cfg.LoginLimiter = NewMemoryLimiter(DefaultLoginBudget, WithClock(cfg.Now))
	}
	if cfg.IPLimiter == nil {
		cfg.IPLimiter = NewMemoryLimiter(DefaultIPBudget, WithClock(cfg.Now))
	}
	var userAt *MemoryLimiter
	if cfg.UserLimiter == nil {
		userAt = NewMemoryLimiter(DefaultUserBudget, WithClock(cfg.Now))
		cfg.UserLimiter = userAt
	} else if m, ok := cfg.UserLimiter.(*MemoryLimiter); ok && systemClock && m.systemClock {
		userAt = m
	}
	if cfg.ZulipVersion == "" {
		cfg.ZulipVersion = DefaultZulipVersion
	}
	if cfg.ZulipMergeBase == "" {
		cfg.ZulipMergeBase = cfg.ZulipVersion
	}
	if cfg.ZulipFeatureLevel == 0 {
		cfg.ZulipFeatureLevel = DefaultZulipFeatureLevel
	}
	a := &Auth{cfg: cfg, userAt: userAt, refused: newExpiringMap[struct{}](DefaultMaxKeys, time.Second)}
	if cfg.APIKeyCacheTTL > 0 {
		size := cfg.APIKeyCacheSize
		if size == 0 {
			size = apiKeyCacheDefaultSize
		}
		a.keys = newAPIKeyCache(cfg.APIKeyCacheTTL, size)
	}
	return a, nil
}

// Mount registers the login endpoints on mux: /api/v1/fetch_api_key and
// /api/v1/server_settings. The development login is never mounted here; see
// [Auth.InsecureDevFetchAPIKey].
//
// The path is registered without a method, so that other methods get Zulip's
// JSON 405 rather than ServeMux's plain-text one. Serve the mux through
// [MergeSlashes] so that clients given a realm URL with a trailing slash
// (which request //api/v1/...) reach it.
func (a *Auth) Mount(mux *http.ServeMux) {
	mux.Handle("/api/v1/fetch_api_key", a.FetchAPIKey())
	mux.Handle("/api/v1/server_settings", a.ServerSettings())
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
