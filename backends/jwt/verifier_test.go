package jwt_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// tokenCase is one token sent to one realm of the fixture, and what it
// must give: an email, zulipauth.ErrBadToken or zulipauth.ErrNoEmailInToken.
// The handler's tests send the same cases over HTTP.
type tokenCase struct {
	name  string
	realm string
	token string
	want  error  // nil: valid
	email string // when valid
}

func tokenCases() []tokenCase {
	k := keys()
	good := hs256(iago())
	header, payload, sig := segments(good)
	ok := func(name, realm, token string) tokenCase {
		return tokenCase{name: name, realm: realm, token: token, email: "iago@zulip.com"}
	}
	bad := func(name, realm, token string) tokenCase {
		return tokenCase{name: name, realm: realm, token: token, want: zulipauth.ErrBadToken}
	}
	noEmail := func(name, token string) tokenCase {
		return tokenCase{name: name, token: token, want: zulipauth.ErrNoEmailInToken}
	}
	unsigned := sign(gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType, iago(), nil)
	return []tokenCase{
		ok("HS256", "", good),
		ok("RS256", "rsa", sign(gojwt.SigningMethodRS256, k.rsa, iago(), nil)),
		ok("PS256", "rsa", sign(gojwt.SigningMethodPS256, k.rsa, iago(), nil)),
		ok("ES256", "ec", sign(gojwt.SigningMethodES256, k.ec256, iago(), nil)),
		ok("EdDSA", "ed", sign(gojwt.SigningMethodEdDSA, k.ed, iago(), nil)),
		ok("no exp, iat or nbf", "", hs256(gojwt.MapClaims{"email": "iago@zulip.com"})),
		ok("other claims", "", hs256(with("sub", "42", "iss", "sso.example", "jti", "x", "name", "Iago"))),
		ok("a string kid", "", sign(gojwt.SigningMethodHS256, []byte(hmacSecret), iago(), map[string]any{"kid": "2026"})),

		bad("two parts", "", header+"."+payload),
		bad("four parts", "", good+".x"),
		bad("one part", "", "forged"),
		bad("header not base64url", "", "!!!."+payload+"."+sig),
		bad("payload not base64url", "", header+".~~~."+sig),
		bad("signature not base64url", "", header+"."+payload+".***"),
		bad("padded base64", "", header+"."+payload+"."+sig+"="),
		// A second spelling of the same signature bytes: without strict
		// decoding a token would have several valid forms.
		bad("non-canonical base64", "", header+"."+payload+"."+nonCanonical(sig)),
		// Go's base64 skips CR and LF, and the signature part is not
		// signed: line breaks in it would give the same token another
		// spelling, which the fuzzer found.
		bad("line breaks in the signature", "", header+"."+payload+"."+sig[:1]+"\n\n\r\n"+sig[1:]),
		bad("a line feed at the end", "", good+"\n"),
		bad("a space in the signature", "", header+"."+payload+"."+sig[:4]+" "+sig[4:]),
		bad("header not JSON", "", b64([]byte("not json"))+"."+payload+"."+sig),
		bad("payload not JSON", "", header+"."+b64([]byte("{email"))+"."+sig),
		bad("payload a JSON array", "", header+"."+b64([]byte(`["iago@zulip.com"]`))+"."+sig),
		bad("wrong secret", "", sign(gojwt.SigningMethodHS256, []byte("another secret entirely"), iago(), nil)),
		bad("tampered payload", "", header+"."+b64([]byte(`{"email":"desdemona@zulip.com"}`))+"."+sig),
		bad("no signature", "", header+"."+payload+"."),
		bad("unlisted algorithm HS512", "", sign(gojwt.SigningMethodHS512, []byte(hmacSecret), iago(), nil)),
		bad("unlisted algorithm RS512", "rsa", sign(gojwt.SigningMethodRS512, k.rsa, iago(), nil)),
		bad("alg none", "", unsigned),
		bad("alg none, signature kept", "", strings.TrimSuffix(unsigned, ".")+"."+sig),
		bad("alg None", "", b64([]byte(`{"alg":"None","typ":"JWT"}`))+"."+payload+"."),
		bad("no alg", "", b64([]byte(`{"typ":"JWT"}`))+"."+payload+"."+sig),
		bad("alg not a string", "", b64([]byte(`{"alg":256}`))+"."+payload+"."+sig),
		bad("another realm's key", "rsa", sign(gojwt.SigningMethodRS256, k.otherRSA, iago(), nil)),
		bad("the root realm's token to another", "ed", good),
		// The algorithm-confusion attack: the RSA public key, which anyone
		// may know, used as an HMAC secret. The realm lists RS256 only.
		bad("algorithm confusion", "rsa", sign(gojwt.SigningMethodHS256, []byte(k.rsaPEM), iago(), nil)),
		bad("EdDSA with another key", "ed", sign(gojwt.SigningMethodEdDSA, k.otherEd, iago(), nil)),
		bad("ES256 signed by ES384 key", "ec", sign(gojwt.SigningMethodES384, k.ec384, iago(), nil)),
		bad("realm without keys", "nokeys", good),

		bad("expired", "", hs256(with("exp", now.Add(-11*time.Second).Unix()))),
		bad("expired at the leeway's end", "", hs256(with("exp", now.Add(-jwt.DefaultLeeway).Unix()))),
		ok("expired within the leeway", "", hs256(with("exp", now.Add(-9*time.Second).Unix()))),
		bad("exp 0", "", hs256(with("exp", 0))),
		bad("exp not a number", "", hs256(with("exp", "tomorrow"))),
		bad("exp null", "", hs256(with("exp", gojwt.MapClaims(nil)))),
		bad("not valid yet", "", hs256(with("nbf", now.Add(11*time.Second).Unix()))),
		ok("nbf within the leeway", "", hs256(with("nbf", now.Add(9*time.Second).Unix()))),
		bad("nbf not a number", "", hs256(with("nbf", true))),
		bad("issued in the future", "", hs256(with("iat", now.Add(11*time.Second).Unix()))),
		ok("iat within the leeway", "", hs256(with("iat", now.Add(9*time.Second).Unix()))),
		bad("an audience", "", hs256(with("aud", "another-service"))),
		bad("audiences", "", hs256(with("aud", []string{"a", "b"}))),
		bad("aud not a string", "", hs256(with("aud", 7))),
		ok("empty aud", "", hs256(with("aud", ""))),
		ok("empty aud list", "", hs256(with("aud", []string{}))),
		bad("crit header", "", sign(gojwt.SigningMethodHS256, []byte(hmacSecret), iago(), map[string]any{"crit": []string{"exp"}})),
		bad("kid not a string", "", sign(gojwt.SigningMethodHS256, []byte(hmacSecret), iago(), map[string]any{"kid": 7})),
		bad("too long", "", hs256(with("pad", strings.Repeat("x", jwt.DefaultMaxTokenBytes)))),

		noEmail("no email", hs256(with("email", nil))),
		noEmail("email null", hs256(with("email", gojwt.MapClaims(nil)))),
		noEmail("email empty", hs256(with("email", ""))),
		noEmail("email white space", hs256(with("email", " \t"))),
		noEmail("email a number", hs256(with("email", 42))),
		noEmail("email a list", hs256(with("email", []string{"iago@zulip.com"}))),
		noEmail("EMAIL", hs256(with("email", nil, "EMAIL", "iago@zulip.com"))),
	}
}

func TestVerifyToken(t *testing.T) {
	t.Parallel()
	v := newVerifier(t)
	k := keys()
	for _, tt := range tokenCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			email, err := v.VerifyToken(context.Background(), zulipauth.Realm{Subdomain: tt.realm}, tt.token)
			if tt.want == nil {
				if err != nil || email != tt.email {
					t.Fatalf("VerifyToken = %q, %v; want %q", email, err, tt.email)
				}
				return
			}
			if !errors.Is(err, tt.want) || email != "" {
				t.Fatalf("VerifyToken = %q, %v; want %v", email, err, tt.want)
			}
			other := zulipauth.ErrNoEmailInToken
			if tt.want == other {
				other = zulipauth.ErrBadToken
			}
			if errors.Is(err, other) {
				t.Errorf("%v is also %v", err, other)
			}
			msg := err.Error()
			for _, secret := range []string{tt.token, hmacSecret, pemBody(k.rsaPEM), pemBody(k.edPEM)} {
				if strings.Contains(msg, secret) {
					t.Errorf("the error %q quotes the token or a key", msg)
				}
			}
		})
	}
}

// The leeway is configurable, down to Zulip's none.
func TestWithLeeway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		leeway time.Duration
		exp    time.Duration // from now
		valid  bool
	}{
		{"none, expired a second ago", 0, -time.Second, false},
		{"none, expires in a second", 0, time.Second, true},
		{"none, expires now", 0, 0, false},
		{"a minute, expired 59 s ago", time.Minute, -59 * time.Second, true},
		{"a minute, expired 61 s ago", time.Minute, -61 * time.Second, false},
		{"the most, expired 4 min ago", jwt.MaxLeeway, -4 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, jwt.WithLeeway(tt.leeway))
			_, err := v.VerifyToken(context.Background(), zulipauth.Realm{}, hs256(with("exp", now.Add(tt.exp).Unix())))
			if (err == nil) != tt.valid {
				t.Errorf("err = %v, want valid = %v", err, tt.valid)
			}
		})
	}
}

// The clock is read at each verification, not once: a verifier outlives
// the tokens it accepted.
func TestWithClockIsReadEachTime(t *testing.T) {
	t.Parallel()
	at := now
	v, err := jwt.New(realmKeys(), jwt.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	token := hs256(iago()) // exp in a minute
	if _, err := v.VerifyToken(context.Background(), zulipauth.Realm{}, token); err != nil {
		t.Fatalf("before exp: %v", err)
	}
	at = now.Add(time.Minute + jwt.DefaultLeeway)
	if _, err := v.VerifyToken(context.Background(), zulipauth.Realm{}, token); !errors.Is(err, zulipauth.ErrBadToken) {
		t.Fatalf("after exp and leeway: %v, want ErrBadToken", err)
	}
}

// A token over the bound is refused before decoding, even with a good
// signature; a larger bound lets it through.
func TestWithMaxTokenBytes(t *testing.T) {
	t.Parallel()
	token := hs256(with("pad", strings.Repeat("x", 600)))
	tests := []struct {
		name  string
		max   int
		valid bool
	}{
		{"default", 0, true},
		{"just enough", len(token), true},
		{"a byte short", len(token) - 1, false},
		{"the least", jwt.MinMaxTokenBytes, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []jwt.Option
			if tt.max > 0 {
				opts = append(opts, jwt.WithMaxTokenBytes(tt.max))
			}
			_, err := newVerifier(t, opts...).VerifyToken(context.Background(), zulipauth.Realm{}, token)
			if (err == nil) != tt.valid {
				t.Errorf("err = %v, want valid = %v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, zulipauth.ErrBadToken) {
				t.Errorf("err = %v, want ErrBadToken", err)
			}
		})
	}
}

func TestTokenLoginEnabled(t *testing.T) {
	t.Parallel()
	v := newVerifier(t)
	tests := []struct {
		name  string
		realm zulipauth.Realm
		want  bool
	}{
		{"root", zulipauth.Realm{}, true},
		{"rsa", zulipauth.Realm{Subdomain: "rsa"}, true},
		{"deactivated, with keys", zulipauth.Realm{Subdomain: "ed", Deactivated: true}, true},
		{"without keys", zulipauth.Realm{Subdomain: "lear"}, false},
		{"case matters", zulipauth.Realm{Subdomain: "RSA"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := v.TokenLoginEnabled(tt.realm); got != tt.want {
				t.Errorf("TokenLoginEnabled = %v, want %v", got, tt.want)
			}
		})
	}
}

// An ended context is its own error, not a bad token: the handler answers
// it as the client going away, or as a fault.
func TestVerifyTokenHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newVerifier(t).VerifyToken(ctx, zulipauth.Realm{}, hs256(iago()))
	if !errors.Is(err, context.Canceled) || errors.Is(err, zulipauth.ErrBadToken) {
		t.Errorf("err = %v, want context.Canceled only", err)
	}
}

// Every algorithm Algorithms lists verifies a token signed with a fitting
// key, through golang-jwt.
func TestAlgorithms(t *testing.T) {
	t.Parallel()
	k := keys()
	want := []string{"ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}
	if got := jwt.Algorithms(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Algorithms() = %v, want %v", got, want)
	}
	type pair struct {
		signWith any
		public   string
	}
	byAlg := map[string]pair{
		"HS": {[]byte(hmacSecret), hmacSecret},
		"RS": {k.rsa, k.rsaPEM}, "PS": {k.rsa, k.rsaPEM},
		"ES256": {k.ec256, k.ec256PEM}, "ES384": {k.ec384, k.ec384PEM}, "ES512": {k.ec521, k.ec521PEM},
		"Ed": {k.ed, k.edPEM},
	}
	for _, alg := range want {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			p, ok := byAlg[alg]
			if !ok {
				p = byAlg[alg[:2]]
			}
			v, err := jwt.New(map[string]jwt.RealmKeys{"r": {Key: p.public, Algorithms: []string{alg}}}, jwt.WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			token := sign(gojwt.GetSigningMethod(alg), p.signWith, iago(), nil)
			if email, err := v.VerifyToken(context.Background(), zulipauth.Realm{Subdomain: "r"}, token); err != nil || email != "iago@zulip.com" {
				t.Errorf("VerifyToken = %q, %v", email, err)
			}
		})
	}
}

// A PKCS #1 public key and a certificate serve as RSA keys too.
func TestRSAKeyEncodings(t *testing.T) {
	t.Parallel()
	k := keys()
	token := sign(gojwt.SigningMethodRS256, k.rsa, iago(), nil)
	for name, pemKey := range map[string]string{"PKIX": k.rsaPEM, "PKCS1": k.rsaPKCS1PEM, "certificate": k.rsaCertPEM, "surrounded by white space": "\n  " + k.rsaPEM + "\n\n"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v, err := jwt.New(map[string]jwt.RealmKeys{"": {Key: pemKey, Algorithms: []string{"RS256"}}}, jwt.WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.VerifyToken(context.Background(), zulipauth.Realm{}, token); err != nil {
				t.Error(err)
			}
		})
	}
}

// New copies the keys: a later change to the caller's map changes nothing.
func TestNewCopiesKeys(t *testing.T) {
	t.Parallel()
	m := realmKeys()
	v, err := jwt.New(m, jwt.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	m[""].Algorithms[0] = "HS512"
	m["lear"] = m[""]
	if _, err := v.VerifyToken(context.Background(), zulipauth.Realm{}, hs256(iago())); err != nil {
		t.Errorf("HS256 after the caller's change: %v", err)
	}
	if v.TokenLoginEnabled(zulipauth.Realm{Subdomain: "lear"}) {
		t.Error("a realm added to the caller's map afterwards is enabled")
	}
}
