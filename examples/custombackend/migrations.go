package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// migrations are the store's schema, one statement list per version, for
// the store's own table only: the application's accounts table is read and
// its password_digest column written, never altered. A released version
// never changes; a change is a new entry.
var migrations = []string{
	// 1: one row per account: the folded address that lookups probe and
	// the account's Zulip API key.
	`CREATE TABLE zulipauth_accounts (
		-- The application's account. Its ids must never be reused (accounts
		-- are disabled, not deleted, and AUTOINCREMENT never reuses one):
		-- a reused id would inherit the old account's API key.
		account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
		-- zulipauth.FoldEmail(accounts.email), computed in Go: SQLite's
		-- lower() and NOCASE fold ASCII letters only.
		email_key  TEXT NOT NULL,
		api_key    TEXT NOT NULL UNIQUE
	) STRICT;
	CREATE INDEX zulipauth_accounts_email_key ON zulipauth_accounts (email_key);`,
}

// migrate brings the store's table to the newest version, in one write
// transaction that records the version in zulipauth_migrations.
func migrate(ctx context.Context, db *sql.DB) error {
	return inWriteTx(ctx, db, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS zulipauth_migrations (version INTEGER PRIMARY KEY)`); err != nil {
			return err
		}
		var done int
		if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM zulipauth_migrations`).Scan(&done); err != nil {
			return err
		}
		if done > len(migrations) {
			return fmt.Errorf("the database is at version %d of the store's schema, newer than this program's %d", done, len(migrations))
		}
		for v := done + 1; v <= len(migrations); v++ {
			if _, err := conn.ExecContext(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("version %d: %w", v, err)
			}
			if _, err := conn.ExecContext(ctx, `INSERT INTO zulipauth_migrations (version) VALUES (?)`, v); err != nil {
				return fmt.Errorf("version %d: %w", v, err)
			}
		}
		return nil
	})
}

// inWriteTx runs f in a transaction that holds SQLite's write lock from
// its start (BEGIN IMMEDIATE, waiting out busy_timeout), whatever the DSN
// of the application's *sql.DB says: a deferred transaction that reads
// first fails at once, instead of waiting, when another connection wrote in
// between.
func inWriteTx(ctx context.Context, db *sql.DB, f func(conn *sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := f(conn); err != nil {
		rollback(ctx, conn)
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback(ctx, conn)
		return err
	}
	return nil
}

// rollback ends the transaction even when ctx has ended; a connection it
// cannot take out of the transaction is discarded, not returned to the
// application's pool.
func rollback(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}
