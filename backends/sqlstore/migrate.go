package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFiles holds the schema, one folder per dialect, one file per
// version: NNNN_description.sql. A released file never changes; a schema
// change is a new file with the next number.
//
//go:embed migrations/*/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order.
func (d Dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration file %s has no version number", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migrations: %w", err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this package migrates to: the number
// of the newest embedded migration.
func (d Dialect) SchemaVersion() int {
	ms, err := d.migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrationLock takes the PostgreSQL advisory lock that serializes
// migrations of one schema; current_schema() keeps schemas independent.
const migrationLock = `SELECT pg_advisory_xact_lock(hashtextextended('zulipauth/sqlstore ' || current_schema(), 0))`

// execer is what migrations run on: a *sql.Tx or a *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// migrate brings the schema to the newest version in one transaction,
// creating it only where c allows.
func (s *Store) migrate(ctx context.Context, c SchemaCreation) error {
	ms, err := s.dialect.migrations()
	if err != nil {
		return err
	}
	// One transaction; on PostgreSQL under migrationLock, so that
	// instances starting together migrate one after another.
	return s.inTx(ctx, "migrate", migrationLock, func(db execer) error {
		if c != CreateSchemaAnywhere {
			// Under the transaction's lock: what Open's look before it
			// (checkSQLiteFile) saw may have changed since.
			ours, tables, err := s.dialect.inspect(ctx, db, ms[0].name)
			if err != nil {
				return fmt.Errorf("sqlstore: migrate: reading the schema: %w", err)
			}
			if err := c.check(ours, tables); err != nil {
				return err
			}
		}
		return s.applyMigrations(ctx, db, ms)
	})
}

func (s *Store) applyMigrations(ctx context.Context, db execer, ms []migration) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at text NOT NULL DEFAULT CURRENT_TIMESTAMP
)`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	for v := range applied {
		if v > latest {
			return fmt.Errorf("sqlstore: database schema version %d is newer than this package's %d", v, latest)
		}
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := db.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
		ins := s.dialect.rebind(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`)
		if _, err := db.ExecContext(ctx, ins, m.version, m.name); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, db execer) (map[int]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer rows.Close()
	applied := make(map[int]bool)
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlstore: migrate: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return applied, nil
}
