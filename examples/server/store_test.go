package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileState is a database file's bytes and the SQLite files beside it.
type fileState struct {
	data    []byte
	exists  bool
	sidecar []string
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	var s fileState
	if info, err := os.Stat(path); err == nil {
		s.exists = true
		if info.Mode().IsRegular() {
			if s.data, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); err == nil {
			s.sidecar = append(s.sidecar, suffix)
		}
	}
	return s
}

func (s fileState) equal(o fileState) bool {
	return s.exists == o.exists && bytes.Equal(s.data, o.data) && slices.Equal(s.sidecar, o.sidecar)
}

func (s fileState) String() string {
	if !s.exists {
		return "no file"
	}
	return fmt.Sprintf("%d bytes, %q beside it", len(s.data), s.sidecar)
}

// appSQLite makes another application's SQLite file in dir.
func appSQLite(t *testing.T, journal string, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, s := range append([]string{"PRAGMA journal_mode = " + journal}, stmts...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}

// everyCommand is one command line per command, with what it reads on
// standard input: each would succeed on a zulipauth database with realm
// lear and user iago@zulip.com.
var everyCommand = []struct {
	stdin string
	args  []string
}{
	{"", []string{"create-realm", "-subdomain", "newrealm"}},
	{"", []string{"deactivate-realm", "-subdomain", "lear"}},
	{"", []string{"reactivate-realm", "-subdomain", "lear"}},
	{"", []string{"set-realm", "-subdomain", "lear", "-name", "Lear"}},
	{"a long password\n", []string{"create-user", "-email", "new@zulip.com"}},
	{"a long password\n", []string{"change-password", "-email", "iago@zulip.com"}},
	{"", []string{"deactivate-user", "-email", "iago@zulip.com"}},
	{"", []string{"reactivate-user", "-email", "iago@zulip.com"}},
	{"", []string{"require-password-reset", "-email", "iago@zulip.com"}},
	{"", []string{"regenerate-api-key", "-email", "iago@zulip.com"}},
	{`{"email":"new@zulip.com","full_name":"New","password_hash":""}` + "\n", []string{"import-users"}},
	{"", []string{"serve", "-addr", "127.0.0.1:0"}},
}

// runOn runs one command line on the SQLite file at db. serve is stopped
// after a few seconds, so a serve that accepts the file returns nil.
func runOn(db, stdin string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	all := append([]string{args[0], "-db", db}, args[1:]...)
	return run(ctx, all, strings.NewReader(stdin), io.Discard, io.Discard)
}

// Pins an attack on the admin commands: pointed at another application's
// SQLite file, deactivate-user answered "no user" after adding zulipauth's
// tables to it; a file with users and realms tables of its own was switched
// to WAL journaling before the migration failed on them; -db /dev/null
// created /dev/null-journal. Now every command refuses a database that is
// not zulipauth's before SQLite writes to it, says what is wrong and what to
// do, and leaves the file byte for byte as it was, with no -wal, -shm or
// -journal file beside it.
func TestCommandsLeaveOtherFilesAlone(t *testing.T) {
	t.Parallel()
	fifo := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "fifo.db")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip("no fifo here:", err)
		}
		return path
	}
	emptyFile := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "empty.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name string
		file func(t *testing.T) string
		want string // in the refusal
		// creates: the file may be created into by create-realm,
		// create-user, import-users and serve
		creates bool
	}{
		{"users and realms of its own", func(t *testing.T) string {
			return appSQLite(t, "DELETE", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)", "CREATE TABLE realms (id INTEGER PRIMARY KEY, name TEXT)",
				"INSERT INTO users (email) VALUES ('iago@zulip.com')", "INSERT INTO realms (name) VALUES ('lear')")
		}, "is not a zulipauth database (it has tables of its own: realms, users); give -db a zulipauth database, or a new file with create-realm", false},
		{"a table of another name", func(t *testing.T) string { return appSQLite(t, "DELETE", "CREATE TABLE notes (body TEXT)") },
			"is not a zulipauth database (it has tables of its own: notes)", false},
		{"WAL mode", func(t *testing.T) string { return appSQLite(t, "WAL", "CREATE TABLE notes (body TEXT)") },
			"is not a zulipauth database (it has tables of its own: notes)", false},
		{"a SQLite database without tables", func(t *testing.T) string { return appSQLite(t, "DELETE", "PRAGMA user_version = 3") },
			"is not a zulipauth database (it is a SQLite database without tables, which another program made)", false},
		{"not SQLite", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "users.csv")
			if err := os.WriteFile(path, []byte("email,full_name\niago@zulip.com,Iago\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, "is not a zulipauth database (it is not a SQLite database at all)", false},
		{"a fifo", fifo, "is not a regular file (it is a fifo)", false},
		{"/dev/null", func(t *testing.T) string { return os.DevNull }, "is not a regular file (it is a device)", false},
		{"an empty file", emptyFile, "is an empty file, not a zulipauth database: create-realm or create-user creates one in it", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, cmd := range everyCommand {
				if tc.creates && slices.Contains([]string{"create-realm", "create-user", "import-users", "serve"}, cmd.args[0]) {
					continue
				}
				path := tc.file(t)
				before := stateOf(t, path)
				err := runOn(path, cmd.stdin, cmd.args...)
				after := stateOf(t, path)
				if path == os.DevNull {
					for _, suffix := range after.sidecar {
						if !slices.Contains(before.sidecar, suffix) {
							os.Remove(path + suffix) // what the command should not have made
						}
					}
				}
				switch {
				case err == nil:
					t.Errorf("%s: accepted the file", cmd.args[0])
				case !strings.Contains(err.Error(), tc.want):
					t.Errorf("%s: %v\nwant it to say %q", cmd.args[0], err, tc.want)
				case errors.Is(err, errUsage):
					t.Errorf("%s: a usage error (exit 2) for a wrong file: %v", cmd.args[0], err)
				}
				if !after.equal(before) {
					t.Errorf("%s changed the file: %s, was %s", cmd.args[0], after, before)
				}
			}
		})
	}

	// create-realm creates a database in an empty file, which keeps its
	// permissions.
	t.Run("create-realm in an empty file", func(t *testing.T) {
		t.Parallel()
		path := emptyFile(t)
		if err := runOn(path, "", "create-realm", "-subdomain", "lear"); err != nil {
			t.Fatal(err)
		}
		if err := runOn(path, "", "deactivate-realm", "-subdomain", "lear"); err != nil {
			t.Fatalf("the database create-realm made: %v", err)
		}
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("the file's permissions: %v, %v; want -rw-------", info.Mode(), err)
		}
	})
}

// A command that fails leaves the file as it was, whatever the failure:
// on zulipauth's own database, and where a command that creates would have
// created one (no file, an empty file).
func TestFailedCommandsLeaveTheFile(t *testing.T) {
	t.Parallel()
	ours := filepath.Join(t.TempDir(), "zulipauth.db")
	mustAdmin(t, ours, "", "create-realm", "-subdomain", "lear")
	mustAdmin(t, ours, "a long password\n", "create-user", "-email", "iago@zulip.com")
	failures := []struct {
		stdin string
		args  []string
	}{
		{"", []string{"deactivate-user", "-email", "nobody@zulip.com"}},
		{"", []string{"create-realm", "-subdomain", "lear"}},
		{"a long password\n", []string{"create-user", "-email", "IAGO@zulip.com"}},
		{"a long password\n", []string{"create-user", "-email", "new@zulip.com", "-realm", "nope"}},
		{"abc\n", []string{"create-user", "-email", "new@zulip.com"}},
		{"", []string{"create-user", "-email", "new@zulip.com"}},
		{"abc\n", []string{"change-password", "-email", "iago@zulip.com"}},
		{`{"email":"new@zulip.com","full_name":"New","password_hash":"","realm":"nope"}` + "\n", []string{"import-users"}},
		{`{"email":"iago@zulip.com","full_name":"New","password_hash":""}` + "\n", []string{"import-users"}},
		{"", []string{"set-realm", "-subdomain", "nope", "-name", "x"}},
	}
	for _, f := range failures {
		for _, where := range []string{"zulipauth's database", "no file", "an empty file"} {
			path := ours
			switch where {
			case "no file":
				path = filepath.Join(t.TempDir(), "new.db")
			case "an empty file":
				path = filepath.Join(t.TempDir(), "empty.db")
				if err := os.WriteFile(path, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := stateOf(t, path)
			if err := runOn(path, f.stdin, f.args...); err == nil {
				if where == "zulipauth's database" {
					t.Errorf("%v on %s succeeded", f.args, where)
				}
				continue // some fail only on zulipauth's database
			}
			if after := stateOf(t, path); !after.equal(before) {
				t.Errorf("%v failed on %s and changed it: %s, was %s", f.args, where, after, before)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			for _, e := range entries {
				if e.Name() != filepath.Base(path) {
					t.Errorf("%v failed on %s and left %s beside it", f.args, where, e.Name())
				}
			}
		}
	}
}

// The same rule on PostgreSQL, where a database is a schema: a command that
// does not create refuses a schema without zulipauth's tables and creates
// none there.
func TestCommandsLeaveOtherPostgresSchemasAlone(t *testing.T) {
	t.Parallel()
	dsn := freshPostgresSchema(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := func() []string {
		rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		return names
	}
	err = run(context.Background(), []string{"deactivate-user", "-postgres", dsn, "-email", "iago@zulip.com"}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no zulipauth database") {
		t.Errorf("deactivate-user on an empty schema: %v", err)
	}
	if names := tables(); len(names) > 0 {
		t.Errorf("a refused command created tables: %q", names)
	}
	if _, err := db.Exec(`CREATE TABLE users (id int)`); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"create-realm", "-postgres", dsn, "-subdomain", "lear"}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "tables of its own: users") {
		t.Errorf("create-realm on another application's schema: %v", err)
	}
	if names := tables(); !slices.Equal(names, []string{"users"}) {
		t.Errorf("a refused command created tables: %q", names)
	}
}
