package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// UserByEmail implements zulipauth.UserStore: the user of realm whose email
// folds (zulipauth.FoldEmail) like email. A user of another realm, or a realm
// that does not exist, is zulipauth.ErrUserNotFound.
func (s *Store) UserByEmail(ctx context.Context, realm, email string) (zulipauth.User, error) {
	return scanUser(s.stmt(qUserByEmail).QueryRowContext(ctx, realm, zulipauth.FoldEmail(email)), "user by email")
}

// UserByAPIKey implements zulipauth.UserStore: the user whose API key is
// exactly key (keys are case-sensitive), or zulipauth.ErrUserNotFound.
func (s *Store) UserByAPIKey(ctx context.Context, key string) (zulipauth.User, error) {
	if !zulipauth.ValidAPIKeyFormat(key) {
		// No stored key has another format; spare the database. The
		// context is still honoured, as for every other call.
		if err := ctx.Err(); err != nil {
			return zulipauth.User{}, fmt.Errorf("sqlstore: user by API key: %w", err)
		}
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	}
	return scanUser(s.stmt(qUserByAPIKey).QueryRowContext(ctx, key), "user by API key")
}

// UserWithRealmByAPIKey implements zulipauth.UserWithRealmFinder: the user
// whose API key is exactly key and that user's realm, in one indexed query,
// or zulipauth.ErrUserNotFound.
func (s *Store) UserWithRealmByAPIKey(ctx context.Context, key string) (zulipauth.User, zulipauth.Realm, error) {
	if !zulipauth.ValidAPIKeyFormat(key) {
		if err := ctx.Err(); err != nil {
			return zulipauth.User{}, zulipauth.Realm{}, fmt.Errorf("sqlstore: user with realm by API key: %w", err)
		}
		return zulipauth.User{}, zulipauth.Realm{}, zulipauth.ErrUserNotFound
	}
	return scanUserWithRealm(s.stmt(qUserWithRealmByAPIKey).QueryRowContext(ctx, key), "user with realm by API key")
}

// EmailInOtherRealm implements zulipauth.OtherRealmFinder: whether a realm
// other than realm has a user whose email folds like email.
func (s *Store) EmailInOtherRealm(ctx context.Context, realm, email string) (bool, error) {
	var one int
	err := s.stmt(qEmailInOtherRealm).QueryRowContext(ctx, zulipauth.FoldEmail(email), realm).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlstore: email in other realm: %w", err)
	}
	return true, nil
}

// CountUsers returns how many users the store holds, in every realm.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.stmt(qCountUsers).QueryRowContext(ctx).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count users: %w", err)
	}
	return n, nil
}

// UserByID returns the user with the id, or zulipauth.ErrUserNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (zulipauth.User, error) {
	return scanUser(s.stmt(qUserByID).QueryRowContext(ctx, id), "user by id")
}

// CreateUser implements zulipauth.UserCreator. The store assigns the id, a
// fresh API key and the creation time (UTC, whole microseconds). An email
// that folds like one of the realm's is zulipauth.ErrUserExists; an unknown
// realm is zulipauth.ErrRealmNotFound.
func (s *Store) CreateUser(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
	u := zulipauth.User{
		Realm:        nu.Realm,
		Email:        nu.Email,
		FullName:     nu.FullName,
		PasswordHash: nu.PasswordHash,
		CreatedAt:    s.now().UTC().Truncate(time.Microsecond),
	}
	key := zulipauth.FoldEmail(nu.Email)
	// A second attempt is needed only if the new API key collided with
	// another user's, which 190 random bits make a theoretical case.
	for range 3 {
		u.APIKey = zulipauth.GenerateAPIKey()
		err := s.stmt(qCreateUser).QueryRowContext(ctx, nu.Realm, nu.Email, key, nu.FullName, nu.PasswordHash,
			u.APIKey, s.dialect.timeArg(u.CreatedAt)).Scan(&u.ID)
		switch violation(err) {
		case noViolation:
			if err != nil {
				return zulipauth.User{}, fmt.Errorf("sqlstore: create user: %w", err)
			}
			return u, nil
		case notNullViolation: // realm_id: no realm has the subdomain
			return zulipauth.User{}, zulipauth.ErrRealmNotFound
		case uniqueViolation:
			// The email or the API key. Ask which: the email when a user
			// has it, since users are never deleted.
			taken, qerr := s.emailTaken(ctx, nu.Realm, key)
			if qerr != nil {
				return zulipauth.User{}, qerr
			}
			if taken {
				return zulipauth.User{}, zulipauth.ErrUserExists
			}
		}
	}
	return zulipauth.User{}, errors.New("sqlstore: create user: no unique API key after 3 attempts")
}

func (s *Store) emailTaken(ctx context.Context, realm, emailKey string) (bool, error) {
	var one int
	err := s.stmt(qEmailTaken).QueryRowContext(ctx, realm, emailKey).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlstore: create user: %w", err)
	}
	return true, nil
}

// UpdatePasswordHash implements zulipauth.PasswordHashUpdater. The hash is
// stored as given; an unknown id is zulipauth.ErrUserNotFound.
func (s *Store) UpdatePasswordHash(ctx context.Context, userID int64, hash string) error {
	return s.updateUser(ctx, s.stmt(qUpdatePasswordHash), "update password hash", hash, userID)
}

// RegenerateAPIKey implements zulipauth.APIKeyRegenerator: the user gets a
// fresh key and the old one stops working at once. An unknown id is
// zulipauth.ErrUserNotFound.
func (s *Store) RegenerateAPIKey(ctx context.Context, userID int64) (string, error) {
	for range 3 {
		key := zulipauth.GenerateAPIKey()
		err := s.changeUser(ctx, qUpdateAPIKey, key, userID)
		if violation(err) == uniqueViolation {
			continue // another user has the key (see CreateUser)
		}
		if err != nil {
			return "", err
		}
		return key, nil
	}
	return "", errors.New("sqlstore: regenerate API key: no unique API key after 3 attempts")
}

// SetPassword stores a new password hash and clears a required reset, in
// one statement: what changing a password means. An unknown id is
// zulipauth.ErrUserNotFound.
func (s *Store) SetPassword(ctx context.Context, userID int64, hash string) error {
	res, err := s.stmt(qSetPassword).ExecContext(ctx, hash, false, userID)
	if err != nil {
		return fmt.Errorf("sqlstore: set password: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fmt.Errorf("sqlstore: set password: %w", err)
		}
		return zulipauth.ErrUserNotFound
	}
	return nil
}

// SetUserDeactivated deactivates (true) or reactivates (false) a user. An
// unknown id is zulipauth.ErrUserNotFound.
func (s *Store) SetUserDeactivated(ctx context.Context, userID int64, deactivated bool) error {
	return s.changeUser(ctx, qSetDeactivated, deactivated, userID)
}

// SetPasswordResetRequired sets (true) or clears (false) the user's required
// password reset. An unknown id is zulipauth.ErrUserNotFound.
func (s *Store) SetPasswordResetRequired(ctx context.Context, userID int64, required bool) error {
	return s.updateUser(ctx, s.stmt(qSetResetRequired), "set password reset required", required, userID)
}

// updateUser runs an UPDATE whose last argument is the user id; no row is
// zulipauth.ErrUserNotFound.
func (s *Store) updateUser(ctx context.Context, stmt *sql.Stmt, op string, value any, userID int64) error {
	res, err := stmt.ExecContext(ctx, value, userID)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if n == 0 {
		return zulipauth.ErrUserNotFound
	}
	return nil
}
