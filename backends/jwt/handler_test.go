package jwt_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
	"github.com/zulipauth/zulipauth-go/backends/jwt"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The core's answers (WIRE.md §6 and §1 step 6), byte for byte.
const (
	wantBadToken         = `{"result":"error","msg":"Bad JSON web token","code":"BAD_REQUEST"}` + "\n"
	wantNoEmail          = `{"result":"error","msg":"No email specified in JSON web token claims","code":"BAD_REQUEST"}` + "\n"
	wantNotEnabled       = `{"result":"error","msg":"JWT authentication is not enabled for this organization","code":"BAD_REQUEST"}` + "\n"
	wantNoToken          = `{"result":"error","msg":"No JSON web token passed in request","code":"BAD_REQUEST"}` + "\n"
	wantAuthFailed       = `{"result":"error","msg":"Your username or password is incorrect","code":"AUTHENTICATION_FAILED"}` + "\n"
	wantUserDeactivated  = `{"result":"error","msg":"Account is deactivated","code":"USER_DEACTIVATED"}` + "\n"
	wantRealmDeactivated = `{"result":"error","msg":"This organization has been deactivated","code":"REALM_DEACTIVATED"}` + "\n"
	wantInvalidSubdomain = `{"result":"error","msg":"Invalid subdomain","code":"NONEXISTENT_SUBDOMAIN"}` + "\n"
)

// externalHost is the server's host: realm "rsa" is rsa.zulip.example.
const externalHost = "zulip.example"

// server is a zulipauth server with the JWT login over memstore and the
// password backend, as a host application wires it. Iago has an account in
// every realm with keys; the realm "lear" has none (and King Lear's
// account); "gone" has keys and is deactivated; Hamlet's account in the
// root realm is deactivated.
type server struct {
	mux    http.Handler
	store  *memstore.Store
	apiKey map[string]string // Iago's, by realm
	logs   syncBuffer
	mu     sync.Mutex
	events []zulipauth.Event
}

func newServer(t testing.TB) *server {
	t.Helper()
	ctx := context.Background()
	s := &server{store: memstore.New(), apiKey: map[string]string{}}
	keys := realmKeys()
	keys["gone"] = jwt.RealmKeys{Key: hmacSecret, Algorithms: []string{"HS256"}}
	v, err := jwt.New(keys, jwt.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	for _, realm := range []string{"rsa", "ec", "ed", "gone", "lear"} {
		if err := s.store.CreateRealm(ctx, zulipauth.Realm{Subdomain: realm, Name: realm}); err != nil {
			t.Fatal(err)
		}
	}
	for _, realm := range []string{"", "rsa", "ec", "ed", "gone"} {
		u, err := s.store.CreateUser(ctx, zulipauth.NewUser{Realm: realm, Email: "Iago@zulip.com", FullName: "Iago"})
		if err != nil {
			t.Fatal(err)
		}
		s.apiKey[realm] = u.APIKey
	}
	hamlet, err1 := s.store.CreateUser(ctx, zulipauth.NewUser{Email: "hamlet@zulip.com"})
	_, err2 := s.store.CreateUser(ctx, zulipauth.NewUser{Realm: "lear", Email: "king@lear.example"})
	err3 := s.store.SetUserDeactivated(ctx, hamlet.ID, true)
	err4 := s.store.UpdateRealm(ctx, zulipauth.Realm{Subdomain: "gone", Name: "gone", Deactivated: true})
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	pw, err := password.New(s.store)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := zulipauth.New(zulipauth.Config{
		Users:         s.store,
		Authenticator: pw,
		TokenVerifier: v,
		Realms:        zulipauth.HostRealms{Realms: s.store, ExternalHost: externalHost},
		// Every request comes from httptest's one address.
		IPLimiter: zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second}),
		Logger:    slog.New(slog.NewTextHandler(&s.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnEvent: func(e zulipauth.Event) {
			s.mu.Lock()
			s.events = append(s.events, e)
			s.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	auth.Mount(mux)
	s.mux = mux
	return s
}

// post sends form to the JWT login of realm.
func (s *server) post(realm string, form url.Values) *httptest.ResponseRecorder {
	host := externalHost
	if realm != "" {
		host = realm + "." + externalHost
	}
	r := httptest.NewRequest(http.MethodPost, "http://"+host+"/api/v1/jwt/fetch_api_key", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	return w
}

func (s *server) login(realm, token string) *httptest.ResponseRecorder {
	return s.post(realm, url.Values{"token": {token}})
}

func (s *server) success(realm string) string {
	return `{"result":"success","msg":"","api_key":"` + s.apiKey[realm] + `","email":"Iago@zulip.com"}` + "\n"
}

// lastEvent is the event of the latest login.
func (s *server) lastEvent() zulipauth.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events) == 0 {
		return zulipauth.Event{}
	}
	return s.events[len(s.events)-1]
}

// syncBuffer is a log that goroutines write while the test reads it.
type syncBuffer = syncbuf.Buffer

// Every token case of the verifier's tests, end to end: the exact answer
// of Zulip, never a 500, and the token never in a log line or an event.
func TestJWTLoginThroughHandler(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	k := keys()
	for _, tt := range tokenCases() {
		if tt.realm == "nokeys" {
			continue // no such realm here; TestJWTLoginRealmsAndUsers has "lear"
		}
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each case reads the event of its own request.
			w := s.login(tt.realm, tt.token)
			status, body := http.StatusOK, s.success(tt.realm)
			switch tt.want {
			case zulipauth.ErrBadToken:
				status, body = http.StatusBadRequest, wantBadToken
			case zulipauth.ErrNoEmailInToken:
				status, body = http.StatusBadRequest, wantNoEmail
			}
			if w.Code != status || w.Body.String() != body {
				t.Fatalf("%d %s\nwant %d %s", w.Code, w.Body, status, body)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
			}
			ev := s.lastEvent()
			if tt.want != nil {
				if ev.Kind != zulipauth.LoginFailed || !errors.Is(ev.Cause, tt.want) {
					t.Errorf("event %v, cause %v; want a failure caused by %v", ev.Kind, ev.Cause, tt.want)
				}
				if ev.Cause != nil && strings.Contains(ev.Cause.Error(), tt.token) {
					t.Errorf("the event's cause quotes the token")
				}
			} else if ev.Kind != zulipauth.LoginSucceeded || ev.User.Realm != tt.realm {
				t.Errorf("event %v for realm %q, want a success in %q", ev.Kind, ev.User.Realm, tt.realm)
			}
		})
	}
	logs := s.logs.String()
	for _, tt := range tokenCases() {
		if strings.Contains(logs, tt.token) {
			t.Fatalf("a token reached the log:\n%s", logs)
		}
	}
	for _, secret := range []string{hmacSecret, pemBody(k.rsaPEM), pemBody(k.edPEM)} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a key reached the log:\n%s", logs)
		}
	}
}

// What the verifier leaves to the core: the realm, the user and their
// states, the parameters. Each answers as Zulip does, with the core's 401s.
func TestJWTLoginRealmsAndUsers(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok := func(email string) string { return hs256(with("email", email)) }
	tests := []struct {
		name   string
		realm  string
		form   url.Values
		status int
		body   string
		cause  error // of the event, when not nil
	}{
		{"Iago", "", url.Values{"token": {tok("iago@zulip.com")}}, 200, s.success(""), nil},
		{"another spelling", "", url.Values{"token": {tok("  IAGO@Zulip.COM ")}}, 200, s.success(""), nil},
		{"no token", "", url.Values{}, 400, wantNoToken, nil},
		{"an unknown user", "", url.Values{"token": {tok("nobody@zulip.com")}}, 401, wantAuthFailed, zulipauth.ErrUserNotFound},
		{"another realm's user", "", url.Values{"token": {tok("king@lear.example")}}, 401, wantAuthFailed, zulipauth.ErrWrongRealm},
		{"a deactivated user", "", url.Values{"token": {tok("hamlet@zulip.com")}}, 401, wantUserDeactivated, zulipauth.ErrUserDeactivated},
		{"a deactivated realm", "gone", url.Values{"token": {tok("iago@zulip.com")}}, 401, wantRealmDeactivated, zulipauth.ErrRealmDeactivated},
		{"a realm without keys", "lear", url.Values{"token": {tok("king@lear.example")}}, 400, wantNotEnabled, nil},
		{"an unknown realm", "nowhere", url.Values{"token": {tok("iago@zulip.com")}}, 404, wantInvalidSubdomain, nil},
		{"an empty token", "", url.Values{"token": {""}}, 400, wantNoToken, nil},
		{"the RSA realm's user, from the root realm's token", "rsa", url.Values{"token": {tok("iago@zulip.com")}}, 400, wantBadToken, zulipauth.ErrBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := s.post(tt.realm, tt.form)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("%d %s\nwant %d %s", w.Code, w.Body, tt.status, tt.body)
			}
			if ev := s.lastEvent(); tt.cause != nil && !errors.Is(ev.Cause, tt.cause) {
				t.Errorf("event cause %v, want %v", ev.Cause, tt.cause)
			}
		})
	}

	// The token may come in the query string, as Zulip reads it.
	r := httptest.NewRequest(http.MethodPost, "http://"+externalHost+"/api/v1/jwt/fetch_api_key?token="+url.QueryEscape(tok("iago@zulip.com")), nil)
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	if w.Code != 200 || w.Body.String() != s.success("") {
		t.Errorf("token in the query: %d %s", w.Code, w.Body)
	}

	// include_profile adds the user, as Zulip's GET /users/{id} has it.
	w = s.post("ed", url.Values{"token": {sign(gojwt.SigningMethodEdDSA, keys().ed, iago(), nil)}, "include_profile": {"true"}})
	var got struct {
		APIKey string `json:"api_key"`
		User   struct {
			Email    string `json:"email"`
			FullName string `json:"full_name"`
			IsActive bool   `json:"is_active"`
		} `json:"user"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || got.APIKey != s.apiKey["ed"] ||
		got.User.Email != "Iago@zulip.com" || got.User.FullName != "Iago" || !got.User.IsActive {
		t.Errorf("include_profile: %d %s (%v)", w.Code, w.Body, err)
	}
}
