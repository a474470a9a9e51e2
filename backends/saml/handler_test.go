package saml_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// ssoServer is an application with zulipauth's single sign-on against a
// real SAML IdP, over HTTP, and two realms (the root, and "lear"): what a
// mobile app meets, without its browser.
type ssoServer struct {
	url  string // the root realm's URL
	host string // its host:port
	idp  *samltest.IdP
}

// newSSOServer starts the server and its IdP, which knows the service
// provider with both realms' callbacks.
func newSSOServer(t testing.TB) *ssoServer {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	ext := "localhost:" + port
	sp := newSP("http://" + ext + "/saml/metadata.xml")
	md, err := sp.Metadata("http://"+ext+"/complete/saml/", "http://lear."+ext+"/complete/saml/")
	if err != nil {
		t.Fatal(err)
	}
	idp := samltest.Start(t, samltest.Options{SPs: []samltest.SP{{EntityID: sp.EntityID, MetadataXML: md}}})
	store := memstore.New()
	ctx := context.Background()
	store.CreateRealm(ctx, zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	store.CreateUser(ctx, zulipauth.NewUser{Email: samltest.IagoEmail, FullName: "Iago"})
	store.CreateUser(ctx, zulipauth.NewUser{Realm: "lear", Email: samltest.HamletEmail, FullName: "Hamlet"})
	store.CreateUser(ctx, zulipauth.NewUser{Email: samltest.PoloniusEmail, FullName: "Polonius"})
	p, err := saml.New(saml.Config{SP: sp, Name: "test-idp", IdPMetadata: idp.Metadata, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := password.New(store)
	auth, err := zulipauth.New(zulipauth.Config{
		Users: store, Authenticator: pw, IdentityProviders: []zulipauth.IdentityProvider{p},
		Realms: zulipauth.HostRealms{Realms: store, ExternalHost: ext},
	})
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
	return &ssoServer{url: "http://" + ext, host: ext, idp: idp}
}

// client is a browser without JavaScript: a cookie jar (which, unlike a
// browser's, sends the flow's SameSite=Lax cookie with the IdP's
// cross-site POST), and no redirect followed. Every *.localhost host is
// the loopback address, as RFC 6761 has it.
func client(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, ".localhost") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login runs a login at realmURL (with the OTP when it is not "") as
// username at the IdP, and returns the server's last answer and its body.
func (s *ssoServer) login(t *testing.T, c *http.Client, realmURL, otp, username, pw string) (*http.Response, string) {
	t.Helper()
	start := realmURL + "/accounts/login/social/saml/test-idp"
	if otp != "" {
		start += "?mobile_flow_otp=" + otp
	}
	resp, err := c.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	answer, err := s.idp.Login(t.Context(), resp.Header.Get("Location"), username, pw)
	if err != nil {
		t.Fatalf("logging in at the IdP: %v", err)
	}
	resp, err = c.Do(answer)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// The mobile apps' single sign-on against a real SAML IdP, for two realms:
// the redirect to zulip://login carries the key, which decrypts with the
// OTP to a key that authenticates GET /api/v1/users/me as the identity's
// user.
func TestMobileSSOWithARealIdP(t *testing.T) {
	t.Parallel()
	s := newSSOServer(t)
	for _, tc := range []struct {
		realmURL, username, password, email string
	}{
		{s.url, samltest.IagoUsername, samltest.IagoPassword, samltest.IagoEmail},
		{"http://lear." + s.host, samltest.HamletUsername, samltest.HamletPassword, samltest.HamletEmail},
	} {
		c, otp := client(t), strings.Repeat("0f", 32)
		resp, _ := s.login(t, c, tc.realmURL, otp, tc.username, tc.password)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		q := loc.Query()
		if resp.StatusCode != http.StatusFound || loc.Scheme != "zulip" || q.Get("email") != tc.email || q.Get("realm") != tc.realmURL {
			t.Fatalf("%s: the answer %d %q, want zulip://login for %s at %s", tc.realmURL, resp.StatusCode, loc, tc.email, tc.realmURL)
		}
		enc, _ := hex.DecodeString(q.Get("otp_encrypted_api_key"))
		pad, _ := hex.DecodeString(otp)
		for i := range enc {
			enc[i] ^= pad[i]
		}
		req, _ := http.NewRequest("GET", tc.realmURL+"/api/v1/users/me", nil)
		req.SetBasicAuth(tc.email, string(enc))
		me, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Email string `json:"email"`
		}
		json.NewDecoder(me.Body).Decode(&body)
		me.Body.Close()
		if me.StatusCode != 200 || body.Email != tc.email {
			t.Errorf("%s: users/me with the decrypted key: %d %+v", tc.realmURL, me.StatusCode, body)
		}
	}
}

// The IdP's refusals and the answers that prove nothing reach the person
// as pages: a user the IdP denies (403), a person without an email (400),
// and an identity with no account in the realm (403).
func TestSSORefusalsWithARealIdP(t *testing.T) {
	t.Parallel()
	s := newSSOServer(t)
	for _, tc := range []struct {
		username, password string
		status             int
		want               string
	}{
		{samltest.PoloniusUsername, samltest.PoloniusPassword, 403, "refused at the identity provider"},
		{samltest.OthelloUsername, samltest.OthelloPassword, 400, "could not be verified"},
		{samltest.HamletUsername, samltest.HamletPassword, 403, "no account for this email"},
	} {
		resp, page := s.login(t, client(t), s.url, "", tc.username, tc.password)
		if resp.StatusCode != tc.status || !strings.Contains(page, tc.want) {
			t.Errorf("%s: %d %s, want %d and %q", tc.username, resp.StatusCode, page, tc.status, tc.want)
		}
	}
}
