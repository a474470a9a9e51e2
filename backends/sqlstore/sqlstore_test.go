package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/backends/storetest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

func TestConformance(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		storetest.Run(t, storetest.Harness[*sqlstore.Store]{
			New: func(t *testing.T) *sqlstore.Store { return open(t, dc.driver, dc.newDSN(t)) },
		})
	})
}

// TestConformanceNew runs the suite on Stores made by New on a caller's
// *sql.DB, which uses one pool for reads and writes.
func TestConformanceNew(t *testing.T) {
	storetest.Run(t, storetest.Harness[*sqlstore.Store]{New: func(t *testing.T) *sqlstore.Store {
		db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "own.db")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := sqlstore.New(t.Context(), db, sqlstore.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}})
}

// TestMigrationsIdempotent: opening a migrated database again applies
// nothing, keeps the data and records each version once.
func TestMigrationsIdempotent(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		dsn := dc.newDSN(t)
		first := open(t, dc.driver, dsn)
		u, err := first.CreateUser(t.Context(), zulipauth.NewUser{Email: "iago@zulip.com"})
		if err != nil {
			t.Fatal(err)
		}
		// Once while the first Store is open, once after it is closed.
		second := open(t, dc.driver, dsn)
		first.Close()
		third := open(t, dc.driver, dsn)
		for i, s := range []*sqlstore.Store{second, third} {
			got, err := s.UserByID(t.Context(), u.ID)
			if err != nil || got.APIKey != u.APIKey {
				t.Errorf("reopen #%d: UserByID = %v, %v; want the user created before", i+1, got, err)
			}
		}
		checkMigrations(t, dc, dsn)
	})
}

// checkMigrations checks that schema_migrations holds versions 1..N once each.
func checkMigrations(t *testing.T, dc driverCase, dsn string) {
	t.Helper()
	db := rawDB(t, dc, dsn)
	var n, maxV int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	want := sqlstore.Dialect(dialectOf(dc)).SchemaVersion()
	if want < 1 || n != want || maxV != want {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d rows up to %d", n, maxV, want, want)
	}
}

func dialectOf(dc driverCase) sqlstore.Dialect {
	if dc.driver == "sqlite" {
		return sqlstore.SQLite
	}
	return sqlstore.Postgres
}

// rawDB opens the database behind dsn directly, bypassing the Store.
func rawDB(t *testing.T, dc driverCase, dsn string) *sql.DB {
	t.Helper()
	driver, name := "pgx", dsn
	if dc.driver == "sqlite" {
		driver, name = "sqlite", sqlstore.SQLiteDSN(dsn)
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestConcurrentOpen: two processes (here: Stores) opening a fresh database
// at the same moment both succeed, and the schema is migrated once.
func TestConcurrentOpen(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		dsn := dc.newDSN(t)
		const n = 4
		stores := make([]*sqlstore.Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				stores[i], errs[i] = sqlstore.Open(t.Context(), dc.driver, dsn)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open #%d: %v", i, err)
				continue
			}
			defer stores[i].Close()
		}
		if t.Failed() {
			return
		}
		checkMigrations(t, dc, dsn)
		u, err := stores[0].CreateUser(t.Context(), zulipauth.NewUser{Email: "iago@zulip.com"})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range stores {
			if got, err := s.UserByAPIKey(t.Context(), u.APIKey); err != nil || got.ID != u.ID {
				t.Errorf("store #%d: UserByAPIKey = %v, %v", i, got, err)
			}
		}
	})
}

// TestSchemaTooNew: a database migrated by a newer version of the package is
// refused rather than used with a schema this version does not know.
func TestSchemaTooNew(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		dsn := dc.newDSN(t)
		open(t, dc.driver, dsn).Close()
		db := rawDB(t, dc, dsn)
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
			t.Fatal(err)
		}
		s, err := sqlstore.Open(t.Context(), dc.driver, dsn)
		if err == nil {
			s.Close()
			t.Fatal("Open of a database with schema version 9999 succeeded")
		}
		if !strings.Contains(err.Error(), "9999") {
			t.Errorf("error %q does not name the version", err)
		}
	})
}

// TestPasswordHashUntouched: the store never interprets a password hash. One
// written by another program, however malformed, reads back byte for byte.
func TestPasswordHashUntouched(t *testing.T) {
	hashes := []string{
		"$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$", // truncated
		"$argon2id$v=99$m=-1,t=0,p=0$!!!$???",
		"plaintext-password-from-a-bad-import",
		"'; DROP TABLE users; --",
		"tab\tnewline\nbackslash\\percent%underscore_",
		strings.Repeat("x", 10000),
		"☃ unicode ✓",
	}
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		dsn := dc.newDSN(t)
		s := open(t, dc.driver, dsn)
		db := rawDB(t, dc, dsn)
		for i, h := range hashes {
			u, err := s.CreateUser(t.Context(), zulipauth.NewUser{Email: "u" + string(rune('a'+i)) + "@example.com", PasswordHash: h})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.UserByEmail(t.Context(), "", u.Email); got.PasswordHash != h {
				t.Errorf("hash %d via CreateUser read back as %q", i, got.PasswordHash)
			}
			// Written behind the store's back.
			other := h + "#corrupted"
			q := `UPDATE users SET password_hash = ? WHERE id = ?`
			if dc.driver != "sqlite" {
				q = `UPDATE users SET password_hash = $1 WHERE id = $2`
			}
			if _, err := db.Exec(q, other, u.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.UserByAPIKey(t.Context(), u.APIKey); got.PasswordHash != other {
				t.Errorf("hash %d written directly read back as %q", i, got.PasswordHash)
			}
		}
	})
}

// TestCreatedAtRoundTrip: CreatedAt comes back exactly as CreateUser returned
// it, in UTC, whatever the session's time zone.
func TestCreatedAtRoundTrip(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		dsn := dc.newDSN(t)
		if dc.driver == "postgres" {
			dsn = withParam(t, dsn, "timezone", "America/St_Johns") // UTC-03:30
		}
		s := open(t, dc.driver, dsn)
		u, err := s.CreateUser(t.Context(), zulipauth.NewUser{Email: "iago@zulip.com"})
		if err != nil {
			t.Fatal(err)
		}
		if u.CreatedAt.Location() != time.UTC {
			t.Errorf("CreateUser: CreatedAt in %v, want UTC", u.CreatedAt.Location())
		}
		if u.CreatedAt.Nanosecond()%1000 != 0 {
			t.Errorf("CreateUser: CreatedAt %v has sub-microsecond digits the database cannot keep", u.CreatedAt)
		}
		if d := time.Since(u.CreatedAt).Abs(); d > time.Minute {
			t.Errorf("CreatedAt %v is %v away from now", u.CreatedAt, d)
		}
		for _, lookup := range []func() (zulipauth.User, error){
			func() (zulipauth.User, error) { return s.UserByEmail(t.Context(), "", u.Email) },
			func() (zulipauth.User, error) { return s.UserByAPIKey(t.Context(), u.APIKey) },
			func() (zulipauth.User, error) { return s.UserByID(t.Context(), u.ID) },
		} {
			got, err := lookup()
			if err != nil {
				t.Fatal(err)
			}
			if !got.CreatedAt.Equal(u.CreatedAt) || got.CreatedAt.Location() != time.UTC {
				t.Errorf("lookup: CreatedAt = %v, want %v exactly, in UTC", got.CreatedAt, u.CreatedAt)
			}
		}
	})
}

// TestClosedStore: after Close every call fails with an error, not a panic
// and not "not found"; the database reopened works and has the data.
func TestClosedStore(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		dsn := dc.newDSN(t)
		s := open(t, dc.driver, dsn)
		ctx := t.Context()
		u, err := s.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}

		notFound := func(err error) bool {
			return errors.Is(err, zulipauth.ErrUserNotFound) || errors.Is(err, zulipauth.ErrRealmNotFound)
		}
		for name, call := range map[string]func() error{
			"UserByEmail":  func() error { _, err := s.UserByEmail(ctx, "", u.Email); return err },
			"UserByAPIKey": func() error { _, err := s.UserByAPIKey(ctx, u.APIKey); return err },
			"UserByID":     func() error { _, err := s.UserByID(ctx, u.ID); return err },
			"CreateUser": func() error {
				_, err := s.CreateUser(ctx, zulipauth.NewUser{Email: "new@zulip.com"})
				return err
			},
			"RegenerateAPIKey":         func() error { _, err := s.RegenerateAPIKey(ctx, u.ID); return err },
			"UpdatePasswordHash":       func() error { return s.UpdatePasswordHash(ctx, u.ID, "x") },
			"SetUserDeactivated":       func() error { return s.SetUserDeactivated(ctx, u.ID, true) },
			"SetPasswordResetRequired": func() error { return s.SetPasswordResetRequired(ctx, u.ID, true) },
			"RealmBySubdomain":         func() error { _, err := s.RealmBySubdomain(ctx, ""); return err },
			"CreateRealm":              func() error { return s.CreateRealm(ctx, zulipauth.Realm{Subdomain: "x"}) },
			"UpdateRealm":              func() error { return s.UpdateRealm(ctx, zulipauth.Realm{}) },
		} {
			err := call()
			if err == nil || notFound(err) {
				t.Errorf("%s on a closed store: %v, want an error other than not found", name, err)
			} else if !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Errorf("%s on a closed store: %q lacks the sqlstore: prefix", name, err)
			}
		}

		again := open(t, dc.driver, dsn)
		got, err := again.UserByEmail(ctx, "", "IAGO@zulip.com")
		if err != nil || got.ID != u.ID || got.PasswordHash != "h" {
			t.Errorf("reopened: UserByEmail = %v, %v", got, err)
		}
	})
}

// TestTwoStoresSameDatabase: two Stores on one database (two processes on
// one SQLite file, or two instances on one PostgreSQL) see each other's
// writes at once.
func TestTwoStoresSameDatabase(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		dsn := dc.newDSN(t)
		a, b := open(t, dc.driver, dsn), open(t, dc.driver, dsn)
		ctx := t.Context()
		u, err := a.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := b.UserByEmail(ctx, "", "iago@zulip.com"); err != nil || got.ID != u.ID {
			t.Fatalf("b.UserByEmail after a.CreateUser = %v, %v", got, err)
		}
		if _, err := b.CreateUser(ctx, zulipauth.NewUser{Email: "IAGO@zulip.com"}); !errors.Is(err, zulipauth.ErrUserExists) {
			t.Errorf("b.CreateUser of a's user: %v, want ErrUserExists", err)
		}
		key, err := b.RegenerateAPIKey(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.UserByAPIKey(ctx, u.APIKey); !errors.Is(err, zulipauth.ErrUserNotFound) {
			t.Errorf("a.UserByAPIKey(old key) after b regenerated it: %v, want ErrUserNotFound", err)
		}
		if got, err := a.UserByAPIKey(ctx, key); err != nil || got.ID != u.ID {
			t.Errorf("a.UserByAPIKey(new key) = %v, %v", got, err)
		}
		if err := a.SetUserDeactivated(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.UserByID(ctx, u.ID); !got.Deactivated {
			t.Error("b does not see a's deactivation")
		}
		if err := b.UpdateRealm(ctx, zulipauth.Realm{Name: "Renamed", Deactivated: true}); err != nil {
			t.Fatal(err)
		}
		if r, _ := a.RealmBySubdomain(ctx, ""); r.Name != "Renamed" || !r.Deactivated {
			t.Errorf("a sees root realm %+v after b updated it", r)
		}
	})
}

// TestUserByID covers the lookup that is not part of the conformance suite.
func TestUserByID(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		s := open(t, dc.driver, dc.newDSN(t))
		u, err := s.CreateUser(t.Context(), zulipauth.NewUser{Email: "Iago@Zulip.com", FullName: "Iago", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != u {
			t.Errorf("UserByID = %#v, want %#v", got, u)
		}
		for _, id := range []int64{0, -1, u.ID + 1} {
			if _, err := s.UserByID(t.Context(), id); !errors.Is(err, zulipauth.ErrUserNotFound) {
				t.Errorf("UserByID(%d): %v, want ErrUserNotFound", id, err)
			}
		}
	})
}

// TestNewLeavesDBOpen: a Store made by New does not close the caller's DB.
func TestNewLeavesDBOpen(t *testing.T) {
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "own.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.New(t.Context(), db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dialect() != sqlstore.SQLite {
		t.Errorf("Dialect() = %q", s.Dialect())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(t.Context()); err != nil {
		t.Errorf("the caller's DB after Store.Close: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM realms`).Scan(&n); err != nil || n != 1 {
		t.Errorf("realms: %d, %v; want the root realm", n, err)
	}
}

// TestOpenErrors: bad arguments are errors, not panics.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, driver, dsn string }{
		{"unknown driver", "mysql", "x"},
		{"empty driver", "", "x"},
		{"sqlite in a missing directory", "sqlite", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")},
		{"sqlite bad parameter", "sqlite", filepath.Join(t.TempDir(), "x.db") + "?_txlock=sometimes"},
		{"postgres unreachable", "postgres", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"},
		{"postgres garbage", "postgres", "::not a dsn::"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlstore.Open(ctx, tc.driver, tc.dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
	if _, err := sqlstore.New(ctx, nil, sqlstore.SQLite); err == nil {
		t.Error("New(nil) succeeded")
	}
	db, _ := sql.Open("sqlite", ":memory:")
	defer db.Close()
	if _, err := sqlstore.New(ctx, db, "oracle"); err == nil {
		t.Error("New with an unknown dialect succeeded")
	}
}

// TestMemory: ":memory:" is one private database, not one per connection.
func TestMemory(t *testing.T) {
	s := open(t, "sqlite", ":memory:")
	u, err := s.CreateUser(t.Context(), zulipauth.NewUser{Email: "iago@zulip.com"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got, err := s.UserByAPIKey(t.Context(), u.APIKey); err != nil || got.ID != u.ID {
				t.Errorf("UserByAPIKey = %v, %v", got, err)
			}
		})
	}
	wg.Wait()
}

// TestSetPasswordAndCountUsers: SetPassword replaces the hash and clears a
// required reset in one statement; CountUsers counts every realm's users.
func TestSetPasswordAndCountUsers(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		s := open(t, dc.driver, dc.newDSN(t))
		ctx := t.Context()
		if n, err := s.CountUsers(ctx); err != nil || n != 0 {
			t.Fatalf("CountUsers of a fresh store = %d, %v", n, err)
		}
		if err := s.CreateRealm(ctx, zulipauth.Realm{Subdomain: "lear"}); err != nil {
			t.Fatal(err)
		}
		u, err := s.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com", PasswordHash: "old"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, zulipauth.NewUser{Realm: "lear", Email: "iago@zulip.com"}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountUsers(ctx); err != nil || n != 2 {
			t.Fatalf("CountUsers = %d, %v, want 2", n, err)
		}
		if err := s.SetPasswordResetRequired(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPassword(ctx, u.ID, "new"); err != nil {
			t.Fatal(err)
		}
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || got.PasswordHash != "new" || got.PasswordResetRequired {
			t.Fatalf("after SetPassword: %+v, %v", got, err)
		}
		if err := s.SetPassword(ctx, u.ID+100, "x"); !errors.Is(err, zulipauth.ErrUserNotFound) {
			t.Errorf("SetPassword(unknown id) = %v, want ErrUserNotFound", err)
		}
	})
}
