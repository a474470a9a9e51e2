package jwt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
)

// The configurations New refuses, each with the words its error must have.
// None may quote the key.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	k := keys()
	one := func(key string, algs ...string) map[string]jwt.RealmKeys {
		return map[string]jwt.RealmKeys{"lear": {Key: key, Algorithms: algs}}
	}
	tests := []struct {
		name string
		keys map[string]jwt.RealmKeys
		want string
	}{
		{"no realm", nil, "no realm has keys"},
		{"empty map", map[string]jwt.RealmKeys{}, "no realm has keys"},
		{"none", one(hmacSecret, "none"), `realm "lear" lists the algorithm "none"`},
		{"NONE beside HS256", one(hmacSecret, "HS256", "NONE"), `"NONE": an unsigned token`},
		{"no algorithms", one(hmacSecret), "lists no algorithms"},
		{"nil algorithms", map[string]jwt.RealmKeys{"": {Key: hmacSecret}}, `the root realm "" lists no algorithms`},
		{"unknown algorithm", one(hmacSecret, "HS257"), `unknown algorithm "HS257"`},
		{"algorithm in lower case", one(hmacSecret, "hs256"), `unknown algorithm "hs256"`},
		{"empty key", one("", "HS256"), "empty key"},
		// The algorithm-confusion attack, refused at construction: an RSA
		// public key listed as an HMAC secret.
		{"HS256 with an RSA public key", one(k.rsaPEM, "HS256"), "a public key must never serve as an HMAC secret"},
		{"HS256 beside RS256 with an RSA key", one(k.rsaPEM, "RS256", "HS256"), "lists HS256, an HMAC algorithm"},
		{"HS512 with an Ed25519 key", one(k.edPEM, "HS512"), "HMAC"},
		{"HS256 with an OpenSSH key", one("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN0 user@host", "HS256"), "must never serve as an HMAC secret"},
		{"HS256 with a broken PEM", one("-----BEGIN PUBLIC KEY-----\nnot base64\n", "HS256"), "must never serve as an HMAC secret"},
		{"RS256 with a secret", one(hmacSecret, "RS256"), "lists RS256, which needs an RSA public key (PEM), but the key is a shared secret"},
		{"EdDSA with a secret", one(hmacSecret, "EdDSA"), "needs an Ed25519 public key"},
		{"RS256 with an EC key", one(k.ec256PEM, "RS256"), "needs an RSA public key (PEM), but the key is an ECDSA public key"},
		{"ES256 with an RSA key", one(k.rsaPEM, "ES256"), "needs an ECDSA public key (PEM), but the key is an RSA public key"},
		{"ES256 with a P-384 key", one(k.ec384PEM, "ES256"), "needs a key on the curve P-256, but the key is on P-384"},
		{"ES512 with a P-256 key", one(k.ec256PEM, "ES512"), "P-521"},
		{"EdDSA with an RSA key", one(k.rsaPEM, "EdDSA"), "needs an Ed25519 public key"},
		{"PS256 with an Ed25519 key", one(k.edPEM, "PS256"), "needs an RSA public key"},
		{"a private key", one(k.rsaPrivatePEM, "RS256"), `a private key (PEM "RSA PRIVATE KEY")`},
		{"a small RSA key", one(k.rsaSmallPEM, "RS256"), "RSA key of 1024 bits: at least 2048"},
		{"PEM that does not decode", one("-----BEGIN PUBLIC KEY-----\n@@@@\n-----END PUBLIC KEY-----\n", "RS256"), "does not decode as a PEM block"},
		{"DER that does not parse", one("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "RS256"), `PEM "PUBLIC KEY" block whose content does not decode`},
		{"two PEM blocks", one(k.rsaPEM+k.otherRSAPEM, "RS256"), "more than one PEM block"},
		{"another PEM type", one(strings.Replace(k.rsaPEM, "PUBLIC KEY", "X509 CRL", 2), "RS256"), "not a public key"},
		{"an OpenSSH key for RS256", one("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host", "RS256"), "OpenSSH public key: give it in PEM"},
		{"a realm in upper case", map[string]jwt.RealmKeys{"Lear": {Key: hmacSecret, Algorithms: []string{"HS256"}}}, `realm "Lear" is not a subdomain`},
		{"a host name for a realm", map[string]jwt.RealmKeys{"lear.example.com": {Key: hmacSecret, Algorithms: []string{"HS256"}}}, `give the subdomain alone`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := jwt.New(tt.keys)
			if err == nil || v != nil {
				t.Fatalf("New = %v, %v; want an error", v, err)
			}
			if !errors.Is(err, jwt.ErrInvalidKeys) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q\nwant ErrInvalidKeys with %q", err, tt.want)
			}
			assertNoKey(t, err.Error())
		})
	}
}

// assertNoKey fails when s quotes one of the fixture's keys.
func assertNoKey(t *testing.T, s string) {
	t.Helper()
	k := keys()
	for _, key := range []string{hmacSecret, pemBody(k.rsaPEM), pemBody(k.rsaPrivatePEM), pemBody(k.ec256PEM), pemBody(k.edPEM), "AAAAC3NzaC1lZDI1NTE5", "AAAAB3NzaC1yc2E"} {
		if strings.Contains(s, key) {
			t.Errorf("%q quotes a key", s)
		}
	}
}

// Options are checked by New.
func TestNewRefusesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  jwt.Option
		want string
	}{
		{"negative leeway", jwt.WithLeeway(-time.Second), "WithLeeway(-1s)"},
		{"leeway too long", jwt.WithLeeway(jwt.MaxLeeway + time.Second), "within [0, 5m0s]"},
		{"nil clock", jwt.WithClock(nil), "WithClock(nil)"},
		{"no token fits", jwt.WithMaxTokenBytes(jwt.MinMaxTokenBytes - 1), "at least 256 bytes"},
		{"zero bound", jwt.WithMaxTokenBytes(0), "WithMaxTokenBytes(0)"},
		{"nil option", nil, "an Option is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := jwt.New(realmKeys(), tt.opt)
			if err == nil || v != nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, %v; want an error with %q", v, err, tt.want)
			}
		})
	}
}

// A realm may list several algorithms of its key's kind.
func TestNewAccepts(t *testing.T) {
	t.Parallel()
	k := keys()
	tests := []struct {
		name string
		key  string
		algs []string
	}{
		{"every HMAC", hmacSecret, []string{"HS256", "HS384", "HS512"}},
		{"every RSA", k.rsaPEM, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}},
		{"a listed twice", hmacSecret, []string{"HS256", "HS256"}},
		{"a secret with white space", " " + secretOf(32) + "\n", []string{"HS256"}},
		// RFC 7518 §3.2: at least the hash's output, counted in bytes (the
		// key is the secret's UTF-8 bytes, as PyJWT encodes a str).
		{"32 bytes for HS256", secretOf(32), []string{"HS256"}},
		{"48 bytes for HS384", secretOf(48), []string{"HS384"}},
		{"64 bytes for HS512", secretOf(64), []string{"HS512"}},
		{"64 bytes for every HMAC", secretOf(64), []string{"HS512", "HS256", "HS384"}},
		{"32 bytes in 16 characters", strings.Repeat("é", 16), []string{"HS256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := jwt.New(map[string]jwt.RealmKeys{"a-realm-2": {Key: tt.key, Algorithms: tt.algs}}); err != nil {
				t.Error(err)
			}
		})
	}
}

// An HMAC secret shorter than its algorithm's hash output is refused (RFC
// 7518 §3.2: 32 bytes for HS256, 48 for HS384, 64 for HS512): a short
// secret can be found by brute force from one token, and whoever finds it
// signs tokens for any user. A realm listing several HMAC algorithms takes
// a token in any of them, so its secret must be long enough for the
// strongest. The error names the realm, the algorithm and the length
// needed, never the secret or any part of it. Before this check, New took
// a secret of one byte.
func TestNewRefusesShortHMACSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		realm  string
		secret string
		algs   []string
		want   string
	}{
		{"5 bytes for HS256", "lear", secretOf(5), []string{"HS256"}, `realm "lear" lists HS256, whose secret must have at least 32 bytes`},
		{"1 byte for HS256", "lear", "x", []string{"HS256"}, `lists HS256, whose secret must have at least 32 bytes`},
		{"31 bytes for HS256", "lear", secretOf(31), []string{"HS256"}, `lists HS256, whose secret must have at least 32 bytes`},
		{"31 bytes in the root realm", "", secretOf(31), []string{"HS256"}, `the root realm "" lists HS256, whose secret must have at least 32 bytes`},
		{"47 bytes for HS384", "lear", secretOf(47), []string{"HS384"}, `lists HS384, whose secret must have at least 48 bytes`},
		{"63 bytes for HS512", "lear", secretOf(63), []string{"HS512"}, `lists HS512, whose secret must have at least 64 bytes`},
		{"40 bytes for HS256 and HS512", "lear", secretOf(40), []string{"HS256", "HS512"}, `realm "lear" lists HS512, whose secret must have at least 64 bytes`},
		{"48 bytes for HS512 and HS384", "lear", secretOf(48), []string{"HS512", "HS384"}, `lists HS512, whose secret must have at least 64 bytes`},
		{"31 bytes in 16 characters", "lear", strings.Repeat("é", 15) + "!", []string{"HS256"}, `at least 32 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := jwt.New(map[string]jwt.RealmKeys{tt.realm: {Key: tt.secret, Algorithms: tt.algs}})
			if err == nil || v != nil {
				t.Fatalf("New = %v, %v; want an error", v, err)
			}
			if !errors.Is(err, jwt.ErrInvalidKeys) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q\nwant ErrInvalidKeys with %q", err, tt.want)
			}
			assertNoSecret(t, err.Error(), tt.secret)
			// The same keys as Zulip's JWT_AUTH_KEYS, in a file's JSON.
			data, _ := json.Marshal(map[string]jwt.RealmKeys{tt.realm: {Key: tt.secret, Algorithms: tt.algs}})
			keys, err := jwt.ParseKeys(data)
			if err == nil || keys != nil {
				t.Fatalf("ParseKeys = %v, %v; want an error", keys, err)
			}
			if !errors.Is(err, jwt.ErrInvalidKeys) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseKeys: err = %q\nwant ErrInvalidKeys with %q", err, tt.want)
			}
			assertNoSecret(t, err.Error(), tt.secret)
		})
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k := keys()
	pemJSON, _ := json.Marshal(k.rsaPEM)
	data := `{"": {"key": "` + hmacSecret + `", "algorithms": ["HS256"]},
	          "lear": {"algorithms": ["RS256", "PS256"], "key": ` + string(pemJSON) + `}}`
	got, err := jwt.ParseKeys([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[""].Key != hmacSecret || got["lear"].Key != k.rsaPEM ||
		strings.Join(got["lear"].Algorithms, ",") != "RS256,PS256" || strings.Join(got[""].Algorithms, ",") != "HS256" {
		t.Fatalf("ParseKeys = %#v", got) // %#v is redacted: see TestRedacted
	}
	if _, err := jwt.New(got); err != nil {
		t.Errorf("New(ParseKeys(...)): %v", err)
	}
}

func TestParseKeysRefuses(t *testing.T) {
	t.Parallel()
	k := keys()
	pemJSON, _ := json.Marshal(k.rsaPEM)
	hs := `"key": "` + hmacSecret + `", "algorithms": ["HS256"]`
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", ``, "no JSON value"},
		{"null", `null`, "not null"},
		{"an array", `[{` + hs + `}]`, "want a JSON object {\"<subdomain>\": {\"key\": ..., \"algorithms\": [...]}}: found a JSON array"},
		{"a string", `"` + hmacSecret + `"`, "want a JSON object"},
		{"syntax error inside the key", `{"": {"key": "` + hmacSecret + "\n" + `", "algorithms": ["HS256"]}}`, "not valid JSON (at byte"},
		{"truncated", `{"": {` + hs, "the JSON ends early"},
		{"data after", `{"": {` + hs + `}} {}`, "data after the JSON value"},
		{"unknown field", `{"lear": {` + hs + `, "kid": "1"}}`, `realm "lear" has the unknown field "kid"`},
		{"misspelt field", `{"lear": {"kee": "` + hmacSecret + `", "algorithms": ["HS256"]}}`, `unknown field "kee"`},
		{"no key", `{"lear": {"algorithms": ["HS256"]}}`, `realm "lear" has no "key"`},
		{"no algorithms", `{"lear": {"key": "` + hmacSecret + `"}}`, `has no "algorithms"`},
		{"key null", `{"lear": {"key": null, "algorithms": ["HS256"]}}`, `"key" that is not a JSON string`},
		{"key a number", `{"lear": {"key": 123456, "algorithms": ["HS256"]}}`, `"key" that is not a JSON string`},
		{"key an object", `{"lear": {"key": {"k": "` + hmacSecret + `"}, "algorithms": ["HS256"]}}`, `"key" that is not a JSON string`},
		{"algorithms a string", `{"lear": {"key": "s", "algorithms": "HS256"}}`, `"algorithms" that are not a JSON array of strings`},
		{"algorithms null", `{"lear": {"key": "s", "algorithms": null}}`, `not a JSON array of strings`},
		{"algorithm a number", `{"lear": {"key": "s", "algorithms": [256]}}`, `not a JSON array of strings`},
		{"entry null", `{"lear": null}`, `realm "lear" is not a JSON object`},
		{"entry an array", `{"lear": ["s", "HS256"]}`, `is not a JSON object`},
		{"no algorithm listed", `{"lear": {"key": "s", "algorithms": []}}`, "lists no algorithms"},
		{"none", `{"": {"key": "s", "algorithms": ["none"]}}`, `the root realm "" lists the algorithm "none"`},
		{"algorithm confusion", `{"lear": {"key": ` + string(pemJSON) + `, "algorithms": ["HS256"]}}`, "must never serve as an HMAC secret"},
		{"a host name", `{"lear.example.com": {` + hs + `}}`, "give the subdomain alone"},
		// Sorted: the root realm's problem is reported, every time.
		{"two problems", `{"zed": {"key": "s", "algorithms": []}, "": {"key": "", "algorithms": ["HS256"]}}`, `the root realm "" has an empty key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := jwt.ParseKeys([]byte(tt.data))
			if err == nil || got != nil {
				t.Fatalf("ParseKeys = %v, %v; want an error", got, err)
			}
			if !errors.Is(err, jwt.ErrInvalidKeys) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q\nwant ErrInvalidKeys with %q", err, tt.want)
			}
			assertNoKey(t, err.Error())
		})
	}
}

// A realm named twice in a keys file is refused: encoding/json would keep
// the last entry and drop the first without a word, so the key in force
// would not be the one an operator reads first in the file (or a second
// entry added at the end would silently replace a realm's key). Names are
// compared as the Verifier looks realms up: exactly, once JSON's escapes
// are decoded ("le\u0061r" is "lear"); names that differ in letter case
// cannot both be valid, since a realm name is lower case. A field named
// twice in one entry is refused for the same reason. The error names the
// realm and the entries, never a key. Before this check, the last entry won.
func TestParseKeysRefusesDuplicates(t *testing.T) {
	t.Parallel()
	a, b := secretOf(40), secretOf(41)
	entry := func(secret string) string { return `{"key": "` + secret + `", "algorithms": ["HS256"]}` }
	tests := []struct {
		name string
		data string
		want string
	}{
		{"a realm twice", "{\n \"lear\": " + entry(a) + ",\n \"\": " + entry(b) + ",\n \"lear\": " + entry(b) + "\n}",
			`realm "lear" is named twice, in entries 1 and 3 (lines 2 and 4): give each realm one entry`},
		{"the root realm twice on one line", `{"": ` + entry(a) + `, "": ` + entry(b) + `}`,
			`the root realm "" is named twice, in entries 1 and 2 (both on line 1)`},
		{"a realm three times", "{\"lear\": " + entry(a) + ",\n\"lear\": " + entry(b) + ",\n\"lear\": " + entry(a) + "}",
			`realm "lear" is named twice, in entries 1 and 2 (lines 1 and 2)`},
		{"the same entry twice", "{\"lear\": " + entry(a) + ",\n\"lear\": " + entry(a) + "}", `realm "lear" is named twice`},
		{"a name spelt with an escape", "{\"lear\": " + entry(a) + ",\n\"le\\u0061r\": " + entry(b) + "}",
			`realm "lear" is named twice, in entries 1 and 2 (lines 1 and 2)`},
		{"a name in another case", "{\"lear\": " + entry(a) + ",\n\"Lear\": " + entry(b) + "}", `realm "Lear" is not a subdomain`},
		{"the key twice", `{"lear": {"key": "` + a + `", "algorithms": ["HS256"], "key": "` + b + `"}}`, `realm "lear" has the field "key" twice: give it once`},
		{"the algorithms twice", `{"lear": {"algorithms": ["HS512"], "key": "` + a + `", "algorithms": ["HS256"]}}`, `realm "lear" has the field "algorithms" twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := jwt.ParseKeys([]byte(tt.data))
			if err == nil || got != nil {
				t.Fatalf("ParseKeys = %v, %v; want an error", got, err)
			}
			if !errors.Is(err, jwt.ErrInvalidKeys) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q\nwant ErrInvalidKeys with %q", err, tt.want)
			}
			assertNoSecret(t, err.Error(), a)
			assertNoSecret(t, err.Error(), b)
		})
	}
}

// Printing or logging keys or a Verifier, with any verb or handler, never
// shows a key: a RealmKeys reaches a log line as soon as someone logs the
// configuration.
func TestRedacted(t *testing.T) {
	t.Parallel()
	k := keys()
	m := realmKeys()
	v := newVerifier(t)
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		out = append(out, fmt.Sprintf(verb, m[""]), fmt.Sprintf(verb, m), fmt.Sprintf(verb, v), fmt.Sprintf(verb, []jwt.RealmKeys{m["rsa"]}), fmt.Sprintf(verb, &struct{ K jwt.RealmKeys }{m["ed"]}))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("config", "root", m[""], "rsa", m["rsa"], "verifier", v)
	}
	out = append(out, buf.String())
	all := strings.Join(out, "\n")
	for _, secret := range []string{hmacSecret, pemBody(k.rsaPEM), pemBody(k.edPEM), pemBody(k.ec256PEM)} {
		if strings.Contains(all, secret) {
			t.Fatalf("a key was printed:\n%s", all)
		}
	}
	if !strings.Contains(all, `jwt.RealmKeys{Algorithms: ["HS256"], Key: [redacted]}`) || !strings.Contains(all, `"algorithms":["RS256","PS256"]`) ||
		!strings.Contains(all, `jwt.Verifier{Realms: ["" "ec" "ed" "rsa"]}`) {
		t.Errorf("the redacted forms are not what they should be:\n%s", all)
	}
}
