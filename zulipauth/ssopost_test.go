package zulipauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Answers posted across sites, as a SAML identity provider's are: the
// browser's SameSite=Lax flow cookie does not come with them.

const callbackURL = "http://zulip.example.com/complete/test/"

// A posted answer without the flow's cookie is checked, then continued in
// the browser: 303 to a GET of the callback, which the cookie comes with,
// and which ends the login. The continuation works once, in that browser
// alone, for a minute.
func TestSSOPostedAnswerContinuesInTheBrowser(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t)
	b, otp := &browser{}, newOTP(t)
	token, _ := s.start(b, "zulip.example.com", "mobile_flow_otp="+otp)
	w := s.post(b, callbackURL, url.Values{"state": {token}}, false)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/complete/test/?sso_continue=") {
		t.Fatalf("the posted answer: %d to %q; want 303 to the callback's continuation", w.Code, w.Header().Get("Location"))
	}
	if len(s.idp.finish) != 1 {
		t.Errorf("the provider checked %d answers, want the posted one", len(s.idp.finish))
	}
	if ev := s.lastEvent(); ev.Kind == zulipauth.LoginSucceeded {
		t.Errorf("a login succeeded before the browser showed its cookie: %+v", ev)
	}
	next := "http://zulip.example.com" + w.Header().Get("Location")
	if w := s.get(&browser{}, next); w.Code != 400 || !strings.Contains(w.Body.String(), "expired or was already used") {
		t.Errorf("the continuation in another browser: %d %s", w.Code, w.Body)
	}

	// The continuation is single use, even when the other browser failed:
	// start again, and this time follow it in the right browser.
	token, _ = s.start(b, "zulip.example.com", "mobile_flow_otp="+otp)
	w = s.post(b, callbackURL, url.Values{"state": {token}}, false)
	next = "http://zulip.example.com" + w.Header().Get("Location")
	w = s.get(b, next)
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc.Scheme != "zulip" || decryptKey(t, loc.Query().Get("otp_encrypted_api_key"), otp) != s.iago.APIKey {
		t.Fatalf("the continuation in the browser that started: %d to %q; want zulip://login with Iago's key", w.Code, loc)
	}
	if ev := s.lastEvent(); ev.Kind != zulipauth.LoginSucceeded || ev.Method != "oidc:test" || ev.User.ID != s.iago.ID {
		t.Errorf("event %+v, want Iago's LoginSucceeded", ev)
	}
	if w := s.get(b, next); w.Code != 400 {
		t.Errorf("the continuation a second time: %d, want 400", w.Code)
	}

	token, _ = s.start(b, "zulip.example.com", "")
	w = s.post(b, callbackURL, url.Values{"state": {token}}, false)
	s.clock.Advance(time.Minute)
	if w := s.get(b, "http://zulip.example.com"+w.Header().Get("Location")); w.Code != 400 {
		t.Errorf("the continuation a minute later: %d, want 400", w.Code)
	}
}

// A posted answer that comes with the cookie (an identity provider on the
// same site) ends the login at once; one that comes with another browser's
// cookie is refused before the provider sees it.
func TestSSOPostedAnswerWithTheCookie(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t)
	b, otp := &browser{}, newOTP(t)
	token, _ := s.start(b, "zulip.example.com", "mobile_flow_otp="+otp)
	w := s.post(b, callbackURL, url.Values{"state": {token}}, true)
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "zulip://login?") {
		t.Fatalf("posted with the cookie: %d to %q; want 302 to zulip://login", w.Code, w.Header().Get("Location"))
	}
	token, _ = s.start(&browser{}, "zulip.example.com", "")
	other := &browser{}
	s.start(other, "zulip.example.com", "") // a flow cookie of its own
	if w := s.post(other, callbackURL, url.Values{"state": {token}}, true); w.Code != 400 || len(s.idp.finish) != 1 {
		t.Errorf("posted with another browser's cookie: %d, the provider saw %d answers; want 400, and only the first", w.Code, len(s.idp.finish))
	}
}

// An answer the provider names (a SAML assertion's ID) is accepted once,
// on every instance that shares the store, even in a new flow.
func TestSSOAnswerAcceptedOnce(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t)
	other, err := zulipauth.New(zulipauth.Config{
		Users: s.store, Authenticator: s.pw, IdentityProviders: []zulipauth.IdentityProvider{s.idp},
		Realms: zulipauth.HostRealms{Realms: s.store, ExternalHost: "zulip.example.com"},
		Now:    s.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	otherMux := http.NewServeMux()
	other.Mount(otherMux)
	// The store judges expiry by its own clock, the real one.
	s.idp.answer(zulipauth.Identity{Email: iagoEmail, EmailVerified: true, AnswerID: "https://idp.example/ id-1",
		AnswerExpires: time.Now().Add(5 * time.Minute)}, nil)

	b := &browser{}
	token, _ := s.start(b, "zulip.example.com", "mobile_flow_otp="+newOTP(t))
	if w := s.callback(b, "zulip.example.com", token); w.Code != http.StatusFound {
		t.Fatalf("the first use: %d %s", w.Code, w.Body)
	}
	token, _ = s.start(b, "zulip.example.com", "mobile_flow_otp="+newOTP(t))
	w := s.callback(b, "zulip.example.com", token)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "could not be verified") {
		t.Errorf("the same answer in a new flow: %d %s; want 400", w.Code, w.Body)
	}
	token, _ = s.start(b, "zulip.example.com", "mobile_flow_otp="+newOTP(t))
	r := httptest.NewRequest("GET", callbackURL+"?state="+token, nil)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w = httptest.NewRecorder()
	otherMux.ServeHTTP(w, r)
	if w.Code != 400 {
		t.Errorf("the same answer on another instance: %d, want 400", w.Code)
	}
	if ev := s.lastEvent(); ev.Kind != zulipauth.LoginFailed || !strings.Contains(ev.Cause.Error(), "used already") {
		t.Errorf("event %+v, want LoginFailed because the answer was used", ev)
	}

	// Another answer is welcome.
	s.idp.answer(zulipauth.Identity{Email: iagoEmail, EmailVerified: true, AnswerID: "https://idp.example/ id-2"}, nil)
	token, _ = s.start(b, "zulip.example.com", "mobile_flow_otp="+newOTP(t))
	if w := s.callback(b, "zulip.example.com", token); w.Code != http.StatusFound {
		t.Errorf("a new answer: %d %s", w.Code, w.Body)
	}
}

// An answer that names no flow (a SAML identity provider's IdP-initiated
// login) is refused, unless its provider accepts unsolicited answers: then
// it logs a plain browser in, for the request's realm where the provider
// is enabled, through Config.WebLogin.
func TestSSOUnsolicitedAnswers(t *testing.T) {
	t.Parallel()
	var sessions []zulipauth.User
	s := newSSOFixture(t, func(c *zulipauth.Config) {
		c.WebLogin = func(w http.ResponseWriter, r *http.Request, u zulipauth.User) {
			sessions = append(sessions, u)
			http.Redirect(w, r, "/app", http.StatusSeeOther)
		}
	})
	if w := s.post(&browser{}, callbackURL, url.Values{"SAMLResponse": {"x"}}, false); w.Code != 400 || len(s.idp.finish) != 0 {
		t.Errorf("unsolicited, not accepted: %d, the provider saw %d answers; want 400 and none", w.Code, len(s.idp.finish))
	}
	s.idp.mu.Lock()
	s.idp.unsolicited = true
	s.idp.mu.Unlock()
	w := s.post(&browser{}, callbackURL, url.Values{"SAMLResponse": {"x"}}, false)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/app" || len(sessions) != 1 || sessions[0].ID != s.iago.ID {
		t.Fatalf("unsolicited, accepted: %d to %q, sessions %v; want WebLogin for Iago", w.Code, w.Header().Get("Location"), sessions)
	}
	if f := s.idp.finish[0]; f.Token != "" || f.CallbackURL != callbackURL || f.Realm.Subdomain != "" {
		t.Errorf("Finish got %+v; want no token, the realm's callback URL", f)
	}
	s.idp.realms = map[string]bool{"lear": true}
	if w := s.post(&browser{}, callbackURL, url.Values{"SAMLResponse": {"x"}}, false); w.Code != 404 || len(sessions) != 1 {
		t.Errorf("unsolicited, for a realm the provider is not enabled for: %d, want 404", w.Code)
	}
}

// The callback takes GET and POST; a posted answer over 1 MiB is refused
// before anything reads it.
func TestSSOCallbackRequests(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t)
	r := httptest.NewRequest(http.MethodPut, callbackURL, nil)
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	b := &browser{}
	token, _ := s.start(b, "zulip.example.com", "")
	w = s.post(b, callbackURL, url.Values{"state": {token}, "SAMLResponse": {strings.Repeat("A", 1<<20)}}, false)
	if w.Code != http.StatusRequestEntityTooLarge || len(s.idp.finish) != 0 {
		t.Errorf("a 1 MiB answer: %d, the provider saw %d; want 413 and none", w.Code, len(s.idp.finish))
	}
}
