package zulipauth

import (
	"context"
	"net/http"
	"slices"
)

// login is one request to a login endpoint (fetch_api_key, the development
// login, the JWT login) as the shared preamble leaves it, and what its
// answer's headers need. The steps of a login only decide: each returns an
// *Error or goes on, and [Auth.respond] writes the one answer, as
// net/http's CrossOriginProtection separates Check from Handler.
type login struct {
	r      *http.Request
	form   *form
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
	f, zerr := parseForm(w, r, a.cfg.MaxBodyBytes) // w only lets the body cap close the connection
	if zerr != nil {
		return zerr
	}
	l.form = f
	for i, name := range required {
		v, ok := f.get(name)
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
		return a.answer(r.Context(), "resolving the realm", err, "host", r.Host)
	}
	l.realm = realm
	l.ev.Realm = realm.Subdomain
	return nil
}

// spendClientBudget spends one event of the client's budget. A refusal is
// reported to Config.OnEvent, remembered (see refusal) and answered with
// 429.
func (a *Auth) spendClientBudget(l *login) *Error {
	ctx := l.r.Context()
	d, err := a.cfg.IPLimiter.Allow(ctx, l.ipKey)
	if err != nil {
		return a.answer(ctx, "the client-IP rate limiter", err)
	}
	l.limits[0] = d // its headers go out with a refusal, or with the username's budget
	if !d.Allowed {
		remember(a.refused, l.ipKey, d, l.ev.Time)
		l.nLimits = 1
		return a.refuse(l, "ip", d)
	}
	return nil
}

// refuseSpentUsername refuses an attempt at a username whose budget is
// remembered as refused (see refusal) before the client's budget is
// spent: such an attempt costs nothing and tells nothing, so charging the
// client for it would protect nothing, and a flood from many addresses at
// spent usernames then costs no limiter call (with Redis, no round trip)
// and no new bucket per address. The answer carries the username's budget's
// headers alone, as Zulip's does (it has no per-client budget here). The
// subdomain comes from the resolver without a lookup; a resolver that
// cannot name it (not a SubdomainResolver) leaves the check to
// spendUsernameBudget, after the realm.
func (a *Auth) refuseSpentUsername(l *login) *Error {
	if a.subdomains == nil {
		return nil
	}
	sub := a.subdomains.RequestSubdomain(l.r)
	d, refused := recall(a.spentUsernames, a.usernameKey(sub, l.values[0]), l.ev.Time)
	if !refused {
		return nil
	}
	l.ev.Realm = sub
	l.limits[0], l.nLimits = d, 1
	return a.refuse(l, "username", d)
}

// spendUsernameBudget spends one event of the username's budget; from here
// on the answer carries the X-RateLimit headers of both budgets. A username
// its budget refused is refused again without asking the limiter for a
// second, never past the refusal's RetryAfter (see refusal).
func (a *Auth) spendUsernameBudget(l *login, userKey string) *Error {
	ctx := l.r.Context()
	d, refused := recall(a.spentUsernames, userKey, l.ev.Time)
	if !refused {
		var err error
		if d, err = a.cfg.LoginLimiter.Allow(ctx, userKey); err != nil {
			return a.answer(ctx, "the username rate limiter", err)
		}
	}
	l.limits[1], l.nLimits = d, 2
	if !d.Allowed {
		remember(a.spentUsernames, userKey, d, l.ev.Time)
		return a.refuse(l, "username", d)
	}
	return nil
}

// refuse reports an attempt a budget refused and returns its 429.
func (a *Auth) refuse(l *login, limit string, d Decision) *Error {
	return a.refuseEvent(l.ev, limit, d)
}

func (a *Auth) refuseEvent(ev Event, limit string, d Decision) *Error {
	ev.Kind, ev.Code, ev.Limit = LoginRateLimited, CodeRateLimitHit, limit
	a.emit(ev)
	return RateLimited(d.RetryAfter)
}

// accountCharger spends, for one login, the budgets of the accounts its
// username names (see Attempt.ChargeAccount): keyed by the account, so that
// every spelling of a username that reaches the account spends one budget.
// It holds copies of what it needs rather than the login itself, which
// stays on its handler's stack; the handler reads the outcome back with
// settle.
type accountCharger struct {
	a     *Auth
	realm string
	ev    Event    // the login's event so far, for a refusal's
	keys  []string // the accounts' budget keys charged, in order
	// d is the decision with the fewest events remaining among the
	// accounts' budgets, for the answer's X-RateLimit-* headers.
	d      Decision
	answer *Error // what ChargeAccount returned, if it refused
}

func (a *Auth) newAccountCharger(l *login) *accountCharger {
	return &accountCharger{a: a, realm: l.realm.Subdomain, ev: l.ev}
}

func (c *accountCharger) charge(ctx context.Context, account string) error {
	if c.answer != nil {
		return c.answer
	}
	key := accountKey(c.realm, account)
	if slices.Contains(c.keys, key) {
		return nil
	}
	c.keys = append(c.keys, key)
	if c.ev.Account == "" {
		c.ev.Account = account
	}
	a := c.a
	d, refused := recall(a.spentUsernames, key, c.ev.Time)
	if !refused {
		var err error
		if d, err = a.cfg.LoginLimiter.Allow(ctx, key); err != nil {
			c.answer = a.answer(ctx, "the account rate limiter", err)
			return c.answer
		}
	}
	if len(c.keys) == 1 || d.Remaining < c.d.Remaining || !d.Allowed {
		c.d = d
	}
	if !d.Allowed {
		remember(a.spentUsernames, key, d, c.ev.Time)
		c.answer = a.refuseEvent(c.ev, "account", d)
		return c.answer
	}
	return nil
}

// settle copies what the charger learnt into l: the account, for the
// login's event, and the account budget's headers. It returns the answer a
// refusal decided, which stands whatever the authenticator returned.
func (c *accountCharger) settle(l *login) *Error {
	if len(c.keys) > 0 {
		l.ev.Account = c.ev.Account
		l.limits[2], l.nLimits = c.d, 3
	}
	return c.answer
}

// resetAccountBudgets clears the budgets of the accounts a successful
// login named, as resetUsernameBudget clears the username's.
func (c *accountCharger) resetAccountBudgets(ctx context.Context) {
	for _, k := range c.keys {
		c.a.resetUsernameBudget(ctx, k)
	}
}

// failed reports an attempt its authenticator (or the store) refused and
// returns its answer; a fault is logged, the client's failure is not.
func (a *Auth) failed(l *login, op string, err error) *Error {
	zerr := a.answer(l.r.Context(), op, err, "realm", l.realm.Subdomain)
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

// resetUsernameBudget clears the username's failures after a success, as
// Zulip's clear_history does. A failure to do so is logged; the login stands.
func (a *Auth) resetUsernameBudget(ctx context.Context, userKey string) {
	if err := a.cfg.LoginLimiter.Reset(ctx, userKey); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "zulipauth: clearing the login budget failed", "error", err)
	}
}

// respond writes a login's one answer: zerr, or data in Zulip's success
// envelope. Every answer carries Cache-Control: no-store (a success holds a
// secret), and the X-RateLimit-* headers of the budgets l spent.
func (a *Auth) respond(w http.ResponseWriter, l *login, data any, zerr *Error) {
	h := w.Header()
	h["Cache-Control"] = []string{"no-store"}
	if l.nLimits > 0 {
		setRateLimitHeaders(h, l.ev.Time, l.limits[:l.nLimits])
	}
	if zerr != nil {
		WriteError(w, zerr)
		return
	}
	WriteSuccess(w, data) //nolint:errcheck // the logins' answers are structs, which always marshal
}
