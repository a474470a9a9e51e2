package zulipauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
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

	// TokenVerifier checks the tokens of the JWT login
	// (/api/v1/jwt/fetch_api_key, see [Auth.JWTFetchAPIKeyHandler]), such as
	// backends/jwt with keys per realm. Default: none, so the JWT login
	// answers every realm "JWT authentication is not enabled for this
	// organization", as Zulip does without JWT_AUTH_KEYS.
	TokenVerifier TokenVerifier

	// IdentityProviders are the single sign-on providers the mobile apps
	// (and browsers) may log in with (see [IdentityProvider];
	// backends/oidc): server_settings lists those enabled for the realm,
	// and [Auth.Mount] mounts their start, callback and desktop-token
	// endpoints. Users must then be a [FlowStore]. Default: none.
	IdentityProviders []IdentityProvider
	// WebLogin, when set, starts the host application's own web session
	// for a user who logged in with single sign-on in a browser (without
	// mobile_flow_otp), and answers the request (a redirect to the
	// application's home page, say); it also lets the desktop app finish
	// (see [Auth.SSOLoginTokenHandler]). The user has no secrets. Default:
	// none, so such a login ends on a page saying it worked, and the desktop
	// app is told to log in with a password.
	WebLogin func(w http.ResponseWriter, r *http.Request, user User)

	// Realms resolves the organization of a request. Default: when Users is
	// also a [RealmStore], the root realm of that store ([HostRealms] without
	// an ExternalHost); otherwise one active realm named "Zulip" that allows
	// password login.
	Realms RealmResolver

	// UsernameLimiter is the password login's budget per username, keyed by
	// realm and the username as the authenticator compares usernames, and
	// per account the username names (see [Attempt.ChargeAccount]); a
	// success clears both. Default: a [MemoryLimiter] with
	// [DefaultUsernameBudget] (5 attempts per 30 minutes, Zulip's
	// authenticate_by_username).
	UsernameLimiter Limiter
	// IPLimiter is the budget per client address (IPv6 by /64) of every
	// login and of failed API authentications. Default: a [MemoryLimiter]
	// with [DefaultIPBudget] (100 per minute, Zulip's api_by_ip).
	IPLimiter Limiter
	// UserLimiter is the budget per user of the requests
	// [Auth.RequireAPIKey] authenticates. Default: a [MemoryLimiter] with
	// [DefaultUserBudget] (200 per minute, Zulip's api_by_user).
	UserLimiter Limiter

	// APIKeyCacheTTL, when positive, caches what the store says about an
	// API key (its user, or that it is unknown), so a busy client costs no
	// store lookup per request, and no parsing when it sends its canonical
	// header. A cached user is trusted for the TTL after the store last
	// vouched for it. Where the store is a [ChangeFeed] (sqlstore and
	// memstore are), every read of the feed vouches for what it did not
	// revoke, so a user stays cached as long as the feed answers, whatever
	// the TTL, and a change made to the user by another process (a
	// deactivation, a new key, a realm change) takes effect here within
	// ChangePollInterval; a read that fails empties the cache. Without a
	// feed, such a change takes effect within the TTL, so keep it short
	// there (seconds). Unknown keys are kept for the TTL either way.
	// [Auth.RegenerateAPIKey] and [Auth.ForgetUser] act at once. Default: 0,
	// no cache.
	APIKeyCacheTTL time.Duration
	// ChangePollInterval is how often, with the API-key or the realm cache
	// on and a store that is a [ChangeFeed], New's follower reads the
	// store's new changes and drops what they revoke from the caches, so a
	// deactivation or a new key made by any process takes effect here
	// within about this long; a read that fails (or takes over four
	// intervals) empties both caches. Default: 250 ms; negative: do not
	// follow (changes made elsewhere then take effect within APIKeyCacheTTL
	// or RealmCacheTTL). Stop the follower with [Auth.Close].
	ChangePollInterval time.Duration
	// APIKeyCacheSize bounds each of the cache's parts: users, unknown keys
	// and canonical headers, so that a flood of made-up keys never pushes a
	// user out. A cached user costs about 650 bytes, an unknown key about
	// 110. Default: 100,000 ([DefaultMaxKeys], as the budgets'), so that
	// 100,000 active users stay cached.
	APIKeyCacheSize int
	// RealmCacheTTL, when positive, caches for that long the realm each
	// subdomain resolves to (unknown subdomains are not cached), so that a
	// login or server_settings costs no realm lookup in the store: with
	// SQLite that lookup is most of what refusing a flood from many
	// addresses costs. A realm changed by another process (deactivated,
	// password login turned off) takes effect here within
	// ChangePollInterval where the store is a [ChangeFeed], else within the
	// TTL. Needs a Realms resolver that names a request's subdomain without
	// a lookup ([HostRealms] or [SingleRealm]'s). Default: 0,
	// every request asks the resolver.
	RealmCacheTTL time.Duration

	// ZulipVersion, ZulipMergeBase and ZulipFeatureLevel are what
	// server_settings reports. Clients gate features on the feature level;
	// zulip-flutter refuses servers below 277. Defaults: "10.0", the
	// version, and 371: Zulip 10.0, the oldest release the current mobile
	// app (zulip-flutter) supports without a warning (it refuses servers
	// below feature level 277 and calls those below 371 unsupported).
	// Nothing in the login API this package speaks changed between them.
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

	// MaxBodyBytes caps the request body of a login. A larger body is
	// refused with 413 before it is read. Default: [DefaultMaxBodyBytes]
	// (64 KiB).
	MaxBodyBytes int64
	// MaxPasswordBytes caps the password; a longer one is refused with 400
	// before any rate-limit or hash work. Default:
	// [DefaultMaxPasswordBytes].
	MaxPasswordBytes int

	// InsecureDevLogin enables Zulip's development login, which gives out
	// any active user's API key WITHOUT A PASSWORD: [Auth.Mount] then mounts
	// /api/v1/dev_fetch_api_key and server_settings reports the "dev"
	// method. Only for development servers and test suites. Default: false.
	InsecureDevLogin bool

	// OnEvent, when set, is called with the outcome of every login attempt
	// that reaches the client's budget. It runs on the request's goroutine
	// before the response is written: hand slow work (sending an email)
	// elsewhere. [EventLog] logs events with a bound on the lines refusals
	// may write.
	OnEvent func(Event)
	// Logger receives faults (a store, limiter or directory error), one line
	// each, and nothing that is a secret. Refused logins are not logged here
	// (see OnEvent). Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock for X-RateLimit-Reset and events. Default: time.Now.
	Now func() time.Time
}

// Defaults of Config's caps on a login's request.
const (
	// DefaultMaxBodyBytes is Config.MaxBodyBytes's default.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxPasswordBytes is Config.MaxPasswordBytes's default: the
	// longest password a login accepts, and backends/password's bound for
	// new ones.
	DefaultMaxPasswordBytes = 1024
)

// Defaults of Config's fields that no other package needs.
const (
	defaultZulipVersion       = "10.0"
	defaultZulipFeatureLevel  = 371
	defaultChangePollInterval = 250 * time.Millisecond
)

// check reports the first misconfiguration in c, naming the field.
func (c *Config) check() error {
	switch {
	case isNil(c.Users):
		return errors.New("zulipauth: Config.Users is required")
	case isNil(c.Authenticator):
		return errors.New("zulipauth: Config.Authenticator is required")
	case c.TokenVerifier != nil && isNil(c.TokenVerifier):
		return fmt.Errorf("zulipauth: Config.TokenVerifier is a nil %T: leave it unset to disable the JWT login", c.TokenVerifier)
	}
	if err := checkAuthenticator(c.Authenticator); err != nil {
		return err
	}
	if err := checkProviders(c.IdentityProviders, c.Users); err != nil {
		return err
	}
	if c.Realms != nil {
		if err := checkRealms(c.Realms); err != nil {
			return err
		}
	}
	for name, l := range map[string]Limiter{"UsernameLimiter": c.UsernameLimiter, "IPLimiter": c.IPLimiter, "UserLimiter": c.UserLimiter} {
		if l != nil && isNil(l) {
			return fmt.Errorf("zulipauth: Config.%s is a nil %T: leave it unset for the default", name, l)
		}
	}
	for name, v := range map[string]int64{
		"MaxBodyBytes": c.MaxBodyBytes, "MaxPasswordBytes": int64(c.MaxPasswordBytes),
		"APIKeyCacheTTL": int64(c.APIKeyCacheTTL), "APIKeyCacheSize": int64(c.APIKeyCacheSize),
		"RealmCacheTTL":     int64(c.RealmCacheTTL),
		"ZulipFeatureLevel": int64(c.ZulipFeatureLevel),
	} {
		if v < 0 {
			return fmt.Errorf("zulipauth: Config.%s is negative (%d); leave it 0 for the default", name, v)
		}
	}
	if c.APIKeyCacheSize > 0 && c.APIKeyCacheTTL == 0 {
		return errors.New("zulipauth: Config.APIKeyCacheSize is set but APIKeyCacheTTL is 0, so nothing is cached: set a TTL or leave the size 0")
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			return errors.New("zulipauth: Config.TrustedProxies holds an invalid prefix")
		}
	}
	if c.ClientIPHeader != "" {
		if !validHeaderName(c.ClientIPHeader) {
			return fmt.Errorf("zulipauth: Config.ClientIPHeader %q is not a header name", c.ClientIPHeader)
		}
		if len(c.TrustedProxies) == 0 {
			return fmt.Errorf("zulipauth: Config.ClientIPHeader %q is set but TrustedProxies is empty, so the header would never be believed: list your proxies or leave it unset", c.ClientIPHeader)
		}
	}
	return nil
}

// checkProviders refuses identity providers that could not work: nil, of
// an unknown kind, without paths, two at one login path, or any without a
// store that keeps their flows.
func checkProviders(ps []IdentityProvider, users UserStore) error {
	if len(ps) == 0 {
		return nil
	}
	if _, ok := users.(FlowStore); !ok {
		return fmt.Errorf("zulipauth: Config.IdentityProviders needs a store that keeps sign-on flows (a FlowStore, as memstore and sqlstore are); %T is not one", users)
	}
	seen := map[string]bool{}
	for i, p := range ps {
		if isNil(p) {
			return fmt.Errorf("zulipauth: Config.IdentityProviders[%d] is nil", i)
		}
		info := p.Info()
		switch {
		case info.Kind != "oidc" && info.Kind != "saml":
			return fmt.Errorf("zulipauth: Config.IdentityProviders[%d]: Kind %q is neither oidc nor saml", i, info.Kind)
		case info.Name == "" || info.LoginPath == "" || strings.HasPrefix(info.LoginPath, "/") || strings.HasSuffix(info.LoginPath, "/"):
			return fmt.Errorf("zulipauth: Config.IdentityProviders[%d]: give a Name and a LoginPath such as %q (no slash at either end)", i, "oidc")
		case !strings.HasPrefix(info.CallbackPath, "/") || !strings.HasSuffix(info.CallbackPath, "/"):
			return fmt.Errorf("zulipauth: Config.IdentityProviders[%d]: CallbackPath %q must start and end with a slash, as %q", i, info.CallbackPath, "/complete/oidc/")
		case seen[info.LoginPath]:
			return fmt.Errorf("zulipauth: Config.IdentityProviders: two providers at the login path %q", info.LoginPath)
		}
		seen[info.LoginPath] = true
	}
	return nil
}

// checkAuthenticator refuses a chain that could not authenticate anyone (no
// authenticators) or would panic (a nil one).
func checkAuthenticator(auth Authenticator) error {
	c, ok := auth.(chain)
	if !ok {
		return nil
	}
	if len(c) == 0 {
		return errors.New("zulipauth: Config.Authenticator is a Chain of no authenticators, which refuses every login")
	}
	for i, inner := range c {
		if isNil(inner) {
			return fmt.Errorf("zulipauth: Config.Authenticator: authenticator %d of the Chain is nil", i)
		}
		if err := checkAuthenticator(inner); err != nil {
			return err
		}
	}
	return nil
}

// checkRealms refuses resolvers that would fail on every request.
func checkRealms(rr RealmResolver) error {
	if isNil(rr) {
		return fmt.Errorf("zulipauth: Config.Realms is a nil %T: leave it unset for the default", rr)
	}
	if h, ok := hostRealms(rr); ok {
		return h.check()
	}
	return nil
}

// fillDefaults fills in the documented defaults of the fields left unset.
func (c *Config) fillDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ClientIPHeader == "" {
		c.ClientIPHeader = "X-Forwarded-For"
	}
	c.ClientIPHeader = http.CanonicalHeaderKey(c.ClientIPHeader)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxPasswordBytes == 0 {
		c.MaxPasswordBytes = DefaultMaxPasswordBytes
	}
	if c.Realms == nil {
		if rs, ok := c.Users.(RealmStore); ok {
			c.Realms = HostRealms{Realms: rs}
		} else {
			c.Realms = SingleRealm(Realm{Name: "Zulip"})
		}
	}
	if c.UsernameLimiter == nil {
		c.UsernameLimiter = NewMemoryLimiter(DefaultUsernameBudget(), WithClock(c.Now))
	}
	if c.IPLimiter == nil {
		c.IPLimiter = NewMemoryLimiter(DefaultIPBudget(), WithClock(c.Now))
	}
	if c.UserLimiter == nil {
		c.UserLimiter = NewMemoryLimiter(DefaultUserBudget(), WithClock(c.Now))
	}
	if c.ZulipVersion == "" {
		c.ZulipVersion = defaultZulipVersion
	}
	if c.ZulipMergeBase == "" {
		c.ZulipMergeBase = c.ZulipVersion
	}
	if c.ZulipFeatureLevel == 0 {
		c.ZulipFeatureLevel = defaultZulipFeatureLevel
	}
	if c.ChangePollInterval == 0 {
		c.ChangePollInterval = defaultChangePollInterval
	}
}

// isNil reports whether v is nil or an interface holding a nil pointer, map,
// func or channel, on which a method call would likely panic. (A nil slice
// is usable: an empty Chain is refused on its own terms.)
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// validHeaderName reports whether s is an HTTP field name (an RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
