package jwt_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// FuzzVerifyToken sends arbitrary tokens to every realm of the fixture. A
// token never panics the verifier, never verifies unless it is one the test
// signed, and its error is always ErrBadToken or ErrNoEmailInToken, never
// quoting the token or a key.
//
// Run: go test -run '^$' -fuzz FuzzVerifyToken -fuzztime 30s ./backends/jwt
func FuzzVerifyToken(f *testing.F) {
	k := keys()
	signed := map[string]bool{}
	seed := func(token string, valid bool) {
		if valid {
			signed[token] = true
		}
		f.Add(token)
	}
	seed(hs256(iago()), true)
	seed(hs256(with("email", nil)), true) // valid, without email
	seed(sign(gojwt.SigningMethodRS256, k.rsa, iago(), nil), true)
	seed(sign(gojwt.SigningMethodES256, k.ec256, iago(), nil), true)
	seed(sign(gojwt.SigningMethodEdDSA, k.ed, iago(), nil), true)
	seed(sign(gojwt.SigningMethodHS256, []byte(k.rsaPEM), iago(), nil), false)
	seed(sign(gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType, iago(), nil), false)
	seed(hs256(with("exp", now.Add(-time.Hour).Unix())), false)
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.", strings.Repeat("A", 300)} {
		seed(s, false)
	}
	v := newVerifier(f)
	realms := []zulipauth.Realm{{}, {Subdomain: "rsa"}, {Subdomain: "ec"}, {Subdomain: "ed"}}
	secrets := []string{hmacSecret, pemBody(k.rsaPEM), pemBody(k.ec256PEM), pemBody(k.edPEM)}
	f.Fuzz(func(t *testing.T, token string) {
		for _, realm := range realms {
			email, err := v.VerifyToken(context.Background(), realm, token)
			if err == nil {
				if !signed[token] || email != "iago@zulip.com" {
					t.Fatalf("realm %q: a token the test did not sign verified: %q gives %q", realm.Subdomain, token, email)
				}
				continue
			}
			if !errors.Is(err, zulipauth.ErrBadToken) && !errors.Is(err, zulipauth.ErrNoEmailInToken) {
				t.Fatalf("realm %q: err = %v, want ErrBadToken or ErrNoEmailInToken", realm.Subdomain, err)
			}
			msg := err.Error()
			// The error texts have no dot, so no token of three parts can
			// be in them by chance; a long token cannot either.
			if (strings.Contains(token, ".") || len(token) >= 12) && strings.Contains(msg, token) {
				t.Fatalf("realm %q: the error %q quotes the token", realm.Subdomain, msg)
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Fatalf("the error %q quotes a key", msg)
				}
			}
		}
	})
}

// FuzzParseKeys: a keys file, whatever it holds, never panics ParseKeys,
// and what ParseKeys accepts New accepts.
//
// Run: go test -run '^$' -fuzz FuzzParseKeys -fuzztime 30s ./backends/jwt
func FuzzParseKeys(f *testing.F) {
	f.Add([]byte(goodKeysJSON))
	f.Add([]byte(`{"lear": {"key": "` + secretOf(64) + `", "algorithms": ["HS256", "HS512"]}, "": {"key": "` + secretOf(48) + `", "algorithms": ["HS384"]}}`))
	f.Add([]byte(`{"lear": {"key": "s", "algorithms": ["HS256", "HS512"]}, "": {"key": "t", "algorithms": ["HS384"]}}`))
	f.Add([]byte(`{"lear": {"key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "algorithms": ["RS256"]}}`))
	f.Add([]byte(`{"": {"key": "s", "algorithms": ["none"]}}`))
	f.Add([]byte("{\"lear\": {\"key\": \"" + secretOf(32) + "\", \"algorithms\": [\"HS256\"]},\n\"le\\u0061r\": {\"key\": \"" + secretOf(33) + "\", \"algorithms\": [\"HS256\"]}}"))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := jwt.ParseKeys(data)
		if err != nil {
			if !errors.Is(err, jwt.ErrInvalidKeys) || keys != nil {
				t.Fatalf("ParseKeys = %v, %v", keys, err)
			}
			return
		}
		if len(keys) == 0 {
			return // {}: New refuses it, on purpose
		}
		if _, err := jwt.New(keys); err != nil {
			t.Fatalf("ParseKeys accepted what New refuses: %v", err)
		}
	})
}

// FuzzJWTFetchAPIKey sends arbitrary tokens and include_profile values, to
// every realm, through the whole endpoint (the core's handler and this
// verifier): never a panic, never a 5xx, always one Zulip JSON body; only a
// token the test signed logs in, and no answer repeats the token (but
// for a bad include_profile, which the answer names).
func FuzzJWTFetchAPIKey(f *testing.F) {
	for _, seed := range []struct{ realm, token, include string }{
		{"", hs256(iago()), ""},
		{"", hs256(iago()), "true"},
		{"rsa", hs256(iago()), "false"},
		{"", "eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImlhZ29AenVsaXAuY29tIn0.", ""},
		{"nope", "a.b.c", "yes"},
		{"gone", "", "null"},
	} {
		f.Add(seed.realm, seed.token, seed.include)
	}
	s := newServer(f)
	signed := hs256(iago())
	f.Fuzz(func(t *testing.T, realm, token, include string) {
		if !validLabel(realm) {
			realm = ""
		}
		form := url.Values{"token": {token}}
		if include != "" {
			form.Set("include_profile", include)
		}
		w := s.post(realm, form)
		if w.Code >= 500 {
			t.Fatalf("status %d for realm %q token %q: %s", w.Code, realm, token, w.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || (m["result"] != "success" && m["result"] != "error") {
			t.Fatalf("not a Zulip JSON body: %q", w.Body)
		}
		if w.Code == 200 && token != signed {
			t.Fatalf("a token the test did not sign logged in: %q", token)
		}
		// A bad include_profile is echoed as Zulip does (msg and bad_value
		// name it): the token is looked for in the answer's other values.
		if m["var_name"] == "include_profile" {
			delete(m, "msg")
			delete(m, "bad_value")
		}
		for k, v := range m {
			if s, ok := v.(string); ok && len(token) >= 8 && strings.Contains(s, token) {
				t.Fatalf("the answer repeats the token in %s: %s", k, w.Body)
			}
		}
	})
}

// validLabel reports whether s can be a host name's first label.
func validLabel(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
