package main

import (
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// serve serves the example's handler over loopback, on a store over db,
// logging to the returned buffer.
func serve(t *testing.T, db *sql.DB) (*httptest.Server, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	h, err := newHandler(newStore(t, db), slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, logs
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// digestOf reads an account's password_digest as the application would.
func digestOf(t *testing.T, db *sql.DB, id int64) string {
	t.Helper()
	var d sql.NullString
	if err := db.QueryRowContext(t.Context(), `SELECT password_digest FROM accounts WHERE id = ?`, id).Scan(&d); err != nil {
		t.Fatal(err)
	}
	return d.String
}

// post logs in with username and password and returns the status and the
// decoded answer.
func post(t *testing.T, base, username, password string) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(base+"/api/v1/fetch_api_key", url.Values{"username": {username}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", resp.StatusCode, body)
	}
	return resp.StatusCode, m
}

// getMe calls the application's own route with HTTP Basic email:key.
func getMe(t *testing.T, base, email, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/api/v1/users/me", nil)
	req.SetBasicAuth(email, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// A user of the application logs in over HTTP with the password the
// application has a bcrypt digest of, as a Zulip client would: the digest is
// verified, rewritten as argon2id (the next login verifies that), and the
// key opens the application's own route.
func TestLoginUpgradesBcrypt(t *testing.T) {
	t.Parallel()
	db, _ := appDB(t)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		t.Run(prefix, func(t *testing.T) {
			digest, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			// Rails writes $2a$, PHP $2y$: the same algorithm.
			stored := prefix + string(digest[4:])
			email := "User" + strings.Trim(prefix, "$") + "@Example.com"
			id := addAccount(t, db, email, "User "+prefix, stored)
			srv, _ := serve(t, db)

			if code, m := post(t, srv.URL, strings.ToLower(email), "wrong horse"); code != 401 || m["code"] != "AUTHENTICATION_FAILED" {
				t.Fatalf("wrong password: %d %v", code, m)
			}
			if got := digestOf(t, db, id); got != stored {
				t.Fatal("a wrong password changed the digest")
			}
			code, m := post(t, srv.URL, strings.ToUpper(email), "correct horse")
			key, _ := m["api_key"].(string)
			if code != 200 || m["email"] != email || m["user_id"] != float64(id) || len(key) != 32 {
				t.Fatalf("login with the bcrypt password: %d %v", code, m)
			}
			if got := digestOf(t, db, id); !strings.HasPrefix(got, "$argon2id$") {
				t.Errorf("after a correct login password_digest is %.7s..., want it upgraded to argon2id", got)
			}
			// The upgraded digest verifies, and the key is the account's own.
			if code, m := post(t, srv.URL, email, "correct horse"); code != 200 || m["api_key"] != key {
				t.Errorf("second login: %d %v", code, m)
			}
			if code, m := getMe(t, srv.URL, email, key); code != 200 || m["user_id"] != float64(id) || m["full_name"] != "User "+prefix {
				t.Errorf("users/me: %d %v", code, m)
			}
		})
	}
}

// What the application does shows at login: a disabled account is refused
// as deactivated, an account without a password never logs in.
func TestLoginFollowsTheApplication(t *testing.T) {
	t.Parallel()
	db, _ := appDB(t)
	digest, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	disabled := addAccount(t, db, "gone@example.com", "Gone", string(digest))
	if _, err := db.ExecContext(t.Context(), `UPDATE accounts SET disabled_at = '2024-01-01' WHERE id = ?`, disabled); err != nil {
		t.Fatal(err)
	}
	addAccount(t, db, "sso@example.com", "Only SSO", "")
	srv, _ := serve(t, db)
	for _, tc := range []struct {
		name, email, password, code string
	}{
		{"disabled", "gone@example.com", "correct horse", "USER_DEACTIVATED"},
		{"no password", "sso@example.com", "anything at all", "AUTHENTICATION_FAILED"},
		{"unknown", "nobody@example.com", "correct horse", "AUTHENTICATION_FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, m := post(t, srv.URL, tc.email, tc.password); code != 401 || m["code"] != tc.code {
				t.Errorf("%d %v, want 401 %s", code, m, tc.code)
			}
		})
	}
}

// A digest the application's data holds but nobody can verify (truncated,
// not in bcrypt's alphabet, an absurd cost, an unknown prefix) is a failed
// login: 401, never a 500, a panic or unbounded work; the log says the hash
// is unusable without printing it.
func TestLoginUnusableDigests(t *testing.T) {
	t.Parallel()
	db, _ := appDB(t)
	good, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	digests := map[string]string{
		"truncated":      string(good[:40]),
		"not base64":     string(good[:29]) + strings.Repeat("!", 31),
		"cost 31":        "$2b$31$" + string(good[7:]),
		"unknown prefix": "$2x$04$" + string(good[7:]),
		"md5crypt":       "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
		"over-long":      string(good) + strings.Repeat("a", 10000),
	}
	ids := map[string]int64{}
	for name, d := range digests {
		ids[name] = addAccount(t, db, strings.ReplaceAll(name, " ", "-")+"@example.com", name, d)
	}
	srv, logs := serve(t, db)
	for name, d := range digests {
		t.Run(name, func(t *testing.T) {
			code, m := post(t, srv.URL, strings.ReplaceAll(name, " ", "-")+"@example.com", "correct horse")
			if code != 401 || m["code"] != "AUTHENTICATION_FAILED" {
				t.Errorf("%d %v, want 401 AUTHENTICATION_FAILED", code, m)
			}
			if got := digestOf(t, db, ids[name]); got != d {
				t.Error("a refused login changed the digest")
			}
			if strings.Contains(logs.String(), d[7:]) {
				t.Errorf("the log holds the digest:\n%s", logs.String())
			}
		})
	}
}

// Zulip's key regeneration works through the store: the new key opens the
// application's route, the old one is refused at once.
func TestRegenerateOverHTTP(t *testing.T) {
	t.Parallel()
	db, _ := appDB(t)
	digest, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	addAccount(t, db, "iago@zulip.com", "Iago", string(digest))
	srv, _ := serve(t, db)
	_, m := post(t, srv.URL, "iago@zulip.com", "correct horse")
	old, _ := m["api_key"].(string)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/api/v1/users/me/api_key/regenerate", nil)
	req.SetBasicAuth("iago@zulip.com", old)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	fresh, _ := answer["api_key"].(string)
	if resp.StatusCode != 200 || len(fresh) != 32 || fresh == old {
		t.Fatalf("regenerate: %d %v", resp.StatusCode, answer)
	}
	if code, _ := getMe(t, srv.URL, "iago@zulip.com", old); code != 401 {
		t.Errorf("the old key after regeneration: %d, want 401", code)
	}
	if code, _ := getMe(t, srv.URL, "iago@zulip.com", fresh); code != 200 {
		t.Errorf("the new key: %d, want 200", code)
	}
}
