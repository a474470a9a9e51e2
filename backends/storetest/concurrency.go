package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// testConcurrentCreate: writers creating distinct users at once all succeed,
// with distinct ids and keys, and every user is found afterwards.
func testConcurrentCreate(t *testing.T, s Store) {
	const workers, each = 8, 25
	users := make([][]zulipauth.User, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				u, err := s.CreateUser(t.Context(), zulipauth.NewUser{
					Email:    fmt.Sprintf("Worker%d.User%d@Example.com", w, i),
					FullName: fmt.Sprintf("Worker %d, user %d", w, i),
				})
				if err != nil {
					t.Errorf("worker %d: CreateUser #%d: %v", w, i, err)
					return
				}
				users[w] = append(users[w], u)
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	ids := make(map[int64]string)
	keys := make(map[string]string)
	for _, list := range users {
		for _, u := range list {
			if u.ID <= 0 {
				t.Errorf("%s: ID = %d, want > 0", u.Email, u.ID)
			}
			if prev, dup := ids[u.ID]; dup {
				t.Errorf("%s and %s both have id %d", prev, u.Email, u.ID)
			}
			if prev, dup := keys[u.APIKey]; dup {
				t.Errorf("%s and %s both have API key %q", prev, u.Email, u.APIKey)
			}
			if !zulipauth.ValidAPIKeyFormat(u.APIKey) {
				t.Errorf("%s: APIKey %q is not 32 characters of [A-Za-z0-9]", u.Email, u.APIKey)
			}
			ids[u.ID], keys[u.APIKey] = u.Email, u.Email
			res := both(t, s, u)
			sameUser(t, "UserByEmail", res[0], u)
			sameUser(t, "UserByAPIKey", res[1], u)
		}
	}
	if len(ids) != workers*each {
		t.Errorf("%d distinct users, want %d", len(ids), workers*each)
	}
}

// testConcurrentSameEmail: of many writers racing to create one email (in
// different letter cases), exactly one wins and the others get ErrUserExists.
// A store that checks for the email and then inserts, without a unique
// constraint or a lock, fails here.
func testConcurrentSameEmail(t *testing.T, s Store) {
	const racers = 16
	spellings := []string{"Race@Example.com", "race@example.com", "RACE@EXAMPLE.COM", " race@example.com "}
	var (
		wg     sync.WaitGroup
		wins   atomic.Int32
		winner atomic.Pointer[zulipauth.User]
	)
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			u, err := s.CreateUser(t.Context(), zulipauth.NewUser{
				Email:    spellings[i%len(spellings)],
				FullName: fmt.Sprintf("Racer %d", i),
			})
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(&u)
			case !errors.Is(err, zulipauth.ErrUserExists):
				t.Errorf("racer %d: CreateUser: %v, want nil or ErrUserExists", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of %d racers created the same email, want exactly 1", n, racers)
	}
	w := winner.Load()
	for _, sp := range spellings {
		sameUser(t, "UserByEmail("+sp+")", byEmail(t, s, "", sp), *w)
	}
}

// testConcurrentSameRealm: of many writers racing to create one realm,
// exactly one wins and the others get ErrRealmExists.
func testConcurrentSameRealm(t *testing.T, s Store) {
	const racers = 8
	var (
		wg   sync.WaitGroup
		wins atomic.Int32
		name atomic.Value
	)
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			r := zulipauth.Realm{Subdomain: "race", Name: fmt.Sprintf("Racer %d", i)}
			err := s.CreateRealm(t.Context(), r)
			switch {
			case err == nil:
				wins.Add(1)
				name.Store(r.Name)
			case !errors.Is(err, zulipauth.ErrRealmExists):
				t.Errorf("racer %d: CreateRealm: %v, want nil or ErrRealmExists", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of %d racers created the same realm, want exactly 1", n, racers)
	}
	if got := realmOf(t, s, "race"); got.Name != name.Load() {
		t.Errorf("realm race is named %q, the winner was %q", got.Name, name.Load())
	}
}

// testConcurrentRegenerate: while keys are regenerated, readers only ever see
// the right user with a well-formed key, a key either finds its user or is
// ErrUserNotFound, and at the end only the last key of each user works.
func testConcurrentRegenerate(t *testing.T, s Store) {
	const (
		nUsers   = 4
		rounds   = 20
		readers  = 4
		maxReads = 400 // per reader, to keep the test bounded
	)
	users := make([]zulipauth.User, nUsers)
	for i := range users {
		users[i] = createUser(t, s, "", fmt.Sprintf("regen%d@example.com", i))
	}
	history := make([][]string, nUsers)
	var (
		writers, readersWG sync.WaitGroup
		done               atomic.Bool
	)
	for i, u := range users {
		history[i] = []string{u.APIKey}
		writers.Go(func() {
			for r := range rounds {
				key, err := s.RegenerateAPIKey(t.Context(), u.ID)
				if err != nil {
					t.Errorf("user %d: RegenerateAPIKey #%d: %v", u.ID, r, err)
					return
				}
				history[i] = append(history[i], key)
			}
		})
	}
	for r := range readers {
		readersWG.Go(func() {
			for n := 0; n < maxReads && !done.Load(); n++ {
				u := users[(r+n)%nUsers]
				got, err := s.UserByEmail(t.Context(), "", u.Email)
				if err != nil {
					t.Errorf("UserByEmail(%q) during regeneration: %v", u.Email, err)
					return
				}
				if got.ID != u.ID || !zulipauth.ValidAPIKeyFormat(got.APIKey) {
					t.Errorf("UserByEmail(%q) during regeneration = user %d with key %q, want user %d", u.Email, got.ID, got.APIKey, u.ID)
					return
				}
				byKey, err := s.UserByAPIKey(t.Context(), got.APIKey)
				switch {
				case errors.Is(err, zulipauth.ErrUserNotFound):
					// Regenerated between the two reads.
				case err != nil:
					t.Errorf("UserByAPIKey during regeneration: %v", err)
					return
				case byKey.ID != u.ID:
					t.Errorf("UserByAPIKey(key of user %d) = user %d", u.ID, byKey.ID)
					return
				}
			}
		})
	}
	writers.Wait()
	done.Store(true)
	readersWG.Wait()
	if t.Failed() {
		return
	}

	seen := make(map[string]bool)
	for i, u := range users {
		keys := history[i]
		for j, key := range keys {
			if seen[key] {
				t.Errorf("key %q given twice", key)
			}
			seen[key] = true
			got, err := s.UserByAPIKey(t.Context(), key)
			if j < len(keys)-1 {
				wantErr(t, fmt.Sprintf("UserByAPIKey(key #%d of %d of user %d)", j, len(keys), u.ID), err, zulipauth.ErrUserNotFound)
				continue
			}
			if err != nil || got.ID != u.ID {
				t.Errorf("UserByAPIKey(last key of user %d) = user %d, %v", u.ID, got.ID, err)
			}
		}
		if got := byEmail(t, s, "", u.Email); got.APIKey != keys[len(keys)-1] {
			t.Errorf("user %d: UserByEmail has key %q, the last regenerated was %q", u.ID, got.APIKey, keys[len(keys)-1])
		}
	}
}
