package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/storetest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The mutation tests below check the suite itself: each mutant is memstore
// with one bug that a real store could have, and the suite must fail it, in
// the sub-tests named (layer/property). A suite whose assertions cannot fail
// would pass them all. Some mutants are read-only: the suite sees only their
// zulipauth.UserStore methods and fills them through Harness.Seed, as it
// does an adapter over an application's own table, so the core is proven to
// catch bugs without any optional capability. The suite runs in a child
// process (this test binary, re-executed), because a failing *testing.T
// cannot be observed from the outside.

const mutantEnv = "STORETEST_MUTANT"

// mutant wraps a memstore.Store; the fields that are set replace its methods.
type mutant struct {
	*memstore.Store
	userByEmail  func(ctx context.Context, realm, email string) (zulipauth.User, error)
	userByAPIKey func(ctx context.Context, key string) (zulipauth.User, error)
	createUser   func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error)
	regenerate   func(ctx context.Context, id int64) (string, error)
	updateHash   func(ctx context.Context, id int64, hash string) error
	setReset     func(ctx context.Context, id int64, v bool) error
	setDeact     func(ctx context.Context, id int64, v bool) error
	realmBySub   func(ctx context.Context, sub string) (zulipauth.Realm, error)
	updateRealm  func(ctx context.Context, r zulipauth.Realm) error
	createRealm  func(ctx context.Context, r zulipauth.Realm) error
	takeFlow     func(ctx context.Context, token string, now time.Time) ([]byte, error)
	putFlow      func(ctx context.Context, token string, value []byte, expires time.Time) error
	withRealm    func(ctx context.Context, key string) (zulipauth.User, zulipauth.Realm, error)
	otherRealm   func(ctx context.Context, realm, email string) (bool, error)
	changesSince func(ctx context.Context, after int64, limit int) ([]zulipauth.Change, error)

	created sync.Map // id -> [2]string{realm, email} of every user created
}

func (m *mutant) UserByEmail(ctx context.Context, realm, email string) (zulipauth.User, error) {
	if m.userByEmail != nil {
		return m.userByEmail(ctx, realm, email)
	}
	return m.Store.UserByEmail(ctx, realm, email)
}

func (m *mutant) UserByAPIKey(ctx context.Context, key string) (zulipauth.User, error) {
	if m.userByAPIKey != nil {
		return m.userByAPIKey(ctx, key)
	}
	return m.Store.UserByAPIKey(ctx, key)
}

func (m *mutant) CreateUser(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
	f := m.Store.CreateUser
	if m.createUser != nil {
		f = m.createUser
	}
	u, err := f(ctx, nu)
	if err == nil {
		m.created.Store(u.ID, [2]string{u.Realm, u.Email})
	}
	return u, err
}

func (m *mutant) RegenerateAPIKey(ctx context.Context, id int64) (string, error) {
	if m.regenerate != nil {
		return m.regenerate(ctx, id)
	}
	return m.Store.RegenerateAPIKey(ctx, id)
}

func (m *mutant) UpdatePasswordHash(ctx context.Context, id int64, hash string) error {
	if m.updateHash != nil {
		return m.updateHash(ctx, id, hash)
	}
	return m.Store.UpdatePasswordHash(ctx, id, hash)
}

func (m *mutant) SetPasswordResetRequired(ctx context.Context, id int64, v bool) error {
	if m.setReset != nil {
		return m.setReset(ctx, id, v)
	}
	return m.Store.SetPasswordResetRequired(ctx, id, v)
}

func (m *mutant) SetUserDeactivated(ctx context.Context, id int64, v bool) error {
	if m.setDeact != nil {
		return m.setDeact(ctx, id, v)
	}
	return m.Store.SetUserDeactivated(ctx, id, v)
}

func (m *mutant) UserWithRealmByAPIKey(ctx context.Context, key string) (zulipauth.User, zulipauth.Realm, error) {
	if m.withRealm != nil {
		return m.withRealm(ctx, key)
	}
	return m.Store.UserWithRealmByAPIKey(ctx, key)
}

func (m *mutant) EmailInOtherRealm(ctx context.Context, realm, email string) (bool, error) {
	if m.otherRealm != nil {
		return m.otherRealm(ctx, realm, email)
	}
	return m.Store.EmailInOtherRealm(ctx, realm, email)
}

func (m *mutant) ChangesSince(ctx context.Context, after int64, limit int) ([]zulipauth.Change, error) {
	if m.changesSince != nil {
		return m.changesSince(ctx, after, limit)
	}
	return m.Store.ChangesSince(ctx, after, limit)
}

func (m *mutant) RealmBySubdomain(ctx context.Context, sub string) (zulipauth.Realm, error) {
	if m.realmBySub != nil {
		return m.realmBySub(ctx, sub)
	}
	return m.Store.RealmBySubdomain(ctx, sub)
}

func (m *mutant) TakeFlow(ctx context.Context, token string, now time.Time) ([]byte, error) {
	if m.takeFlow != nil {
		return m.takeFlow(ctx, token, now)
	}
	return m.Store.TakeFlow(ctx, token, now)
}

func (m *mutant) PutFlow(ctx context.Context, token string, value []byte, expires time.Time) error {
	if m.putFlow != nil {
		return m.putFlow(ctx, token, value, expires)
	}
	return m.Store.PutFlow(ctx, token, value, expires)
}

func (m *mutant) CreateRealm(ctx context.Context, r zulipauth.Realm) error {
	if m.createRealm != nil {
		return m.createRealm(ctx, r)
	}
	return m.Store.CreateRealm(ctx, r)
}

func (m *mutant) UpdateRealm(ctx context.Context, r zulipauth.Realm) error {
	if m.updateRealm != nil {
		return m.updateRealm(ctx, r)
	}
	return m.Store.UpdateRealm(ctx, r)
}

// bug is one mutant: the sub-tests that must catch it, whether the suite
// sees it read-only, and how to build it.
type bug struct {
	caughtBy []string
	readOnly bool
	build    func(m *mutant)
}

// exactEmailMatch is a store that compares emails byte for byte.
func exactEmailMatch(m *mutant) {
	m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
		u, err := m.Store.UserByEmail(ctx, realm, email)
		if err == nil && u.Email != email {
			return zulipauth.User{}, zulipauth.ErrUserNotFound
		}
		return u, err
	}
}

// nilErrorWhenNotFound is a store that answers "not found" with a zero User.
func nilErrorWhenNotFound(m *mutant) {
	m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
		u, err := m.Store.UserByEmail(ctx, realm, email)
		if errors.Is(err, zulipauth.ErrUserNotFound) {
			return zulipauth.User{}, nil
		}
		return u, err
	}
}

var mutants = map[string]bug{
	// A flow read but not removed: a provider's answer replayed logs in
	// again.
	"flows not removed when taken": {[]string{"FlowStore/TakenOnce", "FlowStore/RacingTakers"}, false, func(m *mutant) {
		kept := map[string][]byte{}
		var mu sync.Mutex
		m.takeFlow = func(ctx context.Context, token string, now time.Time) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			if v, ok := kept[token]; ok {
				return v, nil
			}
			v, err := m.Store.TakeFlow(ctx, token, now)
			if err == nil {
				kept[token] = v
			}
			return v, err
		}
	}},
	// Expiry ignored: a flow left behind works for ever.
	"flows that never expire": {[]string{"FlowStore/Expires"}, false, func(m *mutant) {
		m.takeFlow = func(ctx context.Context, token string, now time.Time) ([]byte, error) {
			return m.Store.TakeFlow(ctx, token, time.Time{})
		}
	}},
	// A put that overwrites: an assertion replayed is recorded again, and
	// accepted.
	"flows overwritten by a put": {[]string{"FlowStore/PutKeepsTheFirst", "FlowStore/RacingPutters"}, false, func(m *mutant) {
		m.putFlow = func(ctx context.Context, token string, value []byte, expires time.Time) error {
			m.Store.TakeFlow(ctx, token, time.Now())
			return m.Store.PutFlow(ctx, token, value, expires)
		}
	}},
	// A store that takes "Sales" as "sales" instead of refusing it: the
	// caller believes a realm "Sales" exists, which no request reaches.
	"realms lower-cased instead of refused": {[]string{"RealmAdmin/UnreachableSubdomain"}, false, func(m *mutant) {
		m.createRealm = func(ctx context.Context, r zulipauth.Realm) error {
			r.Subdomain = strings.ToLower(r.Subdomain)
			if !zulipauth.ValidSubdomain(r.Subdomain) {
				return zulipauth.ErrInvalidSubdomain
			}
			return m.Store.CreateRealm(ctx, r)
		}
	}},
	// A feed that loses changes: a revocation made elsewhere would never
	// reach the other instances' caches.
	"a feed that loses changes": {[]string{"ChangeFeed/RegenerationRecorded", "ChangeFeed/DeactivationRecorded", "ChangeFeed/RealmChangeRecorded"}, false, func(m *mutant) {
		m.changesSince = func(context.Context, int64, int) ([]zulipauth.Change, error) { return nil, nil }
	}},
	// A feed that ignores its limit: a follower's bounded read is not.
	"a feed that ignores its limit": {[]string{"ChangeFeed/OrderAndLimit"}, false, func(m *mutant) {
		m.changesSince = func(ctx context.Context, after int64, _ int) ([]zulipauth.Change, error) {
			return m.Store.ChangesSince(ctx, after, 1<<20)
		}
	}},
	"exact email match":            {[]string{"Core/EmailFolding"}, false, exactEmailMatch},
	"read-only: exact email match": {[]string{"Core/EmailFolding"}, true, exactEmailMatch},
	"lower-casing instead of folding": {[]string{"Core/EmailFolding"}, false, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			u, err := m.Store.UserByEmail(ctx, realm, email)
			lower := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
			if err == nil && lower(u.Email) != lower(email) {
				return zulipauth.User{}, zulipauth.ErrUserNotFound
			}
			return u, err
		}
	}},
	"no trimming": {[]string{"Core/EmailFolding"}, true, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			if email != strings.TrimSpace(email) {
				return zulipauth.User{}, zulipauth.ErrUserNotFound
			}
			return m.Store.UserByEmail(ctx, realm, email)
		}
	}},
	"prefix match": {[]string{"Core/EmailNotFolded"}, true, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			u, err := m.Store.UserByEmail(ctx, realm, email)
			if errors.Is(err, zulipauth.ErrUserNotFound) && email != "" {
				return m.Store.UserByEmail(ctx, realm, email+"m")
			}
			return u, err
		}
	}},
	"email stored lower-cased": {[]string{"UserCreator/CreateUser", "Core/EmailFolding", "Core/Lookups"}, false, func(m *mutant) {
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			nu.Email = strings.ToLower(nu.Email)
			return m.Store.CreateUser(ctx, nu)
		}
	}},
	"realm ignored by UserByEmail": {[]string{"Core/RealmScoping"}, false, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			u, err := m.Store.UserByEmail(ctx, realm, email)
			if errors.Is(err, zulipauth.ErrUserNotFound) && realm != "" {
				return m.Store.UserByEmail(ctx, "", email)
			}
			return u, err
		}
	}},
	"nil error when not found":            {[]string{"Core/UserNotFound", "Core/EmailNotFolded"}, false, nilErrorWhenNotFound},
	"read-only: nil error when not found": {[]string{"Core/UserNotFound", "Core/EmailNotFolded"}, true, nilErrorWhenNotFound},
	"unwrapped not-found error": {[]string{"Core/UserNotFound", "Core/APIKeyCaseSensitive"}, true, func(m *mutant) {
		m.userByAPIKey = func(ctx context.Context, key string) (zulipauth.User, error) {
			u, err := m.Store.UserByAPIKey(ctx, key)
			if errors.Is(err, zulipauth.ErrUserNotFound) {
				return u, errors.New("no such key")
			}
			return u, err
		}
	}},
	"shared scratch result": {[]string{"Core/ConcurrentLookups"}, true, func(m *mutant) {
		// One result variable for every call, as a store reusing one
		// buffer would have: a concurrent call overwrites it before it is
		// returned. (Locked, so that -race reports the suite's finding
		// rather than the mutant's data race.)
		var mu sync.Mutex
		var scratch zulipauth.User
		m.userByAPIKey = func(ctx context.Context, key string) (zulipauth.User, error) {
			u, err := m.Store.UserByAPIKey(ctx, key)
			mu.Lock()
			scratch = u
			mu.Unlock()
			time.Sleep(100 * time.Microsecond)
			mu.Lock()
			defer mu.Unlock()
			return scratch, err
		}
	}},
	"duplicate email not ErrUserExists": {[]string{"UserCreator/DuplicateEmail", "UserCreator/ConcurrentSameEmail"}, false, func(m *mutant) {
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			u, err := m.Store.CreateUser(ctx, nu)
			if err != nil {
				err = fmt.Errorf("create: %v", err)
			}
			return u, err
		}
	}},
	"unknown realm created on the fly": {[]string{"UserCreator/CreateUserUnknownRealm", "RealmAdmin/CreateUserInNewRealm"}, false, func(m *mutant) {
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			u, err := m.Store.CreateUser(ctx, nu)
			if errors.Is(err, zulipauth.ErrRealmNotFound) {
				m.Store.CreateRealm(ctx, zulipauth.Realm{Subdomain: nu.Realm})
				return m.Store.CreateUser(ctx, nu)
			}
			return u, err
		}
	}},
	"zero CreatedAt": {[]string{"UserCreator/CreatedAt", "UserCreator/CreateUser"}, false, func(m *mutant) {
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			u, err := m.Store.CreateUser(ctx, nu)
			u.CreatedAt = time.Time{}
			return u, err
		}
	}},
	"case-insensitive API keys": {[]string{"Core/APIKeyCaseSensitive"}, true, func(m *mutant) {
		var mu sync.Mutex
		keys := make(map[string]string) // lower-cased key -> key
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			u, err := m.Store.CreateUser(ctx, nu)
			mu.Lock()
			keys[strings.ToLower(u.APIKey)] = u.APIKey
			mu.Unlock()
			return u, err
		}
		m.userByAPIKey = func(ctx context.Context, key string) (zulipauth.User, error) {
			mu.Lock()
			k, ok := keys[strings.ToLower(key)]
			mu.Unlock()
			if ok {
				key = k
			}
			return m.Store.UserByAPIKey(ctx, key)
		}
	}},
	"old key still works": {[]string{"APIKeyRegenerator/RegenerateAPIKey", "APIKeyRegenerator/ConcurrentRegenerate"}, false, func(m *mutant) {
		var mu sync.Mutex
		old := make(map[string]int64)
		m.regenerate = func(ctx context.Context, id int64) (string, error) {
			if u, err := m.userByID(ctx, id); err == nil {
				mu.Lock()
				old[u.APIKey] = id
				mu.Unlock()
			}
			return m.Store.RegenerateAPIKey(ctx, id)
		}
		m.userByAPIKey = func(ctx context.Context, key string) (zulipauth.User, error) {
			mu.Lock()
			id, ok := old[key]
			mu.Unlock()
			if ok {
				return m.userByID(ctx, id)
			}
			return m.Store.UserByAPIKey(ctx, key)
		}
	}},
	"malformed regenerated key": {[]string{"APIKeyRegenerator/RegenerateAPIKey"}, false, func(m *mutant) {
		m.regenerate = func(ctx context.Context, id int64) (string, error) {
			k, err := m.Store.RegenerateAPIKey(ctx, id)
			return k + "=", err
		}
	}},
	"regenerating an unknown id succeeds": {[]string{"APIKeyRegenerator/UnknownUserID"}, false, func(m *mutant) {
		m.regenerate = func(ctx context.Context, id int64) (string, error) {
			k, err := m.Store.RegenerateAPIKey(ctx, id)
			if errors.Is(err, zulipauth.ErrUserNotFound) {
				return zulipauth.GenerateAPIKey(), nil
			}
			return k, err
		}
	}},
	"password hash not saved": {[]string{"PasswordHashUpdater/UpdatePasswordHash"}, false, func(m *mutant) {
		m.updateHash = func(context.Context, int64, string) error { return nil }
	}},
	"password reset flag not saved": {[]string{"PasswordResetRequirer/RequireReset"}, false, func(m *mutant) {
		m.setReset = func(context.Context, int64, bool) error { return nil }
	}},
	"deactivation not saved": {[]string{"UserDeactivator/Deactivate"}, false, func(m *mutant) {
		m.setDeact = func(context.Context, int64, bool) error { return nil }
	}},
	"root realm missing": {[]string{"RealmStore/RootRealm"}, false, func(m *mutant) {
		m.realmBySub = func(ctx context.Context, sub string) (zulipauth.Realm, error) {
			if sub == "" {
				return zulipauth.Realm{}, zulipauth.ErrRealmNotFound
			}
			return m.Store.RealmBySubdomain(ctx, sub)
		}
	}},
	"unknown realm answered with a zero realm": {[]string{"RealmStore/RealmNotFound"}, false, func(m *mutant) {
		m.realmBySub = func(ctx context.Context, sub string) (zulipauth.Realm, error) {
			r, err := m.Store.RealmBySubdomain(ctx, sub)
			if errors.Is(err, zulipauth.ErrRealmNotFound) {
				return zulipauth.Realm{}, nil
			}
			return r, err
		}
	}},
	"realm field dropped": {[]string{"RealmAdmin/Realms"}, false, func(m *mutant) {
		m.realmBySub = func(ctx context.Context, sub string) (zulipauth.Realm, error) {
			r, err := m.Store.RealmBySubdomain(ctx, sub)
			r.PasswordAuthDisabled = false
			return r, err
		}
	}},
	"UpdateRealm creates": {[]string{"RealmAdmin/UpdateUnknownRealm"}, false, func(m *mutant) {
		m.updateRealm = func(ctx context.Context, r zulipauth.Realm) error {
			err := m.Store.UpdateRealm(ctx, r)
			if errors.Is(err, zulipauth.ErrRealmNotFound) {
				m.Store.CreateRealm(ctx, r)
			}
			return err
		}
	}},
	"context ignored": {[]string{"Core/CancelledContext", "UserCreator/CancelledContext"}, false, func(m *mutant) {
		bg := context.Background()
		m.userByEmail = func(_ context.Context, realm, email string) (zulipauth.User, error) {
			return m.Store.UserByEmail(bg, realm, email)
		}
		m.createUser = func(_ context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			return m.Store.CreateUser(bg, nu)
		}
	}},
	"check-then-insert race": {[]string{"UserCreator/ConcurrentSameEmail"}, false, func(m *mutant) {
		// Two users with the same email can both be created: the check and
		// the insert are separate steps with a window between them.
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			if _, err := m.Store.UserByEmail(ctx, nu.Realm, nu.Email); err == nil {
				return zulipauth.User{}, zulipauth.ErrUserExists
			}
			if strings.Contains(strings.ToLower(nu.Email), "race") {
				time.Sleep(20 * time.Millisecond) // the window, where the racers are
			}
			u, err := m.Store.CreateUser(ctx, nu)
			if errors.Is(err, zulipauth.ErrUserExists) {
				// The buggy store inserts anyway and reports success.
				return zulipauth.User{ID: -1, Email: nu.Email, APIKey: zulipauth.GenerateAPIKey()}, nil
			}
			return u, err
		}
	}},
	"user with the root realm's fields": {[]string{"UserWithRealmFinder/UserWithRealm"}, false, func(m *mutant) {
		m.withRealm = func(ctx context.Context, key string) (zulipauth.User, zulipauth.Realm, error) {
			u, _, err := m.Store.UserWithRealmByAPIKey(ctx, key)
			return u, zulipauth.Realm{Subdomain: u.Realm}, err
		}
	}},
	"own realm counted as another": {[]string{"OtherRealmFinder/OtherRealm"}, false, func(m *mutant) {
		m.otherRealm = func(ctx context.Context, realm, email string) (bool, error) {
			other, err := m.Store.EmailInOtherRealm(ctx, realm, email)
			if _, here := m.Store.UserByEmail(ctx, realm, email); here == nil {
				return true, err
			}
			return other, err
		}
	}},
}

// optionalLayers are the suite's layers besides Core, each with the
// capability a store that lacks it is told of.
var optionalLayers = map[string]string{
	"UserCreator":           "zulipauth.UserCreator",
	"APIKeyRegenerator":     "zulipauth.APIKeyRegenerator",
	"PasswordHashUpdater":   "zulipauth.PasswordHashUpdater",
	"RealmStore":            "zulipauth.RealmStore",
	"RealmAdmin":            "storetest.RealmAdmin",
	"UserDeactivator":       "storetest.UserDeactivator",
	"PasswordResetRequirer": "storetest.PasswordResetRequirer",
	"UserWithRealmFinder":   "zulipauth.UserWithRealmFinder",
	"OtherRealmFinder":      "zulipauth.OtherRealmFinder",
	"ChangeFeed":            "zulipauth.ChangeFeed",
	"FlowStore":             "zulipauth.FlowStore",
}

// layerLine matches the result line of a layer in the child's output.
var layerLine = regexp.MustCompile(`(?m)^    --- (?:PASS|SKIP|FAIL): TestMutantChild/([A-Za-z]+) `)

// layerNames are every layer of the suite.
var layerNames = func() []string {
	names := []string{"Core"}
	for l := range optionalLayers {
		names = append(names, l)
	}
	sort.Strings(names)
	return names
}()

// userByID finds a user by id through the email its CreateUser recorded.
func (m *mutant) userByID(ctx context.Context, id int64) (zulipauth.User, error) {
	v, ok := m.created.Load(id)
	if !ok {
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	}
	re := v.([2]string)
	return m.Store.UserByEmail(ctx, re[0], re[1])
}

// readOnly shows the suite only a mutant's zulipauth.UserStore methods, as
// an adapter over an application's table would be.
type readOnly struct{ m *mutant }

func (r readOnly) UserByEmail(ctx context.Context, realm, email string) (zulipauth.User, error) {
	return r.m.UserByEmail(ctx, realm, email)
}

func (r readOnly) UserByAPIKey(ctx context.Context, key string) (zulipauth.User, error) {
	return r.m.UserByAPIKey(ctx, key)
}

// seedReadOnly adds a user behind the store's back, as an application adds
// rows to its own table.
func seedReadOnly(t *testing.T, s readOnly, nu zulipauth.NewUser) zulipauth.User {
	u, err := s.m.CreateUser(t.Context(), nu)
	if err != nil {
		t.Fatalf("seeding %q: %v", nu.Email, err)
	}
	return u
}

// scenarios are what TestMutantChild can run, by name: every mutant, a
// healthy read-only store, and harnesses the suite must refuse.
func scenarios() map[string]func(t *testing.T) {
	out := map[string]func(t *testing.T){
		"healthy read-only store": func(t *testing.T) {
			storetest.Run(t, storetest.Harness[readOnly]{
				New:  func(*testing.T) readOnly { return readOnly{&mutant{Store: memstore.New()}} },
				Seed: seedReadOnly,
			})
		},
		"read-only store without Seed": func(t *testing.T) {
			storetest.Run(t, storetest.Harness[readOnly]{
				New: func(*testing.T) readOnly { return readOnly{&mutant{Store: memstore.New()}} },
			})
		},
		"no New": func(t *testing.T) { storetest.Run(t, storetest.Harness[*memstore.Store]{}) },
		"New returns nil": func(t *testing.T) {
			storetest.Run(t, storetest.Harness[*memstore.Store]{New: func(*testing.T) *memstore.Store { return nil }})
		},
	}
	for name, b := range mutants {
		newMutant := func() *mutant {
			m := &mutant{Store: memstore.New()}
			b.build(m)
			return m
		}
		if b.readOnly {
			out[name] = func(t *testing.T) {
				storetest.Run(t, storetest.Harness[readOnly]{
					New:  func(*testing.T) readOnly { return readOnly{newMutant()} },
					Seed: seedReadOnly,
				})
			}
			continue
		}
		out[name] = func(t *testing.T) {
			storetest.Run(t, storetest.Harness[*mutant]{New: func(*testing.T) *mutant { return newMutant() }})
		}
	}
	return out
}

// TestMutantChild runs the scenario named in the environment; it is skipped
// unless a test below started it.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as a child of TestMutants")
	}
	run, ok := scenarios()[name]
	if !ok {
		t.Fatalf("no scenario %q", name)
	}
	run(t)
}

// child runs one scenario in a child process and returns its verbose output
// and whether it passed.
func child(t *testing.T, scenario string) (string, bool) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutantChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), mutantEnv+"="+scenario)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the child: %v", err)
	}
	return string(out), err == nil
}

// TestMutants checks that the suite fails every mutant in the sub-tests that
// are meant to catch it.
func TestMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary once per mutant")
	}
	names := make([]string, 0, len(mutants))
	caught := map[string]bool{} // layers some mutant is caught in
	for name, b := range mutants {
		names = append(names, name)
		for _, sub := range b.caughtBy {
			caught[strings.SplitN(sub, "/", 2)[0]] = true
		}
	}
	sort.Strings(names)
	for _, layer := range layerNames {
		if !caught[layer] {
			t.Errorf("no mutant is caught in layer %s: nothing proves that it can fail", layer)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, passed := child(t, name)
			if passed {
				t.Fatalf("the suite passed a store with bug %q; output:\n%s", name, out)
			}
			for _, sub := range mutants[name].caughtBy {
				if !strings.Contains(out, "--- FAIL: TestMutantChild/"+sub+" ") {
					t.Errorf("bug %q: sub-test %s did not fail; output:\n%s", name, sub, out)
				}
			}
		})
	}
}

// TestReadOnlyStore: a store with nothing but the zulipauth.UserStore
// methods, filled through Seed, passes the core, and every other layer is
// reported as skipped with the capability it lacks.
func TestReadOnlyStore(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	t.Parallel()
	out, passed := child(t, "healthy read-only store")
	if !passed {
		t.Fatalf("the suite failed a correct read-only store; output:\n%s", out)
	}
	if !strings.Contains(out, "--- PASS: TestMutantChild/Core ") || !strings.Contains(out, "--- PASS: TestMutantChild/Core/ConcurrentLookups ") {
		t.Errorf("the core did not run and pass; output:\n%s", out)
	}
	for layer, missing := range optionalLayers {
		if !strings.Contains(out, "--- SKIP: TestMutantChild/"+layer+" ") || !strings.Contains(out, "store has no "+missing) {
			t.Errorf("layer %s was not skipped naming %s; output:\n%s", layer, missing, out)
		}
	}
	// The test knows every layer the suite has, so a new layer cannot
	// go without a mutant (TestMutants) or a skip message.
	var ran []string
	for _, m := range layerLine.FindAllStringSubmatch(out, -1) {
		ran = append(ran, m[1])
	}
	sort.Strings(ran)
	if strings.Join(ran, " ") != strings.Join(layerNames, " ") {
		t.Errorf("the suite's layers are %v, the test knows %v", ran, layerNames)
	}
	// With one realm, the tests that need two say so rather than pass.
	if !strings.Contains(out, "--- SKIP: TestMutantChild/Core/SameEmailTwoRealms ") || !strings.Contains(out, "give Harness.OtherRealm") {
		t.Errorf("SameEmailTwoRealms was not skipped for a one-realm store; output:\n%s", out)
	}
}

// TestHarnessMisuse: a harness the suite cannot use stops it at once, with
// a message that says what to give.
func TestHarnessMisuse(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	for _, tc := range []struct{ name, scenario, want string }{
		{"no Seed for a read-only store", "read-only store without Seed", "give Harness.Seed"},
		{"no New", "no New", "Harness.New is nil"},
		{"New returns nil", "New returns nil", "Harness.New returned nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, passed := child(t, tc.scenario)
			if passed || !strings.Contains(out, tc.want) {
				t.Errorf("passed = %v, want a failure saying %q; output:\n%s", passed, tc.want, out)
			}
			if strings.Contains(out, "--- PASS: TestMutantChild/Core") {
				t.Errorf("the suite ran with a harness it cannot use; output:\n%s", out)
			}
		})
	}
}
