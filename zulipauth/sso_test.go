package zulipauth_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// scriptedProvider is an IdentityProvider for the core's tests: Start sends
// the browser to a made-up provider URL that carries the flow's token, and
// Finish answers what the test scripted. The real OpenID provider and a
// real browser are backends/oidc's and examples/server's tests; here the
// flow around the provider is under test.
type scriptedProvider struct {
	info    zulipauth.ProviderInfo
	realms  map[string]bool // nil: every realm
	mu      sync.Mutex
	id      zulipauth.Identity
	err     error
	started []zulipauth.SSOFlow // what Start was given
	finish  []zulipauth.SSOFlow // what Finish was given

	unsolicited bool // AcceptsUnsolicited's answer
}

func (p *scriptedProvider) Info() zulipauth.ProviderInfo { return p.info }
func (p *scriptedProvider) Enabled(r zulipauth.Realm) bool {
	return p.realms == nil || p.realms[r.Subdomain]
}

func (p *scriptedProvider) Start(_ context.Context, f *zulipauth.SSOFlow) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f.ProviderState = "provider-state-" + f.Token[:4]
	p.started = append(p.started, *f)
	return "https://idp.example/authorize?" + url.Values{"state": {f.Token}, "nonce": {f.Nonce}, "redirect_uri": {f.CallbackURL}}.Encode(), nil
}

// FlowToken reads state from the query, or from the posted form as a SAML
// identity provider's RelayState comes.
func (p *scriptedProvider) FlowToken(r *http.Request) string {
	if r.Method == http.MethodPost {
		return r.PostFormValue("state")
	}
	return r.URL.Query().Get("state")
}

func (p *scriptedProvider) AcceptsUnsolicited(r *http.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unsolicited
}

func (p *scriptedProvider) Finish(_ context.Context, _ *http.Request, f zulipauth.SSOFlow) (zulipauth.Identity, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finish = append(p.finish, f)
	if f.Token == "" && p.unsolicited {
		return p.id, p.err
	}
	if !strings.HasPrefix(f.ProviderState, "provider-state-") {
		return zulipauth.Identity{}, errors.New("Finish did not get Start's ProviderState back")
	}
	return p.id, p.err
}

func (p *scriptedProvider) answer(id zulipauth.Identity, err error) {
	p.mu.Lock()
	p.id, p.err = id, err
	p.mu.Unlock()
}

// ssoFixture is the login server with one scripted OpenID Connect provider
// and a second realm, "lear".
type ssoFixture struct {
	*fixture
	idp     *scriptedProvider
	mux     *http.ServeMux
	webUser chan zulipauth.User // WebLogin's calls, when set
}

func newSSOFixture(t *testing.T, mutate ...func(*zulipauth.Config)) *ssoFixture {
	t.Helper()
	idp := &scriptedProvider{info: zulipauth.ProviderInfo{
		Kind: "oidc", Name: "test", LoginPath: "test", CallbackPath: "/complete/test/",
		DisplayName: "Test SSO", DisplayIcon: "https://idp.example/icon.png",
	}}
	idp.answer(zulipauth.Identity{Email: iagoEmail, EmailVerified: true, Name: "Iago", Subject: "iago-1"}, nil)
	store := memstore.New()
	if err := store.CreateRealm(context.Background(), zulipauth.Realm{Subdomain: "lear", Name: "Lear"}); err != nil {
		t.Fatal(err)
	}
	f := newFixtureOn(t, store, append([]func(*zulipauth.Config){func(c *zulipauth.Config) {
		c.IdentityProviders = []zulipauth.IdentityProvider{idp}
		c.Realms = zulipauth.HostRealms{Realms: store, ExternalHost: "zulip.example.com"}
	}}, mutate...)...)
	mux := http.NewServeMux()
	f.auth.Mount(mux)
	return &ssoFixture{fixture: f, idp: idp, mux: mux}
}

// browser is one browser's cookie jar.
type browser struct{ cookies []*http.Cookie }

// keep keeps the cookies set by w, each replacing one of its name.
func (b *browser) keep(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		b.cookies = slices.DeleteFunc(b.cookies, func(old *http.Cookie) bool { return old.Name == c.Name })
		b.cookies = append(b.cookies, c)
	}
}

// get sends a GET to the fixture as b, keeping the cookies it is given.
func (s *ssoFixture) get(b *browser, rawURL string) *httptest.ResponseRecorder {
	s.t.Helper()
	r := httptest.NewRequest(http.MethodGet, rawURL, nil)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	b.keep(w)
	return w
}

// post sends the form to the fixture as b would: a form posted across
// sites (withCookies false) carries none of b's SameSite=Lax cookies.
func (s *ssoFixture) post(b *browser, rawURL string, form url.Values, withCookies bool) *httptest.ResponseRecorder {
	s.t.Helper()
	r := httptest.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if withCookies {
		for _, c := range b.cookies {
			r.AddCookie(c)
		}
	}
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	b.keep(w)
	return w
}

// start begins a login at host with query, and returns the provider's
// state (the flow's token) from the redirect.
func (s *ssoFixture) start(b *browser, host, query string) (string, *httptest.ResponseRecorder) {
	s.t.Helper()
	w := s.get(b, "http://"+host+"/accounts/login/social/test?"+query)
	if w.Code != http.StatusFound {
		return "", w
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Host != "idp.example" {
		s.t.Fatalf("start redirected to %q", w.Header().Get("Location"))
	}
	return loc.Query().Get("state"), w
}

// callback is the provider's answer for the flow token, at host.
func (s *ssoFixture) callback(b *browser, host, token string) *httptest.ResponseRecorder {
	s.t.Helper()
	return s.get(b, "http://"+host+"/complete/test/?"+url.Values{"state": {token}, "code": {"a code"}}.Encode())
}

func newOTP(t testing.TB) string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// decryptKey is zulip-flutter's: hex-decode and XOR with the pad.
func decryptKey(t testing.TB, encrypted, otp string) string {
	t.Helper()
	c, err1 := hex.DecodeString(encrypted)
	p, err2 := hex.DecodeString(otp)
	if err1 != nil || err2 != nil || len(c) != len(p) {
		t.Fatalf("otp_encrypted_api_key %q is not 64 hexadecimal digits", encrypted)
	}
	for i := range c {
		c[i] ^= p[i]
	}
	return string(c)
}

// The mobile apps' flow, end to end around the provider: the start checks
// the OTP and sends the browser to the provider with the flow's token,
// nonce, PKCE verifier and the realm's callback URL; the provider's answer
// ends in Zulip's zulip://login redirect, whose key decrypts with the OTP to
// the user's API key and whose realm is the realm's URL.
func TestSSOMobileFlow(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t)
	b, otp := &browser{}, newOTP(t)
	token, w := s.start(b, "zulip.example.com", "mobile_flow_otp="+otp)
	if token == "" {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("the start's redirect may be cached: Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	f := s.idp.started[0]
	if f.CallbackURL != "http://zulip.example.com/complete/test/" || len(f.Token) != 43 || len(f.Nonce) != 43 ||
		len(f.CodeVerifier) != 43 || f.Nonce == f.Token || f.CodeVerifier == f.Token || f.Realm.Subdomain != "" {
		t.Errorf("Start got %+v; want the realm's callback URL and three different 43-character secrets", f)
	}
	w = s.callback(b, "zulip.example.com", token)
	if w.Code != http.StatusFound {
		t.Fatalf("callback: %d %s", w.Code, w.Body)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	q := loc.Query()
	if loc.Scheme != "zulip" || loc.Host != "login" || q.Get("email") != iagoEmail ||
		q.Get("user_id") != fmt.Sprint(s.iago.ID) || q.Get("realm") != "http://zulip.example.com" {
		t.Fatalf("callback redirected to %q, want zulip://login with Iago's email, id and the realm's URL", loc)
	}
	if key := decryptKey(t, q.Get("otp_encrypted_api_key"), otp); key != s.iago.APIKey {
		t.Errorf("the key decrypts to %q, want Iago's", key)
	}
	if last := s.lastEvent(); last.Kind != zulipauth.LoginSucceeded || last.Method != "oidc:test" || last.User.ID != s.iago.ID {
		t.Errorf("event %+v, want LoginSucceeded by oidc:test for Iago", last)
	}
	// The realm's URL is the one server_settings gives clients.
	var ss struct {
		RealmURI string `json:"realm_uri"`
	}
	json.Unmarshal(settings(s.fixture, "GET", "zulip.example.com").Body.Bytes(), &ss)
	if ss.RealmURI != q.Get("realm") {
		t.Errorf("realm %q, server_settings' realm_uri %q: zulip-flutter requires the same origin", q.Get("realm"), ss.RealmURI)
	}
}

// mobile_flow_otp and desktop_flow_otp as Zulip checks them.
func TestSSOStartChecksOTPs(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t)
	otp := newOTP(t)
	for _, tc := range []struct {
		name, query string
		status      int
		msg         string
	}{
		{"mobile", "mobile_flow_otp=" + otp, 302, ""},
		{"desktop", "desktop_flow_otp=" + otp, 302, ""},
		{"upper-case hex", "mobile_flow_otp=" + strings.ToUpper(otp), 302, ""},
		{"none: a browser", "", 302, ""},
		{"63 digits", "mobile_flow_otp=" + otp[1:], 400, "Invalid OTP"},
		{"65 digits", "mobile_flow_otp=" + otp + "0", 400, "Invalid OTP"},
		{"not hex", "mobile_flow_otp=" + strings.Repeat("g", 64), 400, "Invalid OTP"},
		{"desktop not hex", "desktop_flow_otp=" + otp[:63] + "z", 400, "Invalid OTP"},
		{"both", "mobile_flow_otp=" + otp + "&desktop_flow_otp=" + otp, 400, "Can't use both mobile_flow_otp and desktop_flow_otp together."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := s.get(&browser{}, "http://zulip.example.com/accounts/login/social/test?"+tc.query)
			if w.Code != tc.status {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tc.status)
			}
			if tc.msg != "" && decode(t, w.Body.Bytes())["msg"] != tc.msg {
				t.Errorf("msg of %s, want %q", w.Body, tc.msg)
			}
		})
	}
}

// The flow is single use, expires, is bound to the browser that started
// it, and belongs to its realm; every failure is a page for a person, with
// a 4xx status, one log line, and nothing created.
func TestSSOFlowRefusals(t *testing.T) {
	t.Parallel()
	host := "zulip.example.com"
	for _, tc := range []struct {
		name   string
		status int
		msg    string
		run    func(s *ssoFixture) *httptest.ResponseRecorder
	}{
		{"replayed", 400, "expired or was already used", func(s *ssoFixture) *httptest.ResponseRecorder {
			b := &browser{}
			token, _ := s.start(b, host, "mobile_flow_otp="+newOTP(s.t))
			if w := s.callback(b, host, token); w.Code != 302 {
				s.t.Fatalf("the first answer: %d", w.Code)
			}
			return s.callback(b, host, token)
		}},
		{"another browser", 400, "expired or was already used", func(s *ssoFixture) *httptest.ResponseRecorder {
			token, _ := s.start(&browser{}, host, "mobile_flow_otp="+newOTP(s.t))
			return s.callback(&browser{}, host, token)
		}},
		{"expired", 400, "expired or was already used", func(s *ssoFixture) *httptest.ResponseRecorder {
			b := &browser{}
			token, _ := s.start(b, host, "")
			s.clock.Advance(10*time.Minute + time.Second)
			return s.callback(b, host, token)
		}},
		{"unknown token", 400, "expired or was already used", func(s *ssoFixture) *httptest.ResponseRecorder {
			b := &browser{}
			s.start(b, host, "")
			return s.callback(b, host, "made-up")
		}},
		{"another realm's flow", 400, "expired or was already used", func(s *ssoFixture) *httptest.ResponseRecorder {
			b := &browser{}
			token, _ := s.start(b, "lear."+host, "")
			return s.callback(b, host, token)
		}},
		{"the provider refused", 403, "cancelled or refused", func(s *ssoFixture) *httptest.ResponseRecorder {
			s.idp.answer(zulipauth.Identity{}, fmt.Errorf("error=access_denied: %w", zulipauth.ErrSSODenied))
			b := &browser{}
			token, _ := s.start(b, host, "")
			return s.callback(b, host, token)
		}},
		{"an answer that proves nothing", 400, "could not be verified", func(s *ssoFixture) *httptest.ResponseRecorder {
			s.idp.answer(zulipauth.Identity{}, fmt.Errorf("nonce mismatch: %w", zulipauth.ErrSSOInvalid))
			b := &browser{}
			token, _ := s.start(b, host, "")
			return s.callback(b, host, token)
		}},
		{"unverified email", 403, "has not verified your email", func(s *ssoFixture) *httptest.ResponseRecorder {
			s.idp.answer(zulipauth.Identity{Email: iagoEmail, EmailVerified: false}, nil)
			b := &browser{}
			token, _ := s.start(b, host, "")
			return s.callback(b, host, token)
		}},
		{"no account", 403, "no account for this email", func(s *ssoFixture) *httptest.ResponseRecorder {
			s.idp.answer(zulipauth.Identity{Email: "nobody@zulip.com", EmailVerified: true}, nil)
			b := &browser{}
			token, _ := s.start(b, host, "")
			return s.callback(b, host, token)
		}},
		{"another realm's account", 403, "no account for this email", func(s *ssoFixture) *httptest.ResponseRecorder {
			s.createUser("lear", "king@lear.example", "a password")
			s.idp.answer(zulipauth.Identity{Email: "king@lear.example", EmailVerified: true}, nil)
			b := &browser{}
			token, _ := s.start(b, host, "")
			return s.callback(b, host, token)
		}},
		{"deactivated user", 403, "has been deactivated", func(s *ssoFixture) *httptest.ResponseRecorder {
			s.store.SetUserDeactivated(context.Background(), s.iago.ID, true)
			b := &browser{}
			token, _ := s.start(b, host, "")
			return s.callback(b, host, token)
		}},
		{"realm deactivated meanwhile", 403, "organization has been deactivated", func(s *ssoFixture) *httptest.ResponseRecorder {
			b := &browser{}
			token, _ := s.start(b, host, "")
			s.store.UpdateRealm(context.Background(), zulipauth.Realm{Name: "Zulip", Deactivated: true})
			return s.callback(b, host, token)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSSOFixture(t)
			w := tc.run(s)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.msg) {
				t.Fatalf("%d %s, want %d and %q", w.Code, w.Body, tc.status, tc.msg)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q: a failure is a page for a person", ct)
			}
			if n := strings.Count(s.logs.String(), "single sign-on refused"); n != 1 {
				t.Errorf("%d log lines for the refusal, want 1:\n%s", n, s.logs)
			}
			for _, email := range []string{"nobody@zulip.com", "king@lear.example"} {
				if _, err := s.store.UserByEmail(context.Background(), "", email); !errors.Is(err, zulipauth.ErrUserNotFound) {
					t.Errorf("a refused login created an account for %s in the realm (%v)", email, err)
				}
			}
			if last := s.lastEvent(); last.Kind != zulipauth.LoginFailed || last.Method != "oidc:test" {
				t.Errorf("last event %+v, want LoginFailed by oidc:test", last)
			}
			if strings.Contains(w.Body.String(), "lear") || strings.Contains(w.Body.String(), "king@") {
				t.Errorf("the page names another realm or its account:\n%s", w.Body)
			}
		})
	}
}

// A flow started on one instance finishes on another that shares the
// store, once: the answer replayed on the first finds nothing.
func TestSSOFlowCrossesInstances(t *testing.T) {
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
	b, otp := &browser{}, newOTP(t)
	token, _ := s.start(b, "zulip.example.com", "mobile_flow_otp="+otp)
	r := httptest.NewRequest("GET", "http://zulip.example.com/complete/test/?state="+token, nil)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	otherMux.ServeHTTP(w, r)
	if w.Code != 302 || !strings.HasPrefix(w.Header().Get("Location"), "zulip://login?") {
		t.Fatalf("the other instance: %d %s", w.Code, w.Body)
	}
	if w := s.callback(b, "zulip.example.com", token); w.Code != 400 {
		t.Errorf("replayed on the first instance: %d, want 400", w.Code)
	}
}

// A user created on first login where the provider allows it; never where
// it does not.
func TestSSOCreatesUsersOnlyWhereAllowed(t *testing.T) {
	t.Parallel()
	for _, create := range []bool{false, true} {
		s := newSSOFixture(t)
		s.idp.info.CreateUsers = create
		s.idp.answer(zulipauth.Identity{Email: "Newcomer@zulip.com", EmailVerified: true, Name: "New Comer"}, nil)
		b := &browser{}
		token, _ := s.start(b, "zulip.example.com", "mobile_flow_otp="+newOTP(t))
		w := s.callback(b, "zulip.example.com", token)
		u, err := s.store.UserByEmail(context.Background(), "", "newcomer@zulip.com")
		switch {
		case create && (w.Code != 302 || err != nil || u.FullName != "New Comer"):
			t.Errorf("CreateUsers: %d, user %+v %v; want the account made with the identity's name", w.Code, u, err)
		case !create && (w.Code != 403 || err == nil):
			t.Errorf("without CreateUsers: %d, user %v; want 403 and no account", w.Code, err)
		}
	}
}

// Without an OTP the host's web session starts (Config.WebLogin), or a page
// says the login worked and the application has none.
func TestSSOBrowserLogin(t *testing.T) {
	t.Parallel()
	var got zulipauth.User
	withHook := newSSOFixture(t, func(c *zulipauth.Config) {
		c.WebLogin = func(w http.ResponseWriter, r *http.Request, u zulipauth.User) {
			got = u
			http.Redirect(w, r, "/app", http.StatusFound)
		}
	})
	b := &browser{}
	token, _ := withHook.start(b, "zulip.example.com", "")
	if w := withHook.callback(b, "zulip.example.com", token); w.Code != 302 || w.Header().Get("Location") != "/app" || got.ID != withHook.iago.ID || got.APIKey != "" {
		t.Errorf("with WebLogin: %d %q, hook got %+v; want the hook's redirect for Iago, without secrets", w.Code, w.Header().Get("Location"), got)
	}
	without := newSSOFixture(t)
	b = &browser{}
	token, _ = without.start(b, "zulip.example.com", "")
	if w := without.callback(b, "zulip.example.com", token); w.Code != 200 || !strings.Contains(w.Body.String(), "no web session") {
		t.Errorf("without WebLogin: %d %s", w.Code, w.Body)
	}
}

// The desktop app: the page shows Zulip's one-time login token, encrypted
// with the app's AES-GCM key; the token starts the host's web session once.
// Without a host web session, the page says to use a password.
func TestSSODesktopFlow(t *testing.T) {
	t.Parallel()
	var sessions []zulipauth.User
	s := newSSOFixture(t, func(c *zulipauth.Config) {
		c.WebLogin = func(w http.ResponseWriter, r *http.Request, u zulipauth.User) {
			sessions = append(sessions, u)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	b, key := &browser{}, newOTP(t)
	token, _ := s.start(b, "zulip.example.com", "desktop_flow_otp="+key)
	w := s.callback(b, "zulip.example.com", token)
	_, after, ok := strings.Cut(w.Body.String(), `<code id="code">`)
	if w.Code != 200 || !ok {
		t.Fatalf("desktop callback: %d %s", w.Code, w.Body)
	}
	sealed, _ := hex.DecodeString(after[:strings.Index(after, "<")])
	k, _ := hex.DecodeString(key)
	block, _ := aes.NewCipher(k)
	gcm, _ := cipher.NewGCM(block)
	loginToken, err := gcm.Open(nil, sealed[:12], sealed[12:], nil)
	if err != nil || len(loginToken) != 32 {
		t.Fatalf("the code does not decrypt with the app's key to a 32-character token: %v", err)
	}
	if w := s.get(&browser{}, "http://zulip.example.com/accounts/login/subdomain/"+string(loginToken)); w.Code != 204 || len(sessions) != 1 || sessions[0].ID != s.iago.ID {
		t.Fatalf("redeeming the token: %d, sessions %v", w.Code, sessions)
	}
	if w := s.get(&browser{}, "http://zulip.example.com/accounts/login/subdomain/"+string(loginToken)); w.Code != 400 || len(sessions) != 1 {
		t.Errorf("the token a second time: %d, sessions %d; want 400 and no second session", w.Code, len(sessions))
	}

	plain := newSSOFixture(t)
	b = &browser{}
	token, _ = plain.start(b, "zulip.example.com", "desktop_flow_otp="+key)
	if w := plain.callback(b, "zulip.example.com", token); w.Code != 200 || !strings.Contains(w.Body.String(), "password") {
		t.Errorf("desktop without a web session: %d %s, want the page saying to use a password", w.Code, w.Body)
	}
}

// server_settings lists the providers enabled for the realm, as Zulip lists
// its external methods, and turns authentication_methods' "openid connect"
// true; a realm the provider is not for gets neither, nor can it start.
func TestSSOServerSettings(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t)
	s.idp.realms = map[string]bool{"": true}
	var got struct {
		Methods  map[string]bool  `json:"authentication_methods"`
		External []map[string]any `json:"external_authentication_methods"`
	}
	json.Unmarshal(settings(s.fixture, "GET", "zulip.example.com").Body.Bytes(), &got)
	want := map[string]any{"name": "oidc:test", "display_name": "Test SSO", "display_icon": "https://idp.example/icon.png",
		"login_url": "/accounts/login/social/test", "signup_url": "/accounts/register/social/test"}
	if !got.Methods["openid connect"] || len(got.External) != 1 || fmt.Sprint(got.External[0]) != fmt.Sprint(want) {
		t.Errorf("root realm: methods %v, external %v; want %v", got.Methods, got.External, want)
	}
	json.Unmarshal(settings(s.fixture, "GET", "lear.zulip.example.com").Body.Bytes(), &got)
	if got.Methods["openid connect"] || len(got.External) != 0 {
		t.Errorf("lear, where the provider is not enabled: methods %v, external %v", got.Methods, got.External)
	}
	if w := s.get(&browser{}, "http://lear.zulip.example.com/accounts/login/social/test"); w.Code != 404 {
		t.Errorf("starting at lear: %d, want 404", w.Code)
	}
}

// A realm can turn password login off and keep single sign-on: its
// server_settings says so, fetch_api_key answers PASSWORD_AUTH_DISABLED,
// and the mobile flow still ends in zulip://login.
func TestSSOWithPasswordsOff(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t)
	if err := s.store.UpdateRealm(context.Background(), zulipauth.Realm{Name: "Zulip", PasswordAuthDisabled: true}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Methods  map[string]bool  `json:"authentication_methods"`
		External []map[string]any `json:"external_authentication_methods"`
	}
	json.Unmarshal(settings(s.fixture, "GET", "zulip.example.com").Body.Bytes(), &got)
	if got.Methods["password"] || !got.Methods["openid connect"] || len(got.External) != 1 {
		t.Errorf("server_settings: methods %v, external %v; want password off, openid connect on, one provider", got.Methods, got.External)
	}
	if w := s.login(iagoEmail, iagoPassword, ""); w.Code != 401 || !strings.Contains(w.Body.String(), "PASSWORD_AUTH_DISABLED") {
		t.Errorf("fetch_api_key: %d %s, want 401 PASSWORD_AUTH_DISABLED", w.Code, w.Body)
	}
	b := &browser{}
	token, _ := s.start(b, "zulip.example.com", "mobile_flow_otp="+newOTP(t))
	if w := s.callback(b, "zulip.example.com", token); w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "zulip://login?") {
		t.Errorf("single sign-on: %d to %q, want 302 to zulip://login", w.Code, w.Header().Get("Location"))
	}
}

// The start and the answer spend the client's budget like a login.
func TestSSOSpendsTheClientBudget(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t, func(c *zulipauth.Config) {
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 3, Per: time.Hour}, zulipauth.WithClock(c.Now))
	})
	b := &browser{}
	token, _ := s.start(b, "zulip.example.com", "")
	s.callback(b, "zulip.example.com", token)
	s.start(b, "zulip.example.com", "")
	if w := s.get(b, "http://zulip.example.com/accounts/login/social/test"); w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Errorf("the fourth request: %d, want a 429 page with Retry-After", w.Code)
	}
}

// Mount refuses providers the store cannot keep flows for, and misnamed
// ones; nothing is mounted at the SSO paths without providers.
func TestSSOConfigChecks(t *testing.T) {
	t.Parallel()
	idp := &scriptedProvider{info: zulipauth.ProviderInfo{Kind: "oidc", Name: "x", LoginPath: "x", CallbackPath: "/complete/x/"}}
	noFlows := struct{ zulipauth.UserStore }{memstore.New()}
	for _, tc := range []struct {
		name string
		cfg  zulipauth.Config
		want string
	}{
		{"a store without flows", zulipauth.Config{Users: noFlows, IdentityProviders: []zulipauth.IdentityProvider{idp}}, "FlowStore"},
		{"an unknown kind", zulipauth.Config{Users: memstore.New(), IdentityProviders: []zulipauth.IdentityProvider{&scriptedProvider{info: zulipauth.ProviderInfo{Kind: "cas", Name: "x", LoginPath: "x", CallbackPath: "/c/"}}}}, "neither oidc nor saml"},
		{"a slash in the login path", zulipauth.Config{Users: memstore.New(), IdentityProviders: []zulipauth.IdentityProvider{&scriptedProvider{info: zulipauth.ProviderInfo{Kind: "oidc", Name: "x", LoginPath: "/x", CallbackPath: "/c/"}}}}, "LoginPath"},
		{"two at one path", zulipauth.Config{Users: memstore.New(), IdentityProviders: []zulipauth.IdentityProvider{idp, idp}}, "two providers"},
	} {
		tc.cfg.Authenticator = zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
			return zulipauth.User{}, zulipauth.ErrBadCredentials
		})
		if _, err := zulipauth.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error about %q", tc.name, err, tc.want)
		}
	}
}

// The provider's answer is untrusted input: whatever its query and cookie
// hold, the callback answers a page or a redirect, never a 5xx, never a
// panic, and its page repeats nothing of the request.
func FuzzSSOCallback(f *testing.F) {
	f.Add("state=abc&code=x", "zulipauth_sso=v", false, "")
	f.Add("state=&error=access_denied&error_description=%3Cscript%3E", "", false, "")
	f.Add("state="+strings.Repeat("A", 300), "zulipauth_sso="+strings.Repeat("B", 43), false, "")
	f.Add("%zz=%00&state=%ff", "zulipauth_sso=\x00", false, "")
	f.Add("sso_continue=abc", "zulipauth_sso=v", false, "")
	f.Add("", "", true, "state=abc&SAMLResponse=PHNhbWw%2B")
	f.Add("sso_continue=abc", "", true, "RelayState=%ZZ&state=")
	f.Fuzz(func(t *testing.T, query, cookie string, post bool, body string) {
		s := newSSOFixture(t)
		s.idp.unsolicited = strings.Contains(body, "unsolicited")
		r := httptest.NewRequest("GET", "http://zulip.example.com/complete/test/", nil)
		if post {
			r = httptest.NewRequest("POST", "http://zulip.example.com/complete/test/", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		r.URL.RawQuery = query
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		s.mux.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%d for query %q cookie %q body %q", w.Code, query, cookie, body)
		}
		if strings.Contains(w.Body.String(), "<script") {
			t.Fatalf("the page repeats the request: %s", w.Body)
		}
	})
}

// A flow's stored bytes are decoded on the way back: whatever the store
// holds under a token (a store shared with something else, a row damaged),
// the callback refuses cleanly.
func FuzzSSOFlowDecoding(f *testing.F) {
	f.Add([]byte(`{"kind":"flow","realm":"","provider":"test","expires":"2030-01-01T00:00:00Z","browser":"x"}`))
	f.Add([]byte(`{"kind":"login","user_email":"iago@zulip.com"}`))
	f.Add([]byte(`not json`))
	f.Add([]byte(`{"kind":"flow","provider":"test","expires":"2030-01-01T00:00:00Z","mobile_otp":"zz"}`))
	f.Fuzz(func(t *testing.T, stored []byte) {
		s := newSSOFixture(t)
		if err := s.store.PutFlow(context.Background(), "fuzzed-token", stored, s.clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		w := s.callback(&browser{}, "zulip.example.com", "fuzzed-token")
		if w.Code != 400 {
			t.Fatalf("a flow no browser started: %d %s, want 400", w.Code, w.Body)
		}
	})
}
