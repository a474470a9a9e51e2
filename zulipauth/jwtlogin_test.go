package zulipauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// tokenTable is a TokenVerifier for the handler's tests: a token is
// "email:ADDRESS" (valid, for that address), "noemail" (valid, no claim),
// "fault" (the verifier fails) or anything else (bad). backends/jwt has the
// real verification; this pins the endpoint's order and answers.
type tokenTable struct {
	realms   map[string]bool // subdomains with keys
	verified atomic.Int32
}

func (v *tokenTable) TokenLoginEnabled(r zulipauth.Realm) bool { return v.realms[r.Subdomain] }

func (v *tokenTable) VerifyToken(_ context.Context, _ zulipauth.Realm, token string) (string, error) {
	v.verified.Add(1)
	switch {
	case strings.HasPrefix(token, "email:"):
		return strings.TrimPrefix(token, "email:"), nil
	case token == "noemail":
		return "", zulipauth.ErrNoEmailInToken
	case token == "fault":
		return "", errors.New("key store unreachable")
	}
	return "", zulipauth.ErrBadToken
}

func jwtFixture(t *testing.T) (*fixture, *tokenTable, http.Handler) {
	t.Helper()
	tv := &tokenTable{realms: map[string]bool{"": true}}
	f := newFixture(t, func(c *zulipauth.Config) { c.TokenVerifier = tv })
	mux := http.NewServeMux()
	f.auth.Mount(mux)
	return f, tv, mux
}

func postJWT(h http.Handler, form url.Values) *httptest.ResponseRecorder {
	r := formRequest(form.Encode())
	r.URL.Path = "/api/v1/jwt/fetch_api_key"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestJWTFetchAPIKey(t *testing.T) {
	t.Parallel()
	f, _, mux := jwtFixture(t)
	ctx := context.Background()
	bad := func(msg string) string { return `{"result":"error","msg":"` + msg + `","code":"BAD_REQUEST"}` + "\n" }
	success := `{"result":"success","msg":"","api_key":"` + f.iago.APIKey + `","email":"Iago@zulip.com"}` + "\n"
	tests := []struct {
		name   string
		form   url.Values
		status int
		body   string
	}{
		{"success", url.Values{"token": {"email:iago@ZULIP.com"}}, 200, success},
		{"include_profile=false", url.Values{"token": {"email:iago@zulip.com"}, "include_profile": {"false"}}, 200, success},
		{"unused parameters", url.Values{"token": {"email:iago@zulip.com"}, "zeta": {"1"}}, 200, strings.TrimSuffix(success, "}\n") + `,"ignored_parameters_unsupported":["zeta"]}` + "\n"},
		{"no token", url.Values{}, 400, bad("No JSON web token passed in request")},
		{"empty token", url.Values{"token": {""}}, 400, bad("No JSON web token passed in request")},
		{"bad token", url.Values{"token": {"forged"}}, 400, bad("Bad JSON web token")},
		{"no email claim", url.Values{"token": {"noemail"}}, 400, bad("No email specified in JSON web token claims")},
		{"unknown user", url.Values{"token": {"email:nobody@zulip.com"}}, 401, wantAuthFailed},
		{"include_profile not a boolean", url.Values{"token": {"email:iago@zulip.com"}, "include_profile": {"yes"}}, 400,
			`{"result":"error","msg":"Bad value for 'include_profile': yes","var_name":"include_profile","bad_value":"yes","code":"REQUEST_VARIABLE_INVALID"}` + "\n"},
		{"verifier fault", url.Values{"token": {"fault"}}, 500, wantInternal},
	}
	for _, tt := range tests {
		w := postJWT(mux, tt.form)
		if w.Code != tt.status || w.Body.String() != tt.body {
			t.Errorf("%s: %d %s\nwant %d %s", tt.name, w.Code, w.Body, tt.status, tt.body)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tt.name, w.Header().Get("Cache-Control"))
		}
	}
	if strings.Contains(f.logs.String(), "email:") || strings.Contains(f.logs.String(), "forged") {
		t.Errorf("a token reached the log:\n%s", f.logs)
	}

	w := postJWT(mux, url.Values{"token": {"email:iago@zulip.com"}, "include_profile": {"true"}})
	m := decode(t, w.Body.Bytes())
	user, _ := m["user"].(map[string]any)
	if w.Code != 200 || user == nil || user["email"] != iagoEmail || user["full_name"] != "Iago" || user["is_active"] != true {
		t.Errorf("include_profile: %d %s", w.Code, w.Body)
	}
	if _, ok := m["user_id"]; ok {
		t.Error("the JWT login has no top-level user_id")
	}

	r := httptest.NewRequest("GET", "/api/v1/jwt/fetch_api_key", nil)
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d %s", w.Code, w.Body)
	}

	// Another realm's user, a deactivated user, a deactivated realm.
	f.store.CreateRealm(ctx, zulipauth.Realm{Subdomain: "lear"})
	f.createUser("lear", "king@lear.example", "king lear's password")
	if w := postJWT(mux, url.Values{"token": {"email:king@lear.example"}}); w.Code != 401 || w.Body.String() != wantAuthFailed {
		t.Errorf("another realm's user: %d %s, want the generic 401", w.Code, w.Body)
	}
	if ev := f.lastEvent(); !errors.Is(ev.Cause, zulipauth.ErrWrongRealm) {
		t.Errorf("another realm's user: event cause %v, want ErrWrongRealm", ev.Cause)
	}
	f.store.SetUserDeactivated(ctx, f.iago.ID, true)
	if w := postJWT(mux, url.Values{"token": {"email:iago@zulip.com"}}); w.Body.String() != wantUserDeactivated {
		t.Errorf("deactivated user: %s", w.Body)
	}
	f.store.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", Deactivated: true})
	if w := postJWT(mux, url.Values{"token": {"email:iago@zulip.com"}}); w.Body.String() != wantRealmDeactivated {
		t.Errorf("deactivated realm: %s", w.Body)
	}
}

// A realm without keys, and a server without a TokenVerifier, answer that
// JWT is not enabled, before looking at the token; an unknown realm is 404.
func TestJWTFetchAPIKeyNotEnabled(t *testing.T) {
	t.Parallel()
	want := `{"result":"error","msg":"JWT authentication is not enabled for this organization","code":"BAD_REQUEST"}` + "\n"
	f := newFixture(t)
	mux := http.NewServeMux()
	f.auth.Mount(mux)
	if w := postJWT(mux, url.Values{}); w.Code != 400 || w.Body.String() != want {
		t.Errorf("no TokenVerifier: %d %s", w.Code, w.Body)
	}
	if strings.Contains(settings(f, "GET", "x").Body.String(), `"jwt"`) {
		t.Error("server_settings reports jwt without keys")
	}
	_, tv, jmux := jwtFixture(t)
	tv.realms = map[string]bool{"other": true}
	if w := postJWT(jmux, url.Values{"token": {"email:iago@zulip.com"}}); w.Code != 400 || w.Body.String() != want || tv.verified.Load() != 0 {
		t.Errorf("realm without keys: %d %s (%d verifications)", w.Code, w.Body, tv.verified.Load())
	}
}

// The client's budget applies before any verification: past it, forged
// tokens cost no signature check.
func TestJWTFetchAPIKeyClientBudgetFirst(t *testing.T) {
	t.Parallel()
	tv := &tokenTable{realms: map[string]bool{"": true}}
	f := newFixture(t, func(c *zulipauth.Config) {
		c.TokenVerifier = tv
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 3, Per: time.Hour})
	})
	h := f.auth.JWTFetchAPIKeyHandler()
	for i := range 10 {
		w := postJWT(h, url.Values{"token": {"forged"}})
		if want := i >= 3; (w.Code == 429) != want {
			t.Errorf("attempt %d: %d, want 429 = %v", i, w.Code, want)
		}
	}
	if n := tv.verified.Load(); n != 3 {
		t.Errorf("%d verifications, want 3: refused attempts must cost none", n)
	}
	if !strings.Contains(settings(f, "GET", "x").Body.String(), `"jwt":true`) {
		t.Error("server_settings does not report jwt for a realm with keys")
	}
}
