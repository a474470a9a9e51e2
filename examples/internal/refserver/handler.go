// Package refserver is the wiring of examples/server, the reference server:
// zulipauth on a sqlstore, the routes around it, the http.Server settings and
// the graceful shutdown.
//
// It is a package of its own, not part of the command, so that
// examples/loadtest measures this wiring and not a copy of it: its
// in-process subject (-cpuprofile) and its handler benchmarks serve
// NewHandler, and its baseline servers are served by Serve, as
// examples/server is, so that a baseline differs from the server under test
// by its handler alone.
package refserver

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Config is what serve's flags decide about the wiring, once resolved: the
// authenticator and the budgets built, the external host known.
//
// The zero value is a server without caches, with the password authenticator
// and zulipauth's default budgets in memory, that logs no login outcome: what
// tests start from, so that their logs hold only what they check. Defaults is
// what serve starts from.
type Config struct {
	// ExternalHost is the HOST[:PORT] clients reach the server by, which
	// server_settings announces as realm_url; SUB.HOST selects realm SUB
	// (-external-host, or the -addr the server listens on).
	ExternalHost string
	// TrustedProxies are the reverse proxies whose ClientIPHeader names the
	// client (-trusted-proxy). ClientIPHeader needs at least one.
	TrustedProxies []netip.Prefix
	// ClientIPHeader is the header the trusted proxies set to the client's
	// address (-client-ip-header); "" believes the TCP peer.
	ClientIPHeader string
	// APIKeyCacheTTL is how long API-key lookups are cached (-api-key-cache);
	// 0 disables the cache.
	APIKeyCacheTTL time.Duration
	// RealmCacheTTL is how long realm lookups are cached (-realm-cache); 0
	// disables the cache.
	RealmCacheTTL time.Duration
	// Authenticator checks usernames and passwords (-auth). Default:
	// PasswordAuthenticator on the store, serve's -auth password.
	Authenticator zulipauth.Authenticator
	// TokenVerifier enables the JWT login (-jwt-keys). Default: none, and the
	// JWT login answers that it is not enabled.
	TokenVerifier zulipauth.TokenVerifier
	// IdentityProviders enable single sign-on (-oidc-*, -saml-*). Default:
	// none.
	IdentityProviders []zulipauth.IdentityProvider
	// SAMLServiceProvider is this server as the SAML service provider that
	// the SAML identity providers among IdentityProviders share (-saml-*):
	// NewHandler serves its metadata at saml.MetadataPath,
	// /saml/metadata.xml, on every realm's host, naming that realm's
	// assertion consumer service. Default: nil, no such route.
	SAMLServiceProvider *saml.ServiceProvider
	// UsernameLimiter, IPLimiter and UserLimiter hold the budgets. Default:
	// zulipauth's, in this process. -redis shares them between instances;
	// load tests raise them.
	UsernameLimiter, IPLimiter, UserLimiter zulipauth.Limiter
	// InsecureDevLogin mounts /api/v1/dev_fetch_api_key, a login without a
	// password (-dev-login); NewHandler then warns in the log.
	InsecureDevLogin bool
	// LogEvents logs every login outcome with zulipauth.EventLog, at most
	// its default lines a minute, as serve does. Default: off.
	LogEvents bool
	// OnEvent, when set, is given every login event too (after the log,
	// with LogEvents); OnAuth, when set, the zulipauth.Auth NewHandler
	// builds, before NewHandler returns. serve's metrics count the events
	// and read the Auth's Stats. Default: none.
	OnEvent func(zulipauth.Event)
	OnAuth  func(*zulipauth.Auth)
	// Now is zulipauth's clock. Default: time.Now. serve leaves it unset; a
	// benchmark stops it, so that no budget refills while it runs.
	Now func() time.Time
}

// Defaults is the Config of serve run without flags: the API-key and realm
// caches for 10 s, login outcomes logged. serve's flags take their defaults
// from it, and examples/loadtest's in-process subject starts from it, so
// that both run what serve runs.
func Defaults() Config {
	return Config{
		APIKeyCacheTTL: 10 * time.Second,
		RealmCacheTTL:  10 * time.Second,
		LogEvents:      true,
	}
}

// PasswordAuthenticator is the authenticator of serve's -auth password:
// argon2id hashes kept in st, backends/password's defaults, its warnings on
// log. It is exported for serve's -auth, which chains it with others; a
// Config without an Authenticator gets it from NewHandler.
func PasswordAuthenticator(st *sqlstore.Store, log *slog.Logger) (*password.Authenticator, error) {
	return password.New(st, password.WithLogger(log))
}

// NewHandler wires zulipauth on st as c says, logging on log, and returns the
// reference server's routes: zulipauth's own (fetch_api_key,
// server_settings, the JWT, the single sign-on's and, with InsecureDevLogin,
// the dev login), with SAMLServiceProvider its metadata at
// /saml/metadata.xml, GET /api/v1/users/me behind RequireAPIKey, and Zulip's JSON 404 for any other
// /api/ path, all behind zulipauth.MergeSlashes (a client given a realm URL
// with a trailing slash asks for //api/v1/...).
//
// stop ends what zulipauth started (the change feed's follower) and writes
// the login outcomes not yet logged; call it once the handler serves no more.
// An error is zulipauth's refusal of the configuration.
func NewHandler(st *sqlstore.Store, c Config, log *slog.Logger) (h http.Handler, stop func(), err error) {
	authenticator := c.Authenticator
	if authenticator == nil {
		if authenticator, err = PasswordAuthenticator(st, log); err != nil {
			return nil, nil, err
		}
	}
	var onEvent func(zulipauth.Event)
	flush := func() {}
	if c.LogEvents {
		events := zulipauth.NewEventLog(log, 0)
		onEvent, flush = events.Log, events.Flush
	}
	onEvent = alsoTo(onEvent, c.OnEvent)
	auth, err := zulipauth.New(zulipauth.Config{
		Users:             st,
		Authenticator:     authenticator,
		TokenVerifier:     c.TokenVerifier,
		IdentityProviders: c.IdentityProviders,
		Realms:            zulipauth.HostRealms{Realms: st, ExternalHost: c.ExternalHost},
		TrustedProxies:    c.TrustedProxies,
		ClientIPHeader:    c.ClientIPHeader,
		APIKeyCacheTTL:    c.APIKeyCacheTTL,
		RealmCacheTTL:     c.RealmCacheTTL,
		UsernameLimiter:   c.UsernameLimiter,
		IPLimiter:         c.IPLimiter,
		UserLimiter:       c.UserLimiter,
		InsecureDevLogin:  c.InsecureDevLogin,
		Logger:            log,
		OnEvent:           onEvent,
		Now:               c.Now,
	})
	if err != nil {
		return nil, nil, err
	}
	if c.OnAuth != nil {
		c.OnAuth(auth)
	}
	if c.InsecureDevLogin {
		log.Warn("INSECURE: -dev-login mounts /api/v1/dev_fetch_api_key: anyone who can reach this server can log in as any user without a password. Never use it in production.")
	}
	mount := func(mux *http.ServeMux) {
		auth.Mount(mux)
		if sp := c.SAMLServiceProvider; sp != nil {
			// Each realm's own: the realm's configured URL, never the Host
			// header as sent, names where IdPs post their answers.
			mux.Handle(saml.MetadataPath, sp.MetadataHandler(auth.RealmURL))
		}
	}
	return routes(mount, auth.RequireAPIKey(http.HandlerFunc(usersMe))), func() { auth.Close(); flush() }, nil
}

// alsoTo is an OnEvent calling first and then second, either of which may
// be nil.
func alsoTo(first, second func(zulipauth.Event)) func(zulipauth.Event) {
	switch {
	case first == nil:
		return second
	case second == nil:
		return first
	}
	return func(ev zulipauth.Event) { first(ev); second(ev) }
}

// BareHandler is NewHandler's routes without zulipauth: GET
// /api/v1/users/me answers for u without asking for credentials, on the same
// mux, with the same 404 and behind the same MergeSlashes. It is the baseline
// a load test measures the API-key middleware against: the same work minus
// authentication.
func BareHandler(u zulipauth.User) http.Handler {
	return routes(func(*http.ServeMux) {}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProfile(w, r, u)
	}))
}

// routes is the reference server's mux: what mount adds, me at
// /api/v1/users/me, Zulip's JSON 404 for the other /api/ paths.
func routes(mount func(*http.ServeMux), me http.Handler) http.Handler {
	mux := http.NewServeMux()
	mount(mux)
	mux.Handle("/api/v1/users/me", me)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		zulipauth.WriteError(w, zulipauth.NotFound())
	})
	return zulipauth.MergeSlashes(mux)
}

// profile is GET /api/v1/users/me's answer, a subset of Zulip's.
type profile struct {
	UserID        int64  `json:"user_id"`
	Email         string `json:"email"`
	DeliveryEmail string `json:"delivery_email"`
	FullName      string `json:"full_name"`
	IsActive      bool   `json:"is_active"`
	IsBot         bool   `json:"is_bot"`
	Role          int    `json:"role"`
	DateJoined    string `json:"date_joined"`
}

// usersMe shows how a host application reads the authenticated user.
func usersMe(w http.ResponseWriter, r *http.Request) {
	u, _ := zulipauth.UserFrom(r.Context())
	writeProfile(w, r, u)
}

// writeProfile answers GET (or HEAD) /api/v1/users/me for u.
func writeProfile(w http.ResponseWriter, r *http.Request, u zulipauth.User) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		zulipauth.WriteError(w, zulipauth.MethodNotAllowed(http.MethodGet, http.MethodHead))
		return
	}
	zulipauth.WriteSuccess(w, profile{ //nolint:errcheck // a struct always marshals
		UserID:        u.ID,
		Email:         u.Email,
		DeliveryEmail: u.Email,
		FullName:      u.FullName,
		IsActive:      !u.Deactivated,
		Role:          400, // Zulip's member role
		DateJoined:    u.CreatedAt.UTC().Format(time.RFC3339),
	})
}
