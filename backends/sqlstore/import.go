package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// ErrAPIKeyInUse is an imported user's API key that another user has
// already, in the store or earlier in the same import.
var ErrAPIKeyInUse = errors.New("sqlstore: API key already in use")

// ImportUser is one account for [Store.ImportUsers]: what
// zulipauth.NewUser holds, and what the system it comes from already
// decided (its API key, whether it is active).
type ImportUser struct {
	Realm    string // subdomain of an existing realm; "" is the root realm
	Email    string // delivery email, stored as given
	FullName string
	// PasswordHash is stored as given; "" is no usable password. Check it
	// first (backends/password's CheckHash): the store does not read it.
	PasswordHash string
	// APIKey is the user's key in the other system, kept so that its
	// clients need not log in again; "" gives a fresh one. It must have
	// Zulip's format (zulipauth.ValidAPIKeyFormat).
	APIKey      string
	Deactivated bool
}

// ImportRefusal is one user that [Store.ImportUsers] refused.
type ImportRefusal struct {
	// Index is the user's position in the slice given to ImportUsers.
	Index int
	// Err says why, never with any of the user's fields (a hash or key put
	// in the wrong field, the email or realm, would be printed with them):
	// it wraps zulipauth.ErrUserExists (the realm has the email, ignoring
	// letter case, or an earlier user of the import does),
	// zulipauth.ErrRealmNotFound or [ErrAPIKeyInUse], or says that the key
	// is malformed.
	Err error
}

// ImportError is the error of an import that refused users; nothing was
// imported. Refusals lists every refused user, in order.
type ImportError struct {
	Refusals []ImportRefusal
}

// Error names the number of refusals and the first few.
func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sqlstore: import refused %d users, nothing was imported", len(e.Refusals))
	for i, r := range e.Refusals {
		if i == 3 {
			b.WriteString("; ...")
			break
		}
		fmt.Fprintf(&b, "; user %d: %v", r.Index, r.Err)
	}
	return b.String()
}

// importLock serializes imports on PostgreSQL (inTx takes it), so that two
// imports of overlapping users see each other's outcome instead of waiting
// on each other's rows.
const importLock = `SELECT pg_advisory_xact_lock(hashtextextended('zulipauth/sqlstore import ' || current_schema(), 0))`

// The import's statements run inside its write transaction, so they are
// prepared on the write pool (for SQLite opened by Open, the read pool is
// another *sql.DB, which a transaction cannot use). Each probes a unique
// index: realms_subdomain_key, users_realm_email_key, users_api_key_key.
var (
	qImportRealmID    = defineInTx("importRealmID", `SELECT id FROM realms WHERE subdomain = ?`)
	qImportEmailTaken = defineInTx("importEmailTaken", `SELECT 1 FROM users WHERE realm_id = ? AND email_key = ?`)
	// ON CONFLICT DO NOTHING: a user whose email or key is taken is left
	// out without aborting the transaction (PostgreSQL aborts it on a
	// failed INSERT), so every refusal of the import is found in one pass.
	qImportUser = defineInTx("ImportUsers", `INSERT INTO users (realm_id, email, email_key, full_name, password_hash, api_key, deactivated, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`)
)

// ImportUsers creates users in one transaction: all of them, or, when it
// refuses any, none. A user is refused when its realm does not exist, its
// email (ignoring letter case, as zulipauth.FoldEmail) is the realm's
// already or an earlier user's of the same realm in users, or its API key is
// malformed or in use (by a user of the store or an earlier one in users);
// the error is then an *[ImportError] listing every refusal. An existing
// user is never changed. Any other error is a fault and nothing is
// imported either. It returns how many users it created, len(users) on
// success; every user gets the same CreatedAt, the time of the import.
//
// The email and hash are stored as given: check them first (an import
// command checks zulipauth.ValidEmail and backends/password's CheckHash).
// On SQLite the import holds the write lock while it runs; on PostgreSQL,
// imports run one at a time.
func (s *Store) ImportUsers(ctx context.Context, users []ImportUser) (int, error) {
	refused := checkImportBatch(users)
	now := s.now().UTC().Truncate(time.Microsecond)
	err := s.inTx(ctx, "import users", importLock, func(db execer) error {
		// Prepared once: on SQLite a prepare costs about what an insert
		// does, so this halves the import's time.
		p, ok := db.(preparer)
		if !ok {
			return fmt.Errorf("sqlstore: import users: a %T cannot prepare statements", db) // unreachable: inTx gives a *sql.Tx or *sql.Conn
		}
		insert, err := p.PrepareContext(ctx, s.dialect.rebind(qImportUser.sql))
		if err != nil {
			return fmt.Errorf("sqlstore: import users: %w", err)
		}
		defer insert.Close()
		realmIDs := map[string]int64{}
		for i, u := range users {
			if refused[i] != nil {
				continue
			}
			id, ok := realmIDs[u.Realm]
			if !ok {
				var err error
				if id, err = s.importRealmID(ctx, db, u.Realm); err != nil {
					return err
				}
				realmIDs[u.Realm] = id
			}
			if id == 0 {
				refused[i] = fmt.Errorf("the realm: %w", zulipauth.ErrRealmNotFound)
				continue
			}
			reason, err := s.importUser(ctx, db, insert, id, u, now)
			if err != nil {
				return err
			}
			refused[i] = reason
		}
		var e ImportError
		for i, err := range refused {
			if err != nil {
				e.Refusals = append(e.Refusals, ImportRefusal{Index: i, Err: err})
			}
		}
		if len(e.Refusals) > 0 {
			return &e // rolls the transaction back
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(users), nil
}

// checkImportBatch refuses, without the database, the users whose key is
// malformed and those that repeat an earlier user's email in the realm or
// key; the rest are nil.
func checkImportBatch(users []ImportUser) []error {
	refused := make([]error, len(users))
	emails := map[[2]string]int{}
	keys := map[string]int{}
	for i, u := range users {
		ek := [2]string{u.Realm, zulipauth.FoldEmail(u.Email)}
		if first, dup := emails[ek]; dup {
			refused[i] = fmt.Errorf("the email of user %d: %w", first, zulipauth.ErrUserExists)
			continue
		}
		emails[ek] = i
		if u.APIKey == "" {
			continue
		}
		if !zulipauth.ValidAPIKeyFormat(u.APIKey) {
			refused[i] = errors.New("the API key is not 32 characters of [A-Za-z0-9]")
			continue
		}
		if first, dup := keys[u.APIKey]; dup {
			refused[i] = fmt.Errorf("the API key of user %d: %w", first, ErrAPIKeyInUse)
			continue
		}
		keys[u.APIKey] = i
	}
	return refused
}

// importRealmID returns the realm's id, 0 when there is none.
func (s *Store) importRealmID(ctx context.Context, db execer, subdomain string) (int64, error) {
	var id int64
	rows, err := db.QueryContext(ctx, s.dialect.rebind(qImportRealmID.sql), subdomain)
	found, err := firstRow(rows, err, &id)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: import users: looking up a realm: %w", err)
	}
	if !found {
		return 0, nil
	}
	return id, nil
}

// importUser inserts one user and returns why it was refused, or nil. A
// fresh key that collides with another user's (a theoretical case: 190
// random bits) is drawn again.
func (s *Store) importUser(ctx context.Context, db execer, insert *sql.Stmt, realmID int64, u ImportUser, now time.Time) (refusal, fault error) {
	emailKey := zulipauth.FoldEmail(u.Email)
	for range 3 {
		key := u.APIKey
		if key == "" {
			key = zulipauth.GenerateAPIKey()
		}
		var id int64
		rows, err := insert.QueryContext(ctx, realmID, u.Email, emailKey, u.FullName, u.PasswordHash, key, u.Deactivated, s.dialect.timeArg(now))
		inserted, err := firstRow(rows, err, &id)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: import users: %w", err)
		}
		if inserted {
			return nil, nil
		}
		// The email or the key is taken. Ask which: the email when the
		// realm has it (users are never deleted), else the key.
		var one int
		rows, err = db.QueryContext(ctx, s.dialect.rebind(qImportEmailTaken.sql), realmID, emailKey)
		taken, err := firstRow(rows, err, &one)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: import users: %w", err)
		}
		switch {
		case taken:
			return fmt.Errorf("the realm has the email: %w", zulipauth.ErrUserExists), nil
		case u.APIKey != "":
			return fmt.Errorf("the API key: %w", ErrAPIKeyInUse), nil
		}
	}
	return nil, errors.New("sqlstore: import users: no unique API key after 3 attempts")
}

// preparer is what both kinds of inTx's transactions are (*sql.Tx on
// PostgreSQL, *sql.Conn on SQLite).
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// firstRow scans the first row of a query's result, of at most one row,
// into dest; found is false when there is no row. It closes rows.
func firstRow(rows *sql.Rows, err error, dest ...any) (found bool, _ error) {
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return false, err
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	return found, rows.Close()
}
