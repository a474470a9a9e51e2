package sqlstore

import (
	"context"
	"fmt"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// RealmBySubdomain implements zulipauth.RealmStore: the realm with exactly
// this subdomain, or zulipauth.ErrRealmNotFound.
func (s *Store) RealmBySubdomain(ctx context.Context, subdomain string) (zulipauth.Realm, error) {
	return scanRealm(s.stmt(qRealmBySubdomain).QueryRowContext(ctx, subdomain), "realm by subdomain")
}

// CreateRealm adds a realm with every field of r. A subdomain that exists
// (the root realm "" always does) is zulipauth.ErrRealmExists.
func (s *Store) CreateRealm(ctx context.Context, r zulipauth.Realm) error {
	if !zulipauth.ValidSubdomain(r.Subdomain) {
		return fmt.Errorf("sqlstore: realm %q: %w", r.Subdomain, zulipauth.ErrInvalidSubdomain)
	}
	_, err := s.stmt(qCreateRealm).ExecContext(ctx, r.Subdomain, r.Name, r.Deactivated, r.PasswordAuthDisabled, r.Description, r.IconURL)
	switch {
	case violation(err) == uniqueViolation:
		return zulipauth.ErrRealmExists
	case err != nil:
		return fmt.Errorf("sqlstore: create realm: %w", err)
	}
	return nil
}

// UpdateRealm replaces the name, flags, description and icon of the realm with r's subdomain. An
// unknown subdomain is zulipauth.ErrRealmNotFound; the realm is not created.
func (s *Store) UpdateRealm(ctx context.Context, r zulipauth.Realm) error {
	// A realm's change is recorded with it (zulipauth.ChangeFeed): its
	// users' cached credentials are dropped everywhere.
	return s.inTx(ctx, qUpdateRealm.name, changesLock, func(db execer) error {
		res, err := db.ExecContext(ctx, s.dialect.rebind(qUpdateRealm.sql), r.Name, r.Deactivated, r.PasswordAuthDisabled, r.Description, r.IconURL, r.Subdomain)
		if err != nil {
			return fmt.Errorf("sqlstore: update realm: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlstore: update realm: %w", err)
		}
		if n == 0 {
			return zulipauth.ErrRealmNotFound
		}
		return s.recordChange(ctx, db, 0, r.Subdomain)
	})
}
