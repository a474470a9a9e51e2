package zulipauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// POST /api/v1/users/me/api_key/regenerate gives a new key at once; the old
// one is refused from the next request on, though it was cached.
func TestRegenerateAPIKeyEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *zulipauth.Config) { c.APIKeyCacheTTL = time.Hour })
	mux := http.NewServeMux()
	f.auth.Mount(mux)
	mux.Handle("/api/v1/users/me", f.auth.RequireAPIKey(me))
	send := func(method, path, key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://zulip.example.com"+path, nil)
		r.Header.Set("Authorization", basic(iagoEmail, key))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	old := f.iago.APIKey
	if w := send("GET", "/api/v1/users/me", old); w.Code != 200 {
		t.Fatalf("before: %d %s", w.Code, w.Body) // now cached
	}
	w := send("POST", "/api/v1/users/me/api_key/regenerate", old)
	var got struct {
		Result, Msg string
		APIKey      string `json:"api_key"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || got.Result != "success" || !zulipauth.ValidAPIKeyFormat(got.APIKey) || got.APIKey == old {
		t.Fatalf("regenerate: %d %s", w.Code, w.Body)
	}
	// WIRE.md §6 (the endpoint is not in Zulip's OpenAPI excerpts): exactly
	// this body, and the REST route's never-cache and rate-limit headers.
	if want := `{"result":"success","msg":"","api_key":"` + got.APIKey + `"}` + "\n"; w.Body.String() != want {
		t.Errorf("body %q, want %q", w.Body, want)
	}
	if w.Header().Get("Cache-Control") == "" || w.Header().Get("X-RateLimit-Limit") == "" {
		t.Errorf("regenerate lacks the API's headers: %v", w.Header())
	}
	if w := send("GET", "/api/v1/users/me", old); w.Code != 401 {
		t.Errorf("the old key after regeneration: %d %s, want 401", w.Code, w.Body)
	}
	if w := send("GET", "/api/v1/users/me", got.APIKey); w.Code != 200 {
		t.Errorf("the new key: %d %s", w.Code, w.Body)
	}
	if w := send("GET", "/api/v1/users/me/api_key/regenerate", got.APIKey); w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d %s", w.Code, w.Body)
	}
	if w := send("POST", "/api/v1/users/me/api_key/regenerate", old); w.Code != 401 {
		t.Errorf("regenerating with the old key: %d", w.Code)
	}
}

// The current mobile app refuses servers below feature level 277 and warns
// below 371 (Zulip 10.0): the defaults must keep it content.
func TestServerSettingsDefaultsSatisfyTheMobileApp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var s struct {
		Version string `json:"zulip_version"`
		Level   int    `json:"zulip_feature_level"`
	}
	if err := json.Unmarshal(settings(f, "GET", "x").Body.Bytes(), &s); err != nil || s.Level < 371 || s.Version < "10.0" {
		t.Errorf("server_settings reports %q at feature level %d, want Zulip 10.0 (371) or later", s.Version, s.Level)
	}
}
