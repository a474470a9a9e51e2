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
// The package imports only the standard library and golang.org/x/time/rate.
// Backends live in sibling packages: backends/password (argon2id hashes),
// backends/memstore (users in memory) and others.
//
// A host application builds one [Auth] with [New] and mounts it:
//
//	auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw})
//	if err != nil { ... }
//	auth.Mount(mux)
//	http.ListenAndServe(addr, zulipauth.MergeSlashes(mux))
//
// The wire behaviour follows the Zulip server: status codes, error codes,
// messages, field order and where parameters are read from. Where Zulip is
// weak for a library (no per-IP limit on the login, a per-username budget that
// differs by letter case, no Cache-Control on a response carrying a secret),
// this package does better; the README lists every difference.
package zulipauth
