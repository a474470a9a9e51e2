package oidc

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The identity from the claims of the ID token and of userinfo. The test
// provider never puts the email in its ID tokens, so the first rows are
// this test's alone.
func TestIdentity(t *testing.T) {
	for _, tt := range []struct {
		name      string
		token     string
		userinfo  string // "" when the ID token had an email
		want      zulipauth.Identity
		wantError bool
	}{
		{"the ID token's", `{"email":"a@x.org","email_verified":true,"name":"A B"}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org", EmailVerified: true, Name: "A B"}, false},
		{"verified as a string", `{"email":"a@x.org","email_verified":"true"}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org", EmailVerified: true}, false},
		{"not verified", `{"email":"a@x.org","email_verified":false}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org"}, false},
		{"verified absent", `{"email":"a@x.org"}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org"}, false},
		{"verified neither true nor false", `{"email":"a@x.org","email_verified":"yes"}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org"}, false},
		{"verified 1", `{"email":"a@x.org","email_verified":1}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org"}, false},
		{"given and family names", `{"email":"a@x.org","given_name":" Ada ","family_name":"Lovelace"}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org", Name: "Ada Lovelace"}, false},
		{"a given name alone", `{"email":"a@x.org","given_name":"Ada","name":"  "}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org", Name: "Ada"}, false},
		{"name before the parts", `{"email":"a@x.org","name":"Countess","given_name":"Ada"}`, "",
			zulipauth.Identity{Subject: "s", Email: "a@x.org", Name: "Countess"}, false},
		{"userinfo's", `{"name":"From Token"}`, `{"email":"u@x.org","email_verified":true,"name":"From Userinfo"}`,
			zulipauth.Identity{Subject: "s", Email: "u@x.org", EmailVerified: true, Name: "From Token"}, false},
		{"userinfo's name", `{}`, `{"email":"u@x.org","given_name":"Ada","family_name":"Lovelace"}`,
			zulipauth.Identity{Subject: "s", Email: "u@x.org", Name: "Ada Lovelace"}, false},
		// A verified flag in the ID token says nothing of userinfo's email.
		{"verified in the token, email in userinfo", `{"email_verified":true}`, `{"email":"u@x.org"}`,
			zulipauth.Identity{Subject: "s", Email: "u@x.org"}, false},
		{"email not a string", `{"email":1}`, "", zulipauth.Identity{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var token claims
			if err := json.Unmarshal([]byte(tt.token), &token); err != nil {
				if !tt.wantError {
					t.Fatal(err)
				}
				return
			}
			if tt.wantError {
				t.Fatal("the claims decoded")
			}
			var info *claims
			if tt.userinfo != "" {
				info = new(claims)
				if err := json.Unmarshal([]byte(tt.userinfo), info); err != nil {
					t.Fatal(err)
				}
			}
			if got := identity("s", token, info); got != tt.want {
				t.Errorf("identity is %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Whatever the query of the answer at the callback (a client's, or an
// attacker's), answer returns a code only with the flow's state and
// without an error; otherwise ErrSSODenied or ErrSSOInvalid, never both,
// with a message on one line and of bounded length.
func FuzzAnswer(f *testing.F) {
	const token = "Gm0Xg3yq2yXzD3o4q0b3aK1pQ8vJ5sT7uW9xY1zA2bC"
	for _, q := range []string{
		"code=abc&state=" + token,
		"error=access_denied&state=" + token,
		"error=x%0Ay&error_description=" + strings.Repeat("%E2%80%AE", 100) + "&state=" + token,
		"code=abc&iss=https%3A%2F%2Fop.example%2F&state=" + token,
		"state=" + token + "&state=other",
		"",
	} {
		f.Add(q)
	}
	p := &Provider{issuer: "https://op.example/"}
	flow := zulipauth.SSOFlow{Token: token}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		code, err := p.answer(q, flow)
		denied, invalid := errors.Is(err, zulipauth.ErrSSODenied), errors.Is(err, zulipauth.ErrSSOInvalid)
		switch {
		case err == nil:
			if code == "" || q.Get("state") != token || q.Has("error") {
				t.Fatalf("answer(%q) gave the code %q", raw, code)
			}
		case denied == invalid:
			t.Fatalf("answer(%q): %v, want one of ErrSSODenied and ErrSSOInvalid", raw, err)
		case strings.ContainsAny(err.Error(), "\r\n") || len(err.Error()) > 400 || !utf8.ValidString(err.Error()):
			t.Fatalf("answer(%q): the error %q has a line break, is long or is not UTF-8", raw, err)
		}
	})
}
