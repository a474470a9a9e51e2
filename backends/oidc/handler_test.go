package oidc_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/oidc"
	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// ssoServer is an application with zulipauth's single sign-on against a
// real OpenID provider, over HTTP, and two realms (the root, and "lear"):
// what a mobile app meets, without its browser (the Chromium tests are the
// reference server's).
type ssoServer struct {
	url   string // the root realm's URL
	host  string // its host:port
	store *memstore.Store
	op    *oidctest.Provider
}

// newSSOServer starts the server and its provider; tune, if given, edits
// the server's Config before New.
func newSSOServer(t testing.TB, tune ...func(*zulipauth.Config)) *ssoServer {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	// Subdomain realms on a loopback port: lear.localhost resolves to the
	// loopback address (RFC 6761) in Go's resolver too.
	_, port, _ := strings.Cut(host, ":")
	ext := "localhost:" + port
	op := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{
		"http://" + ext + "/complete/oidc/", "http://lear." + ext + "/complete/oidc/",
	}})
	store := memstore.New()
	ctx := context.Background()
	store.CreateRealm(ctx, zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	store.CreateUser(ctx, zulipauth.NewUser{Email: oidctest.IagoEmail, FullName: "Iago"})
	store.CreateUser(ctx, zulipauth.NewUser{Realm: "lear", Email: oidctest.HamletEmail, FullName: "Hamlet"})
	sso, err := oidc.New(ctx, oidc.Config{Issuer: op.Issuer, ClientID: op.ClientID, ClientSecret: op.ClientSecret,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := password.New(store)
	cfg := zulipauth.Config{
		Users: store, Authenticator: pw, IdentityProviders: []zulipauth.IdentityProvider{sso},
		Realms: zulipauth.HostRealms{Realms: store, ExternalHost: ext},
	}
	for _, f := range tune {
		f(&cfg)
	}
	auth, err := zulipauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	auth.Mount(mux)
	mux.Handle("/api/v1/users/me", auth.RequireAPIKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := zulipauth.UserFrom(r.Context())
		zulipauth.WriteSuccess(w, map[string]any{"email": u.Email, "user_id": u.ID})
	})))
	handler = zulipauth.MergeSlashes(mux)
	return &ssoServer{url: "http://" + ext, host: ext, store: store, op: op}
}

// client is a browser without JavaScript: a cookie jar, and no redirect
// followed, so the test sees each one. Every *.localhost host is the
// loopback address, as RFC 6761 has it and browsers resolve it.
func client(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: loopbackTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var loopbackTransport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && strings.HasSuffix(host, ".localhost") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}}

// mobileLogin runs the mobile apps' flow for realmURL as username at the
// provider, and returns the server's last answer.
func (s *ssoServer) mobileLogin(t *testing.T, c *http.Client, realmURL, otp, username, pw string) *http.Response {
	t.Helper()
	resp, err := c.Get(realmURL + "/accounts/login/social/oidc?mobile_flow_otp=" + otp)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	cb, err := s.op.Login(t.Context(), resp.Header.Get("Location"), username, pw)
	if err != nil {
		t.Fatalf("logging in at the provider: %v", err)
	}
	resp, err = c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// The mobile apps' single sign-on against a real OpenID provider, for two
// realms: the redirect to zulip://login carries the key, which decrypts
// with the OTP to a key that authenticates GET /api/v1/users/me as the
// identity's user.
func TestMobileSSOWithARealProvider(t *testing.T) {
	t.Parallel()
	s := newSSOServer(t)
	for _, tc := range []struct {
		realmURL, username, password string
	}{
		{s.url, oidctest.IagoEmail, oidctest.IagoPassword},
		{"http://lear." + s.host, oidctest.HamletEmail, oidctest.HamletPassword},
	} {
		c, otp := client(t), strings.Repeat("0f", 32)
		resp := s.mobileLogin(t, c, tc.realmURL, otp, tc.username, tc.password)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		q := loc.Query()
		if resp.StatusCode != http.StatusFound || loc.Scheme != "zulip" || q.Get("email") != tc.username || q.Get("realm") != tc.realmURL {
			t.Fatalf("%s: the answer %d %q, want zulip://login for %s at %s", tc.realmURL, resp.StatusCode, loc, tc.username, tc.realmURL)
		}
		enc, _ := hex.DecodeString(q.Get("otp_encrypted_api_key"))
		pad, _ := hex.DecodeString(otp)
		for i := range enc {
			enc[i] ^= pad[i]
		}
		req, _ := http.NewRequest("GET", tc.realmURL+"/api/v1/users/me", nil)
		req.SetBasicAuth(tc.username, string(enc))
		me, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Email string `json:"email"`
		}
		json.NewDecoder(me.Body).Decode(&body)
		me.Body.Close()
		if me.StatusCode != 200 || body.Email != tc.username {
			t.Errorf("%s: users/me with the decrypted key: %d %+v", tc.realmURL, me.StatusCode, body)
		}
	}
}

// The provider's refusals reach the person as pages: an unverified email
// (Cordelia's), and an identity with no account in the realm (Hamlet is
// lear's, not the root realm's; the page does not say where he is).
func TestSSORefusalsWithARealProvider(t *testing.T) {
	t.Parallel()
	s := newSSOServer(t)
	for _, tc := range []struct {
		username, password string
		want               string
	}{
		{oidctest.CordeliaEmail, oidctest.CordeliaPassword, "has not verified your email"},
		{oidctest.HamletEmail, oidctest.HamletPassword, "no account for this email"},
	} {
		c := client(t)
		resp, err := c.Get(s.url + "/accounts/login/social/oidc")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb, err := s.op.Login(t.Context(), resp.Header.Get("Location"), tc.username, tc.password)
		if err != nil {
			t.Fatal(err)
		}
		resp, err = c.Get(cb.String())
		if err != nil {
			t.Fatal(err)
		}
		var page strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			page.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(page.String(), tc.want) || strings.Contains(page.String(), "lear") {
			t.Errorf("%s: %d %s, want 403 and %q", tc.username, resp.StatusCode, page.String(), tc.want)
		}
	}
}
