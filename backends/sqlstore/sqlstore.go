// Package sqlstore keeps users and realms in a SQL database through
// database/sql: SQLite (modernc.org/sqlite, pure Go, no cgo), the embedded
// default for one machine, or PostgreSQL (github.com/jackc/pgx/v5), which any
// number of application instances can share.
//
// A [Store] implements zulipauth.UserStore and every optional capability of
// the core (PasswordHashUpdater, UserCreator, APIKeyRegenerator, RealmStore),
// and passes backends/storetest. It is safe for concurrent use.
//
// # Contract
//
//   - "Not found" is exactly zulipauth.ErrUserNotFound or
//     zulipauth.ErrRealmNotFound; a duplicate is zulipauth.ErrUserExists or
//     zulipauth.ErrRealmExists. Compare with errors.Is. Any other error is a
//     fault of the database (unreachable, closed, cancelled context, ...) and
//     is wrapped with a "sqlstore: " prefix.
//   - Emails are stored as given and looked up by their zulipauth.FoldEmail
//     form, which the store computes and keeps beside them.
//   - Every method takes a context and gives up when it is done.
//   - Times are stored in UTC with microsecond precision; CreatedAt comes back
//     as the UTC time CreateUser returned.
//
// # Schema
//
// [Open] and [New] apply the embedded, versioned migrations (the
// migrations/ folder of this package) in one transaction, record them in
// the table schema_migrations, and do nothing more when the schema is
// current. Two processes that open the same database at once are safe: on
// SQLite the migration holds the write lock (BEGIN IMMEDIATE), on PostgreSQL
// an advisory lock. A database migrated by a newer version of this package
// than the running one is refused. By default they create the schema in any
// database, beside the tables it holds; [WithSchemaCreation] restricts that
// to an empty database, or to none, so that a program given the wrong
// database (another application's) refuses it without changing it.
//
//	realms (id, subdomain UNIQUE, name, deactivated, password_auth_disabled)
//	users  (id, realm_id → realms, email, email_key, full_name, password_hash,
//	        api_key UNIQUE, deactivated, password_reset_required, created_at,
//	        UNIQUE (realm_id, email_key))
//
// The first migration creates the root realm: subdomain "", named "Zulip",
// active, allowing password login. Each lookup is one query that probes the
// unique indexes and joins realms for the subdomain.
//
// # SQLite
//
// Open("sqlite", path) opens the file with WAL journaling, a 5 s busy
// timeout, foreign keys on and synchronous=NORMAL (see [SQLiteDSN]). Writes go
// through a pool of one connection, so writers of one process queue in Go
// instead of sleeping in SQLite's busy handler; reads use a separate pool of
// read-only connections, which WAL lets run beside the writer.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect is the SQL dialect of a database: [SQLite] or [Postgres].
type Dialect string

// The supported dialects.
const (
	// SQLite is SQLite through modernc.org/sqlite (driver name "sqlite").
	SQLite Dialect = "sqlite"
	// Postgres is PostgreSQL through github.com/jackc/pgx/v5/stdlib (driver
	// name "pgx").
	Postgres Dialect = "postgres"
)

// Store is a user and realm store on a SQL database. Create it with [Open] or
// [New]; the zero value is not usable.
type Store struct {
	dialect Dialect
	read    *sql.DB // lookups
	write   *sql.DB // writes and migrations; the same as read except for SQLite opened by Open
	owned   bool    // Close closes read and write

	stmts     []*sql.Stmt // by query.index; see statements.go
	now       func() time.Time
	closeOnce sync.Once
	closeErr  error
}

// Option configures [Open] and [New]. The only one is [WithSchemaCreation].
type Option func(*options)

type options struct {
	creation SchemaCreation
}

func newOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if !o.creation.valid() {
		return o, fmt.Errorf("sqlstore: WithSchemaCreation: unknown SchemaCreation %d", o.creation)
	}
	return o, nil
}

// Open opens the database and returns a Store on it, migrating the schema
// first (creating it where [WithSchemaCreation] allows, by default in any
// database). driver is "sqlite" or "postgres" ("pgx" is accepted for the
// latter).
//
// For "sqlite", dsn is a file path, created if missing (unless
// [CreateSchemaNever]); query parameters of modernc.org/sqlite may follow a
// "?", and Open adds the pragmas of [SQLiteDSN]. ":memory:" is a private
// in-memory database, on one connection.
//
// For "postgres", dsn is a pgx connection string:
// "postgres://user:password@host:5432/db?sslmode=disable" or
// "host=... user=... dbname=...". A search_path parameter selects the schema.
// The pool holds at most max(8, 4×GOMAXPROCS) connections and keeps them
// open while they are used; use [New] to size a pool of your own.
//
// The Store owns the database handles: [Store.Close] closes them.
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*Store, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	switch driver {
	case "sqlite":
		return openSQLite(ctx, dsn, o)
	case "postgres", "pgx":
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open: %w", err)
		}
		// database/sql keeps 2 idle connections by default, so a busy
		// server would dial PostgreSQL for most requests; and it opens
		// connections without limit, which can exhaust the server's.
		n := max(8, 4*runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s, err := newStore(ctx, Postgres, db, db, true, o)
		if err != nil {
			db.Close()
			return nil, err
		}
		return s, nil
	default:
		return nil, fmt.Errorf("sqlstore: unknown driver %q (want \"sqlite\" or \"postgres\")", driver)
	}
}

// SQLiteDSN returns the modernc.org/sqlite data source name that [Open] uses
// for the file at path: WAL journal mode, busy_timeout 5000 ms, foreign keys
// on and synchronous=NORMAL, set on every connection. Use it to open a
// *sql.DB of your own for [New]. path may carry query parameters already.
func SQLiteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
}

func openSQLite(ctx context.Context, path string, o options) (*Store, error) {
	if !isMemory(path) {
		if err := checkSQLiteFile(ctx, path, o.creation); err != nil {
			return nil, err
		}
		if err := enableWAL(ctx, path); err != nil {
			return nil, err
		}
	}
	dsn := SQLiteDSN(path)
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	// One writer: SQLite takes one write at a time anyway, and queueing in
	// the pool is fairer and faster than the busy handler's sleeps. The
	// connection is kept, so an in-memory database is not lost.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	read := write
	if !isMemory(path) {
		read, err = sql.Open("sqlite", dsn+"&_query_only=1")
		if err != nil {
			write.Close()
			return nil, fmt.Errorf("sqlstore: open: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		read.SetMaxOpenConns(n)
		read.SetMaxIdleConns(n)
	}
	s, err := newStore(ctx, SQLite, read, write, true, o)
	if err != nil {
		write.Close()
		if read != write {
			read.Close()
		}
		return nil, err
	}
	return s, nil
}

// enableWAL switches the database file to WAL journaling, which then
// persists in the file. The switch needs an exclusive lock and SQLite answers
// SQLITE_BUSY at once, without waiting out busy_timeout, when another
// connection (another process opening the same new file) is in the way; so it
// is done here, on one connection, retrying for up to 5 s, before the pools
// open connections whose journal_mode pragma is then a no-op.
func enableWAL(ctx context.Context, path string) error {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	db, err := sql.Open("sqlite", path+sep+"_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("sqlstore: open: %w", err)
	}
	defer db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("sqlstore: open: journal_mode is %q, not WAL", mode)
		case !isBusy(err) || time.Now().After(deadline):
			return fmt.Errorf("sqlstore: open: enable WAL: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqlstore: open: enable WAL: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// isMemory reports whether a SQLite path names an in-memory database, whose
// connections each see a database of their own.
func isMemory(path string) bool {
	name, query, _ := strings.Cut(path, "?")
	if name == ":memory:" || name == "file::memory:" || name == "" {
		return true
	}
	q, err := url.ParseQuery(query)
	return err == nil && q.Get("mode") == "memory"
}

// New returns a Store on db, a database the caller opened and keeps: New
// migrates the schema (creating it where [WithSchemaCreation] allows) but
// [Store.Close] leaves db open.
//
// For [SQLite], db must use modernc.org/sqlite; open it with [SQLiteDSN] so
// that every connection has the busy timeout and foreign keys. For
// [Postgres], db must use the "pgx" driver of github.com/jackc/pgx/v5/stdlib.
func New(ctx context.Context, db *sql.DB, dialect Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	switch dialect {
	case SQLite, Postgres:
	default:
		return nil, fmt.Errorf("sqlstore: unknown dialect %q", dialect)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return newStore(ctx, dialect, db, db, false, o)
}

func newStore(ctx context.Context, dialect Dialect, read, write *sql.DB, owned bool, o options) (*Store, error) {
	s := &Store{dialect: dialect, read: read, write: write, owned: owned, now: time.Now}
	if err := write.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	if err := s.migrate(ctx, o.creation); err != nil {
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.closeStatements()
		return nil, err
	}
	return s, nil
}

// Close releases the Store's prepared statements and, when the Store was
// made by [Open], closes the database. Calls after Close fail with an error.
// Close may be called more than once; later calls return the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		errs := []error{s.closeStatements()}
		if s.owned {
			errs = append(errs, s.write.Close())
			if s.read != s.write {
				errs = append(errs, s.read.Close())
			}
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlstore: close: %w", err)
		}
	})
	return s.closeErr
}

// Dialect returns the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }
