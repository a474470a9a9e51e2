package password_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

var (
	cheap = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	older = password.Params{Memory: 32, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	ctx   = context.Background()
	root  = zulipauth.Realm{Name: "Zulip"}
)

func setup(t *testing.T, pw string, params password.Params) (*memstore.Store, *password.Authenticator, zulipauth.User) {
	t.Helper()
	store := memstore.New()
	// Failures are not padded (TestFailureTime is about that).
	a, err := password.New(store, password.WithParams(cheap), password.WithInsecureFastFailures())
	if err != nil {
		t.Fatal(err)
	}
	hash, err := argon2id.CreateHash(pw, &params)
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(ctx, zulipauth.NewUser{Email: "Iago@zulip.com", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return store, a, u
}

func attempt(username, pw string) zulipauth.Attempt {
	return zulipauth.Attempt{Realm: root, Username: username, Password: pw}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	store, a, u := setup(t, "correct horse", cheap)
	tests := []struct {
		name string
		at   zulipauth.Attempt
		want error
	}{
		{"right password", attempt("Iago@zulip.com", "correct horse"), nil},
		{"case and space", attempt("  iago@ZULIP.com ", "correct horse"), nil},
		{"wrong password", attempt("Iago@zulip.com", "wrong"), zulipauth.ErrBadCredentials},
		{"empty password", attempt("Iago@zulip.com", ""), zulipauth.ErrBadCredentials},
		{"unknown user", attempt("nobody@zulip.com", "correct horse"), zulipauth.ErrBadCredentials},
		{"account of another realm (Zulip's 404)", zulipauth.Attempt{Realm: zulipauth.Realm{Subdomain: "lear"}, Username: "Iago@zulip.com", Password: "correct horse"}, zulipauth.ErrWrongRealm},
		{"realm deactivated", zulipauth.Attempt{Realm: zulipauth.Realm{Deactivated: true}, Username: "Iago@zulip.com", Password: "correct horse"}, zulipauth.ErrRealmDeactivated},
		{"password auth disabled", zulipauth.Attempt{Realm: zulipauth.Realm{PasswordAuthDisabled: true}, Username: "Iago@zulip.com", Password: "correct horse"}, zulipauth.ErrPasswordAuthDisabled},
		{"password auth disabled, unknown user", zulipauth.Attempt{Realm: zulipauth.Realm{PasswordAuthDisabled: true}, Username: "x@zulip.com", Password: "x"}, zulipauth.ErrPasswordAuthDisabled},
		{"password auth disabled beats realm deactivated", zulipauth.Attempt{Realm: zulipauth.Realm{PasswordAuthDisabled: true, Deactivated: true}, Username: "Iago@zulip.com", Password: "x"}, zulipauth.ErrPasswordAuthDisabled},
		{"empty password beats realm deactivated", zulipauth.Attempt{Realm: zulipauth.Realm{Deactivated: true}, Username: "Iago@zulip.com", Password: ""}, zulipauth.ErrBadCredentials},
	}
	for _, tt := range tests {
		got, err := a.Authenticate(ctx, tt.at)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if tt.want == nil && got.ID != u.ID {
			t.Errorf("%s: user %v, want %v", tt.name, got, u)
		}
	}
	store.SetUserDeactivated(ctx, u.ID, true)
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "wrong")); !errors.Is(err, zulipauth.ErrUserDeactivated) {
		t.Errorf("deactivated user with a wrong password: %v, want ErrUserDeactivated", err)
	}
	// Zulip answers an empty password and disabled password login before
	// looking the user up.
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "")); !errors.Is(err, zulipauth.ErrBadCredentials) {
		t.Errorf("deactivated user with an empty password: %v, want ErrBadCredentials", err)
	}
	disabled := zulipauth.Attempt{Realm: zulipauth.Realm{PasswordAuthDisabled: true}, Username: "Iago@zulip.com", Password: "x"}
	if _, err := a.Authenticate(ctx, disabled); !errors.Is(err, zulipauth.ErrPasswordAuthDisabled) {
		t.Errorf("deactivated user, password login disabled: %v, want ErrPasswordAuthDisabled", err)
	}
	if _, err := a.Authenticate(ctx, attempt("nobody@zulip.com", "x")); !errors.Is(err, zulipauth.ErrBadCredentials) {
		t.Errorf("unknown everywhere: %v, want ErrBadCredentials", err)
	}
}

func TestOutdatedHashIsUpgraded(t *testing.T) {
	t.Parallel()
	store, a, u := setup(t, "correct horse", older)
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "wrong")); !errors.Is(err, zulipauth.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if got, _ := store.UserByEmail(ctx, "", "Iago@zulip.com"); got.PasswordHash != u.PasswordHash {
		t.Fatal("a wrong password upgraded the hash")
	}
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "correct horse")); err != nil {
		t.Fatalf("right password: %v", err)
	}
	got, _ := store.UserByEmail(ctx, "", "Iago@zulip.com")
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash not upgraded: %s", got.PasswordHash)
	}
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "correct horse")); err != nil {
		t.Fatalf("login with the upgraded hash: %v", err)
	}
}

// Zulip's PasswordTooWeakError: an outdated hash whose correct password fails
// today's policy must be reset, not upgraded.
func TestOutdatedHashWithWeakPasswordNeedsReset(t *testing.T) {
	t.Parallel()
	store, a, u := setup(t, "abc", older)
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "abc")); !errors.Is(err, zulipauth.ErrPasswordResetRequired) {
		t.Fatalf("got %v, want ErrPasswordResetRequired", err)
	}
	if got, _ := store.UserByEmail(ctx, "", "Iago@zulip.com"); got.PasswordHash != u.PasswordHash {
		t.Fatal("the weak password's hash was upgraded")
	}
	// A weak password with a current hash (set before a policy change) still works.
	_, a2, _ := setup(t, "abc", cheap)
	if _, err := a2.Authenticate(ctx, attempt("Iago@zulip.com", "abc")); err != nil {
		t.Fatalf("current hash, weak password: %v", err)
	}
}

func TestFlaggedForReset(t *testing.T) {
	t.Parallel()
	store, a, u := setup(t, "correct horse", cheap)
	store.SetPasswordResetRequired(ctx, u.ID, true)
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "correct horse")); !errors.Is(err, zulipauth.ErrPasswordResetRequired) {
		t.Fatalf("right password: %v", err)
	}
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "wrong")); !errors.Is(err, zulipauth.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
}

// readOnly hides memstore's optional capabilities.
type readOnly struct{ zulipauth.UserStore }

func TestNoUpgradeWithoutUpdater(t *testing.T) {
	t.Parallel()
	store, _, u := setup(t, "correct horse", older)
	a, _ := password.New(readOnly{store}, password.WithParams(cheap))
	if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "correct horse")); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.UserByEmail(ctx, "", "Iago@zulip.com"); got.PasswordHash != u.PasswordHash {
		t.Fatal("hash changed through a store without PasswordHashUpdater")
	}
}

func TestStoredParamsAreBounded(t *testing.T) {
	t.Parallel()
	for name, hash := range map[string]string{
		"4 GiB":       "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy",
		"1000 passes": "$argon2id$v=19$m=64,t=1000,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy",
		"0 lanes":     "$argon2id$v=19$m=64,t=1,p=0$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy",
		"0 passes":    "$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy",
		"argon2i":     "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy",
		"garbage":     "not a hash",
	} {
		store, a, u := setup(t, "x", cheap)
		store.UpdatePasswordHash(ctx, u.ID, hash)
		if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "correct horse")); !errors.Is(err, zulipauth.ErrBadCredentials) {
			t.Errorf("%s: %v, want ErrBadCredentials", name, err)
		}
	}
}

func TestHashPolicy(t *testing.T) {
	t.Parallel()
	_, a, _ := setup(t, "x", cheap)
	if _, err := a.Hash(ctx, "abc"); !errors.Is(err, password.ErrWeakPassword) {
		t.Errorf("short password: %v", err)
	}
	if _, err := a.Hash(ctx, strings.Repeat("x", password.MaxPasswordBytes+1)); !errors.Is(err, password.ErrWeakPassword) {
		t.Errorf("long password: %v", err)
	}
	h, err := a.Hash(ctx, "long enough")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("Hash = %q, %v", h, err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	for name, opts := range map[string][]password.Option{
		"zero concurrency":            {password.WithMaxConcurrent(0)},
		"negative queue":              {password.WithMaxWaiting(-1)},
		"no wait":                     {password.WithMaxWait(0)},
		"nil policy":                  {password.WithPolicy(nil)},
		"zero iterations":             {password.WithParams(password.Params{Memory: 64, Parallelism: 1, SaltLength: 16, KeyLength: 32})},
		"huge memory":                 {password.WithParams(password.Params{Memory: 1 << 30, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})},
		"no returning users":          {password.WithReturningUsers(0, time.Hour)},
		"negative returning users":    {password.WithReturningUsers(-1, time.Hour)},
		"returning users for no time": {password.WithReturningUsers(10, 0)},
		"negative returning queue":    {password.WithMaxReturningWaiting(-1)},
		"lane turned on again, badly": {password.WithoutReturningUsers(), password.WithReturningUsers(0, 0)},
	} {
		if _, err := password.New(store, opts...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := password.New(nil); err == nil {
		t.Error("nil store accepted")
	}
	// The last of WithReturningUsers and WithoutReturningUsers wins: the
	// lane off, its settings are not checked.
	if _, err := password.New(store, password.WithReturningUsers(0, 0), password.WithoutReturningUsers()); err != nil {
		t.Errorf("lane turned off: %v", err)
	}
}

func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	_, a, _ := setup(t, "correct horse", cheap)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "correct horse")); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkVerify measures one login at the default parameters: the cost an
// unknown user's dummy verification must match.
func BenchmarkVerify(b *testing.B) {
	for _, tc := range []struct{ name, user string }{{"known", "Iago@zulip.com"}, {"unknown", "nobody@zulip.com"}} {
		b.Run(tc.name, func(b *testing.B) {
			store := memstore.New()
			a, _ := password.New(store)
			h, _ := a.Hash(ctx, "correct horse")
			store.CreateUser(ctx, zulipauth.NewUser{Email: "Iago@zulip.com", PasswordHash: h})
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a.Authenticate(ctx, attempt(tc.user, "wrong password"))
			}
		})
	}
}
