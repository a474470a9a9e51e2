package zulipauth

import (
	"net/netip"
	"time"
)

// EventKind says what happened to a login attempt.
type EventKind int

const (
	// LoginSucceeded: the credentials were right and an API key was returned.
	LoginSucceeded EventKind = iota + 1
	// LoginFailed: the attempt reached the authenticator (or the store) and
	// was refused (bad credentials, deactivated, reset required, ...) or met
	// a fault. Event.Code and Event.Cause say why.
	LoginFailed
	// LoginRateLimited: the attempt was refused by a rate limit before any
	// credential was checked. Event.Code is RATE_LIMIT_HIT and Event.Limit
	// names the budget ("ip", "username" or "account").
	LoginRateLimited
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case LoginSucceeded:
		return "login_succeeded"
	case LoginFailed:
		return "login_failed"
	case LoginRateLimited:
		return "login_rate_limited"
	}
	return "unknown"
}

// Event describes the outcome of one login attempt, for Config.OnEvent: to
// send Zulip's "new login" email, count metrics or keep an audit trail. It
// never carries the password, and User is [User.WithoutSecrets].
type Event struct {
	Kind EventKind
	Time time.Time
	// Realm is the subdomain the attempt was for; "" also when the client's
	// budget refused it before the realm was looked up.
	Realm string
	// Username is as typed by the client; "" when the client was refused
	// as one its budget had refused, before its body was read.
	Username string
	// User is the authenticated user (LoginSucceeded only), without secrets.
	User User
	// Account identifies the account the username named, as the
	// authenticator told it (see [Attempt.ChargeAccount]: a user's ID, a
	// directory entry's DN), once it got that far; "" when the username
	// named no account or the attempt was refused before the authenticator.
	// A Username without an Account may be anything a client typed into the
	// username field, a password included: [EventLog] writes only a
	// fingerprint of it.
	Account string
	// Code is the Zulip error code of a failure ("" on success, and for a
	// fault, whose answer has none).
	Code string
	// Cause is the error behind a LoginFailed attempt, for the server's own
	// audit: a sentinel such as [ErrWrongRealm], which the client only sees
	// as the generic AUTHENTICATION_FAILED, or a fault. It may hold a
	// component's error text; it is never sent to the client.
	Cause error
	// Method is the way of logging in: "fetch_api_key" (passwords and
	// LDAP), "jwt", "dev", or, for single sign-on, the provider's kind and
	// name as server_settings lists it ("oidc:oidc").
	Method string
	// Limit names the budget that refused a LoginRateLimited attempt: "ip",
	// "username" or "account".
	Limit string
	// ClientIP is the resolved client address; UserAgent is as sent.
	ClientIP  netip.Addr
	UserAgent string
}
