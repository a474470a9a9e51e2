package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// sqliteFile makes a SQLite file of another application's, in the journal
// mode given, running stmts on one plain connection.
func sqliteFile(t *testing.T, journal string, stmts ...string) string {
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

// snapshot is a SQLite file's bytes and the files beside it.
type snapshot struct {
	data    []byte
	sidecar []string
}

func snap(t *testing.T, path string) snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var side []string
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); err == nil {
			side = append(side, suffix)
		}
	}
	return snapshot{data, side}
}

func (s snapshot) equal(o snapshot) bool {
	return bytes.Equal(s.data, o.data) && slices.Equal(s.sidecar, o.sidecar)
}

// Pins an attack on the reference server's admin commands: pointed at
// another application's SQLite file, Open added zulipauth's tables to it, or
// switched it to WAL journaling before failing on its own users table.
// Under CreateSchemaInEmpty and CreateSchemaNever, Open refuses a database
// that is not zulipauth's with a *SchemaError that names its tables, and the
// file is left byte for byte as it was, with nothing beside it; a missing
// file is not created under CreateSchemaNever.
func TestSchemaCreationSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	zulipauthDB := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "zulipauth.db")
		s := open(t, "sqlite", path)
		if _, err := s.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		return path
	}
	empty := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "empty.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name string
		file func(t *testing.T) string
		// refused by CreateSchemaInEmpty (always by CreateSchemaNever,
		// unless ours), with these tables
		inEmptyRefuses bool
		ours           bool
		tables         []string
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "new.db") }, false, false, nil},
		{"empty file", empty, false, false, nil},
		{"SQLite database without tables", func(t *testing.T) string { return sqliteFile(t, "DELETE", "PRAGMA user_version = 7") }, false, false, nil},
		{"users and realms of its own", func(t *testing.T) string {
			return sqliteFile(t, "DELETE", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)", "CREATE TABLE realms (id INTEGER PRIMARY KEY)", "INSERT INTO users (email) VALUES ('x@y.co')")
		}, true, false, []string{"realms", "users"}},
		{"a table of another name", func(t *testing.T) string { return sqliteFile(t, "DELETE", "CREATE TABLE notes (body TEXT)") }, true, false, []string{"notes"}},
		{"WAL mode", func(t *testing.T) string {
			return sqliteFile(t, "WAL", "CREATE TABLE notes (body TEXT)", "CREATE VIEW recent AS SELECT * FROM notes")
		}, true, false, []string{"notes", "recent"}},
		{"another tool's schema_migrations", func(t *testing.T) string {
			return sqliteFile(t, "DELETE", "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)", "INSERT INTO schema_migrations VALUES ('20240101120000')")
		}, true, false, []string{"schema_migrations"}},
		{"a schema_migrations with a name column", func(t *testing.T) string {
			return sqliteFile(t, "DELETE", "CREATE TABLE schema_migrations (version TEXT, name TEXT)", "INSERT INTO schema_migrations VALUES ('1', 'create_posts')")
		}, true, false, []string{"schema_migrations"}},
		{"zulipauth's", zulipauthDB, false, true, nil},
	}
	for _, tc := range tests {
		for _, c := range []sqlstore.SchemaCreation{sqlstore.CreateSchemaInEmpty, sqlstore.CreateSchemaNever} {
			refused := !tc.ours && (c == sqlstore.CreateSchemaNever || tc.inEmptyRefuses)
			t.Run(tc.name+"/"+map[sqlstore.SchemaCreation]string{sqlstore.CreateSchemaInEmpty: "InEmpty", sqlstore.CreateSchemaNever: "Never"}[c], func(t *testing.T) {
				t.Parallel()
				path := tc.file(t)
				before := snap(t, path)
				s, err := sqlstore.Open(ctx, "sqlite", path, sqlstore.WithSchemaCreation(c))
				if !refused {
					if err != nil {
						t.Fatalf("Open: %v", err)
					}
					defer s.Close()
					if tc.ours {
						if _, err := s.UserByEmail(ctx, "", "iago@zulip.com"); err != nil {
							t.Errorf("zulipauth's database lost its user: %v", err)
						}
					} else if _, err := s.CreateUser(ctx, zulipauth.NewUser{Email: "new@zulip.com"}); err != nil {
						t.Errorf("the schema was not created: %v", err)
					}
					return
				}
				if err == nil {
					s.Close()
					t.Fatal("Open succeeded")
				}
				var se *sqlstore.SchemaError
				if !errors.As(err, &se) || !slices.Equal(se.Tables, tc.tables) {
					t.Errorf("Open = %v, want a *SchemaError with tables %q", err, tc.tables)
				}
				if after := snap(t, path); !after.equal(before) {
					t.Errorf("a refused Open changed the file: %d bytes and %q beside it, were %d and %q",
						len(after.data), after.sidecar, len(before.data), before.sidecar)
				}
				if before.data == nil {
					if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("a refused Open created the file: %v", err)
					}
				}
			})
		}
	}
	t.Run("messages", func(t *testing.T) {
		t.Parallel()
		_, err := sqlstore.Open(ctx, "sqlite", sqliteFile(t, "DELETE", "CREATE TABLE notes (body TEXT)"), sqlstore.WithSchemaCreation(sqlstore.CreateSchemaInEmpty))
		if err == nil || !strings.Contains(err.Error(), "tables of its own (notes)") {
			t.Errorf("foreign database: %v", err)
		}
		_, err = sqlstore.Open(ctx, "sqlite", empty(t), sqlstore.WithSchemaCreation(sqlstore.CreateSchemaNever))
		if err == nil || !strings.Contains(err.Error(), "new or empty") {
			t.Errorf("empty database: %v", err)
		}
	})
	t.Run("file URI", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "new.db")
		for _, mode := range []string{"", "&mode=rwc"} {
			_, err := sqlstore.Open(ctx, "sqlite", "file:"+path+"?cache=private"+mode, sqlstore.WithSchemaCreation(sqlstore.CreateSchemaNever))
			var se *sqlstore.SchemaError
			if !errors.As(err, &se) {
				t.Errorf("Open of a missing file: URI%s = %v, want a *SchemaError", mode, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused Open created the file: %v", err)
			}
		}
		s, err := sqlstore.Open(ctx, "sqlite", "file:"+path+"?cache=private", sqlstore.WithSchemaCreation(sqlstore.CreateSchemaInEmpty))
		if err != nil {
			t.Fatalf("CreateSchemaInEmpty, a new file: URI: %v", err)
		}
		s.Close()
	})
	// The default is unchanged: the schema goes beside an application's own
	// tables.
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		path := sqliteFile(t, "DELETE", "CREATE TABLE notes (body TEXT)")
		s := open(t, "sqlite", path)
		if _, err := s.CreateUser(ctx, zulipauth.NewUser{Email: "new@zulip.com"}); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := sqlstore.Open(ctx, "sqlite", ":memory:", sqlstore.WithSchemaCreation(sqlstore.SchemaCreation(42))); err == nil {
		t.Error("an unknown SchemaCreation was accepted")
	}
}

// The same on PostgreSQL, where a database is the current schema: a refused
// Open (or New) creates no table in it.
func TestSchemaCreationPostgres(t *testing.T) {
	ctx := context.Background()
	postgresDSN(t) // skip (or fail in CI) without a server
	tables := func(t *testing.T, db *sql.DB) []string {
		t.Helper()
		rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`)
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
	for _, tc := range []struct {
		name     string
		setup    []string
		creation sqlstore.SchemaCreation
		refused  []string // the tables of the SchemaError; nil: accepted
	}{
		{"empty schema, Never", nil, sqlstore.CreateSchemaNever, []string{}},
		{"empty schema, InEmpty", nil, sqlstore.CreateSchemaInEmpty, nil},
		{"a table of its own, InEmpty", []string{"CREATE TABLE users (id int)"}, sqlstore.CreateSchemaInEmpty, []string{"users"}},
		{"another tool's schema_migrations, Never", []string{"CREATE TABLE schema_migrations (version varchar PRIMARY KEY)", "INSERT INTO schema_migrations VALUES ('20240101120000')"},
			sqlstore.CreateSchemaNever, []string{"schema_migrations"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schemaDSN := freshSchema(t)
			db, err := sql.Open("pgx", schemaDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, s := range tc.setup {
				if _, err := db.Exec(s); err != nil {
					t.Fatal(err)
				}
			}
			before := tables(t, db)
			for _, how := range []string{"Open", "New"} {
				var s *sqlstore.Store
				if how == "Open" {
					s, err = sqlstore.Open(ctx, "postgres", schemaDSN, sqlstore.WithSchemaCreation(tc.creation))
				} else {
					s, err = sqlstore.New(ctx, db, sqlstore.Postgres, sqlstore.WithSchemaCreation(tc.creation))
				}
				if tc.refused == nil {
					if err != nil {
						t.Fatalf("%s: %v", how, err)
					}
					s.Close()
					continue
				}
				if err == nil {
					s.Close()
					t.Fatalf("%s succeeded", how)
				}
				var se *sqlstore.SchemaError
				if !errors.As(err, &se) || len(se.Tables) != len(tc.refused) || len(se.Tables) > 0 && !slices.Equal(se.Tables, tc.refused) {
					t.Errorf("%s = %v, want a *SchemaError with tables %q", how, err, tc.refused)
				}
				if after := tables(t, db); !slices.Equal(after, before) {
					t.Errorf("a refused %s left tables %q, were %q", how, after, before)
				}
			}
		})
	}
	// A zulipauth schema is migrated under CreateSchemaNever.
	schemaDSN := freshSchema(t)
	open(t, "postgres", schemaDSN).Close()
	s, err := sqlstore.Open(ctx, "postgres", schemaDSN, sqlstore.WithSchemaCreation(sqlstore.CreateSchemaNever))
	if err != nil {
		t.Fatalf("zulipauth's schema: %v", err)
	}
	s.Close()
}
