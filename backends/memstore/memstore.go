// Package memstore keeps users and realms in memory: for tests, examples and
// small applications whose accounts are created at start-up. Nothing survives
// the process.
//
// A Store implements zulipauth.UserStore and every optional capability of the
// core (PasswordHashUpdater, UserCreator, APIKeyRegenerator, RealmStore,
// UserWithRealmFinder, OtherRealmFinder, ChangeFeed), and passes
// backends/storetest. It is safe for concurrent use.
package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Store is an in-memory user and realm store. Create it with [New].
type Store struct {
	mu       sync.RWMutex
	nextID   int64
	users    map[int64]*zulipauth.User
	byEmail  map[emailKey]int64
	realmsOf map[string]int // folded email → how many realms have it
	byKey    map[string]int64
	realms   map[string]zulipauth.Realm
	now      func() time.Time
	changes  []zulipauth.Change // the newest maxChanges, oldest first
	lastSeq  int64
	flows    flows
}

type emailKey struct{ realm, folded string }

// New returns an empty store holding one realm: the root realm (subdomain
// ""), active, named "Zulip", allowing password login.
func New() *Store {
	return &Store{
		users:    make(map[int64]*zulipauth.User),
		byEmail:  make(map[emailKey]int64),
		realmsOf: make(map[string]int),
		byKey:    make(map[string]int64),
		realms:   map[string]zulipauth.Realm{"": {Name: "Zulip"}},
		now:      time.Now,
	}
}

// UserByEmail implements zulipauth.UserStore.
func (s *Store) UserByEmail(ctx context.Context, realm, email string) (zulipauth.User, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.User{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byEmail[emailKey{realm, zulipauth.FoldEmail(email)}]
	if !ok {
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	}
	return *s.users[id], nil
}

// UserByAPIKey implements zulipauth.UserStore.
func (s *Store) UserByAPIKey(ctx context.Context, key string) (zulipauth.User, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.User{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byKey[key]
	if !ok {
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	}
	return *s.users[id], nil
}

// UserWithRealmByAPIKey implements zulipauth.UserWithRealmFinder.
func (s *Store) UserWithRealmByAPIKey(ctx context.Context, key string) (zulipauth.User, zulipauth.Realm, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.User{}, zulipauth.Realm{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byKey[key]
	if !ok {
		return zulipauth.User{}, zulipauth.Realm{}, zulipauth.ErrUserNotFound
	}
	u := *s.users[id]
	return u, s.realms[u.Realm], nil
}

// EmailInOtherRealm implements zulipauth.OtherRealmFinder.
func (s *Store) EmailInOtherRealm(ctx context.Context, realm, email string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	folded := zulipauth.FoldEmail(email)
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.realmsOf[folded]
	if _, here := s.byEmail[emailKey{realm, folded}]; here {
		n--
	}
	return n > 0, nil
}

// CreateUser implements zulipauth.UserCreator.
func (s *Store) CreateUser(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.realms[nu.Realm]; !ok {
		return zulipauth.User{}, fmt.Errorf("memstore: realm %q: %w", nu.Realm, zulipauth.ErrRealmNotFound)
	}
	ek := emailKey{nu.Realm, zulipauth.FoldEmail(nu.Email)}
	if _, ok := s.byEmail[ek]; ok {
		return zulipauth.User{}, fmt.Errorf("memstore: %w", zulipauth.ErrUserExists)
	}
	s.nextID++
	u := &zulipauth.User{
		ID:           s.nextID,
		Realm:        nu.Realm,
		Email:        nu.Email,
		FullName:     nu.FullName,
		APIKey:       s.newKeyLocked(),
		PasswordHash: nu.PasswordHash,
		CreatedAt:    s.now(),
	}
	s.users[u.ID] = u
	s.byEmail[ek] = u.ID
	s.realmsOf[ek.folded]++
	s.byKey[u.APIKey] = u.ID
	return *u, nil
}

// newKeyLocked returns an API key no user has. A collision among 62^32 keys
// will not happen, but uniqueness is the store's promise, so it is checked.
func (s *Store) newKeyLocked() string {
	for {
		k := zulipauth.GenerateAPIKey()
		if _, taken := s.byKey[k]; !taken {
			return k
		}
	}
}

// UpdatePasswordHash implements zulipauth.PasswordHashUpdater.
func (s *Store) UpdatePasswordHash(ctx context.Context, userID int64, hash string) error {
	return s.update(ctx, userID, func(u *zulipauth.User) { u.PasswordHash = hash })
}

// RegenerateAPIKey implements zulipauth.APIKeyRegenerator.
func (s *Store) RegenerateAPIKey(ctx context.Context, userID int64) (string, error) {
	var key string
	err := s.update(ctx, userID, func(u *zulipauth.User) {
		delete(s.byKey, u.APIKey)
		key = s.newKeyLocked()
		u.APIKey = key
		s.byKey[key] = u.ID
		s.recordLocked(zulipauth.Change{UserID: u.ID})
	})
	return key, err
}

// SetUserDeactivated deactivates (true) or reactivates (false) a user.
func (s *Store) SetUserDeactivated(ctx context.Context, userID int64, deactivated bool) error {
	return s.update(ctx, userID, func(u *zulipauth.User) {
		u.Deactivated = deactivated
		s.recordLocked(zulipauth.Change{UserID: u.ID})
	})
}

// SetPasswordResetRequired flags (true) or clears (false) a required reset.
func (s *Store) SetPasswordResetRequired(ctx context.Context, userID int64, required bool) error {
	return s.update(ctx, userID, func(u *zulipauth.User) { u.PasswordResetRequired = required })
}

func (s *Store) update(ctx context.Context, userID int64, f func(*zulipauth.User)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return zulipauth.ErrUserNotFound
	}
	f(u)
	return nil
}

// RealmBySubdomain implements zulipauth.RealmStore.
func (s *Store) RealmBySubdomain(ctx context.Context, subdomain string) (zulipauth.Realm, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.Realm{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.realms[subdomain]
	if !ok {
		return zulipauth.Realm{}, zulipauth.ErrRealmNotFound
	}
	return r, nil
}

// CreateRealm adds a realm; an existing subdomain is zulipauth.ErrRealmExists.
func (s *Store) CreateRealm(ctx context.Context, r zulipauth.Realm) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !zulipauth.ValidSubdomain(r.Subdomain) {
		return fmt.Errorf("memstore: realm %q: %w", r.Subdomain, zulipauth.ErrInvalidSubdomain)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.realms[r.Subdomain]; ok {
		return zulipauth.ErrRealmExists
	}
	s.realms[r.Subdomain] = r
	return nil
}

// UpdateRealm replaces the realm with r's subdomain; an unknown subdomain is
// zulipauth.ErrRealmNotFound.
func (s *Store) UpdateRealm(ctx context.Context, r zulipauth.Realm) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.realms[r.Subdomain]; !ok {
		return zulipauth.ErrRealmNotFound
	}
	s.realms[r.Subdomain] = r
	s.recordLocked(zulipauth.Change{Realm: r.Subdomain})
	return nil
}
