package ldap

import (
	"context"
	"errors"
	"fmt"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// account returns the store's account for email in realm, creating it when
// CreateUsers allows. As Zulip's LDAP backend does, a deactivated account,
// and an entry without an account where none may be created, fail like a
// wrong password: AUTHENTICATION_FAILED, so that zulipauth.Chain can try
// the next authenticator (whose own answer, USER_DEACTIVATED say, then wins
// if it is more specific). The account's PasswordResetRequired flag is not
// consulted: the password lives in the directory.
func (a *Authenticator) account(ctx context.Context, realm string, email, username string, e *entry) (zulipauth.User, error) {
	u, err := a.cfg.Users.UserByEmail(ctx, realm, email)
	if errors.Is(err, zulipauth.ErrUserNotFound) && a.creator != nil {
		u, err = a.creator.CreateUser(ctx, zulipauth.NewUser{
			Realm:    realm,
			Email:    email,
			FullName: a.fullName(e, username),
			// No usable local password: this account proves itself to the
			// directory.
			PasswordHash: "",
		})
		if errors.Is(err, zulipauth.ErrUserExists) {
			// A concurrent first login of the same user created it.
			u, err = a.cfg.Users.UserByEmail(ctx, realm, email)
		} else if err != nil {
			return zulipauth.User{}, fmt.Errorf("ldap: creating the account of %s: %w", e.dn, err)
		}
	}
	switch {
	case errors.Is(err, zulipauth.ErrUserNotFound):
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	case err != nil:
		return zulipauth.User{}, fmt.Errorf("ldap: looking up the account of %s: %w", e.dn, err)
	case u.Deactivated:
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	return u, nil
}
