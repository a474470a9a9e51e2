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

	// charger spends the budget of the account the username names; nil
	// outside a login handler (see ChargeAccount).
	charger *accountCharger
}

// ChargeAccount tells the login which account the attempt's username names,
// as soon as the authenticator knows it and before it checks the password:
// account identifies it the same way whatever spelling of the username led
// there (a user's ID in the store, a directory entry's DN as the directory
// returns it). The login spends one event of that account's budget
// (Config.UsernameLimiter, beside the username's), and clears it with the
// username's after a success. So a budget holds for the person: a spelling
// the per-username key does not merge with the others (see
// [UsernameComparer]) still spends, and is refused by, the account's one.
//
// A non-nil error is the login's answer: the account's budget is spent (429)
// or the limiter failed. The authenticator must return it as it is, without
// checking the password. An account charged twice in one attempt (a [Chain]
// whose members name the same account) is charged once. Outside a login (a
// test calling Authenticate directly) ChargeAccount does nothing and returns
// nil.
func (at Attempt) ChargeAccount(ctx context.Context, account string) error {
	if at.charger == nil || account == "" {
		return nil
	}
	return at.charger.charge(ctx, account)
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

// UsernameComparer is implemented by authenticators that compare usernames
// otherwise than as email addresses: an LDAP directory keyed by uid, which
// compares uid and cn with caseIgnoreMatch (RFC 4518: compatibility forms,
// case, runs of spaces), so that "ｈamlet" and "hamlet" are one entry.
type UsernameComparer interface {
	// AcceptsNonEmailUsernames reports whether a username that is not an
	// email address can name an account in realm. Where it does, the login
	// skips Zulip's email format check and server_settings reports
	// require_email_format_usernames false, as Zulip does where LDAP is
	// enabled.
	AcceptsNonEmailUsernames(realm Realm) bool
	// PrepareUsername receives a username trimmed and case-folded
	// ([FoldEmail]) and returns it as the authenticator compares usernames,
	// for the per-username budget's key: two usernames it may take for the
	// same account must give the same string. Merging more than the
	// authenticator does only shares some budgets; merging less lets a
	// spelling escape its budget (which [Attempt.ChargeAccount] still
	// closes once the account is known). It runs before any rate limit, so
	// it must be fast.
	PrepareUsername(username string) string
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
// bad credentials, the order in which the handlers' one classification of
// failures ranks them. A fault (an error that is not a client's failure),
// [ErrBusy] or an *[Error] stops the chain at once and is returned as it
// is.
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
		rank, _ := classify(epLogin, err)
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

// PrepareUsername applies the preparation of each authenticator of the chain
// that is a [UsernameComparer], in order, each to the previous one's
// result. Put the loosest comparer first (an LDAP directory before the
// password backend, whose case folding it already includes); an account
// either names is charged as well (see Attempt.ChargeAccount).
func (c chain) PrepareUsername(username string) string {
	for _, auth := range c {
		if p, ok := auth.(UsernameComparer); ok {
			username = p.PrepareUsername(username)
		}
	}
	return username
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
	f, ok := auth.(UsernameComparer)
	return ok && f.AcceptsNonEmailUsernames(realm)
}
