package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Every server the harness starts loads a JWT key (-jwt-keys), and the
// logins scenario trades a few tokens for API keys, valid ones and not: so
// that the key and the tokens, secrets a server holds and receives, are
// there for a log to leak in every variant (see secrets.go).

// jwtKey is the root realm's HS256 key of the servers' -jwt-keys file.
type jwtKey struct {
	secret string // the key, as in the file
	file   string // the file, readable by its owner only, as the server requires
}

// newJWTKey writes a fresh key into dir as Zulip's JWT_AUTH_KEYS, and
// records it, and the file's content, as secrets.
func newJWTKey(dir string) (*jwtKey, error) {
	raw := make([]byte, 32)
	rand.Read(raw) // never fails: crypto/rand panics if the system cannot supply randomness
	k := &jwtKey{secret: hex.EncodeToString(raw), file: filepath.Join(dir, "jwt-keys.json")}
	content, err := json.Marshal(map[string]any{"": map[string]any{"key": k.secret, "algorithms": []string{"HS256"}}})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.file, content, 0o600); err != nil {
		return nil, fmt.Errorf("writing the -jwt-keys file: %w", err)
	}
	secrets.add(secretJWTKey, k.secret)
	secrets.add(secretJWTKeysFile, string(content))
	return k, nil
}

// signToken is an HS256 token for email, expiring after ttl (before now
// for a negative ttl), signed with key and recorded as a secret.
func signToken(key, email string, ttl time.Duration) (string, error) {
	now := time.Now()
	tok, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{
		"email": email, "iat": now.Add(min(ttl, 0)).Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix(),
	}).SignedString([]byte(key))
	if err != nil {
		return "", err
	}
	secrets.add(secretJWTToken, tok)
	return tok, nil
}

// jwtLogins is how many of a run's users the logins scenario logs in with
// a token: a handful shows the key in use, and costs no hash.
const jwtLogins = 4

// zulipAnswer is the part of a Zulip JSON answer the JWT checks read.
type zulipAnswer struct {
	Result string `json:"result"`
	Msg    string `json:"msg"`
	Code   string `json:"code"`
	APIKey string `json:"api_key"`
}

// checkJWTLogins sends JWT logins to sub, each from an address of its own
// at the end of ns's block (the scenarios count theirs from the start):
// valid tokens for its first users must get each user's API key; a token
// signed with another key and an expired one must get Zulip's 400 "Bad
// JSON web token", a valid one for an address without an account the 401.
// They are hard checks on r. Without a key of the harness's (-target,
// -cpuprofile) it sends nothing and says so.
func checkJWTLogins(r *result, e *env, sub *subject, ns namespace) {
	if e.jwt == nil {
		r.note("no JWT logins: the harness did not configure this server's -jwt-keys")
		return
	}
	conn := newHTTPConn(sub.host)
	defer conn.close()
	next := uint64(addressesPerBlock)
	send := func(token string) (int, zulipAnswer, error) {
		next--
		a, err := conn.roundTrip(appendJWTLoginRequest(nil, sub.host, token, ns.addr(next)))
		if err != nil {
			return 0, zulipAnswer{}, err
		}
		var z zulipAnswer
		if !a.json || json.Unmarshal(a.body, &z) != nil {
			return a.status, z, fmt.Errorf("%d: not Zulip's JSON", a.status)
		}
		return a.status, z, nil
	}

	users := sub.users[:min(jwtLogins, len(sub.users))]
	var wrong []string
	for _, u := range users {
		tok, err := signToken(e.jwt.secret, u.Email, time.Hour)
		if err != nil {
			wrong = append(wrong, err.Error())
			continue
		}
		status, z, err := send(tok)
		switch {
		case err != nil:
			wrong = append(wrong, err.Error())
		case status != 200:
			wrong = append(wrong, fmt.Sprintf("%d %s", status, z.Msg))
		case subtle.ConstantTimeCompare([]byte(z.APIKey), []byte(u.APIKey)) != 1:
			wrong = append(wrong, "200 with another key than the user's") // never the keys themselves
		}
	}
	r.hard("JWT logins: a valid token gets the user's API key", len(users) > 0 && len(wrong) == 0,
		fmt.Sprintf("%d of %d right%s", len(users)-len(wrong), len(users), listed(wrong)))

	email := ns.email("jwt", 0)
	if len(users) > 0 {
		email = users[0].Email
	}
	other := make([]byte, 32)
	rand.Read(other)
	forged, err1 := signToken(hex.EncodeToString(other), email, time.Hour)
	expired, err2 := signToken(e.jwt.secret, email, -time.Hour)
	unknown, err3 := signToken(e.jwt.secret, ns.email("nobody-jwt", 0), time.Hour)
	wrong = nil
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			wrong = append(wrong, err.Error())
		}
	}
	refusals := []struct {
		name, token string
		status      int
		msg         string
	}{
		{"another key's", forged, 400, "Bad JSON web token"},
		{"expired", expired, 400, "Bad JSON web token"},
		{"no such user", unknown, 401, ""},
	}
	for _, tc := range refusals {
		status, z, err := send(tc.token)
		switch {
		case err != nil:
			wrong = append(wrong, tc.name+": "+err.Error())
		case status != tc.status || z.Result != "error" || (tc.msg != "" && z.Msg != tc.msg):
			wrong = append(wrong, fmt.Sprintf("%s: %d %q", tc.name, status, z.Msg))
		}
	}
	r.hard("JWT logins: forged, expired and unknown tokens refused", len(wrong) == 0,
		fmt.Sprintf("%d of %d refused as Zulip does%s", len(refusals)-len(wrong), len(refusals), listed(wrong)))
}

// listed is ": a; b" for a failed check's detail, "" for none.
func listed(problems []string) string {
	if len(problems) == 0 {
		return ""
	}
	return ": " + strings.Join(problems, "; ")
}
