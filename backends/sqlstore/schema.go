package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"

	sqlite3 "modernc.org/sqlite/lib"
)

// SchemaCreation says in which databases [Open] and [New] may create this
// package's schema. Whatever it says, a database that holds the schema
// already is migrated to the current version. A database holds the schema
// when its table schema_migrations records this package's first migration;
// a table of that name made by another tool (Rails', golang-migrate's) does
// not count.
type SchemaCreation int

const (
	// CreateSchemaAnywhere creates the schema in any database, beside
	// whatever else it holds (a host application's own tables). This is the
	// default, and the only choice that does not look at the database
	// before migrating it.
	CreateSchemaAnywhere SchemaCreation = iota
	// CreateSchemaInEmpty creates the schema only in a database that holds
	// no table or view (on PostgreSQL: in the current schema, the first of
	// the search_path): a new SQLite file, an empty one, a new PostgreSQL
	// schema.
	CreateSchemaInEmpty
	// CreateSchemaNever creates the schema nowhere: the database must hold
	// it already. Open then never creates a SQLite file.
	CreateSchemaNever
)

// WithSchemaCreation sets where [Open] and [New] may create the schema
// (default [CreateSchemaAnywhere]). Under [CreateSchemaInEmpty] and
// [CreateSchemaNever], they return a *[SchemaError] for a database they
// refuse before any statement that writes to it. On SQLite, Open looks at
// the file before it switches it to WAL journaling, so a refused file is
// left byte for byte as it was, with no -wal, -shm or -journal file beside
// it. New's database is the caller's, with the caller's pragmas: the
// journal_mode of [SQLiteDSN] switches the file to WAL when New's first
// connection opens, before New looks.
func WithSchemaCreation(c SchemaCreation) Option {
	return func(o *options) { o.creation = c }
}

// SchemaError is the error of [Open] and [New] for a database that does not
// hold this package's schema, where their [SchemaCreation] forbids creating
// it there: [CreateSchemaNever], or [CreateSchemaInEmpty] for a database that
// holds tables or views. Open and New changed nothing in the database (see
// [WithSchemaCreation] for the pragmas of New's caller).
type SchemaError struct {
	// Tables names the database's tables and views (on PostgreSQL, those of
	// the current schema), sorted; none when it is empty or, on SQLite, when
	// the file does not exist.
	Tables []string
}

// Error says whether the database is empty or holds tables of its own, and
// names the first few.
func (e *SchemaError) Error() string {
	if len(e.Tables) == 0 {
		return "sqlstore: the database is new or empty: it does not hold zulipauth's schema"
	}
	const max = 5
	names := strings.Join(e.Tables, ", ")
	if len(e.Tables) > max {
		names = fmt.Sprintf("%s and %d more", strings.Join(e.Tables[:max], ", "), len(e.Tables)-max)
	}
	return fmt.Sprintf("sqlstore: the database is not zulipauth's: it holds tables of its own (%s) and not zulipauth's schema", names)
}

// check returns the *SchemaError of a database that does not hold the schema
// (ours is false) and holds tables, where c does not let the schema be
// created there; nil where it does.
func (c SchemaCreation) check(ours bool, tables []string) error {
	switch {
	case ours, c == CreateSchemaAnywhere:
		return nil
	case c == CreateSchemaNever, len(tables) > 0:
		return &SchemaError{Tables: tables}
	}
	return nil
}

func (c SchemaCreation) valid() bool {
	return c == CreateSchemaAnywhere || c == CreateSchemaInEmpty || c == CreateSchemaNever
}

// inspect reports whether the database holds this package's schema (its
// schema_migrations records first, the name of migration 1) and the names
// of its tables and views. It only reads, through catalog queries that
// cannot fail on a table of another's making (a failed statement would
// abort a PostgreSQL transaction).
func (d Dialect) inspect(ctx context.Context, db execer, first string) (ours bool, tables []string, err error) {
	listTables := `SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`
	listColumns := `SELECT name FROM pragma_table_info('schema_migrations')`
	if d == Postgres {
		listTables = `SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname`
		listColumns = `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	}
	if tables, err = queryStrings(ctx, db, listTables); err != nil || !slices.Contains(tables, "schema_migrations") {
		return false, tables, err
	}
	columns, err := queryStrings(ctx, db, listColumns)
	if err != nil || !slices.Contains(columns, "version") || !slices.Contains(columns, "name") {
		return false, tables, err
	}
	// CAST: another tool's version column may be text.
	names, err := queryStrings(ctx, db, `SELECT CAST(name AS TEXT) FROM schema_migrations WHERE CAST(version AS TEXT) = '1'`)
	return err == nil && slices.Contains(names, first), tables, err
}

// queryStrings returns the first column of every row of q.
func queryStrings(ctx context.Context, db execer, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s *string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if s != nil {
			out = append(out, *s)
		}
	}
	return out, rows.Err()
}

// checkSQLiteFile applies c to the SQLite database at path before Open
// touches it: without this look, the switch to WAL journaling (which
// rewrites the file's header) would come before the migration's check. It
// reads the database on a connection of its own that keeps SQLite's own URI
// parameters of path (mode, vfs, ...) but sets no pragma other than the busy
// timeout, and it never creates a missing file.
func checkSQLiteFile(ctx context.Context, path string, c SchemaCreation) error {
	if c == CreateSchemaAnywhere {
		return nil
	}
	name, rawQuery, _ := strings.Cut(path, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("sqlstore: open: %w", err)
	}
	uri := strings.HasPrefix(name, "file:")
	if uri {
		// SQLite's mode=rw opens without creating; a missing file is then
		// SQLITE_CANTOPEN, below.
		if m := q.Get("mode"); m == "" || m == "rwc" {
			q.Set("mode", "rw")
		}
	} else if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
		// A plain path, which modernc.org/sqlite would create.
		return c.check(false, nil)
	}
	for k := range q {
		if strings.HasPrefix(k, "_") { // the driver's own: pragmas and the like
			delete(q, k)
		}
	}
	q.Set("_pragma", "busy_timeout(5000)")
	db, err := sql.Open("sqlite", name+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("sqlstore: open: %w", err)
	}
	defer db.Close()
	ms, err := SQLite.migrations()
	if err != nil {
		return err
	}
	ours, tables, err := SQLite.inspect(ctx, db, ms[0].name)
	var coded interface{ Code() int }
	switch {
	case uri && errors.As(err, &coded) && coded.Code()&0xff == sqlite3.SQLITE_CANTOPEN:
		return c.check(false, nil) // no file there yet
	case err != nil:
		return fmt.Errorf("sqlstore: open: reading the schema: %w", err)
	}
	return c.check(ours, tables)
}
