package ldap_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

type loginCase struct {
	name      string
	username  string
	password  string
	want      error  // nil, a sentinel, or errFault
	wantEmail string // the account's email on success
}

// runLogins runs each case against a and checks the error and, on success,
// that the account is the one of wantEmail in users.
func runLogins(t *testing.T, a *ldap.Authenticator, users zulipauth.UserStore, cases []loginCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := a.Authenticate(t.Context(), attempt(tc.username, tc.password))
			if !checkErr(err, tc.want) {
				t.Fatalf("Authenticate(%q) = %v, want %v", tc.username, err, tc.want)
			}
			if tc.want != nil {
				return
			}
			want, err := users.UserByEmail(t.Context(), "", tc.wantEmail)
			if err != nil {
				t.Fatalf("the store has no %s: %v", tc.wantEmail, err)
			}
			if u.ID != want.ID || u.APIKey != want.APIKey {
				t.Fatalf("Authenticate(%q) = %v, want %v", tc.username, u, want)
			}
		})
	}
}

// The DN template with an append-domain: Zulip's LDAP_APPEND_DOMAIN rules.
func TestDNTemplateWithAppendDomain(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "hamlet@example.org", "bot@example.org")
	a := newAuth(t, templateConfig(d, users))
	runLogins(t, a, users, []loginCase{
		{"plain username", "hamlet", slapdtest.HamletPassword, nil, "hamlet@example.org"},
		{"email in the domain", "hamlet@example.org", slapdtest.HamletPassword, nil, "hamlet@example.org"},
		{"domain in other letter case", "hamlet@EXAMPLE.org", slapdtest.HamletPassword, nil, "hamlet@example.org"},
		{"username in other letter case", "Hamlet", slapdtest.HamletPassword, nil, "hamlet@example.org"},
		// Trimmed before mapping: the same account, never a second one.
		{"surrounding spaces", "  hamlet\t", slapdtest.HamletPassword, nil, "hamlet@example.org"},
		{"email in another domain", "hamlet@zulip.com", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"email in a subdomain", "hamlet@sub.example.org", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"wrong password", "hamlet", "wrong", zulipauth.ErrBadCredentials, ""},
		{"another user's password", "hamlet", slapdtest.OthelloPassword, zulipauth.ErrBadCredentials, ""},
		// slapd here answers a bind with a DN and no password with success
		// (allow bind_anon_dn): only the authenticator's own check stands
		// between an empty password and a login.
		{"empty password", "hamlet", "", zulipauth.ErrBadCredentials, ""},
		{"no entry", "nobody", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"entry without an account", "othello", slapdtest.OthelloPassword, zulipauth.ErrBadCredentials, ""},
		{"empty username", "  ", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		// Never an email in the domain, so refused before any bind; see
		// TestDNTemplateWithEmailAttr for what escaping does.
		{"DN injection into a subtree", "bot,ou=bots", slapdtest.BotPassword, zulipauth.ErrBadCredentials, ""},
		{"DN injection with a plus", "hamlet+cn=x", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"internal space", "ham let", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"quoted local part", `"hamlet"@example.org`, slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
	})
}

// Search-then-bind with a service account, emails from the mail attribute,
// and the search by email (Zulip's AUTH_LDAP_REVERSE_EMAIL_SEARCH).
func TestSearchThenBindWithEmailAttr(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "hamlet@zulip.com", "twins@zulip.com", "bot@zulip.com")
	a := newAuth(t, searchConfig(d, users))
	runLogins(t, a, users, []loginCase{
		{"username", "hamlet", slapdtest.HamletPassword, nil, "hamlet@zulip.com"},
		{"email, found by the search by email", "hamlet@zulip.com", slapdtest.HamletPassword, nil, "hamlet@zulip.com"},
		{"email in other letter case", "HAMLET@zulip.com", slapdtest.HamletPassword, nil, "hamlet@zulip.com"},
		{"surrounding spaces", " hamlet ", slapdtest.HamletPassword, nil, "hamlet@zulip.com"},
		{"entry in a subtree", "bot", slapdtest.BotPassword, nil, "bot@zulip.com"},
		// Two entries have twins@zulip.com: the email does not decide, and
		// as a username it matches no uid.
		{"email of two entries", "twins@zulip.com", slapdtest.TwinPassword, zulipauth.ErrBadCredentials, ""},
		{"one of the twins by username", "twin1", slapdtest.TwinPassword, nil, "twins@zulip.com"},
		{"wrong password", "hamlet", "wrong", zulipauth.ErrBadCredentials, ""},
		{"empty password", "hamlet", "", zulipauth.ErrBadCredentials, ""},
		{"no entry", "nobody", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"no entry by email", "nobody@zulip.com", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		// Filter injection: unescaped, these match hamlet (or every entry)
		// and hamlet's password would log in.
		{"wildcard", "ham*", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"match everything", "*", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"filter injection", "*)(uid=*", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"filter injection closing the AND", "hamlet)(|(uid=*", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"wildcard email", "*@zulip.com", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"NUL", "hamlet\x00", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		// One entry's data is wrong, not the directory: a 401 for its owner,
		// a warning for the operator (TestEntryWithoutEmailIsRefusedNotAFault).
		{"entry without mail", "nomail", slapdtest.NoMailPassword, zulipauth.ErrBadCredentials, ""},
	})
}

// Search-then-bind with an append-domain; and without the service account.
func TestSearchThenBindWithAppendDomain(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "hamlet@example.org")
	cfg := searchConfig(d, users)
	cfg.EmailAttr, cfg.AppendDomain = "", "example.org"
	a := newAuth(t, cfg)
	runLogins(t, a, users, []loginCase{
		{"plain username", "hamlet", slapdtest.HamletPassword, nil, "hamlet@example.org"},
		{"email in the domain", "hamlet@example.org", slapdtest.HamletPassword, nil, "hamlet@example.org"},
		{"email in another domain", "hamlet@zulip.com", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		{"wildcard", "h*", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
	})

	// This directory refuses anonymous searches (insufficient access): a
	// fault of the configuration, for the administrator to see in the log,
	// never "Your username or password is incorrect".
	anon := searchConfig(d, users)
	anon.BindDN, anon.BindPassword = "", ""
	anon.EmailAttr, anon.AppendDomain = "", "example.org"
	if _, err := newAuth(t, anon).Authenticate(t.Context(), attempt("hamlet", slapdtest.HamletPassword)); !checkErr(err, errFault) {
		t.Errorf("anonymous search the directory refuses: %v, want a fault", err)
	}
}

// DN templates with emails from the entry (read as the user after its
// bind), where the username is not checked as an email could be: escaping
// alone keeps values in place.
func TestDNTemplateWithEmailAttr(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "jane@zulip.com", "hamlet@zulip.com", "bot@zulip.com")
	byCN := newAuth(t, ldap.Config{Users: users, URL: d.URL, UserDNTemplate: "cn=%s," + slapdtest.People, EmailAttr: "mail"})
	t.Run("cn", func(t *testing.T) {
		t.Parallel()
		runLogins(t, byCN, users, []loginCase{
			{"value with a comma", "Doe, Jane", slapdtest.JanePassword, nil, "jane@zulip.com"},
			{"value with a comma, spaces around", " Doe, Jane ", slapdtest.JanePassword, nil, "jane@zulip.com"},
			{"wrong password", "Doe, Jane", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
			{"RDN of another attribute", "King Hamlet", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		})
	})
	byUID := newAuth(t, ldap.Config{Users: users, URL: d.URL, UserDNTemplate: slapdtest.UserDNTemplate, EmailAttr: "mail"})
	t.Run("uid", func(t *testing.T) {
		t.Parallel()
		runLogins(t, byUID, users, []loginCase{
			{"username", "hamlet", slapdtest.HamletPassword, nil, "hamlet@zulip.com"},
			// Unescaped, "bot,ou=bots" makes the template name
			// uid=bot,ou=bots,ou=people,..., the bot's entry in a subtree,
			// and the bot's password would log in as bot@zulip.com.
			{"DN injection into a subtree", "bot,ou=bots", slapdtest.BotPassword, zulipauth.ErrBadCredentials, ""},
			{"DN injection, escaped comma", `bot\,ou=bots`, slapdtest.BotPassword, zulipauth.ErrBadCredentials, ""},
			{"multi-valued RDN", "hamlet+cn=King Hamlet", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
			{"leading hash", "#hamlet", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
		})
	})
}

// Without append-domain or email attribute the username is the email, and
// must be one.
func TestUsernameIsEmail(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "hamlet@zulip.com")
	cfg := searchConfig(d, users)
	cfg.UsernameAttr, cfg.EmailAttr = "mail", ""
	a := newAuth(t, cfg)
	runLogins(t, a, users, []loginCase{
		{"email", "hamlet@zulip.com", slapdtest.HamletPassword, nil, "hamlet@zulip.com"},
		{"email in other letter case", "Hamlet@Zulip.com", slapdtest.HamletPassword, nil, "hamlet@zulip.com"},
		{"not an email", "hamlet", slapdtest.HamletPassword, zulipauth.ErrBadCredentials, ""},
	})
}

// Zulip's org_membership: the attribute must list the realm's subdomain;
// the root realm is granted by an alias ("www").
func TestOrgMembership(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := memstore.New()
	ctx := t.Context()
	for _, sub := range []string{"zulip", "lear"} {
		if err := users.CreateRealm(ctx, zulipauth.Realm{Subdomain: sub, Name: sub}); err != nil {
			t.Fatal(err)
		}
	}
	for _, nu := range []zulipauth.NewUser{
		{Realm: "", Email: "hamlet@zulip.com"}, {Realm: "zulip", Email: "hamlet@zulip.com"}, {Realm: "lear", Email: "hamlet@zulip.com"},
		{Realm: "", Email: "othello@zulip.com"}, {Realm: "zulip", Email: "othello@zulip.com"}, {Realm: "lear", Email: "othello@zulip.com"},
	} {
		if _, err := users.CreateUser(ctx, nu); err != nil {
			t.Fatal(err)
		}
	}
	cfg := searchConfig(d, users)
	cfg.OrgMembershipAttr = "o"
	a := newAuth(t, cfg)
	tests := []struct {
		name, realm, username, password string
		want                            error
	}{
		{"listed", "zulip", "hamlet", slapdtest.HamletPassword, nil},
		{"not listed", "lear", "hamlet", slapdtest.HamletPassword, zulipauth.ErrBadCredentials},
		{"root realm, not listed", "", "hamlet", slapdtest.HamletPassword, zulipauth.ErrBadCredentials},
		{"another user listed", "lear", "othello", slapdtest.OthelloPassword, nil},
		{"another user not listed", "zulip", "othello", slapdtest.OthelloPassword, zulipauth.ErrBadCredentials},
		{"root realm by its alias, in other letter case", "", "othello", slapdtest.OthelloPassword, nil},
		{"not listed, wrong password", "lear", "hamlet", "wrong", zulipauth.ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at := zulipauth.Attempt{Realm: zulipauth.Realm{Subdomain: tt.realm}, Username: tt.username, Password: tt.password}
			u, err := a.Authenticate(t.Context(), at)
			if !checkErr(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == nil && u.Realm != tt.realm {
				t.Fatalf("logged in to realm %q, want %q", u.Realm, tt.realm)
			}
		})
	}
}

// An entry without an account gets one on its first login, with the
// entry's display name and a fresh API key, and finds it again after.
func TestCreateOnFirstLogin(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	tests := []struct {
		name, fullNameAttr, username, password, wantEmail, wantName string
		template                                                    bool
	}{
		{"displayName by default", "", "hamlet", slapdtest.HamletPassword, "hamlet@example.org", "Prince Hamlet", false},
		{"cn when there is no displayName", "", "othello", slapdtest.OthelloPassword, "othello@example.org", "Othello", false},
		{"configured attribute", "sn", "hamlet", slapdtest.HamletPassword, "hamlet@example.org", "King Hamlet", false},
		{"attribute the entry lacks: the username", "title", "hamlet", slapdtest.HamletPassword, "hamlet@example.org", "hamlet", false},
		{"read as the user after a template bind", "", "hamlet", slapdtest.HamletPassword, "hamlet@example.org", "Prince Hamlet", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			users := memstore.New()
			cfg := searchConfig(d, users)
			if tt.template {
				cfg = templateConfig(d, users)
			}
			cfg.EmailAttr, cfg.AppendDomain = "", "example.org"
			cfg.CreateUsers, cfg.FullNameAttr = true, tt.fullNameAttr
			a := newAuth(t, cfg)
			first, err := a.Authenticate(t.Context(), attempt(tt.username, tt.password))
			if err != nil {
				t.Fatal(err)
			}
			stored, err := users.UserByEmail(t.Context(), "", tt.wantEmail)
			if err != nil {
				t.Fatalf("no account created for %s: %v", tt.wantEmail, err)
			}
			if first.ID != stored.ID || stored.FullName != tt.wantName || stored.PasswordHash != "" || len(stored.APIKey) != 32 {
				t.Fatalf("created %+v (name %q, hash %q, key of %d), want the name %q, no hash and a 32-character key",
					stored, stored.FullName, stored.PasswordHash, len(stored.APIKey), tt.wantName)
			}
			again, err := a.Authenticate(t.Context(), attempt(tt.username+"@example.org", tt.password))
			if err != nil || again.ID != first.ID || again.APIKey != first.APIKey {
				t.Fatalf("second login: %v, %v; want the account created first, %v", again, err, first)
			}
			if _, err := a.Authenticate(t.Context(), attempt(tt.username, "wrong")); !errors.Is(err, zulipauth.ErrBadCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
		})
	}
}

// Concurrent first logins of one entry create one account.
func TestCreateOnFirstLoginConcurrently(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := memstore.New()
	cfg := templateConfig(d, users)
	cfg.CreateUsers = true
	a := newAuth(t, cfg)
	const n = 8
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u, err := a.Authenticate(t.Context(), attempt("hamlet", slapdtest.HamletPassword))
			if err != nil {
				t.Error(err)
			}
			ids[i] = u.ID
		})
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] || ids[i] == 0 {
			t.Fatalf("logins got accounts %v, want one", ids)
		}
	}
}

// Deactivation in the store and the realm's settings, as Zulip's LDAP
// backend answers them: generic failures, except password login disabled.
func TestStoreStatus(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "hamlet@example.org", "othello@example.org")
	o, _ := users.UserByEmail(t.Context(), "", "othello@example.org")
	if err := users.SetUserDeactivated(t.Context(), o.ID, true); err != nil {
		t.Fatal(err)
	}
	cfg := templateConfig(d, users)
	cfg.CreateUsers = true // a deactivated account is not replaced by a new one
	a := newAuth(t, cfg)
	tests := []struct {
		name     string
		realm    zulipauth.Realm
		username string
		password string
		want     error
	}{
		{"active", root, "hamlet", slapdtest.HamletPassword, nil},
		{"user deactivated", root, "othello", slapdtest.OthelloPassword, zulipauth.ErrBadCredentials},
		{"user deactivated, wrong password", root, "othello", "wrong", zulipauth.ErrBadCredentials},
		{"realm deactivated", zulipauth.Realm{Deactivated: true}, "hamlet", slapdtest.HamletPassword, zulipauth.ErrBadCredentials},
		{"password login disabled", zulipauth.Realm{PasswordAuthDisabled: true}, "hamlet", slapdtest.HamletPassword, zulipauth.ErrPasswordAuthDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := a.Authenticate(t.Context(), zulipauth.Attempt{Realm: tt.realm, Username: tt.username, Password: tt.password})
			if !checkErr(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if u, err := users.UserByEmail(t.Context(), "", "othello@example.org"); err != nil || u.ID != o.ID {
		t.Fatalf("the deactivated account was replaced: %v, %v", u, err)
	}
}

// The service account's password from a file (one trailing newline
// removed); a directory that refuses the account is a fault, never bad
// credentials, and its error does not carry the password.
func TestServiceAccount(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "hamlet@zulip.com")
	file := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(file, []byte(d.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := searchConfig(d, users)
	cfg.BindPassword, cfg.BindPasswordFile = "", file
	if _, err := newAuth(t, cfg).Authenticate(t.Context(), attempt("hamlet", slapdtest.HamletPassword)); err != nil {
		t.Fatalf("password from a file: %v", err)
	}

	const wrong = "not-the-service-password"
	cfg = searchConfig(d, users)
	cfg.BindPassword = wrong
	_, err := newAuth(t, cfg).Authenticate(t.Context(), attempt("hamlet", slapdtest.HamletPassword))
	if !checkErr(err, errFault) {
		t.Fatalf("service account refused: %v, want a fault", err)
	}
	if msg := err.Error(); strings.Contains(msg, wrong) || strings.Contains(msg, slapdtest.HamletPassword) {
		t.Fatalf("the error carries a password: %s", msg)
	}
}

// A user's bind must not leave its connection bound as that user for the
// next search: this directory lets users read only their own entry, so a
// search for othello run as hamlet would find nothing. One connection per
// pool makes every login reuse the previous one's.
func TestUserBindDoesNotLeakIntoSearches(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "hamlet@zulip.com", "othello@zulip.com")
	cfg := searchConfig(d, users)
	cfg.MaxConns = 1
	a := newAuth(t, cfg)
	for _, login := range []struct{ username, password string }{
		{"hamlet", slapdtest.HamletPassword}, {"othello", slapdtest.OthelloPassword}, {"hamlet", "wrong"}, {"othello", slapdtest.OthelloPassword},
	} {
		_, err := a.Authenticate(t.Context(), attempt(login.username, login.password))
		if want := login.password != "wrong"; (err == nil) != want {
			t.Fatalf("login %s: %v", login.username, err)
		}
	}
	if n := ldap.Dials(a); n != 2 {
		t.Fatalf("%d connections opened, want 2 (one per pool, reused)", n)
	}
}

// A context that has ended stops a login before the directory is asked.
func TestCancelledContext(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	a := newAuth(t, templateConfig(d, storeWith(t, "hamlet@example.org")))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := a.Authenticate(ctx, attempt("hamlet", slapdtest.HamletPassword)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := ldap.Dials(a); n != 0 {
		t.Fatalf("%d connections opened for a cancelled login", n)
	}
}

// After Close, logins fail as faults.
func TestClose(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	a := newAuth(t, templateConfig(d, storeWith(t, "hamlet@example.org")))
	if _, err := a.Authenticate(t.Context(), attempt("hamlet", slapdtest.HamletPassword)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if _, err := a.Authenticate(t.Context(), attempt("hamlet", slapdtest.HamletPassword)); !checkErr(err, errFault) {
		t.Fatalf("after Close: %v, want a fault", err)
	}
}
