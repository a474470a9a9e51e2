package oidctest_test

import (
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
)

// Every person of the fixture logs in with the password its constants
// name, and the provider says of them what the package comment promises:
// sub and the nonce in the ID token, email, email_verified and name in
// userinfo and not in the ID token. Other packages' tests rely on this.
func TestFixtureLogsIn(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, oidctest.Options{})
	web := newRP(t, p, p.ClientID, p.ClientSecret)
	tests := []struct {
		name, username, password, subject, email, fullName string
		verified                                           bool
	}{
		{"iago", oidctest.IagoEmail, oidctest.IagoPassword, oidctest.IagoSubject, oidctest.IagoEmail, oidctest.IagoName + " ", true},
		{"hamlet", oidctest.HamletEmail, oidctest.HamletPassword, oidctest.HamletSubject, oidctest.HamletEmail, oidctest.HamletName, true},
		{"cordelia", oidctest.CordeliaEmail, oidctest.CordeliaPassword, oidctest.CordeliaSubject, oidctest.CordeliaEmail, oidctest.CordeliaName, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := web.request()
			idToken, info, err := web.exchange(t.Context(), req, web.code(t, p, req, tt.username, tt.password))
			if err != nil {
				t.Fatal(err)
			}
			if idToken.Subject != tt.subject || idToken.Nonce != req.nonce {
				t.Errorf("the ID token has sub %q and nonce %q, want %q and the request's %q", idToken.Subject, idToken.Nonce, tt.subject, req.nonce)
			}
			if idToken.Email != "" || idToken.Name != "" || idToken.EmailVerified != nil {
				t.Errorf("the ID token names the person (%+v); the package comment says it does not", idToken)
			}
			// zitadel omits a false email_verified.
			verified := info.EmailVerified != nil && *info.EmailVerified
			if info.Subject != tt.subject || info.Email != tt.email || verified != tt.verified || info.Name != tt.fullName {
				t.Errorf("userinfo is %+v (verified %v), want sub %q, email %q, verified %v, name %q",
					info, verified, tt.subject, tt.email, tt.verified, tt.fullName)
			}
		})
	}
}

// What the provider refuses, and how: the behaviour the relying party's
// tests build on.
func TestRefusals(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, oidctest.Options{})
	web := newRP(t, p, p.ClientID, p.ClientSecret)

	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		_, err := p.Login(t.Context(), web.request().url, oidctest.IagoEmail, "wrong")
		if err == nil || !strings.Contains(err.Error(), "username or password wrong") {
			t.Fatalf("Login with a wrong password: %v, want the provider's refusal", err)
		}
	})
	t.Run("prompt=none", func(t *testing.T) {
		t.Parallel()
		req := web.request(oauth2.SetAuthURLParam("prompt", "none"))
		cb, err := p.Login(t.Context(), req.url, oidctest.IagoEmail, oidctest.IagoPassword)
		if err != nil {
			t.Fatal(err)
		}
		if q := cb.Query(); q.Get("error") != "login_required" || q.Get("state") != req.state || q.Has("code") {
			t.Fatalf("the callback is %s, want error=login_required with the state and no code", cb)
		}
	})
	t.Run("code used twice", func(t *testing.T) {
		t.Parallel()
		req := web.request()
		code := web.code(t, p, req, oidctest.HamletEmail, oidctest.HamletPassword)
		if _, _, err := web.exchange(t.Context(), req, code); err != nil {
			t.Fatal(err)
		}
		_, _, err := web.exchange(t.Context(), req, code)
		wantGrantError(t, err)
	})
	t.Run("wrong code_verifier", func(t *testing.T) {
		t.Parallel()
		req := web.request()
		code := web.code(t, p, req, oidctest.HamletEmail, oidctest.HamletPassword)
		req.verifier = oauth2.GenerateVerifier()
		_, _, err := web.exchange(t.Context(), req, code)
		wantGrantError(t, err)
	})
	t.Run("redirect URI not registered", func(t *testing.T) {
		t.Parallel()
		other := *web
		other.config.RedirectURL = "http://localhost:9991/complete/elsewhere/"
		cb, err := p.Login(t.Context(), other.request().url, oidctest.IagoEmail, oidctest.IagoPassword)
		if err == nil {
			t.Fatalf("Login with a redirect URI that is not registered led to %s", cb)
		}
	})
	t.Run("another client's code", func(t *testing.T) {
		t.Parallel()
		api := newRP(t, p, p.OtherClientID, p.OtherClientSecret)
		req := api.request()
		code := api.code(t, p, req, oidctest.IagoEmail, oidctest.IagoPassword)
		_, _, err := web.exchange(t.Context(), req, code)
		wantGrantError(t, err)
		idToken, _, err := api.exchange(t.Context(), req, code)
		if err != nil || idToken.Subject != oidctest.IagoSubject {
			t.Fatalf("the client the code was given to redeemed it: %v, sub %q", err, idToken.Subject)
		}
	})
}

func wantGrantError(t *testing.T, err error) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("the exchange: %v, want invalid_grant", err)
	}
}

// Options.Users and Options.RedirectURIs: a person of the test's, with the
// defaults of Username and Subject, logs in to a callback of the test's.
func TestOptions(t *testing.T) {
	t.Parallel()
	const callback = "http://zulip.localhost:9991/complete/oidc/"
	p := oidctest.Start(t, oidctest.Options{
		RedirectURIs: []string{"http://localhost:9991/complete/oidc/", callback},
		Users: []oidctest.User{
			{Email: "prospero@zulip.com", EmailVerified: true, Password: "prospero-password", GivenName: "Prospero"},
			{Username: "ariel", Subject: "spirit-1", Email: "ariel@zulip.com", Password: "ariel-password", GivenName: "Ariel", FamilyName: "Spirit"},
		},
	})
	web := newRP(t, p, p.ClientID, p.ClientSecret)
	web.config.RedirectURL = callback
	for _, tt := range []struct{ username, password, subject, email string }{
		{"prospero@zulip.com", "prospero-password", "prospero@zulip.com", "prospero@zulip.com"},
		{"ariel", "ariel-password", "spirit-1", "ariel@zulip.com"},
		{oidctest.IagoEmail, oidctest.IagoPassword, oidctest.IagoSubject, oidctest.IagoEmail},
	} {
		req := web.request()
		idToken, info, err := web.exchange(t.Context(), req, web.code(t, p, req, tt.username, tt.password))
		if err != nil {
			t.Fatal(err)
		}
		if idToken.Subject != tt.subject || info.Email != tt.email {
			t.Errorf("%s logged in as sub %q with email %q, want %q and %q", tt.username, idToken.Subject, info.Email, tt.subject, tt.email)
		}
	}
}

// Options that could not work fail Start with a message naming the
// problem, before anything runs.
func TestOptionErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts oidctest.Options
		want string
	}{
		{"relative redirect URI", oidctest.Options{RedirectURIs: []string{"/complete/oidc/"}}, "RedirectURIs"},
		{"comma in a redirect URI", oidctest.Options{RedirectURIs: []string{"http://localhost/a,b"}}, "RedirectURIs"},
		{"no password", oidctest.Options{Users: []oidctest.User{{Email: "x@zulip.com"}}}, "no Password"},
		{"no username", oidctest.Options{Users: []oidctest.User{{Password: "x"}}}, "neither a Username nor an Email"},
		{"username taken", oidctest.Options{Users: []oidctest.User{{Email: oidctest.IagoEmail, Password: "x"}}}, "two users have the username"},
		{"subject taken", oidctest.Options{Users: []oidctest.User{{Email: "x@zulip.com", Subject: oidctest.HamletSubject, Password: "x"}}}, "two users have the subject"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if msg := failure(t, tt.opts); !strings.Contains(msg, tt.want) {
				t.Errorf("Start failed with %q, want a message with %q", msg, tt.want)
			}
		})
	}
}

// Launch, for programs: a provider that answers; after Close, no listener
// and no files left. TMPDIR points at the test's own folder, so that what
// Launch leaves on disk can be seen.
func TestLaunchAndClose(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	p, err := oidctest.Launch(oidctest.Options{})
	if errors.Is(err, oidctest.ErrNotBuilt) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v\nCI=true, so this is a failure, not a skip", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	web := newRP(t, p, p.ClientID, p.ClientSecret)
	req := web.request()
	if _, _, err := web.exchange(t.Context(), req, web.code(t, p, req, oidctest.IagoEmail, oidctest.IagoPassword)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Log(), "/.well-known/openid-configuration") {
		t.Errorf("the log lacks the discovery request:\n%s", p.Log())
	}

	u, _ := url.Parse(p.Issuer)
	p.Close()
	p.Close() // a second Close does nothing
	if c, err := net.Dial("tcp", u.Host); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Close", u.Host)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %d entries in TMPDIR, the first %s", len(left), left[0].Name())
	}
}
