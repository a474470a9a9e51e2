package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// creatorTests check zulipauth.UserCreator.
var creatorTests = []test{
	{"CreateUser", nil, testCreateUser},
	{"CreatedAt", nil, testCreatedAt},
	{"DuplicateEmail", nil, testDuplicateEmail},
	{"CreateUserUnknownRealm", nil, testCreateUserUnknownRealm},
	{"CancelledContext", nil, testCancelledCreate},
	{"ConcurrentCreate", nil, testConcurrentCreate},
	{"ConcurrentSameEmail", nil, testConcurrentSameEmail},
}

// testCreateUser: CreateUser returns the user as stored, with a positive id
// and a well-formed key, and both lookups return the same user.
func testCreateUser(t *testing.T, f *fixture) {
	for _, nu := range []zulipauth.NewUser{
		{Email: "Iago@Zulip.com", FullName: "Iago", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{Email: "hamlet@zulip.com", FullName: "Hamlet, Prince of Dänemark ☃", PasswordHash: ""},
		{Email: "ÉLODIE@example.com", FullName: "", PasswordHash: "x"},
	} {
		t.Run(nu.Email, func(t *testing.T) {
			u, err := f.creator().CreateUser(t.Context(), nu)
			if err != nil {
				t.Fatalf("CreateUser(%+v): %v", nu, err)
			}
			want := zulipauth.User{
				ID:           u.ID,
				Realm:        nu.Realm,
				Email:        nu.Email,
				FullName:     nu.FullName,
				APIKey:       u.APIKey,
				PasswordHash: nu.PasswordHash,
				CreatedAt:    u.CreatedAt,
			}
			sameUser(t, "CreateUser", u, want)
			if u.ID <= 0 {
				t.Errorf("CreateUser: ID = %d, want > 0", u.ID)
			}
			if !zulipauth.ValidAPIKeyFormat(u.APIKey) {
				t.Errorf("CreateUser: APIKey %q is not 32 characters of [A-Za-z0-9]", u.APIKey)
			}
			checkStored(t, f.store, want)
		})
	}
}

// testCreatedAt: CreatedAt is the time of creation, and lookups return it.
func testCreatedAt(t *testing.T, f *fixture) {
	var prev zulipauth.User
	for i, email := range []string{"first@example.com", "second@example.com"} {
		before := time.Now()
		u := createUser(t, f.creator(), "", email)
		after := time.Now()
		if u.CreatedAt.IsZero() {
			t.Fatalf("CreateUser(%q): CreatedAt is zero", email)
		}
		if u.CreatedAt.Before(before.Add(-timeSlack)) || u.CreatedAt.After(after.Add(timeSlack)) {
			t.Errorf("CreateUser(%q): CreatedAt = %v, want between %v and %v", email, u.CreatedAt, before, after)
		}
		for _, got := range both(t, f.store, u) {
			if d := got.CreatedAt.Sub(u.CreatedAt).Abs(); d >= timeSlack {
				t.Errorf("lookup of %q: CreatedAt = %v, CreateUser said %v", email, got.CreatedAt, u.CreatedAt)
			}
		}
		if i > 0 && u.CreatedAt.Before(prev.CreatedAt.Add(-timeSlack)) {
			t.Errorf("user created later has CreatedAt %v before the earlier user's %v", u.CreatedAt, prev.CreatedAt)
		}
		prev = u
	}
}

// testDuplicateEmail: a second account whose email folds like an existing
// one in the same realm is ErrUserExists, and the first account is unchanged.
func testDuplicateEmail(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		name     string
		original string
		dups     []string
	}{
		{"ASCII", "Iago@Zulip.com", []string{"Iago@Zulip.com", "iago@zulip.com", "IAGO@ZULIP.COM", " iago@zulip.com\t"}},
		{"non-ASCII", "élodie@example.com", []string{"ÉLODIE@example.com", "élodie@EXAMPLE.COM"}},
		{"Kelvin sign", "kelvin@example.com", []string{"\u212Aelvin@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := f.seed(t, "", tc.original)
			for _, d := range tc.dups {
				_, err := f.creator().CreateUser(t.Context(), zulipauth.NewUser{Email: d, FullName: "Impostor", PasswordHash: "impostor"})
				wantErr(t, "CreateUser("+d+")", err, zulipauth.ErrUserExists)
				got := byEmail(t, f.store, "", d)
				sameUser(t, "after a refused CreateUser("+d+")", got, orig)
			}
		})
	}
}

// testCreateUserUnknownRealm: CreateUser in a realm the store does not know
// is ErrRealmNotFound, leaves nothing behind and creates no realm.
func testCreateUserUnknownRealm(t *testing.T, f *fixture) {
	nu := zulipauth.NewUser{Realm: "nosuch", Email: "iago@zulip.com", FullName: "Iago"}
	_, err := f.creator().CreateUser(t.Context(), nu)
	wantErr(t, "CreateUser in an unknown realm", err, zulipauth.ErrRealmNotFound)
	_, err = f.store.UserByEmail(t.Context(), "nosuch", nu.Email)
	wantErr(t, "UserByEmail after CreateUser in an unknown realm", err, zulipauth.ErrUserNotFound)
	if rs, ok := f.store.(zulipauth.RealmStore); ok {
		_, err = rs.RealmBySubdomain(t.Context(), "nosuch")
		wantErr(t, "RealmBySubdomain after CreateUser in an unknown realm", err, zulipauth.ErrRealmNotFound)
	}
}

// testCancelledCreate: CreateUser with a cancelled context fails and creates
// nobody.
func testCancelledCreate(t *testing.T, f *fixture) {
	_, err := f.creator().CreateUser(cancelled(t), zulipauth.NewUser{Email: "new@zulip.com"})
	writeFails(t, "CreateUser", err)
	_, err = f.store.UserByEmail(t.Context(), "", "new@zulip.com")
	wantErr(t, "UserByEmail of a user created with a cancelled context", err, zulipauth.ErrUserNotFound)
}

// testConcurrentCreate: writers creating distinct users at once all succeed,
// with distinct ids and keys, and every user is found afterwards.
func testConcurrentCreate(t *testing.T, f *fixture) {
	const workers, each = 8, 25
	users := make([][]zulipauth.User, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				u, err := f.creator().CreateUser(t.Context(), zulipauth.NewUser{
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
			checkStored(t, f.store, u)
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
func testConcurrentSameEmail(t *testing.T, f *fixture) {
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
			u, err := f.creator().CreateUser(t.Context(), zulipauth.NewUser{
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
		sameUser(t, "UserByEmail("+sp+")", byEmail(t, f.store, "", sp), *w)
	}
}
