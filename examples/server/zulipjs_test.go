package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// The real zulip-js client (examples/zulipjs, installed with npm ci) logs in
// with a password, reads server_settings and users/me with the key it got,
// trades a JWT for the same key, regenerates its key (the old one is
// refused at once, the cache on), and gets no key for a wrong password.
func TestZulipJSClient(t *testing.T) {
	t.Parallel()
	dir, _ := filepath.Abs("../zulipjs")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "zulip-js")); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node and examples/zulipjs/node_modules are needed: run npm ci in examples/zulipjs")
		}
		t.Skip("zulip-js is not installed: run `npm ci` in examples/zulipjs")
	}
	db := tempDB(t)
	srv, _ := testServer(t, db, func(c *serveConfig) {
		c.APIKeyCacheTTL = time.Hour
		c.auth.jwtKeys = jwtKeysFile(t)
	})
	u := parseUser(t, mustAdmin(t, db, "a long password\n", "create-user", "-email", "Iago@zulip.com", "-full-name", "Iago"))

	cmd := exec.Command(node, "login.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ZULIP_REALM="+srv.URL, "ZULIP_USERNAME=Iago@zulip.com", "ZULIP_PASSWORD=a long password",
		"ZULIP_JWT_TOKEN="+signedToken(t, jwtSecret, gojwt.MapClaims{"email": "iago@zulip.com"}))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("zulip-js: %v\n%s%s", err, out, stderr)
	}
	var got struct {
		APIKeyLength     int     `json:"api_key_length"`
		UserID           int64   `json:"user_id"`
		Email            string  `json:"email"`
		FeatureLevel     int     `json:"feature_level"`
		WrongPasswordKey *string `json:"wrong_password_key"`
		BogusKeyCode     string  `json:"bogus_key_code"`
		OldKeyCode       string  `json:"old_key_code"`
		JWTBadToken      string  `json:"jwt_bad_token"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("zulip-js printed %q", out)
	}
	if got.APIKeyLength != 32 || got.UserID != u.UserID || got.Email != "Iago@zulip.com" || got.WrongPasswordKey != nil || got.BogusKeyCode != "UNAUTHORIZED" || got.OldKeyCode != "UNAUTHORIZED" || got.JWTBadToken != "Bad JSON web token" {
		t.Errorf("zulip-js saw %+v", got)
	}
}
