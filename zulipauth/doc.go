// Package zulipauth lets a net/http application speak Zulip's login.
//
// A Zulip client logs in with POST /api/v1/fetch_api_key, sending a username
// and a password, and receives a long-lived API key; every later request
// authenticates with HTTP Basic "email:api_key". This package provides the
// login handlers, the middleware for the application's own API, Zulip's JSON
// envelope and errors, token-bucket rate limits, and the seams where an
// application plugs in its users ([UserStore]), its credential checks
// ([Authenticator]), its rate-limit state ([Limiter]) and its organizations
// ([RealmResolver]).
//
// # Where to start
//
// Build one [Auth] with [New] from a [Config], mount the login endpoints with
// [Auth.Mount], and wrap the application's own API routes with
// [Auth.RequireAPIKey]; a handler behind it reads the user with [UserFrom]
// and answers in Zulip's shape with [WriteSuccess] and [WriteError]. The
// package example shows the whole program.
//
// # Errors
//
// A seam reports a client's failure with one of this package's sentinel
// errors ([ErrBadCredentials], [ErrUserDeactivated], ...), and each endpoint
// answers it as Zulip does there: a login with its 401 code, server_settings
// and the REST API with their own answers. Any other error is a fault of the
// component: logged, and answered with Zulip's 500 without detail.
//
// # Backends
//
// This package imports only the standard library and golang.org/x/time;
// backends live in sibling packages of this module: backends/password
// (argon2id hashes, and hashes migrated from Django, Zulip or bcrypt),
// backends/ldap (an LDAP directory), backends/jwt (the JWT login's keys),
// backends/redislimit (one budget for every instance), backends/memstore and
// backends/sqlstore (SQLite, embedded, or PostgreSQL), and the conformance
// suites every store and limiter runs: backends/storetest and
// backends/limitertest.
//
// The wire behaviour is the Zulip server's: status codes, error codes,
// messages, field order and where parameters are read from. Where Zulip is
// weak for a library (no per-address limit on the login, a per-username
// budget that differs by letter case, no Cache-Control on a response that
// carries a secret), this package does better; the README lists every
// difference.
package zulipauth
