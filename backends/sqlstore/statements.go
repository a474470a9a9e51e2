package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The package's SQL, each statement written once, with ? placeholders (see
// Dialect.rebind), and registered where it is written: every Store
// prepares every statement of the registry and closes them all, so a
// statement is named where it is defined and where it is used, nowhere else.

// query is one of the package's statements.
type query struct {
	name  string // for errors and tests
	sql   string
	write bool // prepared on the write pool; lookups on the read pool
	// inTx: run from its text inside a transaction (see inTx), so no Store
	// prepares it at start-up; s.stmt(q) is nil.
	inTx  bool
	index int // its place in Store.stmts
}

// registry lists every statement, in definition order.
var registry []*query

const (
	onRead  = false
	onWrite = true
)

// define registers a statement that every Store prepares.
func define(name string, write bool, sql string) *query {
	q := &query{name: name, sql: sql, write: write, index: len(registry)}
	registry = append(registry, q)
	return q
}

// defineInTx registers a write that only ever runs inside a transaction,
// from its text: preparing it on the pool would cost every start-up a
// statement nothing uses.
func defineInTx(name, sql string) *query {
	q := define(name, onWrite, sql)
	q.inTx = true
	return q
}

// column is one column a statement selects and where its value is scanned.
type column[T any] struct {
	expr string
	dest func(*T) any
}

// columns are the columns of one kind of row. The select list and the scan
// targets both come from it, so they cannot drift apart.
type columns[T any] []column[T]

// list is the select list: "u.id, r.subdomain, ...".
func (cs columns[T]) list() string {
	exprs := make([]string, len(cs))
	for i, c := range cs {
		exprs[i] = c.expr
	}
	return strings.Join(exprs, ", ")
}

// dests appends the scan targets of v's fields to into.
func (cs columns[T]) dests(into []any, v *T) []any {
	for _, c := range cs {
		into = append(into, c.dest(v))
	}
	return into
}

// userColumns are a user's columns, from users u joined with realms r.
var userColumns = columns[zulipauth.User]{
	{"u.id", func(u *zulipauth.User) any { return &u.ID }},
	{"r.subdomain", func(u *zulipauth.User) any { return &u.Realm }},
	{"u.email", func(u *zulipauth.User) any { return &u.Email }},
	{"u.full_name", func(u *zulipauth.User) any { return &u.FullName }},
	{"u.api_key", func(u *zulipauth.User) any { return &u.APIKey }},
	{"u.password_hash", func(u *zulipauth.User) any { return &u.PasswordHash }},
	{"u.deactivated", func(u *zulipauth.User) any { return &u.Deactivated }},
	{"u.password_reset_required", func(u *zulipauth.User) any { return &u.PasswordResetRequired }},
	{"u.created_at", func(u *zulipauth.User) any { return dbTime{&u.CreatedAt} }},
}

// realmColumns are a realm's columns, from realms r.
var realmColumns = columns[zulipauth.Realm]{
	{"r.subdomain", func(r *zulipauth.Realm) any { return &r.Subdomain }},
	{"r.name", func(r *zulipauth.Realm) any { return &r.Name }},
	{"r.deactivated", func(r *zulipauth.Realm) any { return &r.Deactivated }},
	{"r.password_auth_disabled", func(r *zulipauth.Realm) any { return &r.PasswordAuthDisabled }},
	{"r.description", func(r *zulipauth.Realm) any { return &r.Description }},
	{"r.icon_url", func(r *zulipauth.Realm) any { return &r.IconURL }},
}

const usersJoinRealms = ` FROM users u JOIN realms r ON r.id = u.realm_id`

var (
	selectUser          = `SELECT ` + userColumns.list() + usersJoinRealms
	selectUserWithRealm = `SELECT ` + userColumns.list() + `, ` + realmColumns.list() + usersJoinRealms
)

// Lookups.
var (
	qUserByEmail           = define("UserByEmail", onRead, selectUser+` WHERE r.subdomain = ? AND u.email_key = ?`)
	qUserByAPIKey          = define("UserByAPIKey", onRead, selectUser+` WHERE u.api_key = ?`)
	qUserWithRealmByAPIKey = define("UserWithRealmByAPIKey", onRead, selectUserWithRealm+` WHERE u.api_key = ?`)
	qUserByID              = define("UserByID", onRead, selectUser+` WHERE u.id = ?`)
	qEmailInOtherRealm     = define("EmailInOtherRealm", onRead, `SELECT 1`+usersJoinRealms+` WHERE u.email_key = ? AND r.subdomain <> ? LIMIT 1`)
	qEmailTaken            = define("emailTaken", onRead, `SELECT 1`+usersJoinRealms+` WHERE r.subdomain = ? AND u.email_key = ?`)
	qRealmBySubdomain      = define("RealmBySubdomain", onRead, `SELECT `+realmColumns.list()+` FROM realms r WHERE r.subdomain = ?`)
	qCountUsers            = define("CountUsers", onRead, `SELECT COUNT(*) FROM users`)
)

// Writes.
var (
	// An unknown realm makes realm_id NULL, which NOT NULL refuses: one
	// statement both checks the realm and inserts.
	qCreateUser = define("CreateUser", onWrite, `INSERT INTO users (realm_id, email, email_key, full_name, password_hash, api_key, created_at)
VALUES ((SELECT id FROM realms WHERE subdomain = ?), ?, ?, ?, ?, ?, ?) RETURNING id`)
	qUpdatePasswordHash = define("UpdatePasswordHash", onWrite, `UPDATE users SET password_hash = ? WHERE id = ?`)
	qUpdateAPIKey       = defineInTx("RegenerateAPIKey", `UPDATE users SET api_key = ? WHERE id = ?`)
	qSetDeactivated     = defineInTx("SetUserDeactivated", `UPDATE users SET deactivated = ? WHERE id = ?`)
	qSetResetRequired   = define("SetPasswordResetRequired", onWrite, `UPDATE users SET password_reset_required = ? WHERE id = ?`)
	qSetPassword        = define("SetPassword", onWrite, `UPDATE users SET password_hash = ?, password_reset_required = ? WHERE id = ?`)
	qCreateRealm        = define("CreateRealm", onWrite, `INSERT INTO realms (subdomain, name, deactivated, password_auth_disabled, description, icon_url) VALUES (?, ?, ?, ?, ?, ?)`)
	qUpdateRealm        = defineInTx("UpdateRealm", `UPDATE realms SET name = ?, deactivated = ?, password_auth_disabled = ?, description = ?, icon_url = ? WHERE subdomain = ?`)
)

// prepare prepares every registered statement but those run in a
// transaction, lookups on the read pool and writes on the write pool.
func (s *Store) prepare(ctx context.Context) error {
	s.stmts = make([]*sql.Stmt, len(registry))
	for _, q := range registry {
		if q.inTx {
			continue
		}
		db := s.read
		if q.write {
			db = s.write
		}
		stmt, err := db.PrepareContext(ctx, s.dialect.rebind(q.sql))
		if err != nil {
			return fmt.Errorf("sqlstore: prepare %s: %w", q.name, err)
		}
		s.stmts[q.index] = stmt
	}
	return nil
}

// stmt is q's prepared statement.
func (s *Store) stmt(q *query) *sql.Stmt { return s.stmts[q.index] }

// closeStatements closes every statement prepare prepared.
func (s *Store) closeStatements() error {
	var errs []error
	for _, stmt := range s.stmts {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

// scanUser reads one user row of selectUser; no row is
// zulipauth.ErrUserNotFound.
func scanUser(row *sql.Row, op string) (zulipauth.User, error) {
	var u zulipauth.User
	var buf [16]any
	err := row.Scan(userColumns.dests(buf[:0], &u)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	case err != nil:
		return zulipauth.User{}, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return u, nil
}

// scanUserWithRealm reads one row of selectUserWithRealm.
func scanUserWithRealm(row *sql.Row, op string) (zulipauth.User, zulipauth.Realm, error) {
	var u zulipauth.User
	var r zulipauth.Realm
	var buf [16]any
	err := row.Scan(realmColumns.dests(userColumns.dests(buf[:0], &u), &r)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return zulipauth.User{}, zulipauth.Realm{}, zulipauth.ErrUserNotFound
	case err != nil:
		return zulipauth.User{}, zulipauth.Realm{}, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return u, r, nil
}

// scanRealm reads one row of qRealmBySubdomain; no row is
// zulipauth.ErrRealmNotFound.
func scanRealm(row *sql.Row, op string) (zulipauth.Realm, error) {
	var r zulipauth.Realm
	var buf [8]any
	err := row.Scan(realmColumns.dests(buf[:0], &r)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return zulipauth.Realm{}, zulipauth.ErrRealmNotFound
	case err != nil:
		return zulipauth.Realm{}, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return r, nil
}
