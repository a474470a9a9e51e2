package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// timeSlack is how far a CreatedAt may be from the clock readings around
// CreateUser, and how far a lookup's CreatedAt may be from CreateUser's: room
// for a database that keeps whole seconds.
const timeSlack = time.Second

// fixture is one sub-test's store and the means to fill it.
type fixture struct {
	store  zulipauth.UserStore
	seedFn func(t *testing.T, nu zulipauth.NewUser) zulipauth.User

	otherRealm string // Harness.OtherRealm, or the realm CreateRealm made
}

// seed adds a user with fields derived from email, or stops the test.
func (f *fixture) seed(t *testing.T, realm, email string) zulipauth.User {
	t.Helper()
	return f.seedUser(t, zulipauth.NewUser{
		Realm:        realm,
		Email:        email,
		FullName:     "Full Name of " + email,
		PasswordHash: "hash-of-" + email,
	})
}

// seedUser adds nu through Seed or CreateUser, and checks that the user it
// returns is the one asked for, with an id and a key of Zulip's format.
func (f *fixture) seedUser(t *testing.T, nu zulipauth.NewUser) zulipauth.User {
	t.Helper()
	u := f.seedFn(t, nu)
	var bad []string
	if u.ID <= 0 {
		bad = append(bad, fmt.Sprintf("ID = %d, want > 0", u.ID))
	}
	if !zulipauth.ValidAPIKeyFormat(u.APIKey) {
		bad = append(bad, fmt.Sprintf("APIKey %q is not 32 characters of [A-Za-z0-9]", u.APIKey))
	}
	if u.Realm != nu.Realm || u.Email != nu.Email || u.FullName != nu.FullName || u.PasswordHash != nu.PasswordHash {
		bad = append(bad, fmt.Sprintf("realm %q, email %q, full name %q, password hash %q: want them as given",
			u.Realm, u.Email, u.FullName, u.PasswordHash))
	}
	if u.Deactivated || u.PasswordResetRequired {
		bad = append(bad, "a new user is deactivated or needs a password reset")
	}
	for _, b := range bad {
		t.Errorf("adding user %q in realm %q: %s", nu.Email, nu.Realm, b)
	}
	if len(bad) > 0 {
		t.FailNow()
	}
	return u
}

// secondRealm returns a realm other than the root realm that users can be
// added to: Harness.OtherRealm, or one made with CreateRealm. ok is false
// when the store has neither.
func (f *fixture) secondRealm(t *testing.T) (subdomain string, ok bool) {
	t.Helper()
	if f.otherRealm != "" {
		return f.otherRealm, true
	}
	ra, isAdmin := f.store.(RealmAdmin)
	if !isAdmin {
		return "", false
	}
	createRealm(t, ra, zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	f.otherRealm = "lear"
	return f.otherRealm, true
}

// needSecondRealm is secondRealm that skips the test without one.
func (f *fixture) needSecondRealm(t *testing.T) string {
	t.Helper()
	r, ok := f.secondRealm(t)
	if !ok {
		t.Skip("the store has one realm: give Harness.OtherRealm, or implement storetest.RealmAdmin, to check two")
	}
	return r
}

// Typed views of the store; the layer that calls each has checked it.
func (f *fixture) creator() zulipauth.UserCreator { return f.store.(zulipauth.UserCreator) }
func (f *fixture) regenerator() zulipauth.APIKeyRegenerator {
	return f.store.(zulipauth.APIKeyRegenerator)
}
func (f *fixture) hashUpdater() zulipauth.PasswordHashUpdater {
	return f.store.(zulipauth.PasswordHashUpdater)
}
func (f *fixture) realms() zulipauth.RealmStore { return f.store.(zulipauth.RealmStore) }
func (f *fixture) realmAdmin() RealmAdmin       { return f.store.(RealmAdmin) }

// createRealm creates a realm or stops the test.
func createRealm(t *testing.T, s RealmAdmin, r zulipauth.Realm) {
	t.Helper()
	if err := s.CreateRealm(t.Context(), r); err != nil {
		t.Fatalf("CreateRealm(%q): %v", r.Subdomain, err)
	}
}

// createUser creates a user with CreateUser or stops the test.
func createUser(t *testing.T, s zulipauth.UserCreator, realm, email string) zulipauth.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), zulipauth.NewUser{
		Realm:        realm,
		Email:        email,
		FullName:     "Full Name of " + email,
		PasswordHash: "hash-of-" + email,
	})
	if err != nil {
		t.Fatalf("CreateUser(%q, %q): %v", realm, email, err)
	}
	return u
}

// byEmail looks a user up by email or stops the test.
func byEmail(t *testing.T, s zulipauth.UserStore, realm, email string) zulipauth.User {
	t.Helper()
	u, err := s.UserByEmail(t.Context(), realm, email)
	if err != nil {
		t.Fatalf("UserByEmail(%q, %q): %v", realm, email, err)
	}
	return u
}

// byKey looks a user up by API key or stops the test.
func byKey(t *testing.T, s zulipauth.UserStore, key string) zulipauth.User {
	t.Helper()
	u, err := s.UserByAPIKey(t.Context(), key)
	if err != nil {
		t.Fatalf("UserByAPIKey(%q): %v", key, err)
	}
	return u
}

// realmOf looks a realm up or stops the test.
func realmOf(t *testing.T, s zulipauth.RealmStore, subdomain string) zulipauth.Realm {
	t.Helper()
	r, err := s.RealmBySubdomain(t.Context(), subdomain)
	if err != nil {
		t.Fatalf("RealmBySubdomain(%q): %v", subdomain, err)
	}
	return r
}

// both looks u up by its email and by its API key and returns both results,
// each checked to be u's id.
func both(t *testing.T, s zulipauth.UserStore, u zulipauth.User) [2]zulipauth.User {
	t.Helper()
	res := [2]zulipauth.User{byEmail(t, s, u.Realm, u.Email), byKey(t, s, u.APIKey)}
	for i, got := range res {
		if got.ID != u.ID {
			t.Fatalf("%s found user %d, want %d", [2]string{"UserByEmail", "UserByAPIKey"}[i], got.ID, u.ID)
		}
	}
	return res
}

// diffUser lists the fields in which got differs from want. CreatedAt may
// differ by less than timeSlack.
func diffUser(got, want zulipauth.User) []string {
	var d []string
	field := func(name string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, fmt.Sprint(g), fmt.Sprint(w)))
		}
	}
	field("ID", got.ID, want.ID)
	field("Realm", got.Realm, want.Realm)
	field("Email", got.Email, want.Email)
	field("FullName", got.FullName, want.FullName)
	field("APIKey", got.APIKey, want.APIKey)
	field("PasswordHash", got.PasswordHash, want.PasswordHash)
	field("Deactivated", got.Deactivated, want.Deactivated)
	field("PasswordResetRequired", got.PasswordResetRequired, want.PasswordResetRequired)
	if dt := got.CreatedAt.Sub(want.CreatedAt).Abs(); dt >= timeSlack || got.CreatedAt.IsZero() != want.CreatedAt.IsZero() {
		d = append(d, fmt.Sprintf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt))
	}
	return d
}

// sameUser fails the test when got differs from want.
func sameUser(t *testing.T, how string, got, want zulipauth.User) {
	t.Helper()
	for _, d := range diffUser(got, want) {
		t.Errorf("%s: %s", how, d)
	}
}

// checkStored checks that both lookups of u return u field for field.
func checkStored(t *testing.T, s zulipauth.UserStore, u zulipauth.User) {
	t.Helper()
	res := both(t, s, u)
	sameUser(t, "UserByEmail", res[0], u)
	sameUser(t, "UserByAPIKey", res[1], u)
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, call string, err, target error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: nil error, want %v", call, target)
	case !errors.Is(err, target):
		t.Errorf("%s: error %q is not %v", call, err, target)
	}
}

// lookupFails fails the test unless err (of a call with a cancelled
// context) is an error other than "not found": a store that says "not
// found" for a lookup it never made answers a login with bad credentials
// instead of an internal error.
func lookupFails(t *testing.T, call string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s with a cancelled context: nil error", call)
	case errors.Is(err, zulipauth.ErrUserNotFound) || errors.Is(err, zulipauth.ErrRealmNotFound):
		t.Errorf("%s with a cancelled context: %v, want an error that is not \"not found\"", call, err)
	}
}

// writeFails fails the test when a write with a cancelled context succeeded.
func writeFails(t *testing.T, call string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s with a cancelled context: nil error", call)
	}
}

// cancelled returns a context that is already cancelled.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// flipCase returns key with the letter at the first letter position from
// index i on switched between upper and lower case, and whether it found one.
func flipCase(key string, i int) (string, bool) {
	b := []byte(key)
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
			return string(b), true
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
			return string(b), true
		}
	}
	return key, false
}

// unknownIDs are ids that no user of a store holding u has.
func unknownIDs(u zulipauth.User) []int64 {
	var ids []int64
	for _, id := range []int64{0, -1, -u.ID, u.ID + 1000, 1<<63 - 1} {
		if id != u.ID {
			ids = append(ids, id)
		}
	}
	return ids
}
