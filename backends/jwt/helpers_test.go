package jwt_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
)

// hmacSecret is the root realm's shared secret: distinctive, so a test can
// tell whether it leaked into an error or a log, and of 70 bytes, so that
// it is long enough for every HMAC algorithm (HS512 needs 64).
const hmacSecret = "hmac-secret-for-tests-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"

// secretOf is a shared secret of n bytes, of characters that no error
// message has four of in a row, so that assertNoSecret can look for any 4
// bytes of it.
func secretOf(n int) string {
	const alphabet = "Qz#Xv!Kw%J^q&Zx~"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i*7+n)%len(alphabet)]
	}
	return string(b)
}

// assertNoSecret fails when msg quotes secret or, for a secret of 8 bytes
// or more, any 4 bytes of it in a row: an error about a key may name the
// realm, the algorithm and a length, never any part of the key. A secret
// of under 4 bytes is not looked for: any text may have it by chance.
func assertNoSecret(t testing.TB, msg, secret string) {
	t.Helper()
	if len(secret) >= 4 && strings.Contains(msg, secret) {
		t.Fatalf("%q quotes the secret", msg)
	}
	if len(secret) < 8 {
		return
	}
	for i := 0; i+4 <= len(secret); i++ {
		if strings.Contains(msg, secret[i:i+4]) {
			t.Fatalf("%q quotes the secret's bytes %q", msg, secret[i:i+4])
		}
	}
}

// now is the instant every fixture's clock reads.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// testKeys are the key pairs of the tests, generated once per test binary
// (RSA generation is slow) with their public halves in PEM.
type testKeys struct {
	rsa           *rsa.PrivateKey
	rsaPEM        string
	ec256, ec384  *ecdsa.PrivateKey
	ec521         *ecdsa.PrivateKey
	ec256PEM      string
	ec384PEM      string
	ec521PEM      string
	ed            ed25519.PrivateKey
	edPEM         string
	rsaPrivatePEM string // PKCS #1 private key: refused as a key
	rsaPKCS1PEM   string // "RSA PUBLIC KEY": accepted
	rsaCertPEM    string // a self-signed certificate of the RSA key
	rsaSmall      *rsa.PrivateKey
	rsaSmallPEM   string // 1024 bits: refused
	otherRSA      *rsa.PrivateKey
	otherRSAPEM   string
	otherEd       ed25519.PrivateKey
}

var keys = sync.OnceValue(func() *testKeys {
	k := &testKeys{}
	var err error
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsaSmall, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.ec521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	_, k.otherEd, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	k.rsaPEM = publicPEM(&k.rsa.PublicKey)
	k.otherRSAPEM = publicPEM(&k.otherRSA.PublicKey)
	k.rsaSmallPEM = publicPEM(&k.rsaSmall.PublicKey)
	k.ec256PEM = publicPEM(&k.ec256.PublicKey)
	k.ec384PEM = publicPEM(&k.ec384.PublicKey)
	k.ec521PEM = publicPEM(&k.ec521.PublicKey)
	k.edPEM = publicPEM(k.ed.Public())
	k.rsaPrivatePEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa)}))
	k.rsaPKCS1PEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)}))
	tmpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.rsa.PublicKey, k.rsa)
	must(err)
	k.rsaCertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return k
})

func publicPEM(pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// pemBody is a line of a PEM block's base64: what an error quoting the key
// would contain.
func pemBody(p string) string { return strings.Split(p, "\n")[1] }

// realmKeys are the fixture's realms: the root realm with HS256, "rsa" with
// RS256 and PS256, "ec" with ES256, "ed" with EdDSA.
func realmKeys() map[string]jwt.RealmKeys {
	k := keys()
	return map[string]jwt.RealmKeys{
		"":    {Key: hmacSecret, Algorithms: []string{"HS256"}},
		"rsa": {Key: k.rsaPEM, Algorithms: []string{"RS256", "PS256"}},
		"ec":  {Key: k.ec256PEM, Algorithms: []string{"ES256"}},
		"ed":  {Key: k.edPEM, Algorithms: []string{"EdDSA"}},
	}
}

func newVerifier(t testing.TB, opts ...jwt.Option) *jwt.Verifier {
	t.Helper()
	v, err := jwt.New(realmKeys(), append([]jwt.Option{jwt.WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sign makes a token with golang-jwt, with extra header fields.
func sign(method gojwt.SigningMethod, key any, claims gojwt.MapClaims, header map[string]any) string {
	tok := gojwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		panic(err)
	}
	return s
}

// hs256 is a root-realm token for claims.
func hs256(claims gojwt.MapClaims) string {
	return sign(gojwt.SigningMethodHS256, []byte(hmacSecret), claims, nil)
}

// iago are the claims of a good token: Iago's email, valid for a minute.
func iago() gojwt.MapClaims {
	return gojwt.MapClaims{"email": "iago@zulip.com", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
}

// with returns iago's claims changed by kv (a nil value deletes the claim).
func with(kv ...any) gojwt.MapClaims {
	c := iago()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

var b64 = base64.RawURLEncoding.EncodeToString

// segments returns a token's three parts.
func segments(token string) (header, payload, sig string) {
	p := strings.Split(token, ".")
	return p[0], p[1], p[2]
}

// nonCanonical re-spells the last character of a base64url segment whose
// length leaves unused bits, so that it decodes to the same bytes in a
// lenient decoder: only a strict one notices.
func nonCanonical(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[i|1])
}

func bigOne() *big.Int { return big.NewInt(1) }
