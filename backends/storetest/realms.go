package storetest

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// testRootRealm: a fresh store knows the root realm, active and allowing
// password login, so a new deployment can log in without set-up.
func testRootRealm(t *testing.T, s Store) {
	r := realmOf(t, s, "")
	if r.Subdomain != "" {
		t.Errorf("root realm Subdomain = %q, want \"\"", r.Subdomain)
	}
	if r.Deactivated {
		t.Error("root realm of a fresh store is deactivated")
	}
	if r.PasswordAuthDisabled {
		t.Error("root realm of a fresh store disables password login")
	}
	wantErr(t, `CreateRealm("") in a fresh store`, s.CreateRealm(t.Context(), zulipauth.Realm{Name: "Again"}), zulipauth.ErrRealmExists)
}

// testRealms: every field of a Realm survives CreateRealm, UpdateRealm and
// RealmBySubdomain, and a write to one realm leaves the others alone.
func testRealms(t *testing.T, s Store) {
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
		if got := realmOf(t, s, r.Subdomain); got != r {
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
				if got := realmOf(t, s, want.Subdomain); got != want {
					t.Errorf("after UpdateRealm: RealmBySubdomain(%q) = %+v, want %+v", want.Subdomain, got, want)
				}
				realms[i] = want
				for _, other := range realms {
					if got := realmOf(t, s, other.Subdomain); got != other {
						t.Errorf("UpdateRealm(%q) changed realm %q to %+v, want %+v", want.Subdomain, other.Subdomain, got, other)
					}
				}
			}
		})
	}

	for _, r := range realms {
		dup := zulipauth.Realm{Subdomain: r.Subdomain, Name: "Duplicate"}
		wantErr(t, "CreateRealm of an existing "+r.Subdomain, s.CreateRealm(t.Context(), dup), zulipauth.ErrRealmExists)
		if got := realmOf(t, s, r.Subdomain); got != r {
			t.Errorf("a refused CreateRealm changed realm %q to %+v, want %+v", r.Subdomain, got, r)
		}
	}

	// The root realm is a realm like the others.
	root := zulipauth.Realm{Name: "Root renamed", PasswordAuthDisabled: true}
	if err := s.UpdateRealm(t.Context(), root); err != nil {
		t.Fatalf("UpdateRealm(root): %v", err)
	}
	if got := realmOf(t, s, ""); got != root {
		t.Errorf("RealmBySubdomain(\"\") = %+v, want %+v", got, root)
	}
}

// testRealmNotFound: unknown subdomains are ErrRealmNotFound, and UpdateRealm
// does not create the realm it did not find.
func testRealmNotFound(t *testing.T, s Store) {
	createRealm(t, s, zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	for _, sub := range []string{"nosuch", "lea", "lear2", " lear", "%", "_ear"} {
		_, err := s.RealmBySubdomain(t.Context(), sub)
		wantErr(t, "RealmBySubdomain("+sub+")", err, zulipauth.ErrRealmNotFound)
	}
	ghost := zulipauth.Realm{Subdomain: "ghost", Name: "Ghost"}
	wantErr(t, "UpdateRealm(unknown)", s.UpdateRealm(t.Context(), ghost), zulipauth.ErrRealmNotFound)
	_, err := s.RealmBySubdomain(t.Context(), "ghost")
	wantErr(t, "RealmBySubdomain after a refused UpdateRealm", err, zulipauth.ErrRealmNotFound)
}

// testUserWithRealm: a store that is a zulipauth.UserWithRealmFinder returns,
// with the key's user, that user's realm as RealmBySubdomain has it; an
// unknown key is ErrUserNotFound. Stores without the (optional) capability
// have nothing to check.
func testUserWithRealm(t *testing.T, s Store) {
	f, ok := s.(zulipauth.UserWithRealmFinder)
	if !ok {
		t.Log("the store is not a zulipauth.UserWithRealmFinder: nothing to check")
		return
	}
	createRealm(t, s, zulipauth.Realm{Subdomain: "lear", Name: "Lear", Deactivated: true, Description: "<p>x</p>", IconURL: "/i.png"})
	for _, realm := range []string{"", "lear"} {
		u := createUser(t, s, realm, "iago@zulip.com")
		got, r, err := f.UserWithRealmByAPIKey(t.Context(), u.APIKey)
		if err != nil {
			t.Fatalf("UserWithRealmByAPIKey: %v", err)
		}
		sameUser(t, "UserWithRealmByAPIKey", got, u)
		if want := realmOf(t, s, realm); r != want {
			t.Errorf("UserWithRealmByAPIKey realm = %+v, want %+v", r, want)
		}
	}
	_, _, err := f.UserWithRealmByAPIKey(t.Context(), zulipauth.GenerateAPIKey())
	wantErr(t, "UserWithRealmByAPIKey(unknown key)", err, zulipauth.ErrUserNotFound)
}

// testOtherRealm: a store that is a zulipauth.OtherRealmFinder tells whether
// a realm other than the one asked about has the email, ignoring case.
// Stores without the (optional) capability have nothing to check.
func testOtherRealm(t *testing.T, s Store) {
	f, ok := s.(zulipauth.OtherRealmFinder)
	if !ok {
		t.Log("the store is not a zulipauth.OtherRealmFinder: nothing to check")
		return
	}
	createRealm(t, s, zulipauth.Realm{Subdomain: "lear"})
	createUser(t, s, "lear", "King@Lear.example")
	createUser(t, s, "", "iago@zulip.com")
	for _, tc := range []struct {
		realm, email string
		want         bool
	}{
		{"", "king@lear.example", true},
		{"", " KING@LEAR.EXAMPLE ", true},
		{"lear", "king@lear.example", false},
		{"lear", "iago@zulip.com", true},
		{"", "iago@zulip.com", false},
		{"other", "nobody@zulip.com", false},
	} {
		got, err := f.EmailInOtherRealm(t.Context(), tc.realm, tc.email)
		if err != nil || got != tc.want {
			t.Errorf("EmailInOtherRealm(%q, %q) = %v, %v; want %v", tc.realm, tc.email, got, err, tc.want)
		}
	}
}
