package zulipauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

func settings(f *fixture, method, host string, mutate ...func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://"+host+"/api/v1/server_settings", nil)
	for _, m := range mutate {
		m(r)
	}
	w := httptest.NewRecorder()
	f.auth.ServerSettingsHandler().ServeHTTP(w, r)
	return w
}

func TestServerSettings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := settings(f, "GET", "chat.example.com")
	want := `{"result":"success","msg":"",` +
		`"authentication_methods":{"password":true,"dev":false,"email":true,"ldap":false,"remoteuser":false,"github":false,"azuread":false,"gitlab":false,"google":false,"apple":false,"saml":false,"openid connect":false},` +
		`"zulip_version":"10.0","zulip_merge_base":"10.0","zulip_feature_level":371,"push_notifications_enabled":false,"is_incompatible":false,` +
		`"email_auth_enabled":true,"require_email_format_usernames":true,"realm_url":"http://chat.example.com","realm_name":"Zulip","realm_icon":"","realm_description":"",` +
		`"realm_web_public_access_enabled":false,"external_authentication_methods":[],"realm_uri":"http://chat.example.com"}` + "\n"
	if w.Code != 200 || w.Body.String() != want {
		t.Errorf("got %d\n%s\nwant\n%s", w.Code, w.Body, want)
	}
	if strings.Contains(w.Body.String(), "ignored_parameters_unsupported") {
		t.Error("server_settings never reports ignored parameters")
	}

	if w := settings(f, "HEAD", "chat.example.com"); w.Code != 200 {
		t.Errorf("HEAD: %d", w.Code)
	}
	w = settings(f, "POST", "chat.example.com")
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow=%q", w.Code, w.Header().Get("Allow"))
	}
	decode(t, w.Body.Bytes())

	w = settings(f, "GET", "x", func(r *http.Request) { r.Header.Set("User-Agent", "ZulipInvalid/1.0") })
	if !strings.Contains(w.Body.String(), `"is_incompatible":true`) {
		t.Errorf("ZulipInvalid client: %s", w.Body)
	}
	w = settings(f, "GET", "x", func(r *http.Request) { r.Header.Set("User-Agent", "ZulipMobile/27.1 (Android 13)") })
	if !strings.Contains(w.Body.String(), `"is_incompatible":false`) {
		t.Errorf("ZulipMobile client: %s", w.Body)
	}
}

func TestServerSettingsRealms(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *zulipauth.Config) {
		c.Realms = zulipauth.HostRealms{Realms: c.Users.(zulipauth.RealmStore), ExternalHost: "example.com"}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		c.ZulipFeatureLevel = 300
	})
	ctx := context.Background()
	f.store.CreateRealm(ctx, zulipauth.Realm{Subdomain: "lear", Name: "Lear & Co", PasswordAuthDisabled: true, Description: "<p>Kings</p>", IconURL: "/icon.png"})
	w := settings(f, "GET", "lear.example.com", func(r *http.Request) {
		r.RemoteAddr = "10.1.2.3:5"
		r.Header.Set("X-Forwarded-Proto", "https")
	})
	body := w.Body.String()
	for _, s := range []string{`"password":false`, `"email":false`, `"email_auth_enabled":false`, `"realm_name":"Lear & Co"`,
		`"realm_url":"https://lear.example.com"`, `"realm_uri":"https://lear.example.com"`, `"realm_description":"<p>Kings</p>"`,
		`"realm_icon":"/icon.png"`, `"zulip_feature_level":300`} {
		if !strings.Contains(body, s) {
			t.Errorf("missing %s in %s", s, body)
		}
	}
	// X-Forwarded-Proto from an untrusted peer is ignored.
	w = settings(f, "GET", "lear.example.com", func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") })
	if !strings.Contains(w.Body.String(), `"realm_url":"http://lear.example.com"`) {
		t.Errorf("untrusted X-Forwarded-Proto believed: %s", w.Body)
	}
	// Pins a password-redirection risk: a foreign Host (the root realm, to
	// HostRealms) must not become the URL clients send passwords to.
	w = settings(f, "GET", "attacker.test")
	if !strings.Contains(w.Body.String(), `"realm_url":"http://example.com"`) || strings.Contains(w.Body.String(), "attacker") {
		t.Errorf("foreign Host echoed: %s", w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Vary") != "Host" {
		t.Errorf("cache headers: %v", w.Header())
	}
	w = settings(f, "GET", "LEAR.example.com:8443")
	if !strings.Contains(w.Body.String(), `"realm_url":"http://lear.example.com"`) {
		t.Errorf("realm host: %s", w.Body)
	}
	w = settings(f, "GET", "nope.example.com")
	if w.Code != 400 || w.Body.String() != `{"result":"error","msg":"Invalid subdomain","code":"BAD_REQUEST"}`+"\n" {
		t.Errorf("unknown realm: %d %s", w.Code, w.Body)
	}
}

// The development login is off unless Config.InsecureDevLogin says so, and
// nothing but that field turns it on: handing out its handler (even without
// mounting it) once changed what server_settings reported, action at a
// distance this test pins down.
func TestDevFetchAPIKeyIsOffByDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mux := http.NewServeMux()
	f.auth.Mount(mux)
	dev := f.auth.InsecureDevFetchAPIKeyHandler()
	if strings.Contains(settings(f, "GET", "x").Body.String(), `"dev":true`) {
		t.Error("dev advertised without Config.InsecureDevLogin")
	}
	r := formRequest(url.Values{"username": {iagoEmail}}.Encode())
	r.URL.Path = "/api/v1/dev_fetch_api_key"
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != 404 {
		t.Errorf("dev login mounted without Config.InsecureDevLogin: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	dev.ServeHTTP(w, formRequest(url.Values{"username": {iagoEmail}}.Encode()))
	want := `{"result":"error","msg":"DevAuthBackend not enabled.","code":"BAD_REQUEST"}` + "\n"
	if w.Code != 400 || w.Body.String() != want {
		t.Errorf("dev handler without Config.InsecureDevLogin: %d %s, want 400 %s", w.Code, w.Body, want)
	}
}

func TestDevFetchAPIKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *zulipauth.Config) { c.InsecureDevLogin = true })
	mux := http.NewServeMux()
	f.auth.Mount(mux)
	post := func(h http.Handler, path, username string) *httptest.ResponseRecorder {
		r := formRequest(url.Values{"username": {username}}.Encode())
		r.URL.Path = path
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if !strings.Contains(settings(f, "GET", "x").Body.String(), `"dev":true`) {
		t.Fatal("dev not advertised with Config.InsecureDevLogin")
	}
	dev := mux // Mount mounted it
	if w := post(dev, "/api/v1/dev_fetch_api_key", "iago@ZULIP.com"); w.Code != 200 || w.Body.String() != wantSuccess(f.iago, "") {
		t.Errorf("dev login: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(f.logs.String(), "INSECURE development login") {
		t.Error("no warning logged")
	}
	if w := post(dev, "/api/v1/dev_fetch_api_key", "nobody@zulip.com"); w.Code != 401 || w.Body.String() != wantAuthFailed {
		t.Errorf("unknown user: %d %s", w.Code, w.Body)
	}
	f.store.CreateRealm(context.Background(), zulipauth.Realm{Subdomain: "lear"})
	f.createUser("lear", "king@lear.example", "king lear's password")
	if w := post(dev, "/api/v1/dev_fetch_api_key", "king@lear.example"); w.Code != 404 || w.Body.String() != wantInvalidSubdomain {
		t.Errorf("another realm's user: %d %s", w.Code, w.Body)
	}
	if w := post(dev, "/api/v1/dev_fetch_api_key", "iago"); w.Code != 400 || w.Body.String() != wantBadEmail {
		t.Errorf("not an email: %d %s", w.Code, w.Body)
	}
	w := httptest.NewRecorder()
	dev.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/dev_fetch_api_key", nil))
	if w.Code != 405 || w.Body.String() != wantMethodNotAllowed {
		t.Errorf("GET: %d %s", w.Code, w.Body)
	}
	f.store.SetUserDeactivated(context.Background(), f.iago.ID, true)
	if w := post(dev, "/api/v1/dev_fetch_api_key", iagoEmail); w.Body.String() != wantUserDeactivated {
		t.Errorf("deactivated user: %s", w.Body)
	}
	f.store.UpdateRealm(context.Background(), zulipauth.Realm{Name: "Zulip", Deactivated: true})
	if w := post(dev, "/api/v1/dev_fetch_api_key", iagoEmail); w.Body.String() != wantRealmDeactivated {
		t.Errorf("deactivated realm: %s", w.Body)
	}
	w = httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/api/v1/dev_fetch_api_key", nil)
	dev.ServeHTTP(w, r)
	if w.Body.String() != wantMissingUsername {
		t.Errorf("no username: %s", w.Body)
	}
}

// RealmURL is server_settings' realm_url for the request's realm: the
// configured host (www. is the root realm's), https behind a trusted
// proxy that says so, and an error for a host no realm answers at.
func TestRealmURL(t *testing.T) {
	t.Parallel()
	s := newSSOFixture(t, func(c *zulipauth.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	for _, tc := range []struct{ host, remote, proto, want string }{
		{"zulip.example.com", "", "", "http://zulip.example.com"},
		{"www.zulip.example.com", "", "", "http://zulip.example.com"},
		{"LEAR.zulip.example.com", "", "", "http://lear.zulip.example.com"},
		{"lear.zulip.example.com", "10.1.2.3:5000", "https", "https://lear.zulip.example.com"},
		{"lear.zulip.example.com", "192.0.2.9:5000", "https", "http://lear.zulip.example.com"}, // not a trusted proxy
	} {
		r := httptest.NewRequest("GET", "http://"+tc.host+"/saml/metadata.xml", nil)
		if tc.remote != "" {
			r.RemoteAddr = tc.remote
		}
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		var ss struct {
			RealmURL string `json:"realm_url"`
		}
		json.Unmarshal(settings(s.fixture, "GET", tc.host, func(sr *http.Request) { sr.RemoteAddr, sr.Header = r.RemoteAddr, r.Header }).Body.Bytes(), &ss)
		if got, err := s.auth.RealmURL(r); err != nil || got != tc.want || got != ss.RealmURL {
			t.Errorf("RealmURL at %s from %s = %q, %v; want %q, as server_settings' %q", tc.host, r.RemoteAddr, got, err, tc.want, ss.RealmURL)
		}
	}
	r := httptest.NewRequest("GET", "http://nowhere.zulip.example.com/", nil)
	if _, err := s.auth.RealmURL(r); !errors.Is(err, zulipauth.ErrRealmNotFound) {
		t.Errorf("RealmURL of an unknown realm: %v, want ErrRealmNotFound", err)
	}
}
