package oidc_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// A whole login at a real provider: Start's URL, the person's login at the
// provider, and Finish on the provider's redirect give the identity the
// provider holds, the email verified or not as the provider says. The
// fixture's provider sends the email in userinfo, not in the ID token, so
// this also proves the userinfo path.
func TestFlow(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	p := newProvider(t, config(op, &log))
	tests := []struct {
		name, username, password string
		want                     zulipauth.Identity
	}{
		{"verified", oidctest.IagoEmail, oidctest.IagoPassword,
			// The provider's name claim is "Iago ": Finish trims it.
			zulipauth.Identity{Email: oidctest.IagoEmail, EmailVerified: true, Name: oidctest.IagoName, Subject: oidctest.IagoSubject}},
		{"full name", oidctest.HamletEmail, oidctest.HamletPassword,
			zulipauth.Identity{Email: oidctest.HamletEmail, EmailVerified: true, Name: oidctest.HamletName, Subject: oidctest.HamletSubject}},
		{"unverified email", oidctest.CordeliaEmail, oidctest.CordeliaPassword,
			zulipauth.Identity{Email: oidctest.CordeliaEmail, EmailVerified: false, Name: oidctest.CordeliaName, Subject: oidctest.CordeliaSubject}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow()
			r := answer(t, op, p, &f, tt.username, tt.password)
			if got := p.FlowToken(r); got != f.Token {
				t.Fatalf("FlowToken is %q, want the flow's token %q", got, f.Token)
			}
			id, err := p.Finish(t.Context(), r, f)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if id != tt.want {
				t.Errorf("Finish gave %+v, want %+v", id, tt.want)
			}
		})
	}
	t.Run("log", func(t *testing.T) {
		t.Parallel()
		f := newFlow()
		if _, err := p.Finish(t.Context(), answer(t, op, p, &f, oidctest.HamletEmail, oidctest.HamletPassword), f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "identity verified") || !strings.Contains(log.String(), "subject="+oidctest.HamletSubject) {
			t.Errorf("the log lacks the verified identity:\n%s", log.String())
		}
	})
}

// Start's URL is an authorization code request on the provider's
// authorization endpoint with exactly the values the flow gives, and PKCE's
// S256 challenge of its verifier (never the verifier itself).
func TestStartURL(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	p := newProvider(t, config(op, &log))
	f := newFlow()
	f.CallbackURL = "http://zulip.localhost:9991/complete/oidc/"
	raw, err := p.Start(t.Context(), &f)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if base := u.Scheme + "://" + u.Host + u.Path; base != op.Issuer+"auth" {
		t.Errorf("Start sends the browser to %s, want the provider's authorization endpoint %sauth", base, op.Issuer)
	}
	sum := sha256.Sum256([]byte(f.CodeVerifier))
	want := url.Values{
		"response_type":         {"code"},
		"client_id":             {op.ClientID},
		"redirect_uri":          {f.CallbackURL},
		"scope":                 {"openid email profile"},
		"state":                 {f.Token},
		"nonce":                 {f.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	got := u.Query()
	for k, v := range want {
		if len(got[k]) != 1 || got[k][0] != v[0] {
			t.Errorf("%s is %q, want %q", k, got[k], v[0])
		}
	}
	for k := range got {
		if want[k] == nil {
			t.Errorf("the URL has %s=%q, which it should not", k, got[k])
		}
	}
	if strings.Contains(raw, f.CodeVerifier) {
		t.Error("the URL holds the PKCE verifier")
	}
	if f.ProviderState != "" {
		t.Errorf("Start set ProviderState %q", f.ProviderState)
	}

	for _, tt := range []struct {
		name   string
		change func(*zulipauth.SSOFlow)
	}{
		{"no token", func(f *zulipauth.SSOFlow) { f.Token = "" }},
		{"no nonce", func(f *zulipauth.SSOFlow) { f.Nonce = "" }},
		{"short verifier", func(f *zulipauth.SSOFlow) { f.CodeVerifier = f.CodeVerifier[:42] }},
		{"verifier with a space", func(f *zulipauth.SSOFlow) { f.CodeVerifier = " " + f.CodeVerifier }},
		{"relative callback", func(f *zulipauth.SSOFlow) { f.CallbackURL = "/complete/oidc/" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow()
			tt.change(&f)
			if u, err := p.Start(t.Context(), &f); err == nil {
				t.Errorf("Start made %s", u)
			}
		})
	}
}

// The ID token must carry the flow's nonce: a token minted for another
// login (one an attacker started, say) proves nothing for this one.
func TestWrongNonce(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	p := newProvider(t, config(op, &log))
	f := newFlow()
	r := answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword)
	f.Nonce = newFlow().Nonce
	_, err := p.Finish(t.Context(), r, f)
	wantInvalid(t, err, "nonce")
}

// PKCE: the provider redeems a code only with the verifier of the
// challenge Start sent, so a code stolen on its way back is worth nothing
// to whoever lacks the flow.
func TestWrongVerifier(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	p := newProvider(t, config(op, &log))
	f := newFlow()
	r := answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword)
	f.CodeVerifier = newFlow().CodeVerifier
	_, err := p.Finish(t.Context(), r, f)
	wantInvalid(t, err, "invalid_grant")
	if strings.Contains(err.Error(), r.URL.Query().Get("code")) {
		t.Errorf("the error holds the code: %v", err)
	}
}

// A code is redeemed once: the provider refuses it the second time, and
// Finish says the answer is invalid.
func TestCodeReplayed(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	p := newProvider(t, config(op, &log))
	f := newFlow()
	r := answer(t, op, p, &f, oidctest.HamletEmail, oidctest.HamletPassword)
	if _, err := p.Finish(t.Context(), r, f); err != nil {
		t.Fatal(err)
	}
	_, err := p.Finish(t.Context(), r, f)
	wantInvalid(t, err, "invalid_grant")
}

// An ID token whose audience is another client proves nothing to this one,
// even signed by the right provider with the right nonce. The provider
// here really issues one: the login is another client's, and the token
// request, as in a mix-up, authenticates as that client.
func TestOtherAudience(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	cfg := config(op, &log)
	cfg.HTTPClient = &http.Client{Transport: &transport{request: func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/token") {
			req.SetBasicAuth(op.OtherClientID, op.OtherClientSecret)
		}
		return nil, nil
	}}}
	p := newProvider(t, cfg)
	otherCfg := config(op, &log)
	otherCfg.ClientID, otherCfg.ClientSecret = op.OtherClientID, op.OtherClientSecret
	other := newProvider(t, otherCfg)

	f := newFlow()
	r := answer(t, op, other, &f, oidctest.IagoEmail, oidctest.IagoPassword)
	_, err := p.Finish(t.Context(), r, f)
	wantInvalid(t, err, `expected audience "web"`)
}

// A refusal is ErrSSODenied with the provider's error code: one the real
// provider sends (login_required, for prompt=none), and access_denied, a
// person's "no". The provider's words are quoted and cut short: a newline
// or a megabyte in them reaches no log.
func TestDenied(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	p := newProvider(t, config(op, &log))

	t.Run("login_required", func(t *testing.T) {
		t.Parallel()
		f := newFlow()
		authURL, err := p.Start(t.Context(), &f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Finish(t.Context(), login(t, op, authURL+"&prompt=none", oidctest.IagoEmail, oidctest.IagoPassword), f)
		if !errors.Is(err, zulipauth.ErrSSODenied) || !strings.Contains(err.Error(), `error "login_required"`) {
			t.Fatalf("Finish: %v, want ErrSSODenied with login_required", err)
		}
	})
	for _, tt := range []struct {
		name, query string
		want        []string
	}{
		{"access_denied", "error=access_denied", []string{`error "access_denied"`}},
		{"with a description", "error=access_denied&error_description=The+user+said+no", []string{`error "access_denied" ("The user said no")`}},
		{"another error", "error=temporarily_unavailable", []string{`error "temporarily_unavailable"`}},
		{"a newline", "error=access_denied%0Aforged+log+line", []string{`"access_denied\nforged log line"`}},
		{"a long description", "error=" + strings.Repeat("x", 10000) + "&error_description=" + strings.Repeat("y", 100000), []string{strings.Repeat("x", 64) + `"...`, strings.Repeat("y", 200) + `"...`}},
		{"an error and a code", "error=access_denied&code=abc", []string{`error "access_denied"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow()
			_, err := p.Finish(t.Context(), callbackWith(t, tt.query+"&state="+f.Token), f)
			if !errors.Is(err, zulipauth.ErrSSODenied) || errors.Is(err, zulipauth.ErrSSOInvalid) {
				t.Fatalf("Finish: %v, want ErrSSODenied", err)
			}
			msg := err.Error()
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("the error %q lacks %q", msg, want)
				}
			}
			if strings.ContainsAny(msg, "\n\r") || len(msg) > 500 {
				t.Errorf("the error has a line break or %d bytes: %q", len(msg), msg)
			}
		})
	}
}
