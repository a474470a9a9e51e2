package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// AccountStore is a zulipauth.UserStore over the application's accounts
// table (see appSchema), which was not made for zulipauth, plus one table of
// the store's own, zulipauth_accounts, for what the application does not
// have: each account's Zulip API key and its address folded as
// zulipauth.FoldEmail folds it, which SQLite cannot compute.
//
// The application stays the owner of its accounts: it adds, renames and
// disables them as it always did, and the store follows (see emailindex.go).
// The mapping:
//
//	User.ID           accounts.id
//	User.Email        accounts.email, as stored
//	User.FullName     accounts.display_name
//	User.PasswordHash accounts.password_digest (NULL is "no password")
//	User.Deactivated  accounts.disabled_at IS NOT NULL
//	User.APIKey       zulipauth_accounts.api_key, issued when the store
//	                  first sees the account
//	User.Realm        always "", the root realm: one organization
//	User.CreatedAt    zero: the table does not say
//
// Besides zulipauth.UserStore it is a zulipauth.PasswordHashUpdater, so that
// backends/password upgrades a bcrypt digest to argon2id on the next correct
// login (writing password_digest), and a zulipauth.APIKeyRegenerator. It is
// safe for concurrent use, and several processes may share the file.
type AccountStore struct {
	db *sql.DB

	// indexing serializes this process's writes to zulipauth_accounts;
	// other processes are kept out by SQLite's write lock.
	indexing sync.Mutex
}

// NewAccountStore returns a store over db, the application's SQLite
// database, which must hold the accounts table. It creates or migrates the
// store's own table and indexes every account (issuing the API keys of
// those it has not seen), so that the first logins cost what later ones
// do. db should be opened with a busy timeout (see sqliteDSN); the store
// never closes it.
func NewAccountStore(ctx context.Context, db *sql.DB) (*AccountStore, error) {
	if db == nil {
		return nil, errors.New("custombackend: NewAccountStore: nil *sql.DB")
	}
	if err := migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("custombackend: migrate: %w", err)
	}
	s := &AccountStore{db: db}
	if err := s.Reindex(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// errAmbiguousEmail: two accounts have addresses that differ only in letter
// case, which the application's UNIQUE (byte for byte) allows and
// zulipauth's contract does not. The login answers 500 and logs it, rather
// than pick one.
var errAmbiguousEmail = errors.New("custombackend: several accounts have this address, ignoring letter case")

// userColumns is the select list of a user, from accounts a joined with
// zulipauth_accounts z; scanUser reads it.
const userColumns = `a.id, a.email, a.display_name, coalesce(a.password_digest, ''), a.disabled_at IS NOT NULL, z.api_key`

func scanUser(rows interface{ Scan(...any) error }) (zulipauth.User, error) {
	var u zulipauth.User
	err := rows.Scan(&u.ID, &u.Email, &u.FullName, &u.PasswordHash, &u.Deactivated, &u.APIKey)
	return u, err
}

// UserByEmail implements zulipauth.UserStore: the account whose address
// folds like email. The root realm ("") is the only one; another is
// zulipauth.ErrUserNotFound. A miss first catches up with accounts the
// application added or renamed since the store last looked (one indexed
// query each, and a write only when there is something new), then looks
// again.
func (s *AccountStore) UserByEmail(ctx context.Context, realm, email string) (zulipauth.User, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.User{}, fmt.Errorf("custombackend: user by email: %w", err)
	}
	key := zulipauth.FoldEmail(email)
	if realm != "" || key == "" {
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	}
	u, err := s.byEmailKey(ctx, key)
	if !errors.Is(err, zulipauth.ErrUserNotFound) {
		return u, err
	}
	if err := s.catchUp(ctx, strings.TrimSpace(email)); err != nil {
		return zulipauth.User{}, err
	}
	return s.byEmailKey(ctx, key)
}

// byEmailKey finds the account indexed under key whose current address
// still folds to key; an account the application renamed since it was
// indexed is not returned, and its index row is corrected.
func (s *AccountStore) byEmailKey(ctx context.Context, key string) (zulipauth.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+`
FROM zulipauth_accounts z JOIN accounts a ON a.id = z.account_id WHERE z.email_key = ?`, key)
	if err != nil {
		return zulipauth.User{}, fmt.Errorf("custombackend: user by email: %w", err)
	}
	defer rows.Close()
	var found []zulipauth.User
	var renamed []account
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return zulipauth.User{}, fmt.Errorf("custombackend: user by email: %w", err)
		}
		if zulipauth.FoldEmail(u.Email) != key {
			renamed = append(renamed, account{u.ID, u.Email})
			continue
		}
		found = append(found, u)
	}
	if err := rows.Err(); err != nil {
		return zulipauth.User{}, fmt.Errorf("custombackend: user by email: %w", err)
	}
	rows.Close()
	if len(renamed) > 0 {
		if err := s.index(ctx, renamed); err != nil {
			return zulipauth.User{}, err
		}
	}
	switch len(found) {
	case 0:
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, u := range found {
		ids[i] = fmt.Sprint(u.ID)
	}
	return zulipauth.User{}, fmt.Errorf("%w (accounts %s)", errAmbiguousEmail, strings.Join(ids, ", "))
}

// UserByAPIKey implements zulipauth.UserStore: the account whose API key is
// exactly key (the column compares bytes, so case counts).
func (s *AccountStore) UserByAPIKey(ctx context.Context, key string) (zulipauth.User, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.User{}, fmt.Errorf("custombackend: user by API key: %w", err)
	}
	if !zulipauth.ValidAPIKeyFormat(key) {
		return zulipauth.User{}, zulipauth.ErrUserNotFound // no stored key has another format
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`
FROM zulipauth_accounts z JOIN accounts a ON a.id = z.account_id WHERE z.api_key = ?`, key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	case err != nil:
		return zulipauth.User{}, fmt.Errorf("custombackend: user by API key: %w", err)
	}
	return u, nil
}

// UpdatePasswordHash implements zulipauth.PasswordHashUpdater: it writes
// the application's password_digest, which backends/password does when it
// upgrades a bcrypt digest to argon2id after a correct login. From then on
// only backends/password can verify the account's password: an application
// whose own login still checks password_digest with bcrypt must not give
// zulipauth this method (wrap the store in a type without it).
func (s *AccountStore) UpdatePasswordHash(ctx context.Context, userID int64, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE accounts SET password_digest = ? WHERE id = ?`, hash, userID)
	return oneRow(res, err, "update password hash")
}

// RegenerateAPIKey implements zulipauth.APIKeyRegenerator: the account gets
// a fresh key and the old one stops working at once.
func (s *AccountStore) RegenerateAPIKey(ctx context.Context, userID int64) (string, error) {
	key := zulipauth.GenerateAPIKey()
	res, err := s.db.ExecContext(ctx, `UPDATE zulipauth_accounts SET api_key = ? WHERE account_id = ?`, key, userID)
	switch err := oneRow(res, err, "regenerate API key"); {
	case err == nil:
		return key, nil
	case !errors.Is(err, zulipauth.ErrUserNotFound):
		return "", err
	}
	// An account the store has not indexed yet, or none at all.
	if err := s.indexNew(ctx); err != nil {
		return "", err
	}
	res, err = s.db.ExecContext(ctx, `UPDATE zulipauth_accounts SET api_key = ? WHERE account_id = ?`, key, userID)
	if err := oneRow(res, err, "regenerate API key"); err != nil {
		return "", err
	}
	return key, nil
}

// oneRow turns the result of an UPDATE by id into nil, a fault, or
// zulipauth.ErrUserNotFound when no row had the id.
func oneRow(res sql.Result, err error, op string) error {
	if err != nil {
		return fmt.Errorf("custombackend: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	switch {
	case err != nil:
		return fmt.Errorf("custombackend: %s: %w", op, err)
	case n == 0:
		return zulipauth.ErrUserNotFound
	}
	return nil
}
