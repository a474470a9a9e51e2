package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The package's SQL, written once with ? placeholders (see Dialect.rebind).

const selectUser = `SELECT u.id, r.subdomain, u.email, u.full_name, u.api_key, u.password_hash,
	u.deactivated, u.password_reset_required, u.created_at
FROM users u JOIN realms r ON r.id = u.realm_id`

// selectUserWithRealm is selectUser with the user's realm's columns after it.
const selectUserWithRealm = `SELECT u.id, r.subdomain, u.email, u.full_name, u.api_key, u.password_hash,
	u.deactivated, u.password_reset_required, u.created_at,
	r.name, r.deactivated, r.password_auth_disabled, r.description, r.icon_url
FROM users u JOIN realms r ON r.id = u.realm_id`

const (
	qUserByEmail           = selectUser + ` WHERE r.subdomain = ? AND u.email_key = ?`
	qUserWithRealmByAPIKey = selectUserWithRealm + ` WHERE u.api_key = ?`
	qCountUsers            = `SELECT COUNT(*) FROM users`
	qEmailInOtherRealm     = `SELECT 1 FROM users u JOIN realms r ON r.id = u.realm_id WHERE u.email_key = ? AND r.subdomain <> ? LIMIT 1`
	qUserByAPIKey          = selectUser + ` WHERE u.api_key = ?`
	qUserByID              = selectUser + ` WHERE u.id = ?`
	qEmailTaken            = `SELECT 1 FROM users u JOIN realms r ON r.id = u.realm_id WHERE r.subdomain = ? AND u.email_key = ?`

	// An unknown realm makes realm_id NULL, which NOT NULL refuses: one
	// statement both checks the realm and inserts.
	qCreateUser = `INSERT INTO users (realm_id, email, email_key, full_name, password_hash, api_key, created_at)
VALUES ((SELECT id FROM realms WHERE subdomain = ?), ?, ?, ?, ?, ?, ?) RETURNING id`

	qUpdatePasswordHash = `UPDATE users SET password_hash = ? WHERE id = ?`
	qUpdateAPIKey       = `UPDATE users SET api_key = ? WHERE id = ?`
	qSetDeactivated     = `UPDATE users SET deactivated = ? WHERE id = ?`
	qSetResetRequired   = `UPDATE users SET password_reset_required = ? WHERE id = ?`
	qSetPassword        = `UPDATE users SET password_hash = ?, password_reset_required = ? WHERE id = ?`

	qRealmBySubdomain = `SELECT subdomain, name, deactivated, password_auth_disabled, description, icon_url FROM realms WHERE subdomain = ?`
	qCreateRealm      = `INSERT INTO realms (subdomain, name, deactivated, password_auth_disabled, description, icon_url) VALUES (?, ?, ?, ?, ?, ?)`
	qUpdateRealm      = `UPDATE realms SET name = ?, deactivated = ?, password_auth_disabled = ?, description = ?, icon_url = ? WHERE subdomain = ?`
)

// statements are the prepared forms of the queries above, lookups on the
// read pool and writes on the write pool.
type statements struct {
	userByEmail, userByAPIKey, userWithRealmByAPIKey, userByID, emailTaken, realmBySubdomain, countUsers, emailInOtherRealm *sql.Stmt

	createUser, updatePasswordHash, updateAPIKey, setDeactivated, setResetRequired, setPassword,
	createRealm, updateRealm *sql.Stmt
}

func (st *statements) prepare(ctx context.Context, s *Store) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&st.userByEmail, s.read, qUserByEmail},
		{&st.userByAPIKey, s.read, qUserByAPIKey},
		{&st.userWithRealmByAPIKey, s.read, qUserWithRealmByAPIKey},
		{&st.countUsers, s.read, qCountUsers},
		{&st.emailInOtherRealm, s.read, qEmailInOtherRealm},
		{&st.userByID, s.read, qUserByID},
		{&st.emailTaken, s.read, qEmailTaken},
		{&st.realmBySubdomain, s.read, qRealmBySubdomain},
		{&st.createUser, s.write, qCreateUser},
		{&st.updatePasswordHash, s.write, qUpdatePasswordHash},
		{&st.updateAPIKey, s.write, qUpdateAPIKey},
		{&st.setDeactivated, s.write, qSetDeactivated},
		{&st.setResetRequired, s.write, qSetResetRequired},
		{&st.setPassword, s.write, qSetPassword},
		{&st.createRealm, s.write, qCreateRealm},
		{&st.updateRealm, s.write, qUpdateRealm},
	} {
		stmt, err := p.db.PrepareContext(ctx, s.dialect.rebind(p.query))
		if err != nil {
			return fmt.Errorf("sqlstore: prepare: %w", err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (st *statements) close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{
		st.userByEmail, st.userByAPIKey, st.userWithRealmByAPIKey, st.userByID, st.emailTaken, st.realmBySubdomain, st.countUsers, st.emailInOtherRealm,
		st.createUser, st.updatePasswordHash, st.updateAPIKey, st.setDeactivated, st.setResetRequired, st.setPassword,
		st.createRealm, st.updateRealm,
	} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}
