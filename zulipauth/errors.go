package zulipauth

import "errors"

// Sentinel errors shared by the seams. Compare with [errors.Is]; wrap with %w.
//
// An [Authenticator] reports why a login failed with one of the first group;
// the handler maps each to Zulip's error (see [ErrorFor], the one table the
// handlers and [Chain] read). Any other error from an Authenticator, a
// [UserStore] or a [Limiter] is a fault of that component and is answered
// with Zulip's 500 "Internal server error" without detail, and logged. A
// context error is the client's doing only when the request's own context
// has ended; a component that times out on its own is a fault too.
var (
	// ErrBadCredentials: unknown user, wrong password, or no usable password.
	// Zulip's AUTHENTICATION_FAILED.
	ErrBadCredentials = errors.New("zulipauth: bad credentials")
	// ErrUserDeactivated: the account exists but is deactivated (USER_DEACTIVATED).
	ErrUserDeactivated = errors.New("zulipauth: user deactivated")
	// ErrRealmDeactivated: the organization is deactivated (REALM_DEACTIVATED).
	ErrRealmDeactivated = errors.New("zulipauth: realm deactivated")
	// ErrPasswordAuthDisabled: the organization does not allow password login
	// (PASSWORD_AUTH_DISABLED).
	ErrPasswordAuthDisabled = errors.New("zulipauth: password authentication disabled")
	// ErrPasswordResetRequired: the password is correct but must be reset
	// before it may be used again (PASSWORD_RESET_REQUIRED).
	ErrPasswordResetRequired = errors.New("zulipauth: password reset required")
	// ErrWrongRealm: the account exists in another organization than the one
	// the request is for. It is answered like ErrBadCredentials (401
	// AUTHENTICATION_FAILED), as newer Zulip does, so that no client learns
	// which organizations have an address; it reaches Config.OnEvent
	// (Event.Cause) for the server's own audit.
	ErrWrongRealm = errors.New("zulipauth: account is in another realm")
	// ErrBusy: the server is at its capacity for expensive work (password
	// verification) and the request could not wait. Answered with 429
	// RATE_LIMIT_HIT and a short Retry-After, so clients back off.
	ErrBusy = errors.New("zulipauth: too many concurrent logins")
)

// Errors returned by stores.
var (
	// ErrUserNotFound: no user matches the lookup. A store returns exactly
	// this (possibly wrapped) for "not found"; any other error is a fault.
	ErrUserNotFound = errors.New("zulipauth: user not found")
	// ErrRealmNotFound: no realm has the subdomain. Returned by stores and
	// by a [RealmResolver]; the handlers answer 404 NONEXISTENT_SUBDOMAIN.
	ErrRealmNotFound = errors.New("zulipauth: realm not found")
	// ErrUserExists: a user with the same delivery email (ignoring letter
	// case) already exists in the realm.
	ErrUserExists = errors.New("zulipauth: user already exists")
	// ErrRealmExists: a realm with the same subdomain already exists.
	ErrRealmExists = errors.New("zulipauth: realm already exists")
)
