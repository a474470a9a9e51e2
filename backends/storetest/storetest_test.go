package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
// the sub-test named. A suite whose assertions cannot fail would pass them
// all. The suite runs in a child process (this test binary, re-executed),
// because a failing *testing.T cannot be observed from the outside.

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
	realmBySub   func(ctx context.Context, sub string) (zulipauth.Realm, error)
	updateRealm  func(ctx context.Context, r zulipauth.Realm) error

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

func (m *mutant) RealmBySubdomain(ctx context.Context, sub string) (zulipauth.Realm, error) {
	if m.realmBySub != nil {
		return m.realmBySub(ctx, sub)
	}
	return m.Store.RealmBySubdomain(ctx, sub)
}

func (m *mutant) UpdateRealm(ctx context.Context, r zulipauth.Realm) error {
	if m.updateRealm != nil {
		return m.updateRealm(ctx, r)
	}
	return m.Store.UpdateRealm(ctx, r)
}

// mutants maps a bug to the sub-tests that must catch it and to a function
// that builds a store with the bug.
var mutants = map[string]struct {
	caughtBy []string
	build    func(m *mutant)
}{
	"exact email match": {[]string{"EmailFolding"}, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			u, err := m.Store.UserByEmail(ctx, realm, email)
			if err == nil && u.Email != email {
				return zulipauth.User{}, zulipauth.ErrUserNotFound
			}
			return u, err
		}
	}},
	"lower-casing instead of folding": {[]string{"EmailFolding"}, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			u, err := m.Store.UserByEmail(ctx, realm, email)
			lower := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
			if err == nil && lower(u.Email) != lower(email) {
				return zulipauth.User{}, zulipauth.ErrUserNotFound
			}
			return u, err
		}
	}},
	"no trimming": {[]string{"EmailFolding"}, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			if email != strings.TrimSpace(email) {
				return zulipauth.User{}, zulipauth.ErrUserNotFound
			}
			return m.Store.UserByEmail(ctx, realm, email)
		}
	}},
	"prefix match": {[]string{"EmailNotFolded"}, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			u, err := m.Store.UserByEmail(ctx, realm, email)
			if errors.Is(err, zulipauth.ErrUserNotFound) && email != "" {
				return m.Store.UserByEmail(ctx, realm, email+"m")
			}
			return u, err
		}
	}},
	"email stored lower-cased": {[]string{"CreateUser", "EmailFolding"}, func(m *mutant) {
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			nu.Email = strings.ToLower(nu.Email)
			return m.Store.CreateUser(ctx, nu)
		}
	}},
	"realm ignored by UserByEmail": {[]string{"RealmScoping"}, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			u, err := m.Store.UserByEmail(ctx, realm, email)
			if errors.Is(err, zulipauth.ErrUserNotFound) && realm != "" {
				return m.Store.UserByEmail(ctx, "", email)
			}
			return u, err
		}
	}},
	"nil error when not found": {[]string{"UserNotFound", "EmailNotFolded"}, func(m *mutant) {
		m.userByEmail = func(ctx context.Context, realm, email string) (zulipauth.User, error) {
			u, err := m.Store.UserByEmail(ctx, realm, email)
			if errors.Is(err, zulipauth.ErrUserNotFound) {
				return zulipauth.User{}, nil
			}
			return u, err
		}
	}},
	"unwrapped not-found error": {[]string{"UserNotFound", "APIKeyCaseSensitive"}, func(m *mutant) {
		m.userByAPIKey = func(ctx context.Context, key string) (zulipauth.User, error) {
			u, err := m.Store.UserByAPIKey(ctx, key)
			if errors.Is(err, zulipauth.ErrUserNotFound) {
				return u, errors.New("no such key")
			}
			return u, err
		}
	}},
	"duplicate email not ErrUserExists": {[]string{"DuplicateEmail", "ConcurrentSameEmail"}, func(m *mutant) {
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			u, err := m.Store.CreateUser(ctx, nu)
			if err != nil {
				err = fmt.Errorf("create: %v", err)
			}
			return u, err
		}
	}},
	"unknown realm created on the fly": {[]string{"CreateUserUnknownRealm"}, func(m *mutant) {
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			u, err := m.Store.CreateUser(ctx, nu)
			if errors.Is(err, zulipauth.ErrRealmNotFound) {
				m.Store.CreateRealm(ctx, zulipauth.Realm{Subdomain: nu.Realm})
				return m.Store.CreateUser(ctx, nu)
			}
			return u, err
		}
	}},
	"zero CreatedAt": {[]string{"CreatedAt", "CreateUser"}, func(m *mutant) {
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			u, err := m.Store.CreateUser(ctx, nu)
			u.CreatedAt = time.Time{}
			return u, err
		}
	}},
	"case-insensitive API keys": {[]string{"APIKeyCaseSensitive"}, func(m *mutant) {
		var mu sync.Mutex
		keys := make(map[string]string) // lower-cased key -> key
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			u, err := m.Store.CreateUser(ctx, nu)
			mu.Lock()
			keys[strings.ToLower(u.APIKey)] = u.APIKey
			mu.Unlock()
			return u, err
		}
		m.regenerate = func(ctx context.Context, id int64) (string, error) {
			k, err := m.Store.RegenerateAPIKey(ctx, id)
			mu.Lock()
			keys[strings.ToLower(k)] = k
			mu.Unlock()
			return k, err
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
	"old key still works": {[]string{"RegenerateAPIKey", "ConcurrentRegenerate"}, func(m *mutant) {
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
	"malformed regenerated key": {[]string{"RegenerateAPIKey"}, func(m *mutant) {
		m.regenerate = func(ctx context.Context, id int64) (string, error) {
			k, err := m.Store.RegenerateAPIKey(ctx, id)
			return k + "=", err
		}
	}},
	"password hash not saved": {[]string{"UpdatePasswordHash"}, func(m *mutant) {
		m.updateHash = func(context.Context, int64, string) error { return nil }
	}},
	"password reset flag not saved": {[]string{"UserFlags"}, func(m *mutant) {
		m.setReset = func(context.Context, int64, bool) error { return nil }
	}},
	"realm field dropped": {[]string{"Realms"}, func(m *mutant) {
		m.realmBySub = func(ctx context.Context, sub string) (zulipauth.Realm, error) {
			r, err := m.Store.RealmBySubdomain(ctx, sub)
			r.PasswordAuthDisabled = false
			return r, err
		}
	}},
	"UpdateRealm creates": {[]string{"RealmNotFound"}, func(m *mutant) {
		m.updateRealm = func(ctx context.Context, r zulipauth.Realm) error {
			err := m.Store.UpdateRealm(ctx, r)
			if errors.Is(err, zulipauth.ErrRealmNotFound) {
				m.Store.CreateRealm(ctx, r)
			}
			return err
		}
	}},
	"context ignored": {[]string{"CancelledContext"}, func(m *mutant) {
		bg := context.Background()
		m.userByEmail = func(_ context.Context, realm, email string) (zulipauth.User, error) {
			return m.Store.UserByEmail(bg, realm, email)
		}
		m.createUser = func(_ context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			return m.Store.CreateUser(bg, nu)
		}
	}},
	"check-then-insert race": {[]string{"ConcurrentSameEmail"}, func(m *mutant) {
		// Two users with the same email can both be created: the check and
		// the insert are separate steps with a window between them.
		m.createUser = func(ctx context.Context, nu zulipauth.NewUser) (zulipauth.User, error) {
			if _, err := m.Store.UserByEmail(ctx, nu.Realm, nu.Email); err == nil {
				return zulipauth.User{}, zulipauth.ErrUserExists
			}
			time.Sleep(20 * time.Millisecond)
			u, err := m.Store.CreateUser(ctx, nu)
			if errors.Is(err, zulipauth.ErrUserExists) {
				// The buggy store inserts anyway and reports success.
				return zulipauth.User{ID: -1, Email: nu.Email, APIKey: zulipauth.GenerateAPIKey()}, nil
			}
			return u, err
		}
	}},
}

// userByID finds a user by id through the email its CreateUser recorded.
func (m *mutant) userByID(ctx context.Context, id int64) (zulipauth.User, error) {
	v, ok := m.created.Load(id)
	if !ok {
		return zulipauth.User{}, zulipauth.ErrUserNotFound
	}
	re := v.([2]string)
	return m.Store.UserByEmail(ctx, re[0], re[1])
}

// TestMutantChild runs the suite on the mutant named in the environment; it
// is skipped unless TestMutants started it.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as a child of TestMutants")
	}
	mu, ok := mutants[name]
	if !ok {
		t.Fatalf("no mutant %q", name)
	}
	storetest.Run(t, func(*testing.T) storetest.Store {
		m := &mutant{Store: memstore.New()}
		mu.build(m)
		return m
	})
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
	for name := range mutants {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutantChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a store with bug %q (err %v); output:\n%s", name, err, out)
			}
			for _, sub := range mutants[name].caughtBy {
				if !strings.Contains(string(out), "--- FAIL: TestMutantChild/"+sub+" ") {
					t.Errorf("bug %q: sub-test %s did not fail; output:\n%s", name, sub, out)
				}
			}
		})
	}
}
