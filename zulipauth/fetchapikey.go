package zulipauth

import "net/http"

// FetchAPIKeyHandler returns the handler of POST /api/v1/fetch_api_key: a username
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
//  7. the Authenticator, which charges the budget of the account the
//     username names ([Attempt.ChargeAccount]): its failure as Zulip's 401
//     for it (an account that only another realm has is the generic 401
//     too), a fault as 500 "Internal server error" and a log line;
//  8. success: the username's budget is cleared and the answer is 200
//     {"result":"success","msg":"","api_key":…,"email":…,"user_id":…}, with
//     ignored_parameters_unsupported when the request sent parameters this
//     endpoint does not use.
//
// Responses from step 6 on, and 429s, carry X-RateLimit-Limit, -Remaining
// and -Reset. Every response carries Cache-Control: no-store.
func (a *Auth) FetchAPIKeyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := login{ev: Event{Method: "fetch_api_key"}}
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

// errInvalidEmail is Zulip's answer to a username that is not an email
// address where one is required: Django's validate_email's message.
var errInvalidEmail = BadRequest("Enter a valid email address.")

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
		return nil, errInvalidEmail
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
		Ignored: l.form.Unused("username", "password", "client"),
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
