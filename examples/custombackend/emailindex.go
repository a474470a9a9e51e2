package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The email index: zulipauth_accounts keeps every account's address folded
// by zulipauth.FoldEmail, so that a login under any letter case is one
// indexed probe. The application writes accounts without knowing about it,
// so the store follows:
//
//   - an account added since the store last looked has an id above the
//     highest indexed one (ids grow: AUTOINCREMENT); a lookup that misses
//     indexes them, and issues their API keys;
//   - an account the application renamed is still indexed under its old
//     address: a lookup that finds it there sees that the address no longer
//     folds alike, skips it and corrects the row; a lookup by the new address
//     that misses corrects it when the address is typed exactly as stored
//     (the application's UNIQUE index finds it), and Reindex corrects every
//     row.
//
// So a renamed account is found at once under its exact new address, and
// under every spelling from then on. An application that renames accounts
// and wants every spelling at once calls Reindex after the rename.

// account is an application account as the index needs it.
type account struct {
	id    int64
	email string
}

// catchUpBatch bounds how many new accounts one statement reads.
const catchUpBatch = 1000

// catchUp indexes the accounts added since the store last looked, and the
// account whose address is exactly email if its index row is missing or
// stale. When there is nothing to write, it costs two indexed reads.
func (s *AccountStore) catchUp(ctx context.Context, email string) error {
	if err := s.indexNew(ctx); err != nil {
		return err
	}
	var a account
	var key sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT a.id, a.email, z.email_key
FROM accounts a LEFT JOIN zulipauth_accounts z ON z.account_id = a.id WHERE a.email = ?`, email).Scan(&a.id, &a.email, &key)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("custombackend: catch up: %w", err)
	case key.Valid && key.String == zulipauth.FoldEmail(a.email):
		return nil
	}
	return s.index(ctx, []account{a})
}

// indexNew indexes the accounts whose ids are above the highest indexed
// one. Every account below it is indexed (index is only ever given new
// accounts after indexNew, or indexed ones), so these are all the new ones.
func (s *AccountStore) indexNew(ctx context.Context) error {
	for {
		fresh, err := s.newAccounts(ctx)
		if err != nil {
			return err
		}
		if err := s.index(ctx, fresh); err != nil {
			return err
		}
		if len(fresh) < catchUpBatch {
			return nil
		}
	}
}

// newAccounts returns up to catchUpBatch accounts whose ids are above the
// highest indexed one, in id order.
func (s *AccountStore) newAccounts(ctx context.Context) ([]account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, email FROM accounts
WHERE id > (SELECT coalesce(max(account_id), 0) FROM zulipauth_accounts) ORDER BY id LIMIT ?`, catchUpBatch)
	if err != nil {
		return nil, fmt.Errorf("custombackend: new accounts: %w", err)
	}
	defer rows.Close()
	var out []account
	for rows.Next() {
		var a account
		if err := rows.Scan(&a.id, &a.email); err != nil {
			return nil, fmt.Errorf("custombackend: new accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("custombackend: new accounts: %w", err)
	}
	return out, nil
}

// index writes the folded address of each account, in one transaction. An
// account seen for the first time gets a fresh API key; one indexed before
// keeps its key. Two processes indexing one account at once are both
// right: the first row written keeps its key.
func (s *AccountStore) index(ctx context.Context, accounts []account) error {
	if len(accounts) == 0 {
		return nil
	}
	s.indexing.Lock()
	defer s.indexing.Unlock()
	err := inWriteTx(ctx, s.db, func(conn *sql.Conn) error {
		stmt, err := conn.PrepareContext(ctx, `INSERT INTO zulipauth_accounts (account_id, email_key, api_key) VALUES (?, ?, ?)
ON CONFLICT (account_id) DO UPDATE SET email_key = excluded.email_key`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, a := range accounts {
			if _, err := stmt.ExecContext(ctx, a.id, zulipauth.FoldEmail(a.email), zulipauth.GenerateAPIKey()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("custombackend: index accounts: %w", err)
	}
	return nil
}

// Reindex indexes every account: those not seen yet, and those whose
// address changed since they were indexed. It reads the whole accounts
// table (NewAccountStore calls it once); call it after renaming accounts to
// have every spelling of the new addresses found at once.
func (s *AccountStore) Reindex(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT a.id, a.email, z.email_key
FROM accounts a LEFT JOIN zulipauth_accounts z ON z.account_id = a.id`)
	if err != nil {
		return fmt.Errorf("custombackend: reindex: %w", err)
	}
	defer rows.Close()
	var todo []account
	for rows.Next() {
		var a account
		var key sql.NullString
		if err := rows.Scan(&a.id, &a.email, &key); err != nil {
			return fmt.Errorf("custombackend: reindex: %w", err)
		}
		if !key.Valid || key.String != zulipauth.FoldEmail(a.email) {
			todo = append(todo, a)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("custombackend: reindex: %w", err)
	}
	rows.Close()
	return s.index(ctx, todo)
}
