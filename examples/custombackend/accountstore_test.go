package main

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/storetest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// appDB opens a new SQLite file holding the application's (empty) accounts
// table, as the application would have it.
func appDB(t *testing.T) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(t.Context(), appSchema); err != nil {
		t.Fatal(err)
	}
	return db, path
}

func newStore(t *testing.T, db *sql.DB) *AccountStore {
	t.Helper()
	s, err := NewAccountStore(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addAccount inserts an account the way the application does, behind the
// store's back, and returns its id.
func addAccount(t *testing.T, db *sql.DB, email, name, digest string) int64 {
	t.Helper()
	res, err := db.ExecContext(t.Context(), `INSERT INTO accounts (email, display_name, password_digest) VALUES (?, ?, nullif(?, ''))`, email, name, digest)
	if err != nil {
		t.Fatalf("adding account %q: %v", email, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The store passes the conformance suite: the core, and the layers of the
// capabilities it has; the others are reported as skipped.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness[*AccountStore]{
		New: func(t *testing.T) *AccountStore {
			db, _ := appDB(t)
			return newStore(t, db)
		},
		// The application adds its users; the store issues the key when it
		// first sees the account, and reports the user as a login will.
		Seed: func(t *testing.T, s *AccountStore, nu zulipauth.NewUser) zulipauth.User {
			addAccount(t, s.db, nu.Email, nu.FullName, nu.PasswordHash)
			u, err := s.UserByEmail(t.Context(), nu.Realm, nu.Email)
			if err != nil {
				t.Fatalf("the store does not find the account just added: %v", err)
			}
			return u
		},
	})
}

// The store follows what the application does to its accounts: a new
// account is found at once, a disabled one is deactivated, a renamed one is
// found under its new address and no longer under its old one.
func TestFollowsTheApplication(t *testing.T) {
	t.Parallel()
	db, _ := appDB(t)
	s := newStore(t, db)
	ctx := t.Context()
	id := addAccount(t, db, "Ophelia@Example.com", "Ophelia", "")
	u, err := s.UserByEmail(ctx, "", "OPHELIA@example.COM")
	if err != nil || u.ID != id || u.Email != "Ophelia@Example.com" || u.PasswordHash != "" || u.Deactivated {
		t.Fatalf("new account: %v, %v", u, err)
	}

	if _, err := db.ExecContext(ctx, `UPDATE accounts SET disabled_at = datetime('now') WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByAPIKey(ctx, u.APIKey); err != nil || !u.Deactivated {
		t.Errorf("disabled account: Deactivated = %v, %v; want true", u.Deactivated, err)
	}

	type lookup struct {
		email string
		found bool
	}
	for _, tc := range []struct {
		name    string
		rename  string
		lookups []lookup // in this order
	}{
		{"renamed", "Élodie@Example.com", []lookup{
			{"élodie@example.com", false}, // not exact, and indexed under the old address
			{"Élodie@Example.com", true},  // exactly as stored: found at once
			{"élodie@example.com", true},  // and from then on under every spelling
			{"ÉLODIE@EXAMPLE.COM", true},
			{"ophelia@example.com", false},
		}},
		{"renamed again", "Kate@Example.com", []lookup{
			{"élodie@example.com", false}, // the old address finds nobody, and corrects the row
			{"kate@example.com", true},
			{"Élodie@Example.com", false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.ExecContext(ctx, `UPDATE accounts SET email = ? WHERE id = ?`, tc.rename, id); err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.lookups {
				got, err := s.UserByEmail(ctx, "", l.email)
				switch {
				case l.found && (err != nil || got.ID != id || got.Email != tc.rename):
					t.Errorf("UserByEmail(%q) = %v, %v; want account %d as %q", l.email, got, err, id, tc.rename)
				case !l.found && !errors.Is(err, zulipauth.ErrUserNotFound):
					t.Errorf("UserByEmail(%q) = %v, %v; want ErrUserNotFound", l.email, got, err)
				}
			}
		})
	}
	// Reindex finds the rename under every spelling at once.
	if _, err := db.ExecContext(ctx, `UPDATE accounts SET email = 'Lear@Example.com' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	if err := s.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByEmail(ctx, "", "lear@example.com"); err != nil || got.ID != id {
		t.Errorf("after Reindex: %v, %v", got, err)
	}
	// The key stayed the account's through every rename.
	if got, err := s.UserByAPIKey(ctx, u.APIKey); err != nil || got.ID != id {
		t.Errorf("the key after the renames: %v, %v", got, err)
	}
}

// Two accounts whose addresses differ only in letter case (the application's
// UNIQUE compares bytes) are a fault, not one of them picked at random and
// not "not found".
func TestAmbiguousAddress(t *testing.T) {
	t.Parallel()
	db, _ := appDB(t)
	s := newStore(t, db)
	addAccount(t, db, "Iago@zulip.com", "One", "")
	addAccount(t, db, "iago@zulip.com", "Two", "")
	_, err := s.UserByEmail(t.Context(), "", "IAGO@zulip.com")
	if !errors.Is(err, errAmbiguousEmail) || !strings.Contains(err.Error(), "accounts 1, 2") {
		t.Errorf("UserByEmail of an ambiguous address: %v, want errAmbiguousEmail naming the accounts", err)
	}
}

// The store's table survives a restart, keys and all, and two processes
// (here two stores) on one file agree on every account's key.
func TestSharedFile(t *testing.T) {
	t.Parallel()
	db, path := appDB(t)
	first := newStore(t, db)
	addAccount(t, db, "iago@zulip.com", "Iago", "")
	other, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	second := newStore(t, other) // indexes the new account at start
	a, err := first.UserByEmail(t.Context(), "", "iago@zulip.com")
	if err != nil {
		t.Fatal(err)
	}
	b, err := second.UserByEmail(t.Context(), "", "IAGO@zulip.com")
	if err != nil || b.APIKey != a.APIKey {
		t.Fatalf("two stores on one file: keys %q and %q (%v)", a.APIKey, b.APIKey, err)
	}
	again := newStore(t, db) // migrations applied once, keys kept
	if c, err := again.UserByAPIKey(t.Context(), a.APIKey); err != nil || c.ID != a.ID {
		t.Errorf("after reopening: %v, %v", c, err)
	}
	var versions int
	if err := db.QueryRow(`SELECT count(*) FROM zulipauth_migrations`).Scan(&versions); err != nil || versions != len(migrations) {
		t.Errorf("zulipauth_migrations has %d rows (%v), want %d", versions, err, len(migrations))
	}
}

// NewAccountStore refuses what it cannot use, saying why.
func TestNewAccountStoreRefusals(t *testing.T) {
	t.Parallel()
	if _, err := NewAccountStore(context.Background(), nil); err == nil {
		t.Error("NewAccountStore(nil) succeeded")
	}
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(t.TempDir(), "empty.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := NewAccountStore(t.Context(), db); err == nil || !strings.Contains(err.Error(), "accounts") {
		t.Errorf("a database without the accounts table: %v, want an error naming it", err)
	}
}
