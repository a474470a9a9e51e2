package password_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Pins the enumeration of imported accounts by timing: a wrong password for
// an account imported from Zulip (Django's argon2, 100 MiB) took 0.39 s
// where an unknown email took 0.08 s (+344%; bcrypt cost 12 +561%, pbkdf2
// 600k +267%). Every failure after the lookup now waits out the failure
// time: an unknown user, a wrong password whatever the hash's format, an
// unusable hash, an email of another realm. A correct login does not wait.
//
// The failure time here is an hour, so that each failure is answered only
// when its context ends: a failure that did not wait would answer at once.
func TestFailureTimeHidesAccounts(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	a, err := password.New(store, password.WithParams(cheap), password.WithFailureTime(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := argon2id.CreateHash("correct horse", &cheap)
	if err := store.CreateRealm(ctx, zulipauth.Realm{Subdomain: "lear", Name: "Lear"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []zulipauth.NewUser{
		{Email: "current@zulip.com", PasswordHash: hash},
		{Email: "django@zulip.com", PasswordHash: vectorHash(t, "djangoArgon2i")},
		{Email: "bcrypt@zulip.com", PasswordHash: vectorHash(t, "bcrypt2b")},
		{Email: "pbkdf2@zulip.com", PasswordHash: vectorHash(t, "djangoPBKDF2")},
		{Email: "unusable@zulip.com", PasswordHash: "md5$salt$0123456789abcdef"},
		{Email: "elsewhere@zulip.com", Realm: "lear", PasswordHash: hash},
	} {
		if _, err := store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	const wait = 150 * time.Millisecond
	for _, tc := range []struct {
		name, email string
		want        error
	}{
		{"unknown user", "nobody@zulip.com", zulipauth.ErrBadCredentials},
		{"wrong password, current hash", "current@zulip.com", zulipauth.ErrBadCredentials},
		{"wrong password, Django's argon2", "django@zulip.com", zulipauth.ErrBadCredentials},
		{"wrong password, bcrypt", "bcrypt@zulip.com", zulipauth.ErrBadCredentials},
		{"wrong password, pbkdf2_sha256", "pbkdf2@zulip.com", zulipauth.ErrBadCredentials},
		{"unusable hash", "unusable@zulip.com", zulipauth.ErrBadCredentials},
		{"another realm's email", "elsewhere@zulip.com", zulipauth.ErrWrongRealm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			start := time.Now()
			_, err := a.Authenticate(c, attempt(tc.email, "wrong guess"))
			if took := time.Since(start); took < wait {
				t.Errorf("answered after %v: a failure must wait out the failure time (here until its context ends, %v)", took, wait)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v (the wait's end is not the answer)", err, tc.want)
			}
		})
	}

	t.Run("correct login", func(t *testing.T) {
		t.Parallel()
		done := make(chan error, 1)
		go func() {
			_, err := a.Authenticate(ctx, attempt("current@zulip.com", "correct horse"))
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a correct login waited: only failures wait out the failure time")
		}
	})
}

// A failure waits without its hash slot: with one slot, a correct login goes
// ahead while a failure waits out its time.
func TestFailureTimeHoldsNoSlot(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	a, err := password.New(store, password.WithParams(cheap), password.WithMaxConcurrent(1), password.WithFailureTime(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := argon2id.CreateHash("correct horse", &cheap)
	if _, err := store.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	defer cancel()
	failed := make(chan error, 1)
	go func() {
		_, err := a.Authenticate(c, attempt("nobody@zulip.com", "guess"))
		failed <- err
	}()
	time.Sleep(50 * time.Millisecond) // the failure is verified and waiting
	done := make(chan error, 1)
	go func() {
		_, err := a.Authenticate(ctx, attempt("iago@zulip.com", "correct horse"))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the correct login beside a waiting failure: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting failure held the only hash slot")
	}
	select {
	case err := <-failed:
		t.Fatalf("the failure answered before its time: %v", err)
	default:
	}
	cancel()
	if err := <-failed; !errors.Is(err, zulipauth.ErrBadCredentials) {
		t.Fatalf("the failure: %v", err)
	}
}

func TestWithFailureTimeRefusesNegative(t *testing.T) {
	t.Parallel()
	if _, err := password.New(memstore.New(), password.WithFailureTime(-time.Second)); err == nil {
		t.Fatal("New accepted a negative failure time")
	}
}

// vectorHash is the stored hash of the named test vector.
func vectorHash(t *testing.T, name string) string {
	t.Helper()
	for _, v := range vectors {
		if v.name == name {
			return v.hash
		}
	}
	t.Fatalf("no vector %s", name)
	return ""
}
