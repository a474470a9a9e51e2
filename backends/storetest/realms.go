package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// realmStoreTests check zulipauth.RealmStore.
var realmStoreTests = []test{
	{"RootRealm", nil, testRootRealm},
	{"RealmNotFound", nil, testRealmNotFound},
	{"CancelledContext", nil, testCancelledRealmLookup},
}

// realmAdminTests check [RealmAdmin], through zulipauth.RealmStore.
var realmAdminTests = []test{
	{"RootRealmExists", nil, testRootRealmExists},
	{"UnreachableSubdomain", nil, testUnreachableSubdomain},
	{"Realms", nil, testRealms},
	{"UpdateUnknownRealm", nil, testUpdateUnknownRealm},
	{"CreateUserInNewRealm", []capability{capUserCreator}, testCreateUserInNewRealm},
	{"CancelledContext", nil, testCancelledRealmWrites},
	{"ConcurrentSameRealm", nil, testConcurrentSameRealm},
}

// testRootRealm: a fresh store knows the root realm, active and allowing
// password login, so a new deployment can log in without set-up.
func testRootRealm(t *testing.T, f *fixture) {
	r := realmOf(t, f.realms(), "")
	if r.Subdomain != "" {
		t.Errorf("root realm Subdomain = %q, want \"\"", r.Subdomain)
	}
	if r.Deactivated {
		t.Error("root realm of a fresh store is deactivated")
	}
	if r.PasswordAuthDisabled {
		t.Error("root realm of a fresh store disables password login")
	}
}

// testRealmNotFound: unknown subdomains are ErrRealmNotFound, never a nil
// error with a zero Realm (which would be an active root realm).
func testRealmNotFound(t *testing.T, f *fixture) {
	known := ""
	if r, ok := f.secondRealm(t); ok {
		known = r
	}
	for _, sub := range []string{"nosuch", known + "2", " " + known, "%", "_" + known, " "} {
		if sub == known {
			continue
		}
		_, err := f.realms().RealmBySubdomain(t.Context(), sub)
		wantErr(t, fmt.Sprintf("RealmBySubdomain(%q)", sub), err, zulipauth.ErrRealmNotFound)
	}
}

// testCancelledRealmLookup: with a cancelled context RealmBySubdomain fails
// and does not claim "not found" (which would answer 404 for a realm that
// exists).
func testCancelledRealmLookup(t *testing.T, f *fixture) {
	_, err := f.realms().RealmBySubdomain(cancelled(t), "")
	lookupFails(t, "RealmBySubdomain", err)
}

// testRootRealmExists: the root realm cannot be created again.
func testRootRealmExists(t *testing.T, f *fixture) {
	before := realmOf(t, f.realms(), "")
	err := f.realmAdmin().CreateRealm(t.Context(), zulipauth.Realm{Name: "Again", Deactivated: true})
	wantErr(t, `CreateRealm("") in a fresh store`, err, zulipauth.ErrRealmExists)
	if got := realmOf(t, f.realms(), ""); got != before {
		t.Errorf("a refused CreateRealm(\"\") changed the root realm to %+v, want %+v", got, before)
	}
}

// testUnreachableSubdomain: a realm that no request could reach is not
// created. HostRealms lowercases hosts, so a store that held a realm
// "Sales" (or "www", the root's alias) would hold it for nobody.
func testUnreachableSubdomain(t *testing.T, f *fixture) {
	for _, sub := range []string{"Sales", "www", "-sales", "sales-", "sa.les", "sa les", "sälës", strings.Repeat("a", 41)} {
		err := f.realmAdmin().CreateRealm(t.Context(), zulipauth.Realm{Subdomain: sub, Name: "Unreachable"})
		wantErr(t, fmt.Sprintf("CreateRealm(%q)", sub), err, zulipauth.ErrInvalidSubdomain)
		for _, look := range []string{sub, strings.ToLower(sub)} {
			if _, err := f.realms().RealmBySubdomain(t.Context(), look); !errors.Is(err, zulipauth.ErrRealmNotFound) {
				t.Errorf("after a refused CreateRealm(%q): RealmBySubdomain(%q) = %v, want ErrRealmNotFound", sub, look, err)
			}
		}
	}
	createRealm(t, f.realmAdmin(), zulipauth.Realm{Subdomain: strings.Repeat("a", 40), Name: "Longest"})
}

// testRealms: every field of a Realm survives CreateRealm, UpdateRealm and
// RealmBySubdomain, and a write to one realm leaves the others alone.
func testRealms(t *testing.T, f *fixture) {
	s, rs := f.realmAdmin(), f.realms()
	realms := []zulipauth.Realm{
		{Subdomain: "lear", Name: "Lear & Co.", Description: "<p>The <b>king</b>'s court</p>", IconURL: "/user_avatars/2/realm/icon.png"},
		{Subdomain: "zephyr", Name: "Zéphyr — ünïcode ☃", Deactivated: true},
		{Subdomain: "nopass", Name: "No Passwords", PasswordAuthDisabled: true},
		{Subdomain: "both", Name: "", Deactivated: true, PasswordAuthDisabled: true},
	}
	for _, r := range realms {
		createRealm(t, s, r)
	}
	for _, r := range realms {
		if got := realmOf(t, rs, r.Subdomain); got != r {
			t.Errorf("after CreateRealm: RealmBySubdomain(%q) = %+v, want %+v", r.Subdomain, got, r)
		}
	}

	for _, tc := range []struct {
		name   string
		update func(r *zulipauth.Realm)
	}{
		{"rename", func(r *zulipauth.Realm) { r.Name = "Renamed " + r.Subdomain }},
		{"deactivate", func(r *zulipauth.Realm) { r.Deactivated = true }},
		{"reactivate", func(r *zulipauth.Realm) { r.Deactivated = false }},
		{"disable password", func(r *zulipauth.Realm) { r.PasswordAuthDisabled = true }},
		{"enable password", func(r *zulipauth.Realm) { r.PasswordAuthDisabled = false }},
		{"describe", func(r *zulipauth.Realm) {
			r.Description, r.IconURL = "<p>"+r.Subdomain+"</p>", "https://example.com/"+r.Subdomain+".png"
		}},
		{"everything", func(r *zulipauth.Realm) {
			r.Name, r.Deactivated, r.PasswordAuthDisabled = "Last", !r.Deactivated, !r.PasswordAuthDisabled
			r.Description, r.IconURL = "", ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range realms {
				want := realms[i]
				tc.update(&want)
				if err := s.UpdateRealm(t.Context(), want); err != nil {
					t.Fatalf("UpdateRealm(%+v): %v", want, err)
				}
				if got := realmOf(t, rs, want.Subdomain); got != want {
					t.Errorf("after UpdateRealm: RealmBySubdomain(%q) = %+v, want %+v", want.Subdomain, got, want)
				}
				realms[i] = want
				for _, other := range realms {
					if got := realmOf(t, rs, other.Subdomain); got != other {
						t.Errorf("UpdateRealm(%q) changed realm %q to %+v, want %+v", want.Subdomain, other.Subdomain, got, other)
					}
				}
			}
		})
	}

	for _, r := range realms {
		dup := zulipauth.Realm{Subdomain: r.Subdomain, Name: "Duplicate"}
		wantErr(t, "CreateRealm of an existing "+r.Subdomain, s.CreateRealm(t.Context(), dup), zulipauth.ErrRealmExists)
		if got := realmOf(t, rs, r.Subdomain); got != r {
			t.Errorf("a refused CreateRealm changed realm %q to %+v, want %+v", r.Subdomain, got, r)
		}
	}

	// The root realm is a realm like the others.
	root := zulipauth.Realm{Name: "Root renamed", PasswordAuthDisabled: true}
	if err := s.UpdateRealm(t.Context(), root); err != nil {
		t.Fatalf("UpdateRealm(root): %v", err)
	}
	if got := realmOf(t, rs, ""); got != root {
		t.Errorf("RealmBySubdomain(\"\") = %+v, want %+v", got, root)
	}
}

// testUpdateUnknownRealm: UpdateRealm of a subdomain nobody has is
// ErrRealmNotFound and does not create the realm.
func testUpdateUnknownRealm(t *testing.T, f *fixture) {
	ghost := zulipauth.Realm{Subdomain: "ghost", Name: "Ghost"}
	wantErr(t, "UpdateRealm(unknown)", f.realmAdmin().UpdateRealm(t.Context(), ghost), zulipauth.ErrRealmNotFound)
	_, err := f.realms().RealmBySubdomain(t.Context(), "ghost")
	wantErr(t, "RealmBySubdomain after a refused UpdateRealm", err, zulipauth.ErrRealmNotFound)
}

// testCreateUserInNewRealm: a realm CreateUser refused as unknown takes
// users once it is created, and they are found there only.
func testCreateUserInNewRealm(t *testing.T, f *fixture) {
	nu := zulipauth.NewUser{Realm: "later", Email: "iago@zulip.com", FullName: "Iago"}
	_, err := f.creator().CreateUser(t.Context(), nu)
	wantErr(t, "CreateUser in an unknown realm", err, zulipauth.ErrRealmNotFound)
	createRealm(t, f.realmAdmin(), zulipauth.Realm{Subdomain: "later", Name: "Now it exists"})
	u, err := f.creator().CreateUser(t.Context(), nu)
	if err != nil {
		t.Fatalf("CreateUser after the realm was created: %v", err)
	}
	if u.Realm != "later" {
		t.Errorf("CreateUser in realm later: Realm = %q", u.Realm)
	}
	checkStored(t, f.store, u)
	_, err = f.store.UserByEmail(t.Context(), "", nu.Email)
	wantErr(t, "UserByEmail in the root realm", err, zulipauth.ErrUserNotFound)
}

// testCancelledRealmWrites: with a cancelled context CreateRealm and
// UpdateRealm fail and change nothing.
func testCancelledRealmWrites(t *testing.T, f *fixture) {
	s, rs := f.realmAdmin(), f.realms()
	createRealm(t, s, zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	ctx := cancelled(t)
	writeFails(t, "CreateRealm", s.CreateRealm(ctx, zulipauth.Realm{Subdomain: "new"}))
	writeFails(t, "UpdateRealm", s.UpdateRealm(ctx, zulipauth.Realm{Subdomain: "lear", Name: "Changed", Deactivated: true}))
	_, err := rs.RealmBySubdomain(t.Context(), "new")
	wantErr(t, "RealmBySubdomain of a realm created with a cancelled context", err, zulipauth.ErrRealmNotFound)
	if got, want := realmOf(t, rs, "lear"), (zulipauth.Realm{Subdomain: "lear", Name: "Lear"}); got != want {
		t.Errorf("UpdateRealm with a cancelled context changed the realm to %+v", got)
	}
}

// testConcurrentSameRealm: of many writers racing to create one realm,
// exactly one wins and the others get ErrRealmExists.
func testConcurrentSameRealm(t *testing.T, f *fixture) {
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
			err := f.realmAdmin().CreateRealm(t.Context(), r)
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
	if got := realmOf(t, f.realms(), "race"); got.Name != name.Load() {
		t.Errorf("realm race is named %q, the winner was %q", got.Name, name.Load())
	}
}
