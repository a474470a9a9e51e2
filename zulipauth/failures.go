package zulipauth

import (
	"context"
	"errors"
	"time"
)

// failure is one row of the classification of login failures: a sentinel an
// [Authenticator] (or a store it uses) returns for a client's failure, and
// the Zulip answer it gets.
type failure struct {
	err    error
	answer func() *Error
}

// failures is the one classification of errors that [ErrorFor], [Chain] and
// every login handler read. Its order is Zulip's
// get_api_key_fetch_authenticate_failure: when every authenticator of a
// chain fails, the earliest row among their failures wins. An error that
// matches no row is a fault of a component (a store, a directory): the
// handler logs it and answers 500.
//
// ErrWrongRealm and ErrUserNotFound get the generic AUTHENTICATION_FAILED:
// newer Zulip never tells a client that another organization has the
// address, since that would reveal the account exists.
var failures = []failure{
	{ErrUserDeactivated, UserDeactivated},
	{ErrRealmDeactivated, RealmDeactivated},
	{ErrPasswordAuthDisabled, PasswordAuthDisabled},
	{ErrPasswordResetRequired, PasswordResetRequired},
	{ErrRealmNotFound, InvalidSubdomain},
	{ErrWrongRealm, AuthenticationFailed},
	{ErrBadCredentials, AuthenticationFailed},
	{ErrUserNotFound, AuthenticationFailed},
	{ErrBadToken, badToken},
	{ErrNoEmailInToken, noEmailInToken},
}

// Outcomes that end a login at once rather than let a chain try its next
// authenticator: the server cannot take the attempt now ([ErrBusy]), or the
// authenticator decided the exact answer itself (an *[Error]).
const (
	rankFault = -1 // not a client's failure: stops a chain, 500
	rankFinal = -2 // a client's failure that stops a chain
)

// classify returns err's row in failures (its rank: lower wins in a chain)
// and its answer, rankFinal for ErrBusy and an *Error, or rankFault.
func classify(err error) (int, *Error) {
	var ze *Error
	if errors.As(err, &ze) {
		return rankFinal, ze
	}
	if errors.Is(err, ErrBusy) {
		return rankFinal, busy()
	}
	for i, f := range failures {
		if errors.Is(err, f.err) {
			return i, f.answer()
		}
	}
	return rankFault, InternalError()
}

// busy is the answer to a login the server could not take now: 429 with a
// short Retry-After, so that clients back off and try again.
func busy() *Error { return RateLimited(time.Second) }

// ErrorFor maps an error from an [Authenticator] to the Zulip error a login
// answers with, and reports whether it is a client's failure. A false second
// result means a fault: the caller logs err and answers [InternalError].
//
// The mapping is the one [Chain] and the handlers use: an *[Error] (wrapped
// or not) is answered as it is; ErrUserDeactivated, ErrRealmDeactivated,
// ErrPasswordAuthDisabled and ErrPasswordResetRequired get their Zulip
// codes; ErrRealmNotFound is 404 NONEXISTENT_SUBDOMAIN; ErrWrongRealm,
// ErrBadCredentials and ErrUserNotFound are 401 AUTHENTICATION_FAILED;
// ErrBusy is 429; ErrBadToken and ErrNoEmailInToken are the JWT login's
// 400s. Anything else, a context error included, is a fault: only
// the handler knows whether the request's own context ended (the client's
// doing) or a component timed out (a fault).
func ErrorFor(err error) (*Error, bool) {
	rank, zerr := classify(err)
	return zerr, rank != rankFault
}

// requestEnded reports whether err is the request's own context ending: the
// client went away, or the server's deadline for the request passed. Only
// then is a context error the client's doing (answered as busy, not
// logged); a component whose own timeout expired while the request still
// had time is a fault.
func requestEnded(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// answer turns an error from a seam (an authenticator, a store, a limiter,
// a resolver) into the Zulip error to write, logging it when it is a fault.
// op names what failed and attrs add context for the log line; err's text
// goes only to the log.
func (a *Auth) answer(ctx context.Context, op string, err error, attrs ...any) *Error {
	if requestEnded(ctx, err) {
		return busy()
	}
	zerr, client := ErrorFor(err)
	if !client {
		a.cfg.Logger.ErrorContext(ctx, "zulipauth: "+op+" failed", append(attrs, "error", err)...)
	}
	return zerr
}
