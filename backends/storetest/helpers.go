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

// createUser creates a user or stops the test.
func createUser(t *testing.T, s Store, realm, email string) zulipauth.User {
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

// createRealm creates a realm or stops the test.
func createRealm(t *testing.T, s Store, r zulipauth.Realm) {
	t.Helper()
	if err := s.CreateRealm(t.Context(), r); err != nil {
		t.Fatalf("CreateRealm(%q): %v", r.Subdomain, err)
	}
}

// byEmail looks a user up by email or stops the test.
func byEmail(t *testing.T, s Store, realm, email string) zulipauth.User {
	t.Helper()
	u, err := s.UserByEmail(t.Context(), realm, email)
	if err != nil {
		t.Fatalf("UserByEmail(%q, %q): %v", realm, email, err)
	}
	return u
}

// byKey looks a user up by API key or stops the test.
func byKey(t *testing.T, s Store, key string) zulipauth.User {
	t.Helper()
	u, err := s.UserByAPIKey(t.Context(), key)
	if err != nil {
		t.Fatalf("UserByAPIKey(%q): %v", key, err)
	}
	return u
}

// realmOf looks a realm up or stops the test.
func realmOf(t *testing.T, s Store, subdomain string) zulipauth.Realm {
	t.Helper()
	r, err := s.RealmBySubdomain(t.Context(), subdomain)
	if err != nil {
		t.Fatalf("RealmBySubdomain(%q): %v", subdomain, err)
	}
	return r
}

// both looks u up by its email and by its API key and returns both results,
// each checked to be u's id.
func both(t *testing.T, s Store, u zulipauth.User) [2]zulipauth.User {
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
func checkStored(t *testing.T, s Store, u zulipauth.User) {
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
