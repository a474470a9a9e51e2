// Package zulipauth lets a net/http application speak Zulip's password login.
//
// A Zulip client logs in with POST /api/v1/fetch_api_key, sending a username and
// a password, and receives a long-lived API key. Every later request
// authenticates with HTTP Basic "email:api_key". This package provides the
// login handler, Zulip's JSON envelope and error catalogue, token-bucket rate
// limits and the seams where an application plugs in its users
// ([UserStore]), its password checks ([Authenticator]), its rate-limit state
// ([Limiter]) and its organizations ([RealmResolver]).
//
// # Where to start
//
// A host application builds one [Auth] with [New] from a [Config], mounts the
// login endpoints with [Auth.Mount], and wraps its own API routes with
// [Auth.RequireAPIKey]; a handler behind it reads the authenticated user with
// [UserFrom]:
//
//	store := memstore.New() // or sqlstore.Open(ctx, "sqlite", "app.db"), or your own UserStore
//	pw, err := password.New(store)
//	if err != nil { ... }
//	auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw})
//	if err != nil { ... }
//	mux := http.NewServeMux()
//	auth.Mount(mux) // fetch_api_key, server_settings
//	mux.Handle("/api/v1/users/me", auth.RequireAPIKey(http.HandlerFunc(me)))
//	http.ListenAndServe(addr, zulipauth.MergeSlashes(mux))
//
//	func me(w http.ResponseWriter, r *http.Request) {
//		u, _ := zulipauth.UserFrom(r.Context())
//		zulipauth.WriteSuccess(w, map[string]any{"user_id": u.ID, "email": u.Email})
//	}
//
// Answer your own endpoints in Zulip's shape with [WriteSuccess] and
// [WriteError] (the constructors such as [BadRequest] build the errors).
//
// # Backends
//
// The package imports only the standard library and golang.org/x/time/rate;
// backends live in sibling packages of this module:
//
//   - backends/password: an Authenticator for argon2id password hashes kept
//     in any UserStore (Zulip's EmailAuthBackend), and for hashes migrated
//     from Django, Zulip or bcrypt applications;
//   - backends/ldap: an Authenticator that binds to an LDAP directory
//     (Zulip's ZulipLDAPAuthBackend);
//   - backends/jwt: the [TokenVerifier] of the JWT login, keys per realm as
//     Zulip's JWT_AUTH_KEYS;
//   - backends/redislimit: a [Limiter] on Redis, one budget for every
//     instance of an application;
//   - backends/memstore: users and realms in memory, for tests and small
//     applications;
//   - backends/sqlstore: users and realms in SQLite (embedded, the default)
//     or PostgreSQL, with migrations;
//   - backends/storetest and backends/limitertest: the conformance suites
//     every UserStore and every Limiter runs, yours included.
//
// [Chain] joins several authenticators as Zulip tries its backends, and
// [ErrorFor] is the one table that maps their failures to Zulip's answers.
//
// The wire behaviour follows the Zulip server: status codes, error codes,
// messages, field order and where parameters are read from. Where Zulip is
// weak for a library (no per-IP limit on the login, a per-username budget that
// differs by letter case, no Cache-Control on a response carrying a secret),
// this package does better; the README lists every difference.
package zulipauth
