package jwt_test

import (
	"context"
	"fmt"
	"net/http"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Keys in the JSON of Zulip's JWT_AUTH_KEYS (in production, read with
// LoadKeysFile from a file of mode 0600), a Verifier over them, and the
// JWT login mounted with the other login endpoints.
func Example() {
	keys, err := jwt.ParseKeys([]byte(`{"": {"key": "a long random secret shared with the SSO", "algorithms": ["HS256"]}}`))
	if err != nil {
		panic(err)
	}
	verifier, err := jwt.New(keys)
	if err != nil {
		panic(err)
	}
	store := memstore.New()
	pw, err := password.New(store)
	if err != nil {
		panic(err)
	}
	auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw, TokenVerifier: verifier})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	auth.Mount(mux) // POST /api/v1/jwt/fetch_api_key among them
	fmt.Println(verifier, verifier.TokenLoginEnabled(zulipauth.Realm{}), verifier.TokenLoginEnabled(zulipauth.Realm{Subdomain: "lear"}))
	// Output: jwt.Verifier{Realms: [""]} true false
}

// The issuer signs a token with the shared secret; the Verifier returns its
// email claim.
func ExampleVerifier_VerifyToken() {
	secret := "a long random secret shared with the SSO"
	verifier, err := jwt.New(map[string]jwt.RealmKeys{"": {Key: secret, Algorithms: []string{"HS256"}}})
	if err != nil {
		panic(err)
	}
	// What the single sign-on does (here without exp; give one in practice).
	token, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{"email": "iago@zulip.com"}).SignedString([]byte(secret))

	email, err := verifier.VerifyToken(context.Background(), zulipauth.Realm{}, token)
	fmt.Println(email, err)
	_, err = verifier.VerifyToken(context.Background(), zulipauth.Realm{}, token+"x")
	fmt.Println(err)
	// Output:
	// iago@zulip.com <nil>
	// jwt: zulipauth: bad JSON web token: the signature does not verify
}

// A public key listed with an HMAC algorithm is refused: anyone who has
// the public key could sign tokens with it as the secret.
func ExampleNew_algorithmConfusion() {
	_, err := jwt.New(map[string]jwt.RealmKeys{"lear": {
		Key:        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
		Algorithms: []string{"HS256"},
	}})
	fmt.Println(err)
	// Output: jwt: invalid keys: realm "lear" lists HS256, an HMAC algorithm, with a public key (PEM or OpenSSH): a public key must never serve as an HMAC secret, since anyone who has it could sign tokens; list the key's own algorithm, or give the shared secret
}
