package zulipauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// FetchAPIKey returns the handler of POST /api/v1/fetch_api_key: a username
// and a password in, the user's API key out, exactly as a Zulip server
// answers. In order:
//
//  1. any method but POST: 405 with Allow: POST;
//  2. username, then password, from an urlencoded or multipart body, else
//     the query string (the last of duplicates wins): 400
//     REQUEST_VARIABLE_MISSING if absent; a body over MaxBodyBytes is 413, a
//     password over MaxPasswordBytes 400;
//  3. the per-IP budget: 429 RATE_LIMIT_HIT;
//  4. the realm: 404 NONEXISTENT_SUBDOMAIN if unknown;
//  5. unless the authenticator accepts other usernames in this realm, the
//     username must be an email address ([ValidEmail]): 400;
//  6. the per-username budget: 429 RATE_LIMIT_HIT;
//  7. the Authenticator: its failure as Zulip's 401 (or 404 for another
//     realm's account), a fault as 500 "Internal server error";
//  8. success: the username's budget is cleared and the answer is 200
//     {"result":"success","msg":"","api_key":…,"email":…,"user_id":…}, with
//     ignored_parameters_unsupported when the request sent parameters this
//     endpoint does not use.
//
// Responses from step 6 on, and 429s, carry X-RateLimit-Limit, -Remaining
// and -Reset.
// Every response carries Cache-Control: no-store.
func (a *Auth) FetchAPIKey() http.Handler {
	return http.HandlerFunc(a.serveFetchAPIKey)
}

// apiKeyResponse is the data of fetch_api_key's success, in Zulip's order.
type apiKeyResponse struct {
	APIKey  string   `json:"api_key"`
	Email   string   `json:"email"`
	UserID  int64    `json:"user_id"`
	Ignored []string `json:"ignored_parameters_unsupported,omitempty"`
}

var errPasswordTooLong = BadRequest("Password is too long")

// postedForm starts both logins: Cache-Control: no-store on every answer,
// POST only, and the parameters parsed. It writes the error itself when the
// request goes no further.
func (a *Auth) postedForm(w http.ResponseWriter, r *http.Request) (*form, bool) {
	w.Header()["Cache-Control"] = []string{"no-store"}
	if r.Method != http.MethodPost {
		WriteError(w, MethodNotAllowed(http.MethodPost))
		return nil, false
	}
	form, zerr := parseForm(w, r, a.cfg.MaxBodyBytes)
	if zerr != nil {
		WriteError(w, zerr)
		return nil, false
	}
	return form, true
}

// required returns the parameter name, or writes Zulip's
// REQUEST_VARIABLE_MISSING for it.
func required(w http.ResponseWriter, f *form, name string) (string, bool) {
	v, ok := f.get(name)
	if !ok {
		WriteError(w, MissingArgument(name))
	}
	return v, ok
}

func (a *Auth) serveFetchAPIKey(w http.ResponseWriter, r *http.Request) {
	form, ok := a.postedForm(w, r)
	if !ok {
		return
	}
	username, ok := required(w, form, "username")
	if !ok {
		return
	}
	password, ok := required(w, form, "password")
	if !ok {
		return
	}
	if len(password) > a.cfg.MaxPasswordBytes {
		WriteError(w, errPasswordTooLong)
		return
	}
	ev := Event{
		Time:      a.cfg.Now(),
		Username:  username,
		ClientIP:  a.ClientIP(r),
		UserAgent: r.UserAgent(),
	}
	ctx := r.Context()
	// The client's budget comes before the realm lookup, the first work
	// that may reach a store.
	ipDec, ok := a.spendIPBudget(ctx, w, ev)
	if !ok {
		return
	}
	realm, err := a.cfg.Realms.ResolveRealm(r)
	if err != nil {
		a.writeRealmError(w, r, err)
		return
	}
	ev.Realm = realm.Subdomain
	// As in Zulip, a malformed username is refused before it can spend the
	// username's budget.
	if !acceptsNonEmail(a.cfg.Authenticator, realm) && !ValidEmail(username) {
		WriteError(w, InvalidEmail())
		return
	}
	userKey := usernameKey(realm.Subdomain, username)
	if !a.spendUsernameBudget(ctx, w, ev, userKey, ipDec) {
		return
	}

	user, err := a.cfg.Authenticator.Authenticate(ctx, Attempt{
		Realm:    realm,
		Username: username,
		Password: password,
		ClientIP: ev.ClientIP,
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = ErrBusy // the client gave up or the server is too slow
		}
		zerr, isClientFailure := ErrorFor(err)
		if !isClientFailure {
			a.cfg.Logger.ErrorContext(ctx, "zulipauth: fetch_api_key: authenticator failed",
				"realm", realm.Subdomain, "error", err)
		}
		ev.Kind, ev.Code = LoginFailed, zerr.Code
		a.emit(ev)
		WriteError(w, zerr)
		return
	}
	if err := a.cfg.LoginLimiter.Reset(ctx, userKey); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "zulipauth: fetch_api_key: clearing the login budget failed", "error", err)
	}
	ev.Kind = LoginSucceeded
	ev.User = user
	ev.User.APIKey, ev.User.PasswordHash = "", ""
	a.emit(ev)
	WriteSuccess(w, apiKeyResponse{ //nolint:errcheck // a struct always marshals
		APIKey:  user.APIKey,
		Email:   user.Email,
		UserID:  user.ID,
		Ignored: form.unused("username", "password", "client"),
	})
}

func (a *Auth) writeRealmError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrRealmNotFound) {
		WriteError(w, InvalidSubdomain())
		return
	}
	a.cfg.Logger.ErrorContext(r.Context(), "zulipauth: resolving the realm failed", "host", r.Host, "error", err)
	WriteError(w, InternalError())
}

// spendIPBudget spends one event of the client's budget. When it is spent
// it writes the 429 itself (with the X-RateLimit headers of that budget),
// and a 500 for a limiter fault.
func (a *Auth) spendIPBudget(ctx context.Context, w http.ResponseWriter, ev Event) (Decision, bool) {
	d, err := a.cfg.IPLimiter.Allow(ctx, ipKey(ev.ClientIP))
	if err != nil {
		a.limiterFault(ctx, w, "ip", err)
		return d, false
	}
	if !d.Allowed {
		setRateLimitHeaders(w.Header(), ev.Time, []Decision{d})
		a.refuse(w, ev, "ip", d)
		return d, false
	}
	return d, true
}

// spendUsernameBudget spends one event of the username's budget and sets the
// X-RateLimit headers for both budgets applied; when it is spent it writes
// the 429 itself, and a 500 for a limiter fault.
func (a *Auth) spendUsernameBudget(ctx context.Context, w http.ResponseWriter, ev Event, userKey string, ipDec Decision) bool {
	d, err := a.cfg.LoginLimiter.Allow(ctx, userKey)
	if err != nil {
		a.limiterFault(ctx, w, "username", err)
		return false
	}
	setRateLimitHeaders(w.Header(), ev.Time, []Decision{ipDec, d})
	if !d.Allowed {
		a.refuse(w, ev, "username", d)
		return false
	}
	return true
}

// refuse answers an attempt a budget refused, and reports it.
func (a *Auth) refuse(w http.ResponseWriter, ev Event, limit string, d Decision) {
	ev.Kind, ev.Code, ev.Limit = LoginRateLimited, CodeRateLimitHit, limit
	a.emit(ev)
	WriteError(w, RateLimited(d.RetryAfter))
}

func (a *Auth) limiterFault(ctx context.Context, w http.ResponseWriter, which string, err error) {
	a.cfg.Logger.ErrorContext(ctx, "zulipauth: rate limiter failed", "limit", which, "error", err)
	WriteError(w, InternalError())
}

// setRateLimitHeaders writes Zulip's X-RateLimit-* headers for the budgets
// applied: the smallest limit, the smallest remaining count, and the Unix
// time at which every applied budget is full again.
func setRateLimitHeaders(h http.Header, now time.Time, decs []Decision) {
	limit, remaining := decs[0].Limit, decs[0].Remaining
	var reset time.Duration
	for _, d := range decs {
		limit = min(limit, d.Limit)
		remaining = min(remaining, d.Remaining)
		reset = max(reset, d.ResetAfter)
	}
	// One string and one slice hold the three values: two allocations.
	var buf [64]byte
	b := strconv.AppendInt(buf[:0], int64(limit), 10)
	i := len(b)
	b = strconv.AppendInt(b, int64(remaining), 10)
	j := len(b)
	b = strconv.AppendInt(b, now.Add(reset).Unix(), 10)
	all := string(b)
	vals := []string{all[:i], all[i:j], all[j:]}
	h["X-Ratelimit-Limit"] = vals[0:1:1]
	h["X-Ratelimit-Remaining"] = vals[1:2:2]
	h["X-Ratelimit-Reset"] = vals[2:3:3]
}

// maxKeyLen bounds the length of a username rate-limit key; longer usernames
// (possible where non-email usernames are accepted) are hashed, so a flood of
// huge usernames cannot fill the limiter's memory with them.
const maxKeyLen = 256

// usernameKey is the per-username budget's key: the realm and the trimmed,
// case-folded username, so "Iago@zulip.com " and "iago@zulip.com" share one
// budget (Zulip keys by the username exactly as typed).
func usernameKey(realm, username string) string {
	k := realm + "\x00" + FoldEmail(username)
	if len(k) > maxKeyLen {
		sum := sha256.Sum256([]byte(k))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}
