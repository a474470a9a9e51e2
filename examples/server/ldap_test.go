package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// The reference server with -auth ldap,password against a real slapd: a
// directory user logs in with a plain username and is created on first
// login; a local user with no entry logs in with the local password;
// server_settings reports both methods and plain usernames; the username's
// budget still applies; a directory that stops answering is a 500, and
// logins work again as soon as it answers.
func TestServeWithLDAPAndPasswords(t *testing.T) {
	t.Parallel()
	dir := slapdtest.Start(t, slapdtest.Options{})
	db := tempDB(t)
	mustAdmin(t, db, "a local password\n", "create-user", "-email", "iago@zulip.com")
	pwFile := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(pwFile, []byte(slapdtest.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServer(t, "-db", db, "-auth", "ldap,password",
		"-ldap-url", dir.URL,
		"-ldap-bind-dn", slapdtest.ServiceDN, "-ldap-bind-password-file", pwFile,
		"-ldap-search-base", slapdtest.People, "-ldap-username-attr", "uid",
		"-ldap-append-domain", "zulip.com", "-ldap-create-users", "-ldap-timeout", "1s")

	code, body := login(t, p.base, slapdtest.HamletUID, slapdtest.HamletPassword)
	if code != 200 || body["email"] != slapdtest.HamletMail {
		t.Fatalf("hamlet from the directory, plain username: %d %v", code, body)
	}
	if code, again := login(t, p.base, "Hamlet@zulip.com", slapdtest.HamletPassword); code != 200 || again["user_id"] != body["user_id"] {
		t.Errorf("hamlet again, as an email: %d %v, want the same user", code, again)
	}
	if code, body := login(t, p.base, "iago@zulip.com", "a local password"); code != 200 {
		t.Errorf("a local user with no entry, local password: %d %v", code, body)
	}
	if code, _ := login(t, p.base, slapdtest.OthelloUID, "wrong"); code != 401 {
		t.Errorf("a wrong directory password: %d", code)
	}
	// A password typed into the username field names no account: the log
	// has a fingerprint of it, never the text (it had
	// `msg="login failed" username=Hunter2-MySecret`).
	const typedSecret = "Hunter2-MySecret"
	if code, _ := login(t, p.base, typedSecret, "x"); code != 401 {
		t.Errorf("a password as the username: %d, want 401", code)
	}
	waitFor(t, func() bool { return strings.Contains(p.stderr.String(), "username_fp=") })
	if log := p.stderr.String(); strings.Contains(strings.ToLower(log), "hunter2") {
		t.Errorf("a username that names no account reached the log:\n%s", log)
	}

	code, raw := do(t, "GET", p.base+"/api/v1/server_settings", nil, nil)
	var s struct {
		Methods map[string]bool `json:"authentication_methods"`
		Require bool            `json:"require_email_format_usernames"`
	}
	if err := json.Unmarshal(raw, &s); err != nil || code != 200 || !s.Methods["ldap"] || !s.Methods["password"] || !s.Methods["email"] || s.Require {
		t.Errorf("server_settings: %d %s", code, raw)
	}

	// The username's budget: five failures, then 429 even with the right password.
	for range 5 {
		login(t, p.base, slapdtest.OthelloUID, "wrong")
	}
	if code, _ := login(t, p.base, slapdtest.OthelloUID, slapdtest.OthelloPassword); code != 429 {
		t.Errorf("after five failures: %d, want 429", code)
	}

	dir.Pause()
	start := time.Now()
	code, body = login(t, p.base, slapdtest.JaneUID, slapdtest.JanePassword)
	took := time.Since(start)
	dir.Resume()
	if code != 500 || body["msg"] != "Internal server error" {
		t.Errorf("a hung directory: %d %v, want 500 (a fault, never a wrong password)", code, body)
	}
	if took > 5*time.Second {
		t.Errorf("a hung directory held the login %v; -ldap-timeout is 1s", took)
	}
	waitFor(t, func() bool { c, _ := login(t, p.base, slapdtest.JaneUID, slapdtest.JanePassword); return c == 200 })
	if log := p.stderr.String(); strings.Contains(log, slapdtest.ServicePassword) || strings.Contains(log, slapdtest.JanePassword) {
		t.Errorf("a password reached the log:\n%s", log)
	}
}
