package zulipauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

const (
	wantMethodNotAllowed = `{"result":"error","msg":"Method Not Allowed","allowed_methods":["POST"]}` + "\n"
	wantMissingUsername  = `{"result":"error","msg":"Missing 'username' argument","var_name":"username","code":"REQUEST_VARIABLE_MISSING"}` + "\n"
	wantMissingPassword  = `{"result":"error","msg":"Missing 'password' argument","var_name":"password","code":"REQUEST_VARIABLE_MISSING"}` + "\n"
	wantBadEmail         = `{"result":"error","msg":"Enter a valid email address.","code":"BAD_REQUEST"}` + "\n"
	wantAuthFailed       = `{"result":"error","msg":"Your username or password is incorrect","code":"AUTHENTICATION_FAILED"}` + "\n"
	wantUserDeactivated  = `{"result":"error","msg":"Account is deactivated","code":"USER_DEACTIVATED"}` + "\n"
	wantRealmDeactivated = `{"result":"error","msg":"This organization has been deactivated","code":"REALM_DEACTIVATED"}` + "\n"
	wantPasswordDisabled = `{"result":"error","msg":"Password authentication is disabled in this organization","code":"PASSWORD_AUTH_DISABLED"}` + "\n"
	wantResetRequired    = `{"result":"error","msg":"Your password has been disabled and needs to be reset","code":"PASSWORD_RESET_REQUIRED"}` + "\n"
	wantInvalidSubdomain = `{"result":"error","msg":"Invalid subdomain","code":"NONEXISTENT_SUBDOMAIN"}` + "\n"
	wantInternal         = `{"result":"error","msg":"Internal server error"}` + "\n"
	wantTooLarge         = `{"result":"error","msg":"Request body too large","code":"BAD_REQUEST"}` + "\n"
	wantBadMultipart     = `{"result":"error","msg":"Malformed multipart body","code":"BAD_REQUEST"}` + "\n"
	wantPasswordTooLong  = `{"result":"error","msg":"Password is too long","code":"BAD_REQUEST"}` + "\n"
)

func wantSuccess(u zulipauth.User, extra string) string {
	return fmt.Sprintf(`{"result":"success","msg":"","api_key":"%s","email":"%s","user_id":%d%s}`+"\n", u.APIKey, u.Email, u.ID, extra)
}

func TestFetchAPIKeyWire(t *testing.T) {
	t.Parallel()
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	post := func(contentType, body string) func() *http.Request {
		return func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, fetchURL, strings.NewReader(body))
			if contentType != "" {
				r.Header.Set("Content-Type", contentType)
			}
			return r
		}
	}
	const urlenc = "application/x-www-form-urlencoded"
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantBody   string // "" means the success body, checked separately
		extra      string // extra success fields
	}{
		{"GET", func() *http.Request { return httptest.NewRequest(http.MethodGet, fetchURL, nil) }, 405, wantMethodNotAllowed, ""},
		{"HEAD", func() *http.Request { return httptest.NewRequest(http.MethodHead, fetchURL, nil) }, 405, wantMethodNotAllowed, ""},
		{"OPTIONS", func() *http.Request { return httptest.NewRequest(http.MethodOptions, fetchURL, nil) }, 405, wantMethodNotAllowed, ""},
		{"PUT with credentials", func() *http.Request {
			r := httptest.NewRequest(http.MethodPut, fetchURL, strings.NewReader(form("username", iagoEmail, "password", iagoPassword)))
			r.Header.Set("Content-Type", urlenc)
			return r
		}, 405, wantMethodNotAllowed, ""},
		{"no body", post("", ""), 400, wantMissingUsername, ""},
		{"password only", post(urlenc, form("password", iagoPassword)), 400, wantMissingUsername, ""},
		{"username only", post(urlenc, form("username", iagoEmail)), 400, wantMissingPassword, ""},
		{"JSON body is not read", post("application/json", `{"username":"Iago@zulip.com","password":"correct horse battery"}`), 400, wantMissingUsername, ""},
		{"unknown content type is not read", post("text/plain", form("username", iagoEmail, "password", iagoPassword)), 400, wantMissingUsername, ""},
		{"unparseable content type", post("a/b/c;;=", form("username", iagoEmail, "password", iagoPassword)), 400, wantMissingUsername, ""},
		{"urlencoded", post(urlenc, form("username", iagoEmail, "password", iagoPassword)), 200, "", ""},
		{"urlencoded with charset", post(urlenc+"; charset=utf-8", form("username", iagoEmail, "password", iagoPassword)), 200, "", ""},
		{"username in any letter case", post(urlenc, form("username", "iAGO@ZULIP.com", "password", iagoPassword)), 200, "", ""},
		{"query string only", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, fetchURL+"?"+form("username", iagoEmail, "password", iagoPassword), nil)
		}, 200, "", ""},
		{"body wins over query", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, fetchURL+"?"+form("password", "wrong"), strings.NewReader(form("username", iagoEmail, "password", iagoPassword)))
			r.Header.Set("Content-Type", urlenc)
			return r
		}, 200, "", ""},
		{"query fills what the body lacks", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, fetchURL+"?"+form("password", iagoPassword), strings.NewReader(form("username", iagoEmail)))
			r.Header.Set("Content-Type", urlenc)
			return r
		}, 200, "", ""},
		{"last duplicate wins", post(urlenc, form("username", "nobody@zulip.com", "username", iagoEmail, "password", "wrong", "password", iagoPassword)), 200, "", ""},
		{"last duplicate wins (wrong last)", post(urlenc, form("username", iagoEmail, "password", iagoPassword, "password", "wrong")), 401, wantAuthFailed, ""},
		{"multipart as zulip-js sends it", func() *http.Request {
			return multipartRequest([2]string{"username", iagoEmail}, [2]string{"password", iagoPassword})
		}, 200, "", ""},
		{"multipart file parts are not parameters", func() *http.Request {
			body := "--XX\r\nContent-Disposition: form-data; name=\"username\"; filename=\"u.txt\"\r\n\r\nIago@zulip.com\r\n--XX\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nx\r\n--XX--\r\n"
			return post("multipart/form-data; boundary=XX", body)()
		}, 400, wantMissingUsername, ""},
		{"multipart without boundary", post("multipart/form-data", "garbage"), 400, wantBadMultipart, ""},
		{"multipart truncated", post("multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nIago@zu"), 400, wantBadMultipart, ""},
		{"multipart garbage", post("multipart/form-data; boundary=XX", "\x00\x01\x02 not multipart at all"), 400, wantBadMultipart, ""},
		{"malformed urlencoding kept literally", post(urlenc, "username=%zz%&password=%"), 400, wantBadEmail, ""},
		{"malformed escape in password is a failed login", post(urlenc, "username=Iago%40zulip.com&password=%zzcorrect"), 401, wantAuthFailed, ""},
		{"invalid UTF-8 username", post(urlenc, "username=Iago%ff@zulip.com&password=x"), 400, wantBadEmail, ""},
		{"raw invalid UTF-8 password", post(urlenc, "username=Iago%40zulip.com&password=\xff\xfe"), 401, wantAuthFailed, ""},
		{"NUL in username", post(urlenc, "username=Iago%00@zulip.com&password=x"), 400, wantBadEmail, ""},
		{"NUL in password", post(urlenc, "username=Iago%40zulip.com&password=correct%00horse"), 401, wantAuthFailed, ""},
		{"username with surrounding space", post(urlenc, form("username", " "+iagoEmail, "password", iagoPassword)), 400, wantBadEmail, ""},
		{"not an email", post(urlenc, form("username", "iago", "password", iagoPassword)), 400, wantBadEmail, ""},
		{"empty username is present but invalid", post(urlenc, "username=&password=x"), 400, wantBadEmail, ""},
		{"field without = is empty", post(urlenc, "username&password=x"), 400, wantBadEmail, ""},
		{"empty password", post(urlenc, form("username", iagoEmail, "password", "")), 401, wantAuthFailed, ""},
		{"wrong password", post(urlenc, form("username", iagoEmail, "password", "wrong")), 401, wantAuthFailed, ""},
		{"unknown user", post(urlenc, form("username", "nobody@zulip.com", "password", iagoPassword)), 401, wantAuthFailed, ""},
		{"body over the cap", post(urlenc, form("username", iagoEmail, "password", strings.Repeat("x", 1<<20))), 413, wantTooLarge, ""},
		{"body over the cap without Content-Length", func() *http.Request {
			r := post(urlenc, "username=a&password="+strings.Repeat("x", 100<<10))()
			r.ContentLength = -1
			return r
		}, 413, wantTooLarge, ""},
		{"password over the cap", post(urlenc, form("username", iagoEmail, "password", strings.Repeat("x", 1025))), 400, wantPasswordTooLong, ""},
		{"unused parameters are reported, sorted, client is not", post(urlenc, form("username", iagoEmail, "password", iagoPassword, "zeta", "1", "client", "website", "alpha", "2", "zeta", "3")), 200, "", `,"ignored_parameters_unsupported":["alpha","zeta"]`},
		{"unused query parameters are reported too", func() *http.Request {
			r := post(urlenc, form("username", iagoEmail, "password", iagoPassword))()
			r.URL.RawQuery = "beta=1&%C3%A9=2"
			return r
		}, 200, "", `,"ignored_parameters_unsupported":["beta","é"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			w := f.do(tt.req())
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			want := tt.wantBody
			if want == "" {
				want = wantSuccess(f.iago, tt.extra)
			}
			if got := w.Body.String(); got != want {
				t.Errorf("body =\n%s\nwant\n%s", got, want)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if w.Code == 405 && w.Header().Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", w.Header().Get("Allow"))
			}
			// Only requests that reached the limits carry X-RateLimit-*.
			reached := w.Code == 200 || w.Code == 401
			if got := w.Header().Get("X-RateLimit-Limit") != ""; got != reached {
				t.Errorf("X-RateLimit-Limit present = %v, want %v", got, reached)
			}
			decode(t, w.Body.Bytes())
		})
	}
}

func TestFetchAPIKeyAccountStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		setup    func(f *fixture)
		password string
		want     string
	}{
		{"deactivated user, wrong password", func(f *fixture) { f.store.SetUserDeactivated(ctx, f.iago.ID, true) }, "wrong", wantUserDeactivated},
		{"deactivated user, right password", func(f *fixture) { f.store.SetUserDeactivated(ctx, f.iago.ID, true) }, iagoPassword, wantUserDeactivated},
		{"deactivated realm, wrong password", func(f *fixture) { f.store.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", Deactivated: true}) }, "wrong", wantRealmDeactivated},
		{"deactivated realm and user", func(f *fixture) {
			f.store.SetUserDeactivated(ctx, f.iago.ID, true)
			f.store.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", Deactivated: true})
		}, iagoPassword, wantRealmDeactivated},
		{"password login disabled", func(f *fixture) { f.store.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", PasswordAuthDisabled: true}) }, iagoPassword, wantPasswordDisabled},
		{"password login disabled, deactivated user (Zulip checks the realm first)", func(f *fixture) {
			f.store.SetUserDeactivated(ctx, f.iago.ID, true)
			f.store.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", PasswordAuthDisabled: true})
		}, iagoPassword, wantPasswordDisabled},
		{"password login disabled, deactivated realm", func(f *fixture) {
			f.store.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", PasswordAuthDisabled: true, Deactivated: true})
		}, iagoPassword, wantPasswordDisabled},
		{"empty password, deactivated user", func(f *fixture) { f.store.SetUserDeactivated(ctx, f.iago.ID, true) }, "", wantAuthFailed},
		{"reset required, right password", func(f *fixture) { f.store.SetPasswordResetRequired(ctx, f.iago.ID, true) }, iagoPassword, wantResetRequired},
		{"reset required, wrong password", func(f *fixture) { f.store.SetPasswordResetRequired(ctx, f.iago.ID, true) }, "wrong", wantAuthFailed},
		{"no usable password", func(f *fixture) { f.store.UpdatePasswordHash(ctx, f.iago.ID, "") }, iagoPassword, wantAuthFailed},
		{"corrupt hash", func(f *fixture) { f.store.UpdatePasswordHash(ctx, f.iago.ID, "$argon2id$v=19$m=zz") }, iagoPassword, wantAuthFailed},
		{"hash asking for 4 GiB", func(f *fixture) {
			f.store.UpdatePasswordHash(ctx, f.iago.ID, "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy")
		}, iagoPassword, wantAuthFailed},
		{"bcrypt hash", func(f *fixture) {
			f.store.UpdatePasswordHash(ctx, f.iago.ID, "$2b$12$KIXQJhxsW1pGz3mOQ8p7UeS8Y9g1bG2N7b0n5mQ2oZt1YxJ6a6Q9K")
		}, iagoPassword, wantAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tt.setup(f)
			w := f.login(iagoEmail, tt.password, "")
			if got := w.Body.String(); got != tt.want {
				t.Errorf("body = %s, want %s", got, tt.want)
			}
			if w.Code != 401 {
				t.Errorf("status = %d, want 401", w.Code)
			}
			if w.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("login failures carry no WWW-Authenticate")
			}
		})
	}
}

func TestFetchAPIKeyUnknownRealm(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *zulipauth.Config) {
		c.Realms = zulipauth.HostRealms{Realms: c.Users.(zulipauth.RealmStore), ExternalHost: "example.com"}
	})
	f.store.CreateRealm(context.Background(), zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	lear := f.createUser("lear", "King@lear.example", "king lear's password")

	r := formRequest(url.Values{"username": {iagoEmail}, "password": {iagoPassword}}.Encode())
	r.Host = "nope.example.com"
	if w := f.do(r); w.Code != 404 || w.Body.String() != wantInvalidSubdomain {
		t.Errorf("unknown subdomain: %d %s", w.Code, w.Body)
	}

	r = formRequest(url.Values{"username": {"king@lear.example"}, "password": {"king lear's password"}}.Encode())
	r.Host = "LEAR.example.com:9991"
	if w := f.do(r); w.Code != 200 || w.Body.String() != wantSuccess(lear, "") {
		t.Errorf("lear: %d %s", w.Code, w.Body)
	}
	// Realms are separate: Lear's user does not exist in the root realm.
	// Newer Zulip answers the generic 401, never 404, so that no client
	// learns that another organization has the address (WIRE.md §1 step
	// 6); the server's audit still sees why.
	r = formRequest(url.Values{"username": {"king@lear.example"}, "password": {"king lear's password"}}.Encode())
	r.Host = "www.example.com"
	if w := f.do(r); w.Code != 401 || w.Body.String() != wantAuthFailed {
		t.Errorf("lear's user in the root realm: %d %s, want the generic 401", w.Code, w.Body)
	}
	if ev := f.lastEvent(); ev.Kind != zulipauth.LoginFailed || !errors.Is(ev.Cause, zulipauth.ErrWrongRealm) {
		t.Errorf("event = %v cause %v, want a failure caused by ErrWrongRealm", ev.Kind, ev.Cause)
	}
}

// A fault of the store is a 500 without detail, logged without secrets.
func TestFetchAPIKeyStoreFault(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *zulipauth.Config) {
		c.Authenticator = zulipauth.AuthenticatorFunc(func(ctx context.Context, a zulipauth.Attempt) (zulipauth.User, error) {
			return zulipauth.User{}, errors.New("sqlstore: SELECT api_key FROM users: connection refused")
		})
	})
	w := f.login(iagoEmail, iagoPassword, "")
	if w.Code != 500 || w.Body.String() != wantInternal {
		t.Errorf("got %d %s, want 500 %s", w.Code, w.Body, wantInternal)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "connection refused") {
		t.Errorf("the fault is not logged: %q", logs)
	}
	if strings.Contains(logs, iagoPassword) {
		t.Errorf("the password is in the log: %q", logs)
	}
}

func TestFetchAPIKeyNeverLogsSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.store.UpdatePasswordHash(ctx, f.iago.ID, "$argon2id$v=19$m=zz")
	f.login(iagoEmail, iagoPassword, "")
	f2 := newFixture(t)
	f2.login(iagoEmail, iagoPassword, "")
	for _, logs := range []string{f.logs.String(), f2.logs.String()} {
		for _, secret := range []string{iagoPassword, f.iago.APIKey, f2.iago.APIKey, f2.iago.PasswordHash} {
			if strings.Contains(logs, secret) {
				t.Errorf("log holds a secret %q: %s", secret, logs)
			}
		}
	}
	if !strings.Contains(f.logs.String(), "unusable stored password hash") {
		t.Errorf("a corrupt hash is not logged: %s", f.logs)
	}
	for _, e := range f2.events() {
		if e.User.APIKey != "" || e.User.PasswordHash != "" {
			t.Errorf("event carries secrets: %+v", e.User)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v %s", f.iago, f.iago, f.iago, f.iago); strings.Contains(s, f.iago.APIKey) || strings.Contains(s, f.iago.PasswordHash) {
		t.Errorf("formatting a User prints its secrets: %s", s)
	}
}

func TestFetchAPIKeyEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login(iagoEmail, "wrong", "192.0.2.1:1234")
	f.login(iagoEmail, iagoPassword, "192.0.2.1:1234")
	evs := f.events()
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	if evs[0].Kind != zulipauth.LoginFailed || evs[0].Code != "AUTHENTICATION_FAILED" || evs[0].ClientIP.String() != "192.0.2.1" {
		t.Errorf("failure event = %+v", evs[0])
	}
	if evs[1].Kind != zulipauth.LoginSucceeded || evs[1].User.ID != f.iago.ID || evs[1].Username != iagoEmail {
		t.Errorf("success event = %+v", evs[1])
	}
}

func TestFetchAPIKeyMergeSlashes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mux := http.NewServeMux()
	f.auth.Mount(mux)
	srv := httptest.NewServer(zulipauth.MergeSlashes(mux))
	defer srv.Close()
	resp, err := http.PostForm(srv.URL+"//api/v1/fetch_api_key", url.Values{"username": {iagoEmail}, "password": {iagoPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("//api/v1/fetch_api_key: status %d, want 200", resp.StatusCode)
	}
}
