package zulipauth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth/internal/form"
)

// login is one request to a login endpoint (fetch_api_key, the development
// login, the JWT login) as the shared preamble leaves it, and what its
// answer's headers need. The steps of a login only decide: each returns an
// *Error or goes on, and [Auth.respond] writes the one answer, as
// net/http's CrossOriginProtection separates Check from Handler.
type login struct {
	r      *http.Request
	ep     endpoint // how its failures are answered
	form   form.Form
	values [maxLoginParams]string // the required parameters, in order
	ev     Event
	ipKey  string // the client's key in Config.IPLimiter
	// spendsUsername: the login spends the username's budget (values[0] is
	// the username), so a username remembered as refused is refused before
	// the client's budget (see refuseSpentUsername).
	spendsUsername bool
	realm          Realm
	// limits[:nLimits] are the budgets whose X-RateLimit-* headers the
	// answer carries: the client's alone when it refused the request, the
	// username's too once it was spent, and the account's once the
	// authenticator named it (see accountCharger). Arrays, not slices, so
	// that a login lives on its handler's stack.
	limits  [3]Decision
	nLimits int
}

// maxLoginParams bounds the required parameters of a login (fetch_api_key
// has two).
const maxLoginParams = 2

// begin is the preamble every login shares, cheapest first:
//
//  1. POST only: 405 with Allow: POST;
//  2. a client its budget (Config.IPLimiter) refused less than a second
//     ago is refused again, with the budget's 429, before its body is read,
//     so that a client hammering a spent budget costs no parsing and one
//     limiter call a second (see refusal; Event.Username is then empty);
//  3. the body, under Config.MaxBodyBytes (413), urlencoded or multipart,
//     then the query string;
//  4. the required parameters, in Zulip's order: 400 REQUEST_VARIABLE_MISSING
//     for the first one absent; their values are returned in that order;
//  5. check, the login's own checks of those values that need no store and
//     no realm (a password's length, say), when not nil;
//  6. with l.spendsUsername, a username its budget refused less than a
//     second ago is refused again (see refuseSpentUsername);
//  7. the client's budget: 429, before any work that may reach a store;
//  8. the realm: 404 NONEXISTENT_SUBDOMAIN when unknown.
//
// It fills l, the caller's, so that the answer of a refusal carries the
// headers it needs; l.values holds the required parameters' values.
func (a *Auth) begin(l *login, w http.ResponseWriter, r *http.Request, required []string, check func(values [maxLoginParams]string) *Error) *Error {
	l.r = r
	if r.Method != http.MethodPost {
		return MethodNotAllowed(http.MethodPost)
	}
	l.ev.Time = a.cfg.Now()
	l.ev.ClientIP = a.ClientIP(r)
	l.ev.UserAgent = r.UserAgent()
	l.ipKey = ipKey(l.ev.ClientIP)
	if d, refused := recall(a.refused, l.ipKey, l.ev.Time); refused {
		l.limits[0], l.nLimits = d, 1
		return a.refuse(l, "ip", d)
	}
	f, ferr := form.Parse(w, r, a.cfg.MaxBodyBytes)
	if ferr != nil {
		return &Error{Status: ferr.Status, Code: codeBadRequest, Msg: ferr.Msg}
	}
	l.form = f
	for i, name := range required {
		v, ok := f.Get(name)
		if !ok {
			return MissingArgument(name)
		}
		l.values[i] = v
	}
	// check gets a copy: a login's fields must not escape to the heap
	// through a call the compiler cannot see into.
	if check != nil {
		if zerr := check(l.values); zerr != nil {
			return zerr
		}
	}
	if len(required) > 0 {
		l.ev.Username = l.values[0]
	}
	if l.spendsUsername {
		if zerr := a.refuseSpentUsername(l); zerr != nil {
			return zerr
		}
	}
	if zerr := a.spendClientBudget(l); zerr != nil {
		return zerr
	}
	realm, err := a.resolveRealm(r, l.ev.Time)
	if err != nil {
		return a.answer(r.Context(), l.ep, "resolving the realm", err, "host", r.Host)
	}
	l.realm = realm
	l.ev.Realm = realm.Subdomain
	return nil
}

// failed reports an attempt its authenticator (or the store) refused and
// returns its answer; a fault is logged, the client's failure is not.
func (a *Auth) failed(l *login, op string, err error) *Error {
	zerr := a.answer(l.r.Context(), l.ep, op, err, "realm", l.realm.Subdomain)
	ev := l.ev
	ev.Kind, ev.Code, ev.Cause = LoginFailed, zerr.Code, err
	a.emit(ev)
	return zerr
}

// succeeded reports a login that gave out user's API key.
func (a *Auth) succeeded(l *login, user User) {
	ev := l.ev
	ev.Kind, ev.User = LoginSucceeded, user.WithoutSecrets()
	a.emit(ev)
}

// unknownAddress is the cause of a failure for an address the realm does
// not know: ErrWrongRealm when the store can tell another realm has it (for
// the audit; fetch_api_key and the JWT login answer the generic 401 either
// way, the development login 404), else ErrUserNotFound.
func (a *Auth) unknownAddress(ctx context.Context, realm, email string) error {
	if f, ok := a.cfg.Users.(OtherRealmFinder); ok {
		elsewhere, err := f.EmailInOtherRealm(ctx, realm, email)
		if err != nil {
			return err
		}
		if elsewhere {
			return ErrWrongRealm
		}
	}
	return ErrUserNotFound
}

// userByEmail is the account a login without a password names: the
// realm's state, the lookup, the user's state, in the order of Zulip's
// dummy backend, as the JWT login checks it. The development login checks
// the realm after the lookup instead (its own order, Zulip's too).
func (a *Auth) userByEmail(ctx context.Context, l *login, email string) (User, error) {
	user, err := a.cfg.Users.UserByEmail(ctx, l.realm.Subdomain, email)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return User{}, a.unknownAddress(ctx, l.realm.Subdomain, email)
	case err != nil:
		return User{}, err
	}
	l.ev.Account = user.Email
	if user.Deactivated {
		return User{}, ErrUserDeactivated
	}
	return user, nil
}

// respond writes a login's one answer: zerr, or data in Zulip's success
// envelope. Every answer carries Cache-Control: no-store (a success holds a
// secret), and the X-RateLimit-* headers of the budgets l spent.
func (a *Auth) respond(w http.ResponseWriter, l *login, data any, zerr *Error) {
	w.Header()["Cache-Control"] = []string{"no-store"}
	write(w, l.ev.Time, data, zerr, l.limits[:l.nLimits])
}

// write writes a handler's one answer: zerr, or data in Zulip's success
// envelope, with the X-RateLimit-* headers of limits. Every handler of this
// package decides its answer first, then calls write once.
func write(w http.ResponseWriter, now time.Time, data any, zerr *Error, limits []Decision) {
	if len(limits) > 0 {
		setRateLimitHeaders(w.Header(), now, limits)
	}
	if zerr != nil {
		WriteError(w, zerr)
		return
	}
	WriteSuccess(w, data) //nolint:errcheck // the handlers' answers are structs, which always marshal
}
