// Package storetest is the conformance suite for zulipauth.UserStore
// implementations: every store of this module runs it, and so should a store
// that an application writes over its own users table.
//
// Call [Run] from a test, with a function that returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			s, err := mystore.Open(t.Context(), t.TempDir()+"/users.db")
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite checks the contract written on zulipauth.UserStore and on the
// optional capabilities: lookups by email ignore letter case and surrounding
// white space exactly as zulipauth.FoldEmail does and never cross realms; API
// keys have Zulip's format, are unique and are looked up case-sensitively;
// "not found" is zulipauth.ErrUserNotFound or zulipauth.ErrRealmNotFound
// (compared with errors.Is), never a nil error; every write is visible to the
// next read; a cancelled context fails a call without side effects; and the
// store stays consistent under concurrent writers. Each property is its own
// named sub-test, so `go test -run 'TestConformance/EmailFolding'` runs one.
package storetest

import (
	"context"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Store is what the suite needs of a store under test: the
// zulipauth.UserStore contract and every optional capability of the core, plus
// the administrative methods that let the suite set up realms and flip a
// user's flags. backends/memstore and backends/sqlstore have all of them.
type Store interface {
	zulipauth.UserStore
	zulipauth.UserCreator
	zulipauth.APIKeyRegenerator
	zulipauth.PasswordHashUpdater
	zulipauth.RealmStore

	// CreateRealm adds a realm with every field of r. A subdomain that
	// already exists (the root realm "" included) is zulipauth.ErrRealmExists.
	CreateRealm(ctx context.Context, r zulipauth.Realm) error
	// UpdateRealm replaces every field of the realm with r's subdomain. An
	// unknown subdomain is zulipauth.ErrRealmNotFound.
	UpdateRealm(ctx context.Context, r zulipauth.Realm) error
	// SetUserDeactivated deactivates (true) or reactivates (false) a user.
	// An unknown id is zulipauth.ErrUserNotFound.
	SetUserDeactivated(ctx context.Context, userID int64, deactivated bool) error
	// SetPasswordResetRequired sets or clears the user's required password
	// reset. An unknown id is zulipauth.ErrUserNotFound.
	SetPasswordResetRequired(ctx context.Context, userID int64, required bool) error
}

// Run runs the conformance suite against the stores that newStore makes.
//
// newStore is called once at the start of each sub-test, with that sub-test's
// t, and must return a new store that is independent of every other store it
// returned: no users, and exactly one realm, the root realm (subdomain ""),
// active and allowing password login. It registers any clean-up with
// t.Cleanup and reports set-up failures with t.Fatal. Sub-tests run one after
// another, so newStore is never called concurrently, but the store it returns
// is used from many goroutines at once.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s Store)
	}{
		{"RootRealm", testRootRealm},
		{"Realms", testRealms},
		{"RealmNotFound", testRealmNotFound},
		{"CreateUser", testCreateUser},
		{"CreatedAt", testCreatedAt},
		{"EmailFolding", testEmailFolding},
		{"EmailNotFolded", testEmailNotFolded},
		{"DuplicateEmail", testDuplicateEmail},
		{"SameEmailTwoRealms", testSameEmailTwoRealms},
		{"RealmScoping", testRealmScoping},
		{"CreateUserUnknownRealm", testCreateUserUnknownRealm},
		{"UserNotFound", testUserNotFound},
		{"UnknownUserID", testUnknownUserID},
		{"APIKeys", testAPIKeys},
		{"APIKeyCaseSensitive", testAPIKeyCaseSensitive},
		{"RegenerateAPIKey", testRegenerateAPIKey},
		{"UpdatePasswordHash", testUpdatePasswordHash},
		{"UserFlags", testUserFlags},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentSameEmail", testConcurrentSameEmail},
		{"ConcurrentSameRealm", testConcurrentSameRealm},
		{"ConcurrentRegenerate", testConcurrentRegenerate},
		{"UserWithRealm", testUserWithRealm},
		{"OtherRealm", testOtherRealm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tc.test(t, s)
		})
	}
}
