package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	srv, _ := testServer(t, db)

	iago := parseUser(t, mustAdmin(t, db, "a long password\n", "create-user", "-email", "Iago@zulip.com", "-full-name", "Iago"))
	if iago.UserID <= 0 || iago.Email != "Iago@zulip.com" || !zulipauth.ValidAPIKeyFormat(iago.APIKey) {
		t.Fatalf("create-user printed %+v", iago)
	}
	code, body := login(t, srv.URL, "iago@zulip.com", "a long password")
	if code != 200 || body["api_key"] != iago.APIKey || body["email"] != "Iago@zulip.com" {
		t.Fatalf("login: %d %v", code, body)
	}

	mustAdmin(t, db, "", "deactivate-user", "-email", "iago@zulip.com")
	if code, body := login(t, srv.URL, "iago@zulip.com", "a long password"); code != 401 || body["code"] != "USER_DEACTIVATED" {
		t.Fatalf("deactivated: %d %v", code, body)
	}
	mustAdmin(t, db, "", "reactivate-user", "-email", "iago@zulip.com")
	mustAdmin(t, db, "", "require-password-reset", "-email", "iago@zulip.com")
	if code, body := login(t, srv.URL, "iago@zulip.com", "a long password"); code != 401 || body["code"] != "PASSWORD_RESET_REQUIRED" {
		t.Fatalf("reset required: %d %v", code, body)
	}
	mustAdmin(t, db, "a new long password\r\n", "change-password", "-email", "iago@zulip.com")
	if code, _ := login(t, srv.URL, "iago@zulip.com", "a new long password"); code != 200 {
		t.Fatalf("after change-password: %d (the reset flag must be cleared)", code)
	}
	if code, _ := login(t, srv.URL, "iago@zulip.com", "a long password"); code != 401 {
		t.Fatalf("old password still works: %d", code)
	}

	regen := parseUser(t, mustAdmin(t, db, "", "regenerate-api-key", "-email", "iago@zulip.com"))
	if regen.APIKey == iago.APIKey || !zulipauth.ValidAPIKeyFormat(regen.APIKey) {
		t.Fatalf("regenerate-api-key: %+v", regen)
	}

	mustAdmin(t, db, "", "set-realm", "-subdomain", "", "-password-auth=false")
	if code, body := login(t, srv.URL, "iago@zulip.com", "a new long password"); code != 401 || body["code"] != "PASSWORD_AUTH_DISABLED" {
		t.Fatalf("password auth disabled: %d %v", code, body)
	}
	mustAdmin(t, db, "", "set-realm", "-subdomain", "", "-password-auth=true")
	mustAdmin(t, db, "", "deactivate-realm", "-subdomain", "")
	if code, body := login(t, srv.URL, "iago@zulip.com", "a new long password"); code != 401 || body["code"] != "REALM_DEACTIVATED" {
		t.Fatalf("realm deactivated: %d %v", code, body)
	}
	mustAdmin(t, db, "", "reactivate-realm", "-subdomain", "")
	if code, _ := login(t, srv.URL, "iago@zulip.com", "a new long password"); code != 200 {
		t.Fatalf("realm reactivated: %d", code)
	}

	mustAdmin(t, db, "", "create-realm", "-subdomain", "lear", "-name", "Lear & Co")
	lear := parseUser(t, mustAdmin(t, db, "king lear's password\n", "create-user", "-email", "iago@zulip.com", "-realm", "lear"))
	if lear.UserID == iago.UserID {
		t.Fatal("the same email in another realm is another user")
	}
}

// Bad input to any command: a one-line error, a non-zero exit, no change.
func TestAdminBadInput(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")
	tests := []struct {
		name  string
		stdin string
		args  []string
		usage bool
	}{
		{"unknown command", "", []string{"frobnicate"}, true},
		{"unknown flag", "", []string{"create-user", "-email", "x@zulip.com", "-colour", "red"}, true},
		{"missing email", "pw pw pw\n", []string{"create-user"}, true},
		{"not an email", "pw pw pw\n", []string{"create-user", "-email", "iago"}, true},
		{"stray argument", "", []string{"deactivate-user", "-email", "iago@zulip.com", "extra"}, true},
		{"duplicate user", "another password\n", []string{"create-user", "-email", "IAGO@zulip.com"}, false},
		{"weak password", "abc\n", []string{"create-user", "-email", "new@zulip.com"}, false},
		{"empty password", "\n", []string{"create-user", "-email", "new@zulip.com"}, false},
		{"no stdin", "", []string{"create-user", "-email", "new@zulip.com"}, false},
		{"unknown realm", "a long password\n", []string{"create-user", "-email", "new@zulip.com", "-realm", "nope"}, false},
		{"unknown user", "", []string{"deactivate-user", "-email", "nobody@zulip.com"}, false},
		{"weak new password", "abc\n", []string{"change-password", "-email", "iago@zulip.com"}, false},
		{"duplicate realm", "", []string{"create-realm", "-subdomain", "lear"}, false},
		{"bad subdomain", "", []string{"create-realm", "-subdomain", "Not Valid"}, true},
		{"set-realm without change", "", []string{"set-realm", "-subdomain", ""}, true},
		{"missing subdomain", "", []string{"deactivate-realm"}, true},
	}
	mustAdmin(t, db, "", "create-realm", "-subdomain", "lear")
	st, err := sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := st.UserByEmail(context.Background(), "", "iago@zulip.com")
	st.Close()
	for _, tt := range tests {
		out, err := admin(t, db, tt.stdin, tt.args...)
		if err == nil {
			t.Errorf("%s: no error (printed %q)", tt.name, out)
			continue
		}
		if msg := oneLine(err); strings.Contains(msg, "\n") || msg == "" {
			t.Errorf("%s: error is not one line: %q", tt.name, msg)
		}
		if got := errors.Is(err, errUsage); got != tt.usage {
			t.Errorf("%s: usage error = %v, want %v (%v)", tt.name, got, tt.usage, err)
		}
		if out != "" {
			t.Errorf("%s: printed %q on failure", tt.name, out)
		}
	}
	st, err = sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	after, _ := st.UserByEmail(context.Background(), "", "iago@zulip.com")
	if after.PasswordHash != before.PasswordHash || after.APIKey != before.APIKey {
		t.Error("a failed command changed the user")
	}
	if _, err := st.UserByEmail(context.Background(), "", "new@zulip.com"); !errors.Is(err, zulipauth.ErrUserNotFound) {
		t.Errorf("a failed create-user left a user behind: %v", err)
	}
}

func TestAdminUnreachableDatabase(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	err := run(context.Background(), []string{"create-user", "-postgres", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", "-email", "a@b.co"},
		strings.NewReader("a long password\n"), &out, &out)
	if err == nil || strings.Contains(oneLine(err), "\n") {
		t.Fatalf("unreachable PostgreSQL: %v", err)
	}
	err = run(context.Background(), []string{"deactivate-user", "-db", "/nonexistent/dir/x.db", "-email", "a@b.co"}, strings.NewReader(""), &out, &out)
	if err == nil {
		t.Fatal("a database in a missing directory opened")
	}
}

// Pins a leak: the first-start hint must not print a PostgreSQL password.
func TestStoreHintHidesDSN(t *testing.T) {
	t.Parallel()
	hint := storeHint(storeFlags{postgres: "postgres://app:s3cret@db.internal/zulip"})
	if strings.Contains(hint, "s3cret") || !strings.Contains(hint, "-postgres") {
		t.Errorf("storeHint = %q", hint)
	}
}

// Pins an attack on create-user: -full-name $'a\x1b[31mred' (a terminal
// escape, which would recolour an admin's terminal wherever the name is
// printed) and a 10,000-character name were stored, though import-users
// refused both. One rule (checkFullName) now holds on both paths: what
// create-user refuses (a usage error, exit 2, nothing written),
// import-users refuses, and what one accepts the other does.
func TestFullNameSameRuleOnBothPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fullName string
		want     string // in the refusal; "" accepts
	}{
		{"plain", "Iago", ""},
		{"empty", "", ""},
		{"accents and a comma", "Hamlet, Prince of Dänemark", ""},
		{"a zero-width non-joiner, as Persian names have", "می\u200cخواهم", ""},
		{"an emoji sequence", "Iago 👩\u200d💻", ""},
		{"300 characters", strings.Repeat("é", 300), ""},
		{"a terminal escape", "a\x1b[31mred", "control character"},
		{"a C1 control", "a\u009b31mred", "control character"},
		{"a line break", "Iago\nroot", "control character"},
		{"a tab", "Iago\tx", "control character"},
		{"DEL", "Iago\x7f", "control character"},
		{"10,000 characters", strings.Repeat("n", 10_000), "longer than 300 characters"},
		{"301 characters", strings.Repeat("é", 301), "longer than 300 characters"},
		{"a right-to-left override", "Iago \u202egnp.exe", "reorders"},
		{"a bidi isolate", "Iago \u2066x\u2069", "reorders"},
		{"invalid UTF-8", "Iago \xff", "not valid UTF-8"},
	}
	short := func(s string) string { // for messages: a 10,000-character name is not printed whole
		if r := []rune(s); len(r) > 20 {
			return fmt.Sprintf("%q... (%d characters)", string(r[:20]), len(r))
		}
		return fmt.Sprintf("%q", s)
	}
	db := tempDB(t)
	mustAdmin(t, db, "", "create-realm", "-subdomain", "lear")
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			email := fmt.Sprintf("user%d@zulip.com", i)
			out, err := admin(t, db, "a long password\n", "create-user", "-email", email, "-full-name", tc.fullName)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("create-user refused %s: %v", short(tc.fullName), err)
			case tc.want != "" && err == nil:
				t.Errorf("create-user accepted %s (printed %q)", short(tc.fullName), out)
			case tc.want != "" && (!errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-full-name ") || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("create-user: %v, want a usage error saying -full-name ... %q", err, tc.want)
			case tc.want != "" && len(tc.fullName) < 100 && strings.Contains(err.Error(), tc.fullName):
				t.Errorf("create-user's refusal repeats the name: %q", err)
			}
			line := jsonLine(t, map[string]any{"email": "import." + email, "full_name": tc.fullName, "password_hash": "", "realm": "lear"})
			if tc.fullName == "Iago \xff" {
				line = strings.Replace(line, `\ufffd`, "\xff", 1) // what json.Marshal would not write
			}
			_, _, err = runCmd(t, []string{"-db", db}, line+"\n", "import-users")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("import-users refused %s: %v", short(tc.fullName), err)
			case tc.want != "" && err == nil:
				t.Errorf("import-users accepted %s", short(tc.fullName))
			case tc.want != "" && !strings.Contains(err.Error(), "full_name ") && !strings.Contains(err.Error(), "not valid UTF-8"):
				t.Errorf("import-users: %v, want it to name full_name", err)
			}
		})
	}
	st, err := sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accepted := 0
	for _, tc := range tests {
		if tc.want == "" {
			accepted++
		}
	}
	if n, err := st.CountUsers(context.Background()); err != nil || n != 2*accepted {
		t.Errorf("%d users (%v), want the %d accepted twice: a refused name was written", n, err, accepted)
	}
}

// Pins an attack on create-user and change-password: a password of 8 spaces
// passed backends/password's default policy (at least 6 characters) and was
// set, an account anyone can guess. The commands refuse a password that is
// only white space (any Unicode space), like a weak one: exit status 1, the
// reason on standard error, nothing written. White space inside a password
// is fine.
func TestWhiteSpacePasswordRefused(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")
	st, err := sqlstore.Open(context.Background(), "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before, _ := st.UserByEmail(context.Background(), "", "iago@zulip.com")
	for _, pw := range []string{"        ", "\t\t\t\t\t\t\t\t", " \t \t \t \t", "\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0", "\u3000\u3000\u3000\u3000\u3000\u3000", "\u2003 \u2003 \u2003 "} {
		for _, args := range [][]string{
			{"create-user", "-email", "new@zulip.com"},
			{"change-password", "-email", "iago@zulip.com"},
		} {
			out, err := admin(t, db, pw+"\n", args...)
			if err == nil || !strings.Contains(err.Error(), "only white space") || errors.Is(err, errUsage) || out != "" {
				t.Errorf("%s with the password %q: %v (printed %q), want a refusal (exit 1) saying it is only white space", args[0], pw, err, out)
			}
		}
	}
	if _, err := st.UserByEmail(context.Background(), "", "new@zulip.com"); !errors.Is(err, zulipauth.ErrUserNotFound) {
		t.Errorf("a refused create-user made the user: %v", err)
	}
	if after, _ := st.UserByEmail(context.Background(), "", "iago@zulip.com"); after.PasswordHash != before.PasswordHash {
		t.Error("a refused change-password changed the password")
	}
	mustAdmin(t, db, "  a long  password  \n", "change-password", "-email", "iago@zulip.com")
}
