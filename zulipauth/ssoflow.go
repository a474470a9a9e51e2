package zulipauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ssoFlowTTL bounds how long a single sign-on flow waits for the provider's
// answer: long enough to log in at the provider, short enough that a flow
// left behind is worth nothing.
const ssoFlowTTL = 10 * time.Minute

// loginTokenTTL is how long the desktop app's one-time login token lives, as
// Zulip's (15 s): the app opens it at once.
const loginTokenTTL = 15 * time.Second

// ssoCookie holds the random value whose hash binds a flow to the browser
// that started it.
const ssoCookie = "zulipauth_sso"

// Messages of the start's checks, as Zulip words them.
var (
	errInvalidOTP = BadRequest("Invalid OTP")
	errBothOTPs   = BadRequest("Can't use both mobile_flow_otp and desktop_flow_otp together.")
)

// SSOStartHandler returns the handler of GET /accounts/login/social/<path>
// and /accounts/register/social/<path>, where <path> is a provider's
// ProviderInfo.LoginPath: it starts a single sign-on login with that
// provider for the request's realm, and answers 302 to the provider.
// [Auth.Mount] mounts it where Config.IdentityProviders has providers.
//
// In order: GET or HEAD only (405); the client's budget (Config.IPLimiter:
// a page with 429); mobile_flow_otp and desktop_flow_otp checked as Zulip
// checks them (64 hexadecimal digits, else 400 "Invalid OTP"; both at once,
// 400 "Can't use both mobile_flow_otp and desktop_flow_otp together.");
// the realm (a page with 404 when unknown, 403 when deactivated); the
// provider, enabled for the realm (404). The flow is kept in the store
// ([FlowStore]) for at most 10 minutes under a random token, and bound to
// the browser by a cookie (HttpOnly, SameSite=Lax) whose hash it holds.
func (a *Auth) SSOStartHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to, page, zerr := a.startSSO(w, r)
		a.answerSSO(w, r, to, page, zerr)
	})
}

// SSOCallbackHandler returns the handler of a provider's answer (its
// ProviderInfo.CallbackPath, Zulip's /complete/<name>/): it finishes the
// flow the answer names and logs the person in. [Auth.Mount] mounts it at
// every provider's CallbackPath.
//
// The answer comes by GET (OpenID Connect) or POST (a SAML identity
// provider's form, at most 1 MiB, else 413). The flow is taken from the
// store once (a second answer naming it, from any instance, finds none)
// and must be unexpired, started in this browser, for this realm and this
// provider; the provider then checks its answer
// ([IdentityProvider.Finish]), and an answer it names
// ([Identity.AnswerID]) is accepted once. A posted answer without the
// flow's cookie (a form posted across sites carries no SameSite=Lax
// cookie) continues in the browser once checked: 303 to a GET of the
// callback with sso_continue=<token>, single use, for a minute, which ends
// the login only in the browser that started it. An answer that names no
// flow is refused unless its provider accepts it ([UnsolicitedAnswers]):
// then it starts a web session (Config.WebLogin). The identity's email must be
// verified, and name an active user of the realm (compared as [FoldEmail]
// does), or one is created where the provider's CreateUsers allows it.
// Then, with mobile_flow_otp: 302 to zulip://login with
// otp_encrypted_api_key (the API key, hexadecimal, XOR-ed with the OTP),
// email, user_id and realm (the realm's URL), as Zulip answers; with
// desktop_flow_otp: the page with Zulip's encrypted one-time login token
// (Config.WebLogin must start the host's web session, see
// [Auth.SSOLoginTokenHandler]); otherwise Config.WebLogin, or a page
// saying the login worked.
//
// Every failure is a page for a person, with a 4xx status (5xx for a
// fault), one log line and Config.OnEvent's LoginFailed, and nothing
// created or changed: an expired, used or foreign flow; the provider's
// refusal; an answer that proves nothing; an unverified email; no account
// (another realm's included, without saying so); a deactivated user or
// realm. The answer spends the client's budget as a login does.
func (a *Auth) SSOCallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to, page, zerr := a.finishSSO(w, r)
		a.answerSSO(w, r, to, page, zerr)
	})
}

// SSOLoginTokenHandler returns the handler of GET
// /accounts/login/subdomain/<token>, which the desktop app opens with the
// one-time login token the callback's page gave it: the token (single use,
// 15 seconds) names a user, for whom Config.WebLogin starts the host's web
// session. Without Config.WebLogin, or with a token that is unknown, used or
// expired, it answers a page with 4xx. [Auth.Mount] mounts it where
// Config.IdentityProviders has providers.
func (a *Auth) SSOLoginTokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, zerr := a.redeemLoginToken(w, r)
		if page == nil && zerr == nil {
			return // WebLogin answered
		}
		a.answerSSO(w, r, "", page, zerr)
	})
}

// providerByLoginPath returns the provider whose LoginPath is path.
func (a *Auth) providerByLoginPath(path string) (IdentityProvider, ProviderInfo, bool) {
	for _, p := range a.cfg.IdentityProviders {
		if info := p.Info(); info.LoginPath == path {
			return p, info, true
		}
	}
	return nil, ProviderInfo{}, false
}

// ssoFailure is a failure of a single sign-on request, answered with a page:
// its status, its message for the person, and why, for the log and the
// event.
type ssoFailure struct {
	status int
	msg    string
	cause  error
	code   string // a code the person copies (the desktop app's token), if any
}

// page is a failure's page: status, message for the person, and cause.
func page(status int, msg string, cause error) *ssoFailure {
	return &ssoFailure{status: status, msg: msg, cause: cause}
}

// Pages for a person, in the words the answer gives.
const (
	msgFlowGone       = "This login link has expired or was already used. Start the login again from the app."
	msgProviderDenied = "The login was cancelled or refused at the identity provider."
	msgProviderBad    = "The identity provider's answer could not be verified. Start the login again from the app."
	msgUnverified     = "The identity provider has not verified your email address, so it cannot log you in here."
	msgNoAccount      = "There is no account for this email address in this organization."
	msgDeactivated    = "Your account has been deactivated."
	msgRealmGone      = "This organization has been deactivated."
	msgNoRealm        = "There is no organization at this address."
	msgNoProvider     = "This organization does not offer that way of logging in."
	msgFault          = "Something went wrong on our side. Please try again later."
	msgNoWebSession   = "You are logged in, but this application has no web session to open. Use the Zulip app to log in."
	msgDesktop        = "The desktop app cannot log in here with single sign-on: log in with a password instead."
	msgRateLimited    = "Too many attempts from your network. Please wait a minute and try again."
)

// startSSO decides the start's answer: the URL to send the browser to, a
// page, or a Zulip JSON error (the OTP checks, as Zulip answers them).
func (a *Auth) startSSO(w http.ResponseWriter, r *http.Request) (string, *ssoFailure, *Error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", nil, MethodNotAllowed(http.MethodGet, http.MethodHead)
	}
	now := a.cfg.Now()
	if f := a.spendSSOBudget(r, now); f != nil {
		return "", f, nil
	}
	q := r.URL.Query()
	mobile, desktop := q.Get("mobile_flow_otp"), q.Get("desktop_flow_otp")
	switch {
	case mobile != "" && desktop != "":
		return "", nil, errBothOTPs
	case mobile != "" && !validOTP(mobile), desktop != "" && !validOTP(desktop):
		return "", nil, errInvalidOTP
	}
	realm, f := a.ssoRealm(r, now)
	if f != nil {
		return "", f, nil
	}
	signup, path := false, strings.TrimPrefix(r.URL.Path, "/accounts/login/social/")
	if p, ok := strings.CutPrefix(r.URL.Path, "/accounts/register/social/"); ok {
		signup, path = true, p
	}
	p, info, ok := a.providerByLoginPath(strings.TrimSuffix(path, "/"))
	if !ok || !p.Enabled(realm) {
		return "", page(http.StatusNotFound, msgNoProvider, fmt.Errorf("no provider %q for realm %q", path, realm.Subdomain)), nil
	}
	binding := randomToken()
	flow := SSOFlow{
		Token:        randomToken(),
		Realm:        realm,
		CallbackURL:  a.realmURL(r, realm) + info.CallbackPath,
		Nonce:        randomToken(),
		CodeVerifier: randomToken(),
		Expires:      now.Add(ssoFlowTTL),
		provider:     info.LoginPath,
		signup:       signup,
		mobileOTP:    strings.ToLower(mobile),
		desktopOTP:   strings.ToLower(desktop),
		browser:      hashHex(binding),
	}
	to, err := p.Start(r.Context(), &flow)
	if err != nil {
		return "", a.ssoFault(r, "starting a login at the identity provider", err, "provider", info.LoginPath), nil
	}
	value, err := json.Marshal(flowRecord(flow))
	if err == nil {
		err = a.flows.PutFlow(r.Context(), flow.Token, value, flow.Expires)
	}
	if err != nil {
		return "", a.ssoFault(r, "keeping a sign-on flow", err), nil
	}
	http.SetCookie(w, &http.Cookie{
		Name: ssoCookie, Value: binding, Path: "/", MaxAge: int(ssoFlowTTL / time.Second),
		HttpOnly: true, Secure: a.requestScheme(r) == "https", SameSite: http.SameSiteLaxMode,
	})
	return to, nil, nil
}

// finishSSO decides the callback's answer: a redirect (zulip://login, or
// the answer's continuation in this browser), a page, or, having let
// Config.WebLogin answer, nothing.
func (a *Auth) finishSSO(w http.ResponseWriter, r *http.Request) (string, *ssoFailure, *Error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		return "", nil, MethodNotAllowed(http.MethodGet, http.MethodHead, http.MethodPost)
	}
	now := a.cfg.Now()
	ev := &Event{Time: now, ClientIP: a.ClientIP(r), UserAgent: r.UserAgent()}
	if f := a.spendSSOBudget(r, now); f != nil {
		return "", f, nil
	}
	// The method, before the flow says which provider: the first at this
	// callback path (they share one only with their kind).
	for _, p := range a.cfg.IdentityProviders {
		if info := p.Info(); info.CallbackPath == r.URL.Path {
			ev.Method = info.Kind + ":" + info.Name
			break
		}
	}
	if f := readAnswerForm(w, r); f != nil {
		return a.ssoFailed(ev, f)
	}
	if token := r.URL.Query().Get(continueParam); token != "" && r.Method != http.MethodPost {
		c, f := a.takeContinuation(r, token, now)
		if f != nil {
			return a.ssoFailed(ev, f)
		}
		_, info, _ := a.providerByLoginPath(c.flow.provider)
		ev.Method, ev.Realm = info.Kind+":"+info.Name, c.flow.Realm.Subdomain
		realm, f := a.ssoRealm(r, now)
		if f == nil && realm.Subdomain != c.flow.Realm.Subdomain {
			f = page(http.StatusBadRequest, msgFlowGone, fmt.Errorf("a continuation of realm %q on realm %q", c.flow.Realm.Subdomain, realm.Subdomain))
		}
		if f != nil {
			return a.ssoFailed(ev, f)
		}
		return a.ssoLogIn(w, r, ev, realm, c.flow, c.identity, info)
	}

	flow, unbound, f := a.takeFlow(r, now)
	if f != nil {
		return a.ssoFailed(ev, f)
	}
	p, info, ok := a.providerByLoginPath(flow.provider)
	ev.Method, ev.Realm = info.Kind+":"+info.Name, flow.Realm.Subdomain
	if !ok || info.CallbackPath != r.URL.Path {
		return a.ssoFailed(ev, page(http.StatusBadRequest, msgFlowGone, fmt.Errorf("a flow of provider %q answered at %s", flow.provider, r.URL.Path)))
	}
	realm, f := a.ssoRealm(r, now)
	switch {
	case f != nil:
		return a.ssoFailed(ev, f)
	case flow.Token == "": // unsolicited: the realm is the request's
		if !p.Enabled(realm) {
			return a.ssoFailed(ev, page(http.StatusNotFound, msgNoProvider, fmt.Errorf("no provider %q for realm %q", flow.provider, realm.Subdomain)))
		}
		flow.Realm, flow.CallbackURL = realm, a.realmURL(r, realm)+info.CallbackPath
		ev.Realm = realm.Subdomain
	case realm.Subdomain != flow.Realm.Subdomain:
		return a.ssoFailed(ev, page(http.StatusBadRequest, msgFlowGone, fmt.Errorf("a flow of realm %q answered on realm %q", flow.Realm.Subdomain, realm.Subdomain)))
	}
	id, err := p.Finish(r.Context(), r, *flow)
	switch {
	case errors.Is(err, ErrSSODenied):
		return a.ssoFailed(ev, page(http.StatusForbidden, msgProviderDenied, err))
	case errors.Is(err, ErrSSOInvalid):
		return a.ssoFailed(ev, page(http.StatusBadRequest, msgProviderBad, err))
	case err != nil:
		return a.ssoFailed(ev, a.ssoFault(r, "finishing a login at the identity provider", err, "provider", flow.provider))
	}
	if f := a.useAnswerOnce(r, info, id, now); f != nil {
		return a.ssoFailed(ev, f)
	}
	if unbound {
		to, f := a.continueInBrowser(r, *flow, id, info, now)
		if f != nil {
			return a.ssoFailed(ev, f)
		}
		return to, nil, nil
	}
	return a.ssoLogIn(w, r, ev, realm, *flow, id, info)
}

// ssoFailed reports ev as a failure for f's cause and answers f's page.
func (a *Auth) ssoFailed(ev *Event, f *ssoFailure) (string, *ssoFailure, *Error) {
	ev.Kind, ev.Cause = LoginFailed, f.cause
	a.emit(*ev)
	return "", f, nil
}

// ssoLogIn logs in the person the provider proved, id, for the flow: the
// email must be verified and name an active user of realm (or one is
// created where the provider allows it); the answer is the one the flow
// asked for.
func (a *Auth) ssoLogIn(w http.ResponseWriter, r *http.Request, ev *Event, realm Realm, flow SSOFlow, id Identity, info ProviderInfo) (string, *ssoFailure, *Error) {
	ev.Username = id.Email
	if !id.EmailVerified {
		return a.ssoFailed(ev, page(http.StatusForbidden, msgUnverified, fmt.Errorf("the provider has not verified %q", id.Email)))
	}
	user, f := a.ssoUser(r, realm, id, info.CreateUsers)
	if f != nil {
		return a.ssoFailed(ev, f)
	}
	ev.Account = user.Email
	ev.Kind, ev.User = LoginSucceeded, user.WithoutSecrets()
	a.emit(*ev)
	switch {
	case flow.mobileOTP != "":
		return mobileRedirect(user, flow.mobileOTP, a.realmURL(r, realm)), nil, nil
	case flow.desktopOTP != "":
		return "", a.desktopTokenPage(r, user, flow.desktopOTP, a.cfg.Now()), nil
	case a.cfg.WebLogin != nil:
		a.cfg.WebLogin(w, r, user.WithoutSecrets())
		return "", nil, nil
	}
	return "", &ssoFailure{status: http.StatusOK, msg: msgNoWebSession}, nil
}

// maxAnswerBytes bounds a provider's answer posted to the callback (a SAML
// response, base64 and then percent-encoded, which triples some of it): the
// body is refused past it, before anything parses it.
const maxAnswerBytes = 1 << 20

// readAnswerForm reads a posted answer's form, at most maxAnswerBytes of
// it, so that providers read it with r.PostFormValue.
func readAnswerForm(w http.ResponseWriter, r *http.Request) *ssoFailure {
	if r.Method != http.MethodPost {
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAnswerBytes)
	if err := r.ParseForm(); err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return page(http.StatusRequestEntityTooLarge, msgProviderBad, fmt.Errorf("the posted answer is over %d bytes", maxAnswerBytes))
		}
		return page(http.StatusBadRequest, msgProviderBad, fmt.Errorf("the posted answer is not a form: %v", err))
	}
	return nil
}

// takeFlow takes the flow the provider's answer names from the store, once,
// and checks it is unexpired and was started in this browser. unbound is
// true when the browser could not say: an answer posted across sites (a
// SAML identity provider's) carries no SameSite=Lax cookie, so the check
// waits for the answer's continuation in this browser (continueInBrowser).
// An answer that names no flow gets an unsolicited flow (Token "") from a
// provider that accepts it ([UnsolicitedAnswers]).
func (a *Auth) takeFlow(r *http.Request, now time.Time) (flow *SSOFlow, unbound bool, f *ssoFailure) {
	token := ""
	for _, p := range a.cfg.IdentityProviders {
		if p.Info().CallbackPath == r.URL.Path {
			if token = p.FlowToken(r); token != "" {
				break
			}
		}
	}
	gone := func(cause error) *ssoFailure { return page(http.StatusBadRequest, msgFlowGone, cause) }
	if token == "" {
		for _, p := range a.cfg.IdentityProviders {
			info := p.Info()
			if u, ok := p.(UnsolicitedAnswers); ok && info.CallbackPath == r.URL.Path && u.AcceptsUnsolicited(r) {
				return &SSOFlow{Expires: now.Add(ssoFlowTTL), provider: info.LoginPath}, false, nil
			}
		}
		return nil, false, gone(errors.New("the provider's answer names no flow"))
	}
	if len(token) > 256 {
		return nil, false, gone(errors.New("the provider's answer names no flow"))
	}
	rec, f := a.takeRecord(r, token, "flow", now)
	if f != nil {
		return nil, false, f
	}
	fl := rec.flow()
	fl.Token = token
	c, err := r.Cookie(ssoCookie)
	switch {
	case err != nil && r.Method == http.MethodPost:
		return &fl, true, nil
	case err != nil || !a.sameBrowser(c, fl.browser):
		return nil, false, gone(errors.New("the flow was started in another browser"))
	}
	return &fl, false, nil
}

// takeRecord takes the record of kind under token from the store, once, and
// checks it is unexpired.
func (a *Auth) takeRecord(r *http.Request, token, kind string, now time.Time) (*flowJSON, *ssoFailure) {
	gone := func(cause error) *ssoFailure { return page(http.StatusBadRequest, msgFlowGone, cause) }
	value, err := a.flows.TakeFlow(r.Context(), token, now)
	switch {
	case errors.Is(err, ErrFlowNotFound):
		return nil, gone(err)
	case err != nil:
		return nil, a.ssoFault(r, "taking a sign-on flow", err)
	}
	var rec flowJSON
	if err := json.Unmarshal(value, &rec); err != nil || rec.Kind != kind {
		return nil, gone(fmt.Errorf("the store holds no %s under the token: %v", kind, err))
	}
	if !now.Before(rec.Expires) {
		return nil, gone(fmt.Errorf("the %s expired", kind))
	}
	return &rec, nil
}

// sameBrowser reports whether the flow cookie c is the one whose hash a
// flow holds.
func (a *Auth) sameBrowser(c *http.Cookie, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(hashHex(c.Value)), []byte(hash)) == 1
}

// continueParam names the token of an answer's continuation in the
// callback's URL.
const continueParam = "sso_continue"

// continueTTL is how long a checked answer waits for its continuation:
// the browser follows the redirect at once.
const continueTTL = time.Minute

// continuation is a provider's answer, checked, waiting for the browser
// that started the flow to show its cookie.
type continuation struct {
	flow     SSOFlow
	identity Identity
}

// continueInBrowser keeps the flow and the identity its answer proved, and
// sends the browser on to the callback with a GET: a top-level navigation
// that carries the flow's SameSite=Lax cookie, which the posted answer did
// not. Who follows it without the cookie finds the continuation refused,
// as a flow answered in another browser is.
func (a *Auth) continueInBrowser(r *http.Request, flow SSOFlow, id Identity, info ProviderInfo, now time.Time) (string, *ssoFailure) {
	rec := flowRecord(flow)
	rec.Kind, rec.Expires = "continue", now.Add(continueTTL)
	rec.IDEmail, rec.IDVerified, rec.IDName, rec.IDSubject = id.Email, id.EmailVerified, id.Name, id.Subject
	value, _ := json.Marshal(rec)
	token := randomToken()
	if err := a.flows.PutFlow(r.Context(), token, value, rec.Expires); err != nil {
		return "", a.ssoFault(r, "keeping a sign-on flow", err)
	}
	return info.CallbackPath + "?" + continueParam + "=" + token, nil
}

// takeContinuation takes the continuation under token, once, and checks
// that this browser started its flow.
func (a *Auth) takeContinuation(r *http.Request, token string, now time.Time) (*continuation, *ssoFailure) {
	if len(token) > 256 {
		return nil, page(http.StatusBadRequest, msgFlowGone, errors.New("not a continuation token"))
	}
	rec, f := a.takeRecord(r, token, "continue", now)
	if f != nil {
		return nil, f
	}
	c, err := r.Cookie(ssoCookie)
	if err != nil || !a.sameBrowser(c, rec.Browser) {
		return nil, page(http.StatusBadRequest, msgFlowGone, errors.New("the flow was started in another browser"))
	}
	fl := rec.flow()
	return &continuation{flow: fl, identity: Identity{Email: rec.IDEmail, EmailVerified: rec.IDVerified, Name: rec.IDName, Subject: rec.IDSubject}}, nil
}

// useAnswerOnce records the answer's AnswerID in the store until the answer
// expires: a second answer with it, on any instance, is refused.
func (a *Auth) useAnswerOnce(r *http.Request, info ProviderInfo, id Identity, now time.Time) *ssoFailure {
	if id.AnswerID == "" {
		return nil
	}
	expires := id.AnswerExpires
	if !expires.After(now) {
		expires = now.Add(ssoFlowTTL)
	}
	value, _ := json.Marshal(flowJSON{Kind: "answer", Expires: expires})
	err := a.flows.PutFlow(r.Context(), "answer:"+hashHex(info.Kind+":"+info.Name+":"+id.AnswerID), value, expires)
	switch {
	case errors.Is(err, ErrFlowExists):
		return page(http.StatusBadRequest, msgProviderBad, fmt.Errorf("the provider's answer %.80q was used already", id.AnswerID))
	case err != nil:
		return a.ssoFault(r, "recording the provider's answer as used", err)
	}
	return nil
}

// ssoRealm resolves the request's realm for a page: unknown is 404,
// deactivated 403, a fault 500.
func (a *Auth) ssoRealm(r *http.Request, now time.Time) (Realm, *ssoFailure) {
	realm, err := a.resolveRealm(r, now)
	switch {
	case errors.Is(err, ErrRealmNotFound):
		return realm, page(http.StatusNotFound, msgNoRealm, err)
	case err != nil:
		return realm, a.ssoFault(r, "resolving the realm", err, "host", r.Host)
	case realm.Deactivated:
		return realm, page(http.StatusForbidden, msgRealmGone, ErrRealmDeactivated)
	}
	return realm, nil
}

// ssoUser is the account of the identity's email in realm: found, or
// created where create allows it. No account, another realm's account or a
// deactivated one is a page; the other realm is not named.
func (a *Auth) ssoUser(r *http.Request, realm Realm, id Identity, create bool) (User, *ssoFailure) {
	ctx := r.Context()
	email := strings.TrimSpace(id.Email)
	user, err := a.cfg.Users.UserByEmail(ctx, realm.Subdomain, email)
	if errors.Is(err, ErrUserNotFound) && create && ValidEmail(email) {
		if c, ok := a.cfg.Users.(UserCreator); ok {
			user, err = c.CreateUser(ctx, NewUser{Realm: realm.Subdomain, Email: email, FullName: id.Name})
			if errors.Is(err, ErrUserExists) { // created meanwhile by a concurrent first login
				user, err = a.cfg.Users.UserByEmail(ctx, realm.Subdomain, email)
			}
		}
	}
	switch {
	case errors.Is(err, ErrUserNotFound):
		return User{}, page(http.StatusForbidden, msgNoAccount, err)
	case err != nil:
		return User{}, a.ssoFault(r, "looking up the identity's account", err)
	case user.Deactivated:
		return User{}, page(http.StatusForbidden, msgDeactivated, ErrUserDeactivated)
	}
	return user, nil
}

// spendSSOBudget spends one event of the client's budget, as a login does:
// a client refused a moment ago, or now, gets a page with 429.
func (a *Auth) spendSSOBudget(r *http.Request, now time.Time) *ssoFailure {
	key := ipKey(a.ClientIP(r))
	d, refused := recall(a.refused, key, now)
	if !refused {
		var err error
		if d, err = a.cfg.IPLimiter.Allow(r.Context(), key); err != nil {
			return a.ssoFault(r, "the client-IP rate limiter", err)
		}
		if d.Allowed {
			return nil
		}
		remember(a.refused, key, d, now)
	}
	return page(http.StatusTooManyRequests, msgRateLimited, fmt.Errorf("the client's budget refused it for %v", d.RetryAfter))
}

// ssoFault logs a fault of a component and returns its page.
func (a *Auth) ssoFault(r *http.Request, op string, err error, attrs ...any) *ssoFailure {
	if requestEnded(r.Context(), err) {
		return page(http.StatusServiceUnavailable, msgFault, err)
	}
	a.cfg.Logger.ErrorContext(r.Context(), "zulipauth: "+op+" failed", append(attrs, "error", err)...)
	return page(http.StatusInternalServerError, msgFault, err)
}

// mobileRedirect is Zulip's answer to the mobile apps: zulip://login with
// the API key encrypted with the one-time pad otp (see encryptKey), the
// user's delivery email, id, and the realm's URL.
func mobileRedirect(u User, otp, realmURL string) string {
	q := url.Values{
		"otp_encrypted_api_key": {encryptKey(u.APIKey, otp)},
		"email":                 {u.Email},
		"user_id":               {strconv.FormatInt(u.ID, 10)},
		"realm":                 {realmURL},
	}
	return "zulip://login?" + q.Encode()
}

// encryptKey is Zulip's otp_encrypt_api_key: the key's bytes XOR-ed with the
// pad's, hexadecimal. The pad is 32 random bytes, as long as the key.
func encryptKey(key, otpHex string) string {
	pad, _ := hex.DecodeString(otpHex)
	out := make([]byte, len(key))
	for i := range out {
		out[i] = key[i] ^ pad[i%len(pad)]
	}
	return hex.EncodeToString(out)
}

// validOTP reports whether s is a one-time pad as Zulip's is_valid_otp
// accepts it: 64 hexadecimal digits (twice the API key's length).
func validOTP(s string) bool {
	if len(s) != 2*apiKeyLength {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// desktopTokenPage makes the desktop app's one-time login token for u
// (Zulip's: 32 characters, single use, 15 seconds), encrypts it with the
// AES-GCM key the app gave as desktop_flow_otp, and returns the page that
// shows it. Without Config.WebLogin the token could start no session: the
// page says to use a password.
func (a *Auth) desktopTokenPage(r *http.Request, u User, keyHex string, now time.Time) *ssoFailure {
	if a.cfg.WebLogin == nil {
		return &ssoFailure{status: http.StatusOK, msg: msgDesktop}
	}
	token := GenerateAPIKey() // 32 characters of [A-Za-z0-9] from crypto/rand
	value, _ := json.Marshal(flowJSON{Kind: "login", UserEmail: u.Email, Realm: u.Realm})
	if err := a.flows.PutFlow(r.Context(), token, value, now.Add(loginTokenTTL)); err != nil {
		return a.ssoFault(r, "keeping a desktop login token", err)
	}
	key, _ := hex.DecodeString(keyHex)
	block, err := aes.NewCipher(key)
	if err != nil {
		return page(http.StatusBadRequest, msgDesktop, err)
	}
	gcm, _ := cipher.NewGCM(block)
	iv := make([]byte, gcm.NonceSize())
	rand.Read(iv)
	sealed := hex.EncodeToString(gcm.Seal(iv, iv, []byte(token), nil))
	return &ssoFailure{status: http.StatusOK, msg: "Copy this code into the Zulip desktop app to finish logging in:", code: sealed}
}

// redeemLoginToken starts the host's web session for the user the desktop
// app's one-time login token names.
func (a *Auth) redeemLoginToken(w http.ResponseWriter, r *http.Request) (*ssoFailure, *Error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, MethodNotAllowed(http.MethodGet, http.MethodHead)
	}
	now := a.cfg.Now()
	if f := a.spendSSOBudget(r, now); f != nil {
		return f, nil
	}
	if a.cfg.WebLogin == nil {
		return page(http.StatusNotFound, msgDesktop, errors.New("no Config.WebLogin")), nil
	}
	token := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/accounts/login/subdomain/"), "/")
	gone := page(http.StatusBadRequest, msgFlowGone, nil)
	if !ValidAPIKeyFormat(token) {
		return gone, nil
	}
	value, err := a.flows.TakeFlow(r.Context(), token, now)
	switch {
	case errors.Is(err, ErrFlowNotFound):
		return gone, nil
	case err != nil:
		return a.ssoFault(r, "taking a desktop login token", err), nil
	}
	var rec flowJSON
	if err := json.Unmarshal(value, &rec); err != nil || rec.Kind != "login" {
		return gone, nil
	}
	realm, f := a.ssoRealm(r, now)
	if f != nil {
		return f, nil
	}
	if realm.Subdomain != rec.Realm {
		return gone, nil
	}
	user, f := a.ssoUser(r, realm, Identity{Email: rec.UserEmail, EmailVerified: true}, false)
	if f != nil {
		return f, nil
	}
	a.cfg.WebLogin(w, r, user.WithoutSecrets())
	return nil, nil
}

// randomToken is 32 bytes from crypto/rand, unpadded base64url: 43
// characters, a valid PKCE verifier.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// flowJSON is what the store keeps: a flow (Kind "flow"), a checked answer
// waiting for its browser (Kind "continue"), an answer's record of use
// (Kind "answer") or a desktop login token (Kind "login").
type flowJSON struct {
	Kind          string    `json:"kind"`
	Realm         string    `json:"realm"`
	RealmName     string    `json:"realm_name,omitempty"`
	CallbackURL   string    `json:"callback_url,omitempty"`
	Nonce         string    `json:"nonce,omitempty"`
	CodeVerifier  string    `json:"code_verifier,omitempty"`
	ProviderState string    `json:"provider_state,omitempty"`
	Expires       time.Time `json:"expires"`
	Provider      string    `json:"provider,omitempty"`
	Signup        bool      `json:"signup,omitempty"`
	MobileOTP     string    `json:"mobile_otp,omitempty"`
	DesktopOTP    string    `json:"desktop_otp,omitempty"`
	Browser       string    `json:"browser,omitempty"`
	UserEmail     string    `json:"user_email,omitempty"`
	// A continuation's identity.
	IDEmail    string `json:"id_email,omitempty"`
	IDVerified bool   `json:"id_verified,omitempty"`
	IDName     string `json:"id_name,omitempty"`
	IDSubject  string `json:"id_subject,omitempty"`
}

func flowRecord(f SSOFlow) flowJSON {
	return flowJSON{
		Kind: "flow", Realm: f.Realm.Subdomain, RealmName: f.Realm.Name, CallbackURL: f.CallbackURL,
		Nonce: f.Nonce, CodeVerifier: f.CodeVerifier, ProviderState: f.ProviderState, Expires: f.Expires,
		Provider: f.provider, Signup: f.signup, MobileOTP: f.mobileOTP, DesktopOTP: f.desktopOTP, Browser: f.browser,
	}
}

func (j flowJSON) flow() SSOFlow {
	return SSOFlow{
		Realm: Realm{Subdomain: j.Realm, Name: j.RealmName}, CallbackURL: j.CallbackURL,
		Nonce: j.Nonce, CodeVerifier: j.CodeVerifier, ProviderState: j.ProviderState, Expires: j.Expires,
		provider: j.Provider, signup: j.Signup, mobileOTP: j.MobileOTP, desktopOTP: j.DesktopOTP, browser: j.Browser,
	}
}
