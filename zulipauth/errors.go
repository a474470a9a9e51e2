package zulipauth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors shared by the seams. Compare with [errors.Is]; wrap with %w.
//
// An [Authenticator] reports why a login failed with one of the first group,
// and each endpoint answers each with Zulip's error for it. Any other error
// from an Authenticator, a [UserStore], a [Limiter] or a [RealmResolver] is
// a fault of that component: it is logged and answered with Zulip's 500
// "Internal server error", without detail. A context error is the client's
// doing only when the request's own context has ended; a component that
// times out on its own is at fault too.
var (
	// ErrBadCredentials: unknown user, wrong password, or no usable
	// password: 401 AUTHENTICATION_FAILED.
	ErrBadCredentials = errors.New("zulipauth: bad credentials")
	// ErrUserDeactivated: the account exists but is deactivated: 401
	// USER_DEACTIVATED.
	ErrUserDeactivated = errors.New("zulipauth: user deactivated")
	// ErrRealmDeactivated: the organization is deactivated: 401
	// REALM_DEACTIVATED.
	ErrRealmDeactivated = errors.New("zulipauth: realm deactivated")
	// ErrPasswordAuthDisabled: the organization does not allow password
	// login: 401 PASSWORD_AUTH_DISABLED.
	ErrPasswordAuthDisabled = errors.New("zulipauth: password authentication disabled")
	// ErrPasswordResetRequired: the password is correct but must be reset
	// before it may be used again: 401 PASSWORD_RESET_REQUIRED.
	ErrPasswordResetRequired = errors.New("zulipauth: password reset required")
	// ErrWrongRealm: the account exists in another organization than the
	// request's. It is answered like ErrBadCredentials, as newer Zulip does,
	// so that no client learns which organizations have an address; it
	// reaches Config.OnEvent (Event.Cause) for the server's own audit.
	ErrWrongRealm = errors.New("zulipauth: account is in another realm")
	// ErrBusy: the server is at its capacity for expensive work (password
	// verification) and the request could not wait: 429 RATE_LIMIT_HIT
	// with a short Retry-After, so that clients back off.
	ErrBusy = errors.New("zulipauth: too many concurrent logins")
)

// Errors returned by stores and resolvers.
var (
	// ErrUserNotFound: no user matches the lookup. A store returns exactly
	// this (possibly wrapped) for "not found"; any other error is a fault.
	ErrUserNotFound = errors.New("zulipauth: user not found")
	// ErrRealmNotFound: no realm has the subdomain (404
	// NONEXISTENT_SUBDOMAIN on a login).
	ErrRealmNotFound = errors.New("zulipauth: realm not found")
	// ErrUserExists: a user with the same delivery email (ignoring letter
	// case) already exists in the realm.
	ErrUserExists = errors.New("zulipauth: user already exists")
	// ErrRealmExists: a realm with the same subdomain already exists.
	ErrRealmExists = errors.New("zulipauth: realm already exists")
	// ErrInvalidSubdomain: a store refuses to create a realm whose
	// subdomain no request could reach (see [ValidSubdomain]).
	ErrInvalidSubdomain = errors.New("zulipauth: not a valid subdomain")
)

// Errors returned by a [TokenVerifier].
var (
	// ErrBadToken: the token is not valid for the realm (bad signature,
	// an algorithm not allowed, expired, malformed): 400 "Bad JSON web
	// token".
	ErrBadToken = errors.New("zulipauth: bad JSON web token")
	// ErrNoEmailInToken: a valid token without an email claim: 400 "No
	// email specified in JSON web token claims".
	ErrNoEmailInToken = errors.New("zulipauth: no email in the JSON web token's claims")
)

// Error is a Zulip API error: an HTTP status and the JSON body
//
//	{"result":"error","msg":<Msg>, <fields…>, "code":<Code>, "retry-after":<wait>}
//
// in that key order, as Zulip's json_response_from_error writes it. Code is
// omitted when empty (Zulip's 405 and 500 have none); "retry-after" is only
// in [RateLimited]'s. Header holds extra response headers
// (WWW-Authenticate, Retry-After, Allow).
//
// A host application answers its own endpoints with [WriteError], given an
// *Error from [BadRequest], [NotFound], [MissingArgument],
// [MethodNotAllowed] or [RateLimited], or one of this package's sentinels.
// Msg must never contain a secret.
type Error struct {
	Status int
	Code   string
	Msg    string
	Header http.Header

	fields []field // the body's keys between "msg" and "code", in order
	// limited marks a 429 of RateLimited or rateLimited: retryAfter, the
	// wait in whole seconds, is the body's last key. waitHeader marks
	// rateLimited's, which have no Header: WriteError writes their
	// Retry-After from the wait. Numbers, not a field and a header map, so
	// that a refusal allocates only its *Error.
	limited, waitHeader bool
	// busy marks busy's answer (no capacity, or the request's own time
	// ran out), which is not a budget's refusal though it is a 429.
	busy       bool
	retryAfter int64
}

// field is one extra key of a Zulip error body.
type field struct {
	key   string
	value any
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("zulip error %d: %s", e.Status, e.Msg)
	}
	return fmt.Sprintf("zulip error %d %s: %s", e.Status, e.Code, e.Msg)
}

// Zulip's error codes.
const (
	codeBadRequest             = "BAD_REQUEST"
	codeRequestVariableMissing = "REQUEST_VARIABLE_MISSING"
	codeRequestVariableInvalid = "REQUEST_VARIABLE_INVALID"
	codeAuthenticationFailed   = "AUTHENTICATION_FAILED"
	codeUserDeactivated        = "USER_DEACTIVATED"
	codeRealmDeactivated       = "REALM_DEACTIVATED"
	codePasswordAuthDisabled   = "PASSWORD_AUTH_DISABLED"
	codePasswordResetRequired  = "PASSWORD_RESET_REQUIRED"
	codeNonexistentSubdomain   = "NONEXISTENT_SUBDOMAIN"
	codeRateLimitHit           = "RATE_LIMIT_HIT"
	codeUnauthorized           = "UNAUTHORIZED"
)

// BadRequest is 400 BAD_REQUEST with msg, Zulip's plain JsonableError.
func BadRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeBadRequest, Msg: msg}
}

// NotFound is Zulip's 404 "Not Found", without a code: the answer to a path
// the server does not have.
func NotFound() *Error { return &Error{Status: http.StatusNotFound, Msg: "Not Found"} }

// MissingArgument is 400 REQUEST_VARIABLE_MISSING, "Missing '<name>'
// argument", with "var_name".
func MissingArgument(name string) *Error {
	e := &Error{Status: http.StatusBadRequest, Code: codeRequestVariableMissing, Msg: "Missing '" + name + "' argument"}
	e.fields = []field{{"var_name", name}}
	return e
}

// MethodNotAllowed is 405 "Method Not Allowed" with "allowed_methods" and an
// Allow header, as Zulip's require_post and rest_dispatch answer. It has no
// code.
func MethodNotAllowed(allowed ...string) *Error {
	e := &Error{Status: http.StatusMethodNotAllowed, Msg: "Method Not Allowed"}
	e.fields = []field{{"allowed_methods", allowed}}
	e.Header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
	return e
}

// RateLimited is 429 RATE_LIMIT_HIT. The wait is rounded up to whole
// seconds, given as a number with a decimal point in the body's
// "retry-after" (360.0: a float, as Zulip sends, and a whole number, as
// Zulip's OpenAPI description types it) and as an integer in the
// Retry-After header, as RFC 9110 requires (Zulip sends a float there).
func RateLimited(retryAfter time.Duration) *Error {
	e := rateLimited(retryAfter)
	e.waitHeader = false
	e.Header = http.Header{"Retry-After": {strconv.FormatInt(e.retryAfter, 10)}}
	return e
}

// rateLimited is RateLimited without a Header, whose Retry-After WriteError
// writes from the wait: the answer of this package's own refusals, which a
// flood makes by the thousand a second, at one allocation.
func rateLimited(retryAfter time.Duration) *Error {
	secs := math.Ceil(max(retryAfter, 0).Seconds())
	return &Error{Status: http.StatusTooManyRequests, Code: codeRateLimitHit, Msg: "API usage exceeded rate limit",
		limited: true, waitHeader: true, retryAfter: int64(secs)}
}

// invalidArgument is 400 REQUEST_VARIABLE_INVALID for a parameter whose
// value cannot be used; at most maxEchoedValue bytes of it are repeated.
func invalidArgument(name, value string) *Error {
	if len(value) > maxEchoedValue {
		value = value[:maxEchoedValue] + "…"
	}
	e := &Error{Status: http.StatusBadRequest, Code: codeRequestVariableInvalid, Msg: "Bad value for '" + name + "': " + value}
	e.fields = []field{{"var_name", name}, {"bad_value", value}}
	return e
}

// maxEchoedValue bounds how much of a bad value an error repeats.
const maxEchoedValue = 64

// internalError is Zulip's 500 "Internal server error", without a code and
// without detail: the cause belongs in the server's log, not in the body.
func internalError() *Error {
	return &Error{Status: http.StatusInternalServerError, Msg: "Internal server error"}
}

// unauthorized is 401 UNAUTHORIZED with msg and WWW-Authenticate: Basic
// realm="zulip", Zulip's answer to a failed HTTP Basic API authentication.
func unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: codeUnauthorized, Msg: msg,
		Header: http.Header{"Www-Authenticate": {`Basic realm="zulip"`}}}
}

// busy is the answer to a request the server could not take now: 429 with
// a short Retry-After, so that clients back off and try again.
func busy() *Error {
	e := rateLimited(time.Second)
	e.busy = true
	return e
}

// The failures of an API authentication that are not a seam's (see
// RequireAPIKey); each is answered 401 UNAUTHORIZED with its message.
var (
	errNoCredentials   = errors.New("Not logged in: API authentication or user session required")
	errBadBasicAuth    = errors.New("Invalid authorization header for basic auth")
	errMalformedAPIKey = errors.New("Malformed API key")
)

// An endpoint is one way of answering failures: Zulip answers the same
// failure differently on its logins, on server_settings and on the REST API.
type endpoint int

const (
	// epLogin: fetch_api_key and the JWT login.
	epLogin endpoint = iota
	// epDevLogin: the development login.
	epDevLogin
	// epSettings: server_settings.
	epSettings
	// epAPI: a request authenticated by RequireAPIKey, and what it guards.
	// Zulip re-raises every failure of the HTTP Basic authentication as
	// UnauthorizedError with its message: 401 UNAUTHORIZED and
	// WWW-Authenticate.
	epAPI

	endpoints // how many there are
)

// reply is a Zulip error's fixed parts.
type reply struct {
	status      int
	code, msg   string
	perEndpoint [endpoints]*reply // where an endpoint answers otherwise; nil: as this
}

// failure is one row of the classification of failures: an error a seam
// returns for a client's failure, and its answers.
type failure struct {
	err error
	reply
}

// failures is the one classification of errors that every handler and
// [Chain] read. Its order is Zulip's get_api_key_fetch_authenticate_failure:
// when every authenticator of a chain fails, the earliest row among their
// failures wins. An error that matches no row, and is not an *Error or
// ErrBusy, is a fault of a component.
//
// ErrWrongRealm and ErrUserNotFound get the generic AUTHENTICATION_FAILED:
// newer Zulip never tells a client that another organization has the
// address, since that would reveal the account exists.
var failures = []failure{
	{ErrUserDeactivated, answers(401, codeUserDeactivated, "Account is deactivated")},
	{ErrRealmDeactivated, answers(401, codeRealmDeactivated, "This organization has been deactivated")},
	{ErrPasswordAuthDisabled, answers(401, codePasswordAuthDisabled, "Password authentication is disabled in this organization")},
	{ErrPasswordResetRequired, answers(401, codePasswordResetRequired, "Your password has been disabled and needs to be reset")},
	{ErrRealmNotFound, answers(404, codeNonexistentSubdomain, "Invalid subdomain").
		on(epSettings, 400, codeBadRequest, "Invalid subdomain").
		onAPI(msgWrongSubdomain)},
	// The development login, which is for development, points at the other
	// organization, as Zulip's does.
	{ErrWrongRealm, authenticationFailed().onAPI(msgWrongSubdomain).
		on(epDevLogin, 404, codeNonexistentSubdomain, "Invalid subdomain")},
	{ErrBadCredentials, authenticationFailed().onAPI(msgInvalidAPIKey)},
	{ErrUserNotFound, authenticationFailed().onAPI(msgInvalidAPIKey)},
	{ErrBadToken, answers(400, codeBadRequest, "Bad JSON web token")},
	{ErrNoEmailInToken, answers(400, codeBadRequest, "No email specified in JSON web token claims")},
	{errNoCredentials, answers(401, codeUnauthorized, errNoCredentials.Error())},
	{errBadBasicAuth, answers(401, codeUnauthorized, errBadBasicAuth.Error())},
	{errMalformedAPIKey, answers(401, codeUnauthorized, errMalformedAPIKey.Error())},
}

// Messages of the API authentication's answers.
const (
	msgInvalidAPIKey  = "Invalid API key"
	msgWrongSubdomain = "Account is not associated with this subdomain"
)

func answers(status int, code, msg string) reply { return reply{status: status, code: code, msg: msg} }

func authenticationFailed() reply {
	return answers(401, codeAuthenticationFailed, "Your username or password is incorrect")
}

// on makes ep answer status, code and msg.
func (r reply) on(ep endpoint, status int, code, msg string) reply {
	r.perEndpoint[ep] = &reply{status: status, code: code, msg: msg}
	return r
}

// onAPI makes the API answer 401 UNAUTHORIZED with msg.
func (r reply) onAPI(msg string) reply { return r.on(epAPI, 401, codeUnauthorized, msg) }

// at returns ep's answer as a new *Error.
func (r *reply) at(ep endpoint) *Error {
	if o := r.perEndpoint[ep]; o != nil {
		r = o
	} else if ep == epAPI {
		// Zulip's rest_dispatch: any other failure's message, as 401
		// UNAUTHORIZED.
		return unauthorized(r.msg)
	}
	if r.code == codeUnauthorized {
		return unauthorized(r.msg)
	}
	return &Error{Status: r.status, Code: r.code, Msg: r.msg}
}

// Ranks of outcomes that end a login at once rather than let a chain try
// its next authenticator.
const (
	rankFault = -1 // not a client's failure: stops a chain, 500
	rankFinal = -2 // a client's failure that stops a chain: ErrBusy, an *Error
)

// classify returns err's rank (its row in failures: lower wins in a chain;
// rankFinal for ErrBusy and an *Error; rankFault for anything else) and its
// answer at ep.
func classify(ep endpoint, err error) (int, *Error) {
	// An *Error as it is, without errors.As, whose target escapes: the
	// handlers' own answers cost no allocation here.
	if ze, ok := err.(*Error); ok {
		return rankFinal, ze
	}
	var ze *Error
	if errors.As(err, &ze) {
		return rankFinal, ze
	}
	if errors.Is(err, ErrBusy) {
		return rankFinal, busy()
	}
	for i := range failures {
		if errors.Is(err, failures[i].err) {
			return i, failures[i].at(ep)
		}
	}
	return rankFault, internalError()
}

// requestEnded reports whether err is the request's own context ending: the
// client went away, or the server's deadline for the request passed. Only
// then is a context error the client's doing (answered as busy, not
// logged); a component whose own timeout expired while the request still
// had time is a fault.
func requestEnded(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// answer turns err into the Zulip error ep writes, logging it when it is a
// fault. op names what failed and attrs add context for the log line; err's
// text goes only to the log.
func (a *Auth) answer(ctx context.Context, ep endpoint, op string, err error, attrs ...any) *Error {
	if requestEnded(ctx, err) {
		return busy()
	}
	rank, zerr := classify(ep, err)
	if rank == rankFault {
		a.cfg.Logger.ErrorContext(ctx, "zulipauth: "+op+" failed", append(attrs, "error", err)...)
	}
	return zerr
}
