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
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// answer is a Zulip error as it goes out: status, code ("" for none), msg,
// and whether it carries WWW-Authenticate (the REST API's 401s do, the
// logins' never do).
type answer struct {
	status int
	code   string
	msg    string
	basic  bool
}

// The answers ../shared/zulip/WIRE.md gives, quoted from Zulip's source.
var (
	authFailed        = answer{401, "AUTHENTICATION_FAILED", "Your username or password is incorrect", false}
	userDeactivated   = answer{401, "USER_DEACTIVATED", "Account is deactivated", false}
	realmDeactivated  = answer{401, "REALM_DEACTIVATED", "This organization has been deactivated", false}
	passwordDisabled  = answer{401, "PASSWORD_AUTH_DISABLED", "Password authentication is disabled in this organization", false}
	resetRequired     = answer{401, "PASSWORD_RESET_REQUIRED", "Your password has been disabled and needs to be reset", false}
	nonexistent       = answer{404, "NONEXISTENT_SUBDOMAIN", "Invalid subdomain", false}
	settingsNoRealm   = answer{400, "BAD_REQUEST", "Invalid subdomain", false}
	badToken          = answer{400, "BAD_REQUEST", "Bad JSON web token", false}
	noEmailInToken    = answer{400, "BAD_REQUEST", "No email specified in JSON web token claims", false}
	busy              = answer{429, "RATE_LIMIT_HIT", "API usage exceeded rate limit", false}
	internal          = answer{500, "", "Internal server error", false}
	apiInvalidKey     = answer{401, "UNAUTHORIZED", "Invalid API key", true}
	apiDeactivated    = answer{401, "UNAUTHORIZED", "Account is deactivated", true}
	apiRealmInactive  = answer{401, "UNAUTHORIZED", "This organization has been deactivated", true}
	apiWrongSubdomain = answer{401, "UNAUTHORIZED", "Account is not associated with this subdomain", true}
	apiNotLoggedIn    = answer{401, "UNAUTHORIZED", "Not logged in: API authentication or user session required", true}
)

// Every sentinel through every endpoint, each answer checked against
// WIRE.md: the one table of errors.go is read by every handler, and the
// answers that differ by endpoint (Zulip answers an unknown realm with 404
// on a login, 400 on server_settings; the REST API turns every failure into
// 401 UNAUTHORIZED with its message) differ as data, not by hand. A
// sentinel is injected where each endpoint meets it: the authenticator
// (fetch_api_key), the token verifier (JWT), the store (the dev login, the
// API key lookup, the key regeneration) and the realm resolver
// (server_settings). A wrapped sentinel is answered as the bare one.
func TestEverySentinelThroughEveryEndpoint(t *testing.T) {
	t.Parallel()
	type row struct {
		err error
		// per endpoint; a zero answer: not a row of that endpoint
		login, jwt, dev, settings, api, regenerate answer
	}
	rows := []row{
		{err: zulipauth.ErrBadCredentials, login: authFailed, jwt: authFailed, api: apiInvalidKey, regenerate: apiInvalidKey},
		{err: zulipauth.ErrUserNotFound, login: authFailed, jwt: authFailed, dev: authFailed, api: apiInvalidKey, regenerate: apiInvalidKey},
		{err: zulipauth.ErrWrongRealm, login: authFailed, jwt: authFailed, dev: nonexistent, api: apiWrongSubdomain},
		{err: zulipauth.ErrUserDeactivated, login: userDeactivated, jwt: userDeactivated, dev: userDeactivated, api: apiDeactivated},
		{err: zulipauth.ErrRealmDeactivated, login: realmDeactivated, jwt: realmDeactivated, dev: realmDeactivated, api: apiRealmInactive},
		{err: zulipauth.ErrPasswordAuthDisabled, login: passwordDisabled},
		{err: zulipauth.ErrPasswordResetRequired, login: resetRequired},
		{err: zulipauth.ErrRealmNotFound, login: nonexistent, settings: settingsNoRealm},
		{err: zulipauth.ErrBadToken, jwt: badToken},
		{err: zulipauth.ErrNoEmailInToken, jwt: noEmailInToken},
		{err: zulipauth.ErrBusy, login: busy, jwt: busy},
		{err: errFault, login: internal, jwt: internal, dev: internal, settings: internal, api: internal, regenerate: internal},
	}
	for _, rw := range rows {
		for _, err := range []error{rw.err, fmt.Errorf("a component: %w", rw.err)} {
			for _, ep := range []struct {
				name string
				want answer
				send func(t *testing.T, err error) *httptest.ResponseRecorder
			}{
				{"fetch_api_key", rw.login, sendLogin},
				{"jwt/fetch_api_key", rw.jwt, sendJWT},
				{"dev_fetch_api_key", rw.dev, sendDevLogin},
				{"server_settings", rw.settings, sendServerSettings},
				{"an API request", rw.api, sendAPIRequest},
				{"api_key/regenerate", rw.regenerate, sendRegenerate},
			} {
				if ep.want.status == 0 {
					continue
				}
				t.Run(ep.name+"/"+err.Error(), func(t *testing.T) {
					t.Parallel()
					checkAnswer(t, ep.send(t, err), ep.want)
				})
			}
		}
	}
}

// The REST API's own failures, from the request and the store's data
// rather than an error: WIRE.md's HTTP Basic list, in order.
func TestAPIAuthenticationAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *zulipauth.Config) {
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
	})
	store := f.store
	deact := f.createUser("", "deactivated@zulip.com", "a password")
	if err := store.SetUserDeactivated(context.Background(), deact.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateRealm(context.Background(), zulipauth.Realm{Subdomain: "lear", Name: "Lear", Deactivated: true}); err != nil {
		t.Fatal(err)
	}
	lear := f.createUser("lear", "king@lear.example", "a password")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { zulipauth.WriteSuccess(w, nil) })
	h := f.auth.RequireAPIKey(ok)
	for _, tc := range []struct {
		name   string
		header string
		host   string
		want   answer
	}{
		{"no header", "", "", apiNotLoggedIn},
		{"one token", "Basic", "", answer{401, "UNAUTHORIZED", "Invalid authorization header for basic auth", true}},
		{"another scheme", "Bearer abc", "", answer{400, "BAD_REQUEST", "This endpoint requires HTTP basic authentication.", false}},
		{"bad base64", "Basic !!!!", "", answer{401, "UNAUTHORIZED", "Invalid authorization header for basic auth", true}},
		{"no colon", basic("iago@zulip.com", "")[:10], "", answer{401, "UNAUTHORIZED", "Invalid authorization header for basic auth", true}},
		{"malformed key", basic(iagoEmail, "short"), "", answer{401, "UNAUTHORIZED", "Malformed API key", true}},
		{"unknown key", basic(iagoEmail, strings.Repeat("k", 32)), "", apiInvalidKey},
		{"another user's email", basic("deactivated@zulip.com", f.iago.APIKey), "", apiInvalidKey},
		{"deactivated user", basic(deact.Email, deact.APIKey), "", apiDeactivated},
		{"deactivated realm", basic(lear.Email, lear.APIKey), "lear.zulip.example.com", apiRealmInactive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://zulip.example.com/api/v1/users/me", nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			checkAnswer(t, w, tc.want)
		})
	}
}

// checkAnswer checks a response against want, and that it is Zulip's JSON.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, want answer) {
	t.Helper()
	body := decode(t, w.Body.Bytes())
	code, _ := body["code"].(string)
	if w.Code != want.status || code != want.code || body["msg"] != want.msg {
		t.Errorf("answered %d %s, want %d %s %q", w.Code, w.Body, want.status, want.code, want.msg)
	}
	if got := w.Header().Get("WWW-Authenticate") != ""; got != want.basic {
		t.Errorf("WWW-Authenticate %q; want one: %v", w.Header().Get("WWW-Authenticate"), want.basic)
	}
}

// errStore is a memstore whose lookups fail with err.
type errStore struct {
	*memstore.Store
	err error
}

func (s errStore) UserByEmail(context.Context, string, string) (zulipauth.User, error) {
	return zulipauth.User{}, unknownOnWrongRealm(s.err)
}

func (s errStore) UserWithRealmByAPIKey(context.Context, string) (zulipauth.User, zulipauth.Realm, error) {
	return zulipauth.User{}, zulipauth.Realm{}, s.err
}

func (s errStore) EmailInOtherRealm(context.Context, string, string) (bool, error) {
	// The development login asks whether another realm has an email it
	// does not know: ErrWrongRealm says yes.
	return errors.Is(s.err, zulipauth.ErrWrongRealm), nil
}

func (s errStore) RegenerateAPIKey(context.Context, int64) (string, error) { return "", s.err }

// unknownOnWrongRealm is err, except that the store answers an email
// another realm has as unknown, and says so through EmailInOtherRealm.
func unknownOnWrongRealm(err error) error {
	if errors.Is(err, zulipauth.ErrWrongRealm) {
		return zulipauth.ErrUserNotFound
	}
	return err
}

func sendLogin(t *testing.T, err error) *httptest.ResponseRecorder {
	f := newFixture(t, func(c *zulipauth.Config) {
		c.Authenticator = zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
			return zulipauth.User{}, err
		})
	})
	return f.login(iagoEmail, iagoPassword, "")
}

func sendJWT(t *testing.T, err error) *httptest.ResponseRecorder {
	f := newFixture(t, func(c *zulipauth.Config) { c.TokenVerifier = failingVerifier{err} })
	return postJWT(f.auth.JWTFetchAPIKeyHandler(), url.Values{"token": {"a token"}})
}

// failingVerifier is a TokenVerifier whose tokens all fail with err.
type failingVerifier struct{ err error }

func (failingVerifier) TokenLoginEnabled(zulipauth.Realm) bool { return true }
func (v failingVerifier) VerifyToken(context.Context, zulipauth.Realm, string) (string, error) {
	return "", v.err
}

func sendDevLogin(t *testing.T, err error) *httptest.ResponseRecorder {
	store := memstore.New()
	f := newFixtureOn(t, store, func(c *zulipauth.Config) {
		c.Users, c.InsecureDevLogin = errStore{store, err}, true
		if errors.Is(err, zulipauth.ErrRealmDeactivated) {
			c.Realms = zulipauth.SingleRealm(zulipauth.Realm{Deactivated: true})
		}
		if errors.Is(err, zulipauth.ErrUserDeactivated) {
			c.Users = deactivatedStore{store}
		}
	})
	w := httptest.NewRecorder()
	f.auth.InsecureDevFetchAPIKeyHandler().ServeHTTP(w, formRequest(url.Values{"username": {iagoEmail}}.Encode()))
	return w
}

// deactivatedStore finds every user deactivated.
type deactivatedStore struct{ *memstore.Store }

func (s deactivatedStore) UserByEmail(ctx context.Context, realm, email string) (zulipauth.User, error) {
	u, err := s.Store.UserByEmail(ctx, realm, email)
	u.Deactivated = true
	return u, err
}

func sendServerSettings(t *testing.T, err error) *httptest.ResponseRecorder {
	f := newFixture(t, func(c *zulipauth.Config) {
		c.Realms = resolverFunc(func(*http.Request) (zulipauth.Realm, error) { return zulipauth.Realm{}, err })
	})
	return settings(f, "GET", "zulip.example.com")
}

func sendAPIRequest(t *testing.T, err error) *httptest.ResponseRecorder {
	store := memstore.New()
	f := newFixtureOn(t, store, func(c *zulipauth.Config) {
		c.Users = errStore{store, err}
		switch {
		case errors.Is(err, zulipauth.ErrUserDeactivated), errors.Is(err, zulipauth.ErrRealmDeactivated), errors.Is(err, zulipauth.ErrWrongRealm):
			// These are the store's data, not its errors, on the API:
			// the user or realm as the store returns it.
			c.Users = apiStateStore{store, err}
		}
	})
	r := httptest.NewRequest(http.MethodGet, "http://zulip.example.com/api/v1/users/me", nil)
	r.SetBasicAuth(f.iago.Email, f.iago.APIKey)
	w := httptest.NewRecorder()
	f.auth.RequireAPIKey(http.NotFoundHandler()).ServeHTTP(w, r)
	return w
}

// apiStateStore returns Iago with the state err names.
type apiStateStore struct {
	*memstore.Store
	err error
}

func (s apiStateStore) UserWithRealmByAPIKey(ctx context.Context, key string) (zulipauth.User, zulipauth.Realm, error) {
	u, r, err := s.Store.UserWithRealmByAPIKey(ctx, key)
	switch {
	case errors.Is(s.err, zulipauth.ErrUserDeactivated):
		u.Deactivated = true
	case errors.Is(s.err, zulipauth.ErrRealmDeactivated):
		r.Deactivated = true
	case errors.Is(s.err, zulipauth.ErrWrongRealm):
		u.Realm, r.Subdomain = "lear", "lear"
	}
	return u, r, err
}

func sendRegenerate(t *testing.T, err error) *httptest.ResponseRecorder {
	store := memstore.New()
	f := newFixtureOn(t, store, func(c *zulipauth.Config) { c.Users = regenerateFails{store, err} })
	r := httptest.NewRequest(http.MethodPost, "http://zulip.example.com/api/v1/users/me/api_key/regenerate", nil)
	r.SetBasicAuth(f.iago.Email, f.iago.APIKey)
	w := httptest.NewRecorder()
	f.auth.RequireAPIKey(f.auth.RegenerateAPIKeyHandler()).ServeHTTP(w, r)
	return w
}

// regenerateFails is a memstore whose RegenerateAPIKey fails with err.
type regenerateFails struct {
	*memstore.Store
	err error
}

func (s regenerateFails) RegenerateAPIKey(context.Context, int64) (string, error) { return "", s.err }
