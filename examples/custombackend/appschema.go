package main

import (
	"context"
	"database/sql"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// appSchema is the application's own table, as it was before zulipauth: a
// real application has it already, made by its own migrations, and this
// example creates it only so that it runs on an empty file. Nothing in it
// was made for zulipauth: the email is unique as typed (SQLite's = compares
// bytes), password_digest holds bcrypt hashes as Rails' has_secure_password
// writes them (NULL for an account without a password), and an account is
// disabled, never deleted, by setting disabled_at.
const appSchema = `
CREATE TABLE IF NOT EXISTS accounts (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	email           TEXT NOT NULL UNIQUE,
	display_name    TEXT NOT NULL DEFAULT '',
	password_digest TEXT,
	disabled_at     TEXT
)`

// Demo account of an empty database, so that the printed curl command works.
const (
	demoEmail    = "iago@example.com"
	demoPassword = "opensesame"
)

// createAppSchema creates the application's table if it is missing and,
// when it holds no account, adds the demo account with a bcrypt digest, as
// the application would have stored it.
func createAppSchema(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, appSchema); err != nil {
		return fmt.Errorf("application schema: %w", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return fmt.Errorf("application schema: %w", err)
	}
	if n > 0 {
		return nil
	}
	digest, err := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("demo account: %w", err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO accounts (email, display_name, password_digest) VALUES (?, ?, ?)`,
		demoEmail, "Iago", string(digest))
	if err != nil {
		return fmt.Errorf("demo account: %w", err)
	}
	return nil
}
