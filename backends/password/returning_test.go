package password_test

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The load: a spray of new usernames from new addresses keeps the
// hash queue full, and returning users' correct logins were turned away (0
// of 10 within 3 s). Here sixteen sprayers keep a queue of one slot and two
// waiting full; each of ten users, who logged in before the spray, logs in
// again from the same /24 while it runs, and every login must succeed.
func TestReturningUsersDuringASpray(t *testing.T) {
	t.Parallel()
	p := password.Params{Memory: 512, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	store := memstore.New()
	// Failures answer as soon as they are verified, so that sixteen
	// sprayers keep the queue full (with the failure time, each would wait
	// out every failure before its next attempt: a real spray opens more
	// connections instead).
	a, err := password.New(store, password.WithParams(p), password.WithMaxConcurrent(1), password.WithMaxWaiting(2), password.WithInsecureFastFailures())
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := argon2id.CreateHash("correct horse", &p)
	login := func(user, pw string, ip netip.Addr) error {
		_, err := a.Authenticate(ctx, zulipauth.Attempt{Realm: root, Username: user, Password: pw, ClientIP: ip})
		return err
	}
	const users = 10
	for i := range users {
		email := fmt.Sprintf("user%d@zulip.com", i)
		if _, err := store.CreateUser(ctx, zulipauth.NewUser{Email: email, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
		if err := login(email, "correct horse", netip.AddrFrom4([4]byte{10, 0, byte(i), 1})); err != nil {
			t.Fatalf("user %d before the spray: %v", i, err)
		}
	}

	var busy atomic.Int64
	saturated := make(chan struct{})
	var once sync.Once
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Uint32
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				err := login(fmt.Sprintf("nobody%d@zulip.com", n), "guess", netip.AddrFrom4([4]byte{198, 18, byte(n >> 8), byte(n)}))
				switch {
				case errors.Is(err, zulipauth.ErrBusy):
					busy.Add(1)
					once.Do(func() { close(saturated) })
				case !errors.Is(err, zulipauth.ErrBadCredentials):
					t.Errorf("sprayed attempt: %v", err)
				}
			}
		})
	}
	select {
	case <-saturated:
	case <-time.After(time.Minute):
		t.Fatal("the spray never filled the queue")
	}
	busyBefore := busy.Load()
	for i := range users {
		if err := login(fmt.Sprintf("user%d@zulip.com", i), "correct horse", netip.AddrFrom4([4]byte{10, 0, byte(i), 200})); err != nil {
			t.Errorf("user %d during the spray: %v", i, err)
		}
	}
	busyDuring := busy.Load() - busyBefore
	close(stop)
	wg.Wait()
	if busyDuring == 0 {
		t.Fatal("the spray did not keep the queue full while the users logged in: the test proved nothing")
	}
	t.Logf("%d sprayed attempts turned away while the %d users logged in", busyDuring, users)
}
