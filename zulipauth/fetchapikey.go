package zulipauth

import (
	"crypto/sha256"
	"encoding/hex"
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
//  3. the per-IP budget: 429 RATE_LIMIT_HIT. For a second after a budget
//     refused (never past its Retry-After), a client it refused is refused
//     before its body is read, and a username it refused before the
//     client's budget is spent, with that budget's headers;
//  4. the realm: 404 NONEXISTENT_SUBDOMAIN if unknown;
//  5. unless the authenticator accepts other usernames in this realm, the
//     username must be an email address ([ValidEmail]): 400;
//  6. the per-username budget: 429 RATE_LIMIT_HIT;
//  7. the Authenticator: its failure as Zulip's 401 (see [ErrorFor]; an
//     account that only another realm has is the generic 401 too), a fault
//     as 500 "Internal server error" and a log line;
//  8. success: the username's budget is cleared and the answer is 200
//     {"result":"success","msg":"","api_key":…,"email":…,"user_id":…}, with
//     ignored_parameters_unsupported when the request sent parameters this
//     endpoint does not use.
//
// Responses from step 6 on, and 429s, carry X-RateLimit-Limit, -Remaining
// and -Reset. Every response carries Cache-Control: no-store.
func (a *Auth) FetchAPIKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var l login
		data, zerr := a.fetchAPIKey(&l, w, r)
		a.respond(w, &l, data, zerr)
	})
}

// apiKeyResponse is the data of fetch_api_key's success, in Zulip's order.
type apiKeyResponse struct {
	APIKey  string   `json:"api_key"`
	Email   string   `json:"email"`
	UserID  int64    `json:"user_id"`
	Ignored []string `json:"ignored_parameters_unsupported,omitempty"`
}

var errPasswordTooLong = BadRequest("Password is too long")

// passwordLoginParams are fetch_api_key's parameters, in Zulip's order.
var passwordLoginParams = []string{"username", "password"}

// fetchAPIKey decides fetch_api_key's answer (see FetchAPIKey); it writes
// nothing.
func (a *Auth) fetchAPIKey(l *login, w http.ResponseWriter, r *http.Request) (any, *Error) {
	l.spendsUsername = true
	if zerr := a.begin(l, w, r, passwordLoginParams, a.checkPasswordLength); zerr != nil {
		return nil, zerr
	}
	username, password := l.values[0], l.values[1]
	// As in Zulip, a malformed username is refused before it can spend the
	// username's budget.
	if !acceptsNonEmail(a.cfg.Authenticator, l.realm) && !ValidEmail(username) {
		return nil, InvalidEmail()
	}
	userKey := a.usernameKey(l.realm.Subdomain, username)
	if zerr := a.spendUsernameBudget(l, userKey); zerr != nil {
		return nil, zerr
	}
	ctx := r.Context()
	charger := a.newAccountCharger(l)
	user, err := a.cfg.Authenticator.Authenticate(ctx, Attempt{
		Realm:    l.realm,
		Username: username,
		Password: password,
		ClientIP: l.ev.ClientIP,
		charger:  charger,
	})
	// An account's spent budget decides the answer even if the
	// authenticator went on regardless.
	if zerr := charger.settle(l); zerr != nil {
		return nil, zerr
	}
	if err != nil {
		return nil, a.failed(l, "fetch_api_key: the authenticator", err)
	}
	a.resetUsernameBudget(ctx, userKey)
	charger.resetAccountBudgets(ctx)
	a.succeeded(l, user)
	return apiKeyResponse{
		APIKey:  user.APIKey,
		Email:   user.Email,
		UserID:  user.ID,
		Ignored: l.form.unused("username", "password", "client"),
	}, nil
}

// checkPasswordLength refuses a password over Config.MaxPasswordBytes before
// it can spend a budget or reach a hash.
func (a *Auth) checkPasswordLength(v [maxLoginParams]string) *Error {
	if len(v[1]) > a.cfg.MaxPasswordBytes {
		return errPasswordTooLong
	}
	return nil
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

// usernameKey is the per-username budget's key: the realm and the username
// trimmed and case-folded, then prepared as the authenticator compares
// usernames (see UsernamePreparer), so "Iago@zulip.com " and
// "iago@zulip.com" share one budget (Zulip keys by the username exactly as
// typed), and so do "ｈamlet" and "hamlet" where a directory takes them for
// one entry.
func (a *Auth) usernameKey(realm, username string) string {
	u := FoldEmail(username)
	if a.prepare != nil {
		u = a.prepare.PrepareUsername(u)
	}
	return budgetKey(realm + "\x00" + u)
}

// accountKey is the key of the budget of an account an authenticator named
// (see Attempt.ChargeAccount). A username's key starts with its realm's
// subdomain, which no "#" starts (a DNS label), so the two never meet.
func accountKey(realm, account string) string {
	return budgetKey("#" + realm + "\x00" + account)
}

// budgetKey bounds a key's length: a longer one is hashed.
func budgetKey(k string) string {
	if len(k) > maxKeyLen {
		sum := sha256.Sum256([]byte(k))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}
