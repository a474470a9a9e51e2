package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/oidc"
	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
)

// Answers at the callback that prove nothing, before any request to the
// provider: another flow's state, an iss that is not the issuer (RFC 9207:
// an answer of another provider, in a mix-up), no code.
func TestInvalidAnswers(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	p := newProvider(t, config(op, &log))
	for _, tt := range []struct{ name, query, want string }{
		{"no state", "code=abc", "state"},
		{"another state", "code=abc&state=" + newFlow().Token, "state"},
		{"another issuer", "code=abc&iss=https%3A%2F%2Fevil.example%2F&state=", "iss"},
		{"two issuers", "code=abc&iss=" + op.Issuer + "&iss=" + op.Issuer + "&state=", "iss"},
		{"no code", "state=", "neither a code nor an error"},
		{"an empty code", "code=&state=", "neither a code nor an error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow()
			q := tt.query
			if strings.HasSuffix(q, "state=") {
				q += f.Token
			}
			_, err := p.Finish(t.Context(), callbackWith(t, q), f)
			wantInvalid(t, err, tt.want)
		})
	}
	t.Run("the issuer", func(t *testing.T) {
		t.Parallel()
		f := newFlow()
		r := answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword)
		r.URL.RawQuery += "&iss=" + op.Issuer
		if _, err := p.Finish(t.Context(), r, f); err != nil {
			t.Fatalf("Finish of an answer with the right iss: %v", err)
		}
	})
}

// The ID token's signature is checked with the provider's keys: a token
// whose claims were changed on the way (here: its subject), or one that is
// not signed at all (alg "none"), proves nothing. The provider's token
// endpoint answers; the network between changes its answer.
func TestTamperedIDToken(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	for _, tt := range []struct {
		name   string
		change func(header, payload, sig string) string
		want   string
	}{
		{"claims changed", func(h, p, s string) string {
			return h + "." + setClaim(t, p, "sub", oidctest.HamletSubject) + "." + s
		}, "signature"},
		{"unsigned", func(h, p, s string) string {
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + p + "."
		}, "malformed jwt"},
		{"not a JWT", func(h, p, s string) string { return "garbage" }, "malformed jwt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log logBuffer
			cfg := config(op, &log)
			cfg.HTTPClient = &http.Client{Transport: &transport{response: func(req *http.Request, resp *http.Response) {
				if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/token") || resp.StatusCode != http.StatusOK {
					return
				}
				var body map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Errorf("the token endpoint's answer: %v", err)
					return
				}
				parts := strings.Split(body["id_token"].(string), ".")
				body["id_token"] = tt.change(parts[0], parts[1], parts[2])
				b, _ := json.Marshal(body)
				setBody(resp, b)
			}}}
			p := newProvider(t, cfg)
			f := newFlow()
			_, err := p.Finish(t.Context(), answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword), f)
			wantInvalid(t, err, tt.want)
		})
	}
}

// setClaim returns the JWT payload p with claim set to value.
func setClaim(t *testing.T, p, claim, value string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	claims[claim] = value
	b, _ = json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Userinfo must be of the ID token's subject (OpenID Connect Core §5.3.2):
// otherwise an access token of someone else's could lend their email to
// this login.
func TestUserinfoOfAnotherSubject(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	cfg := config(op, &log)
	cfg.HTTPClient = &http.Client{Transport: &transport{response: func(req *http.Request, resp *http.Response) {
		if !strings.HasSuffix(req.URL.Path, "/userinfo") {
			return
		}
		b, _ := io.ReadAll(resp.Body)
		var claims map[string]any
		json.Unmarshal(b, &claims)
		claims["sub"] = oidctest.HamletSubject
		b, _ = json.Marshal(claims)
		setBody(resp, b)
	}}}
	p := newProvider(t, cfg)
	f := newFlow()
	_, err := p.Finish(t.Context(), answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword), f)
	wantInvalid(t, err, "userinfo's sub")
}

// A provider that cannot be reached, or fails, is a fault, not an invalid
// answer: the person did nothing wrong, and an administrator should know.
// The provider's own text (an HTML error page) stays out of the error.
func TestFaults(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	for _, tt := range []struct {
		name    string
		path    string // the endpoint that fails
		answer  func(*http.Request) (*http.Response, error)
		timeout time.Duration
		want    string
	}{
		{"key set unreachable", "/keys", func(req *http.Request) (*http.Response, error) {
			return answerWith(req, http.StatusServiceUnavailable, "<h1>down for maintenance</h1>"), nil
		}, 0, "key set"},
		{"token endpoint fails", "/token", func(req *http.Request) (*http.Response, error) {
			return answerWith(req, http.StatusInternalServerError, "<h1>stack trace</h1>"), nil
		}, 0, "500"},
		{"userinfo fails", "/userinfo", func(req *http.Request) (*http.Response, error) {
			return answerWith(req, http.StatusBadGateway, "<h1>bad gateway</h1>"), nil
		}, 0, "userinfo"},
		{"userinfo hangs", "/userinfo", hangUntilDone, 300 * time.Millisecond, "exceeded"},
		{"token endpoint hangs", "/token", hangUntilDone, 300 * time.Millisecond, "exceeded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log logBuffer
			cfg := config(op, &log)
			cfg.Timeout = tt.timeout
			cfg.HTTPClient = &http.Client{Transport: &transport{request: func(req *http.Request) (*http.Response, error) {
				if strings.HasSuffix(req.URL.Path, tt.path) {
					return tt.answer(req)
				}
				return nil, nil
			}}}
			p := newProvider(t, cfg)
			f := newFlow()
			r := answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword)
			start := time.Now()
			_, err := p.Finish(t.Context(), r, f)
			wantFault(t, err, tt.want)
			if strings.Contains(err.Error(), "<h1>") {
				t.Errorf("the error quotes the provider's page: %v", err)
			}
			if tt.timeout > 0 && time.Since(start) > 10*tt.timeout {
				t.Errorf("Finish took %v with a Timeout of %v", time.Since(start), tt.timeout)
			}
		})
	}
	t.Run("provider gone", func(t *testing.T) {
		t.Parallel()
		op := oidctest.Start(t, oidctest.Options{})
		var log logBuffer
		p := newProvider(t, config(op, &log))
		f := newFlow()
		r := answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword)
		op.Close()
		_, err := p.Finish(t.Context(), r, f)
		wantFault(t, err, "connection refused")
	})
}

// An ID token verifies up to a minute past its exp, since the provider's
// clock and ours differ a little, and not after.
func TestIDTokenExpiry(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	for _, tt := range []struct {
		name  string
		after time.Duration // the clock, from the token's exp
		ok    bool
	}{
		{"before exp", -time.Second, true},
		{"just past exp", 30 * time.Second, true},
		{"past the leeway", 61 * time.Second, false},
		{"an hour past", time.Hour, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log logBuffer
			var exp time.Time // the ID token's, read on the way
			cfg := config(op, &log)
			cfg.HTTPClient = &http.Client{Transport: &transport{response: func(req *http.Request, resp *http.Response) {
				if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/token") || resp.StatusCode != http.StatusOK {
					return
				}
				b, _ := io.ReadAll(resp.Body)
				setBody(resp, b)
				var body struct {
					IDToken string `json:"id_token"`
				}
				json.Unmarshal(b, &body)
				parts := strings.Split(body.IDToken, ".")
				payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
				var claims struct {
					Exp int64 `json:"exp"`
				}
				if len(parts) != 3 || json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
					t.Errorf("the token endpoint's ID token has no exp: %.40q", body.IDToken)
				}
				exp = time.Unix(claims.Exp, 0)
			}}}
			p := newProvider(t, cfg)
			oidc.SetClock(p, func() time.Time { return exp.Add(tt.after) })
			f := newFlow()
			_, err := p.Finish(t.Context(), answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword), f)
			if tt.ok {
				if err != nil {
					t.Fatalf("Finish %v after exp: %v", tt.after, err)
				}
				return
			}
			wantInvalid(t, err, "expired")
		})
	}
}
