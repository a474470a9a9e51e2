package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// jwtSecret is the root realm's HS256 key in the tests' JWT_AUTH_KEYS.
const jwtSecret = "a test secret of at least thirty-two bytes"

// jwtKeysFile writes Zulip's JWT_AUTH_KEYS for the root realm, readable by
// its owner only, as the server requires.
func jwtKeysFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwt-keys.json")
	keys := `{"": {"key": "` + jwtSecret + `", "algorithms": ["HS256"]}}`
	if err := os.WriteFile(path, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// signedToken is an HS256 token with claims, signed with key.
func signedToken(t testing.TB, key string, claims gojwt.MapClaims) string {
	t.Helper()
	tok, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// The JWT login's bodies, success and errors, against Zulip's own OpenAPI
// description (its entry is in the newest excerpts).
func TestJWTLoginMatchesZulipOpenAPI(t *testing.T) {
	t.Parallel()
	dir := openAPIDir(t)
	doc := zulipOpenAPI(t, dir)
	newest := newestZulipOpenAPI(t, dir)
	db := tempDB(t)
	srv, logs := testServer(t, db, func(c *serveConfig) { c.auth.jwtKeys = jwtKeysFile(t) })
	u := parseUser(t, mustAdmin(t, db, "a long password\n", "create-user", "-email", "Iago@zulip.com", "-full-name", "Iago"))
	exp := time.Now().Add(time.Hour).Unix()
	good := signedToken(t, jwtSecret, gojwt.MapClaims{"email": "iago@zulip.com", "exp": exp})
	schema := responseSchema(t, newest, "/jwt/fetch_api_key", "POST", 200)

	for _, include := range []string{"", "false", "true"} {
		form := url.Values{"token": {good}}
		if include != "" {
			form.Set("include_profile", include)
		}
		code, body := do(t, "POST", srv.URL+"/api/v1/jwt/fetch_api_key", form, nil)
		if code != 200 || !strings.Contains(string(body), `"api_key":"`+u.APIKey+`"`) || !strings.Contains(string(body), `"email":"Iago@zulip.com"`) {
			t.Fatalf("include_profile=%q: %d %s", include, code, body)
		}
		if got := strings.Contains(string(body), `"user":{`); got != (include == "true") {
			t.Errorf("include_profile=%q: user object present = %v: %s", include, got, body)
		}
		validate(t, schema, "jwt/fetch_api_key 200, include_profile="+include, body)
	}

	coded := componentSchema(t, doc, "CodedError")
	for _, tc := range []struct {
		name, token string
		status      int
		msg         string
	}{
		{"empty", "", 400, "No JSON web token passed in request"},
		{"not three parts", "abc.def", 400, "Bad JSON web token"},
		{"bad base64", "!!!.???.***", 400, "Bad JSON web token"},
		{"wrong signature", signedToken(t, "another secret of thirty-two bytes!!", gojwt.MapClaims{"email": "iago@zulip.com"}), 400, "Bad JSON web token"},
		{"expired", signedToken(t, jwtSecret, gojwt.MapClaims{"email": "iago@zulip.com", "exp": time.Now().Add(-time.Hour).Unix()}), 400, "Bad JSON web token"},
		{"alg none", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJlbWFpbCI6ImlhZ29AenVsaXAuY29tIn0.", 400, "Bad JSON web token"},
		{"no email claim", signedToken(t, jwtSecret, gojwt.MapClaims{"sub": "iago"}), 400, "No email specified in JSON web token claims"},
		{"unknown user", signedToken(t, jwtSecret, gojwt.MapClaims{"email": "nobody@zulip.com"}), 401, "Your username or password is incorrect"},
	} {
		code, body := do(t, "POST", srv.URL+"/api/v1/jwt/fetch_api_key", url.Values{"token": {tc.token}}, nil)
		if code != tc.status || !strings.Contains(string(body), `"msg":"`+tc.msg+`"`) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, code, body, tc.status, tc.msg)
		}
		validate(t, coded, tc.name, body)
	}
	if strings.Contains(logs.String(), good) || strings.Contains(logs.String(), jwtSecret) {
		t.Error("a token or the key reached the log")
	}
}

// -jwt-keys refuses a file others may read: it holds the keys that mint
// any user's API key.
func TestJWTKeysFileMustBePrivate(t *testing.T) {
	t.Parallel()
	path := jwtKeysFile(t)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	c := serveConfig{}
	c.auth.jwtKeys = path
	if _, err := c.auth.tokenVerifier(); err == nil || !strings.Contains(err.Error(), "chmod") {
		t.Errorf("a world-readable key file: %v, want a refusal saying to chmod it", err)
	}
}

// -jwt-keys refuses, at start, a secret too short for HS256 (RFC 7518
// §3.2: 32 bytes) and a file that names a realm twice (JSON would keep the
// last entry silently); the error names the realm and never the secret.
func TestJWTKeysFileRefusesWeakOrAmbiguousKeys(t *testing.T) {
	t.Parallel()
	// Of characters no error text has four of in a row, so that the test
	// can look for any part of them.
	const short, long = "Qz#Xv", "Qz#Xv!Kw%J^q&Zx~zQ#vXK!w%J^&qxZ~Q#zv!X%K"
	tests := []struct {
		name, keys, want string
	}{
		{"a 5-byte secret", `{"": {"key": "` + short + `", "algorithms": ["HS256"]}}`, `the root realm "" lists HS256, whose secret must have at least 32 bytes`},
		{"a realm twice", `{"lear": {"key": "` + long + `", "algorithms": ["HS256"]},` + "\n" +
			`"lear": {"key": "` + short + `", "algorithms": ["HS256"]}}`, `realm "lear" is named twice, in entries 1 and 2 (lines 1 and 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "jwt-keys.json")
			if err := os.WriteFile(path, []byte(tt.keys), 0o600); err != nil {
				t.Fatal(err)
			}
			c := serveConfig{}
			c.auth.jwtKeys = path
			v, err := c.auth.tokenVerifier()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("tokenVerifier = %v, %v; want a refusal with %q", v, err, tt.want)
			}
			if strings.Contains(err.Error(), short) {
				t.Errorf("the refusal quotes the short secret: %v", err)
			}
			for i := 0; i+4 <= len(long); i++ {
				if strings.Contains(err.Error(), long[i:i+4]) {
					t.Errorf("the refusal quotes part of the long secret: %v", err)
				}
			}
		})
	}
}
