package zulipauth

import (
	"context"
	"net/netip"
)

// Attempt is one login attempt as the handler hands it to an [Authenticator].
type Attempt struct {
	// Realm is the organization the request is for.
	Realm Realm
	// Username is exactly as the client typed it (not trimmed, not folded).
	Username string
	// Password is the password as sent. It must never be logged.
	Password string
	// ClientIP is the client's address (see Config.TrustedProxies).
	ClientIP netip.Addr
}

// Authenticator checks an attempt and returns the user it proves.
//
// A failure is one of the sentinel errors [ErrBadCredentials],
// [ErrUserDeactivated], [ErrRealmDeactivated], [ErrPasswordAuthDisabled],
// [ErrPasswordResetRequired], [ErrWrongRealm] or [ErrBusy], possibly wrapped;
// anything else is an internal fault. Authenticate must honour ctx and be safe
// for concurrent use. The handler applies rate limits before calling it, so an
// Authenticator may do expensive work.
type Authenticator interface {
	Authenticate(ctx context.Context, a Attempt) (User, error)
}

// AuthenticatorFunc adapts a function to the [Authenticator] interface.
type AuthenticatorFunc func(ctx context.Context, a Attempt) (User, error)

// Authenticate calls f(ctx, a).
func (f AuthenticatorFunc) Authenticate(ctx context.Context, a Attempt) (User, error) {
	return f(ctx, a)
}

// UsernameFormat is implemented by authenticators that accept usernames that
// are not email addresses (an LDAP directory keyed by uid, say). When the
// configured authenticator reports true for a realm, the login handler skips
// Zulip's email format check there, as Zulip does where LDAP is enabled.
type UsernameFormat interface {
	AcceptsNonEmailUsernames(realm Realm) bool
}

// MethodNamer is implemented by authenticators that stand for one of Zulip's
// authentication backends, so that server_settings can report it: "email"
// (passwords kept by the application, backends/password) or "ldap".
type MethodNamer interface {
	AuthMethod() string
}

// authMethods lists the methods auth stands for, looking inside a Chain.
func authMethods(auth Authenticator) []string {
	switch a := auth.(type) {
	case chain:
		var out []string
		for _, inner := range a {
			out = append(out, authMethods(inner)...)
		}
		return out
	case MethodNamer:
		return []string{a.AuthMethod()}
	}
	return nil
}

// Chain returns an Authenticator that tries each of auths in order, as Zulip
// tries its authentication backends: the first success wins. When all fail,
// the most specific failure is returned, in Zulip's order: user deactivated,
// realm deactivated, password login disabled, password reset required, then
// bad credentials (see [ErrorFor], which reads the same classification). A
// fault (an error that is not a client's failure), [ErrBusy] or an *[Error]
// stops the chain at once and is returned as it is.
//
// [New] refuses a chain with no authenticators or a nil one.
func Chain(auths ...Authenticator) Authenticator {
	return chain(auths)
}

type chain []Authenticator

func (c chain) Authenticate(ctx context.Context, a Attempt) (User, error) {
	var best error
	bestRank := len(failures)
	for _, auth := range c {
		u, err := auth.Authenticate(ctx, a)
		if err == nil {
			return u, nil
		}
		rank, _ := classify(err)
		if rank < 0 {
			return User{}, err // a fault, busy, or a decided answer: try no further
		}
		if rank < bestRank {
			best, bestRank = err, rank
		}
	}
	if best == nil {
		best = ErrBadCredentials
	}
	return User{}, best
}

// AcceptsNonEmailUsernames reports whether any authenticator of the chain does.
func (c chain) AcceptsNonEmailUsernames(realm Realm) bool {
	for _, auth := range c {
		if acceptsNonEmail(auth, realm) {
			return true
		}
	}
	return false
}

func acceptsNonEmail(auth Authenticator, realm Realm) bool {
	f, ok := auth.(UsernameFormat)
	return ok && f.AcceptsNonEmailUsernames(realm)
}
