package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
	"github.com/zulipauth/zulipauth-go/examples/internal/browsertest"
)

// ssoSetup is a database with Iago in the root realm and Hamlet in "lear",
// an OpenID provider that knows both and the callbacks of host (and
// lear.host), and the -oidc-* flags that name it.
func ssoSetup(t *testing.T, host string) (db string, flags []string) {
	t.Helper()
	db = tempDB(t)
	mustAdmin(t, db, "", "create-realm", "-subdomain", "lear", "-name", "Lear")
	mustAdmin(t, db, "iago's long password\n", "create-user", "-email", oidctest.IagoEmail)
	mustAdmin(t, db, "hamlet's long password\n", "create-user", "-realm", "lear", "-email", oidctest.HamletEmail)
	op := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{
		"http://" + host + "/complete/oidc/", "http://lear." + host + "/complete/oidc/",
	}})
	secret := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secret, []byte(op.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return db, []string{"-external-host", host, "-oidc-issuer", op.Issuer, "-oidc-client-id", op.ClientID, "-oidc-client-secret-file", secret}
}

// person is who logs in at a provider's form (its field userField, and
// password), and the email the server knows them by.
type person struct{ userField, username, password, email string }

// oidcPerson is an OpenID provider's person: the username is the email.
func oidcPerson(email, password string) person { return person{"username", email, password, email} }

// mobileSSO does what zulip-flutter does, in Chromium: reads server_settings'
// external_authentication_methods, opens the login_url of the one named
// method ("oidc:oidc") with a fresh mobile_flow_otp, logs in at the
// provider's form as p, and checks the zulip://login redirect by the app's
// rules. It returns the decrypted key.
func mobileSSO(t *testing.T, b *browsertest.Browser, realmURL, method string, p person) string {
	t.Helper()
	code, raw := get(t, realmURL+"/api/v1/server_settings", nil)
	var settings struct {
		RealmURI string `json:"realm_uri"`
		External []struct {
			Name     string `json:"name"`
			LoginURL string `json:"login_url"`
		} `json:"external_authentication_methods"`
	}
	if err := json.Unmarshal(raw, &settings); err != nil || code != 200 || len(settings.External) != 1 || settings.External[0].Name != method {
		t.Fatalf("server_settings at %s: %d %s", realmURL, code, raw)
	}
	login, _ := url.Parse(settings.RealmURI)
	login = login.ResolveReference(&url.URL{Path: settings.External[0].LoginURL})
	otp := browsertest.NewOTP()
	login.RawQuery = "mobile_flow_otp=" + otp // zulip-flutter replaces the query
	if err := b.Open(t.Context(), login.String()); err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(t.Context(), map[string]string{p.userField: p.username, "password": p.password}); err != nil {
		t.Fatal(err)
	}
	location, err := b.WaitForRedirect(t.Context(), "zulip")
	if err != nil {
		t.Fatal(err)
	}
	key, email, _, err := browsertest.CheckMobileRedirect(location, otp, settings.RealmURI)
	if err != nil || email != p.email {
		t.Fatalf("the redirect %s: %v (email %q, want %q)", location, err, email, p.email)
	}
	return key
}

// usersMe calls GET /api/v1/users/me with the key, as the app does next.
func usersMe(t *testing.T, realmURL, email, key string) {
	t.Helper()
	code, body := get(t, realmURL+"/api/v1/users/me", http.Header{"Authorization": {basicAuth(email, key)}})
	if code != 200 || !strings.Contains(string(body), `"email":"`+email+`"`) {
		t.Fatalf("users/me at %s with the key from single sign-on: %d %s", realmURL, code, body)
	}
}

// get is do's GET for a URL whose host may be SUB.localhost: every
// *.localhost is the loopback address, as RFC 6761 has it and as Chromium
// resolves it; Go's resolver asks DNS.
func get(t *testing.T, rawURL string, header http.Header) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", rawURL, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := loopbackClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

var loopbackClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, ".localhost") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}}}

func basicAuth(user, pass string) string {
	r, _ := http.NewRequest("GET", "http://x/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// The mobile apps' single sign-on through the reference server, in a real
// browser, against a real OpenID provider, for two realms: the redirect
// passes zulip-flutter's checks, and the key it carries authenticates
// GET /api/v1/users/me. A user without an account (Cordelia is the
// provider's, not the server's; her email is unverified too) ends on a
// page that says so, and no zulip:// redirect.
func TestMobileSingleSignOnInABrowser(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	host := "localhost:" + port
	db, flags := ssoSetup(t, host)
	startServer(t, append([]string{"-db", db, "-addr", "127.0.0.1:" + port}, flags...)...)
	for _, tc := range []struct{ realmURL, username, password string }{
		{"http://" + host, oidctest.IagoEmail, oidctest.IagoPassword},
		{"http://lear." + host, oidctest.HamletEmail, oidctest.HamletPassword},
	} {
		b := browsertest.Start(t)
		key := mobileSSO(t, b, tc.realmURL, "oidc:oidc", oidcPerson(tc.username, tc.password))
		usersMe(t, tc.realmURL, tc.username, key)
	}

	refusedSSO(t, "http://"+host+"/accounts/login/social/oidc", oidcPerson(oidctest.CordeliaEmail, oidctest.CordeliaPassword),
		"http://"+host+"/complete/oidc/", "has not verified your email")
}

// refusedSSO starts a mobile login at loginURL in a new tab, logs in at
// the provider's form as p, and checks that it ends on a 403 page of the
// server at pageURL saying want, and that nothing redirected to zulip://.
func refusedSSO(t *testing.T, loginURL string, p person, pageURL, want string) {
	t.Helper()
	b := browsertest.Start(t)
	if err := b.Open(t.Context(), loginURL+"?mobile_flow_otp="+browsertest.NewOTP()); err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(t.Context(), map[string]string{p.userField: p.username, "password": p.password}); err != nil {
		t.Fatal(err)
	}
	page, err := b.WaitForPage(t.Context(), pageURL)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != 403 || !strings.Contains(page.Text, want) {
		t.Errorf("%s as %s: %d %q, want 403 saying %q", loginURL, p.username, page.Status, page.Text, want)
	}
	for _, r := range b.Redirects() {
		if strings.HasPrefix(r.Location, "zulip:") {
			t.Errorf("a refused login redirected to %s", r.Location)
		}
	}
}

// No sticky sessions: the login starts on one instance and the provider's
// answer lands on another (a load balancer sends /accounts/ to the first,
// everything else to the second; both share the SQLite database); it
// works, once.
func TestSingleSignOnAcrossInstances(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	host := "localhost:" + port
	db, flags := ssoSetup(t, host)
	first := startServer(t, append([]string{"-db", db}, flags...)...)
	second := startServer(t, append([]string{"-db", db}, flags...)...)
	starts, answers := balance(t, port, first, second)

	b := browsertest.Start(t)
	key := mobileSSO(t, b, "http://"+host, "oidc:oidc", oidcPerson(oidctest.IagoEmail, oidctest.IagoPassword))
	usersMe(t, "http://"+host, oidctest.IagoEmail, key)
	if starts.Load() != 1 || answers.Load() != 1 {
		t.Errorf("the balancer sent %d starts to the first instance and %d answers to the second, want 1 and 1", starts.Load(), answers.Load())
	}
	if !strings.Contains(second.stderr.String(), `msg="login succeeded"`) {
		t.Errorf("the second instance did not log the login:\n%s", second.stderr.String())
	}
}

// balance puts a load balancer on 127.0.0.1:port in front of two instances,
// without sticky sessions: it sends /accounts/ (where logins start) to first,
// everything else to second, and counts the starts and the providers'
// answers (/complete/).
func balance(t *testing.T, port string, first, second *process) (starts, answers *atomic.Int64) {
	t.Helper()
	firstURL, _ := url.Parse(first.base)
	secondURL, _ := url.Parse(second.base)
	starts, answers = new(atomic.Int64), new(atomic.Int64)
	balancer := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		target := secondURL
		if strings.HasPrefix(r.In.URL.Path, "/accounts/") {
			target = firstURL
			starts.Add(1)
		} else if strings.HasPrefix(r.In.URL.Path, "/complete/") {
			answers.Add(1)
		}
		r.SetURL(target)
		r.Out.Host = r.In.Host // the servers see the external host, as behind a real balancer
	}}
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: balancer}
	go srv.ListenAndServe()
	t.Cleanup(func() { srv.Close() })
	waitFor(t, func() bool {
		_, err := http.Get("http://127.0.0.1:" + port + "/api/v1/server_settings")
		return err == nil
	})
	return starts, answers
}
