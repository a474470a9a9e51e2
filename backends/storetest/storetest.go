// Package storetest is the conformance suite for zulipauth.UserStore
// implementations: every store of this module runs it, and so should a store
// that an application writes over its own users table.
//
// The suite is in layers. The core checks what every UserStore must do, and
// runs on every store; each optional capability has a layer of its own, which
// runs when the store has the capability and is otherwise reported as a
// skipped sub-test that names it ("store has no zulipauth.APIKeyRegenerator").
// So a read-only adapter over an existing users table proves the core and
// is told what it lacks, and a full store proves every capability:
//
//	Core                  zulipauth.UserStore: lookups by email under every
//	                      spelling zulipauth.FoldEmail folds alike and never
//	                      across realms, by API key exactly, "not found" as
//	                      zulipauth.ErrUserNotFound, a cancelled context,
//	                      concurrent lookups
//	UserCreator           zulipauth.UserCreator: ids, keys, creation times,
//	                      duplicates (also racing), unknown realms
//	APIKeyRegenerator     zulipauth.APIKeyRegenerator: the old key stops at
//	                      once, also while others read
//	PasswordHashUpdater   zulipauth.PasswordHashUpdater: stored byte for byte
//	RealmStore            zulipauth.RealmStore: the root realm, not found
//	RealmAdmin            [RealmAdmin]: every realm field round-trips
//	UserDeactivator       [UserDeactivator]
//	PasswordResetRequirer [PasswordResetRequirer]
//	UserWithRealmFinder   zulipauth.UserWithRealmFinder
//	OtherRealmFinder      zulipauth.OtherRealmFinder
//
// Each property is a named sub-test of its layer, so
// `go test -run 'TestConformance/Core/EmailFolding'` runs one. Every write
// that a layer makes is checked through the core's lookups.
//
// A store that creates users (zulipauth.UserCreator) needs only New, which
// returns a fresh store for each sub-test (see the example of [Run]).
//
// A store that only reads the application's users also gives Seed, which
// adds a user the way the application does (an INSERT into its own table,
// say); see [Harness].
package storetest

import (
	"reflect"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Harness tells [Run] how to make the stores under test and how to put users
// in them. S is the store's type; New and Seed receive it as it is, so Seed
// can reach the store's database without a type assertion.
type Harness[S zulipauth.UserStore] struct {
	// New returns a new store, independent of every other store it
	// returned: no users, and the root realm (subdomain ""), active and
	// allowing password login, where the store keeps realms. It is called
	// at the start of each sub-test with that sub-test's t, registers any
	// clean-up with t.Cleanup and reports set-up failures with t.Fatal.
	// Sub-tests run one after another, so New is never called
	// concurrently, but the store it returns is used from many goroutines
	// at once. Required.
	New func(t *testing.T) S

	// Seed adds the user nu describes to s by the application's own means
	// (for an adapter over an existing table: an INSERT into that table),
	// with a fresh API key of Zulip's format (zulipauth.GenerateAPIKey),
	// and returns the user as the store's lookups will report it. The
	// email, full name and password hash must be kept exactly as given;
	// nu.Realm is "" or OtherRealm. Seed may be called from one goroutine
	// at a time.
	//
	// Seed is required unless the store is a zulipauth.UserCreator, whose
	// CreateUser the suite then calls instead. When both are there, the
	// core uses Seed and the UserCreator layer still checks CreateUser.
	Seed func(t *testing.T, s S, nu zulipauth.NewUser) zulipauth.User

	// OtherRealm is the subdomain of a second realm that every store New
	// returns already holds and Seed can put users in, for the tests that
	// a user of one realm is never found in another. When it is "", a
	// store that is a [RealmAdmin] gets one from CreateRealm, and for any
	// other store those tests are skipped, saying so.
	OtherRealm string
}

// Run runs the conformance suite against the stores that h makes: each
// layer as a sub-test of t, each property as a sub-test of its layer, each
// on a store of its own. It stops at once, with a message saying what to
// fix, when h cannot be used (no New, or no Seed for a store that does not
// create users).
func Run[S zulipauth.UserStore](t *testing.T, h Harness[S]) {
	t.Helper()
	if h.New == nil {
		t.Fatal("storetest: Harness.New is nil")
	}
	// A first store tells which capabilities the stores have, so that a
	// layer the store lacks is skipped without making a store for it.
	probe := h.newStore(t)
	if h.Seed == nil && !capUserCreator.in(probe) {
		t.Fatalf("storetest: %T is not a zulipauth.UserCreator, so the suite cannot add users to it: "+
			"give Harness.Seed, a function that adds a user the way the application does", probe)
	}
	for _, l := range layers {
		t.Run(l.name, func(t *testing.T) {
			if missing, ok := lacks(probe, l.needs); ok {
				t.Skip("store has no " + missing)
			}
			for _, tc := range l.tests {
				t.Run(tc.name, func(t *testing.T) {
					f := h.fixture(t)
					if missing, ok := lacks(f.store, tc.needs); ok {
						t.Skip("store has no " + missing)
					}
					tc.run(t, f)
				})
			}
		})
	}
}

// newStore calls New and refuses a nil store.
func (h Harness[S]) newStore(t *testing.T) S {
	t.Helper()
	s := h.New(t)
	if isNil(s) {
		t.Fatal("storetest: Harness.New returned nil")
	}
	return s
}

// fixture makes a store for one sub-test, with the means to fill it.
func (h Harness[S]) fixture(t *testing.T) *fixture {
	t.Helper()
	s := h.newStore(t)
	f := &fixture{store: s, otherRealm: h.OtherRealm}
	if h.Seed != nil {
		f.seedFn = func(t *testing.T, nu zulipauth.NewUser) zulipauth.User { return h.Seed(t, s, nu) }
	} else {
		c := any(s).(zulipauth.UserCreator) // Run checked
		f.seedFn = func(t *testing.T, nu zulipauth.NewUser) zulipauth.User {
			u, err := c.CreateUser(t.Context(), nu)
			if err != nil {
				t.Fatalf("CreateUser(%q, %q): %v", nu.Realm, nu.Email, err)
			}
			return u
		}
	}
	return f
}

// isNil reports whether v is nil or a nil pointer, map, slice, func,
// channel or interface, which a New returning "no store" might give.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
