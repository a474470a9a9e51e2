package ldap_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// cheapArgon2 keeps the local-password side of the chain fast.
var cheapArgon2 = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// unlimited is a budget no test reaches.
var unlimited = zulipauth.Budget{Events: 1 << 30, Per: time.Second}

// loginHandler is zulipauth's fetch_api_key over users with auth, its
// faults logged into log.
func loginHandler(tb testing.TB, users *memstore.Store, auth zulipauth.Authenticator, log io.Writer) *zulipauth.Auth {
	tb.Helper()
	z, err := zulipauth.New(zulipauth.Config{
		Users:           users,
		Authenticator:   auth,
		UsernameLimiter: zulipauth.NewMemoryLimiter(unlimited),
		IPLimiter:       zulipauth.NewMemoryLimiter(unlimited),
		Logger:          slog.New(slog.NewTextHandler(log, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

// postLogin posts fetch_api_key's form and returns the status and the
// decoded body.
func postLogin(tb testing.TB, h http.Handler, username, pw string) (int, map[string]any) {
	tb.Helper()
	form := url.Values{"username": {username}, "password": {pw}}.Encode()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/fetch_api_key", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		tb.Fatalf("%d %q is not JSON: %v", rec.Code, rec.Body, err)
	}
	return rec.Code, body
}

// Zulip's answers through the login handler: 200 with the key, 401
// AUTHENTICATION_FAILED, and 500 "Internal server error" while the
// directory is down, logged without the password; server_settings says
// what Zulip's LDAP settings would.
func TestFetchAPIKey(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := memstore.New()
	cfg := templateConfig(d, users)
	cfg.CreateUsers = true
	var log bytes.Buffer
	z := loginHandler(t, users, newAuth(t, cfg), &log)
	h := z.FetchAPIKeyHandler()

	status, body := postLogin(t, h, "hamlet", slapdtest.HamletPassword)
	u, err := users.UserByEmail(t.Context(), "", "hamlet@example.org")
	if err != nil {
		t.Fatalf("no account created: %v", err)
	}
	if status != 200 || body["result"] != "success" || body["api_key"] != u.APIKey ||
		body["email"] != "hamlet@example.org" || body["user_id"] != float64(u.ID) {
		t.Fatalf("right password: %d %v, want 200 with %v's key", status, body, u)
	}
	if status, again := postLogin(t, h, "hamlet@example.org", slapdtest.HamletPassword); status != 200 || again["api_key"] != u.APIKey {
		t.Fatalf("second login: %d %v, want the same key", status, again)
	}

	for _, tc := range []struct{ name, username, password string }{
		{"wrong password", "hamlet", "wrong"},
		{"empty password", "hamlet", ""},
		{"no entry", "nobody", slapdtest.HamletPassword},
		{"another domain", "hamlet@zulip.com", slapdtest.HamletPassword},
	} {
		status, body := postLogin(t, h, tc.username, tc.password)
		if status != 401 || body["code"] != "AUTHENTICATION_FAILED" || body["msg"] != "Your username or password is incorrect" {
			t.Errorf("%s: %d %v, want 401 AUTHENTICATION_FAILED", tc.name, status, body)
		}
	}

	d.Stop()
	status, body = postLogin(t, h, "hamlet", slapdtest.HamletPassword)
	if status != 500 || body["msg"] != "Internal server error" || body["code"] != nil {
		t.Fatalf("directory down: %d %v, want 500 Internal server error", status, body)
	}
	if !strings.Contains(log.String(), "connection refused") || strings.Contains(log.String(), slapdtest.HamletPassword) {
		t.Fatalf("the fault is not logged, or the password is:\n%s", log.String())
	}

	rec := httptest.NewRecorder()
	z.ServerSettingsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/server_settings", nil))
	var settings struct {
		Methods            map[string]bool `json:"authentication_methods"`
		RequireEmailFormat *bool           `json:"require_email_format_usernames"`
		EmailAuthEnabled   bool            `json:"email_auth_enabled"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &settings); err != nil {
		t.Fatal(err)
	}
	if !settings.Methods["ldap"] || settings.RequireEmailFormat == nil || *settings.RequireEmailFormat {
		t.Fatalf("server_settings %s: want authentication_methods.ldap true and require_email_format_usernames false", rec.Body)
	}
}

// zulipauth.Chain(ldap, password): a local user with no directory entry
// logs in with the local password; a directory user with the directory's.
func TestChainWithLocalPasswords(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, "hamlet@example.org")
	hash, err := argon2id.CreateHash("local-password", &cheapArgon2)
	if err != nil {
		t.Fatal(err)
	}
	local, err := users.CreateUser(t.Context(), zulipauth.NewUser{Email: "local@example.org", FullName: "Local", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	passwords, err := password.New(users, password.WithParams(cheapArgon2))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	h := loginHandler(t, users, zulipauth.Chain(newAuth(t, templateConfig(d, users)), passwords), &log).FetchAPIKeyHandler()
	tests := []struct {
		name, username, password string
		wantStatus               int
		wantEmail                string
	}{
		{"local user, local password", "local@example.org", "local-password", 200, "local@example.org"},
		{"local user, wrong password", "local@example.org", "wrong", 401, ""},
		{"directory user, directory password", "hamlet", slapdtest.HamletPassword, 200, "hamlet@example.org"},
		{"directory user, wrong password", "hamlet@example.org", "wrong", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := postLogin(t, h, tt.username, tt.password)
			if status != tt.wantStatus || (tt.wantEmail != "" && body["email"] != tt.wantEmail) {
				t.Fatalf("%d %v, want %d for %s", status, body, tt.wantStatus, tt.wantEmail)
			}
			if tt.wantEmail == local.Email && body["api_key"] != local.APIKey {
				t.Fatalf("key %v, want the local user's", body["api_key"])
			}
		})
	}
}

// What the handler and server_settings learn from the configuration, as
// WIRE.md §5 says: require_email_format_usernames is false iff LDAP with an
// email attribute or an append-domain.
func TestUsernameFormatAndMethod(t *testing.T) {
	t.Parallel()
	base := ldap.Config{Users: memstore.New(), URL: "ldap://127.0.0.1:1", UserDNTemplate: slapdtest.UserDNTemplate}
	tests := []struct {
		name   string
		modify func(*ldap.Config)
		want   bool
	}{
		{"append-domain", func(c *ldap.Config) { c.AppendDomain = "example.org" }, true},
		{"email attribute", func(c *ldap.Config) { c.EmailAttr = "mail" }, true},
		{"search with email attribute", func(c *ldap.Config) {
			c.UserDNTemplate, c.BaseDN, c.UsernameAttr, c.EmailAttr = "", slapdtest.Suffix, "uid", "mail"
		}, true},
		{"the username is the email", func(c *ldap.Config) {}, false},
		{"search, the username is the email", func(c *ldap.Config) {
			c.UserDNTemplate, c.BaseDN, c.UsernameAttr = "", slapdtest.Suffix, "mail"
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := base
			tt.modify(&cfg)
			a, err := ldap.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.AcceptsNonEmailUsernames(root); got != tt.want {
				t.Errorf("AcceptsNonEmailUsernames = %v, want %v", got, tt.want)
			}
			if got := a.AuthMethod(); got != "ldap" {
				t.Errorf("AuthMethod = %q, want ldap", got)
			}
		})
	}
}

// An entry without its email attribute answered 500 "Internal server error"
// to its owner, with `entry uid=nomail… has no mail` in the log, as if the
// directory were down; Zulip answers 401. It is one misconfigured entry:
// 401 to the client, one warning naming the entry for the operator, and
// nothing of the password anywhere.
func TestEntryWithoutEmailIsRefusedNotAFault(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, slapdtest.HamletMail)
	var log syncBuf
	cfg := searchConfig(d, users)
	cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	z := loginHandler(t, users, newAuth(t, cfg), &log)
	status, body := postLogin(t, z.FetchAPIKeyHandler(), slapdtest.NoMailUID, slapdtest.NoMailPassword)
	if status != 401 || body["code"] != "AUTHENTICATION_FAILED" {
		t.Fatalf("entry without mail: %d %v, want 401 AUTHENTICATION_FAILED", status, body)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], slapdtest.NoMailDN) || !strings.Contains(lines[0], "has no mail") {
		t.Fatalf("log:\n%s\nwant one warning naming %s and the missing mail", log.String(), slapdtest.NoMailDN)
	}
	if strings.Contains(log.String(), slapdtest.NoMailPassword) {
		t.Fatal("the password is in the log")
	}
}
