package storetest

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// userWithRealmTests check zulipauth.UserWithRealmFinder, against
// zulipauth.RealmStore.
var userWithRealmTests = []test{
	{"UserWithRealm", nil, testUserWithRealm},
	{"CancelledContext", nil, testCancelledUserWithRealm},
}

// otherRealmTests check zulipauth.OtherRealmFinder.
var otherRealmTests = []test{
	{"OtherRealm", nil, testOtherRealm},
	{"CancelledContext", nil, testCancelledOtherRealm},
}

// testUserWithRealm: with the key's user comes that user's realm as
// RealmBySubdomain has it, every field (a deactivated realm with a
// description, where the store can make one); an unknown key is
// ErrUserNotFound.
func testUserWithRealm(t *testing.T, f *fixture) {
	fr := f.store.(zulipauth.UserWithRealmFinder)
	realms := []string{""}
	if ra, ok := f.store.(RealmAdmin); ok && f.otherRealm == "" {
		createRealm(t, ra, zulipauth.Realm{Subdomain: "lear", Name: "Lear", Deactivated: true, Description: "<p>x</p>", IconURL: "/i.png"})
		f.otherRealm = "lear"
	}
	if other, ok := f.secondRealm(t); ok {
		realms = append(realms, other)
	}
	for _, realm := range realms {
		u := f.seed(t, realm, "iago@zulip.com")
		got, r, err := fr.UserWithRealmByAPIKey(t.Context(), u.APIKey)
		if err != nil {
			t.Fatalf("UserWithRealmByAPIKey: %v", err)
		}
		sameUser(t, "UserWithRealmByAPIKey", got, u)
		if want := realmOf(t, f.realms(), realm); r != want {
			t.Errorf("UserWithRealmByAPIKey realm = %+v, want %+v", r, want)
		}
	}
	_, _, err := fr.UserWithRealmByAPIKey(t.Context(), zulipauth.GenerateAPIKey())
	wantErr(t, "UserWithRealmByAPIKey(unknown key)", err, zulipauth.ErrUserNotFound)
}

func testCancelledUserWithRealm(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	_, _, err := f.store.(zulipauth.UserWithRealmFinder).UserWithRealmByAPIKey(cancelled(t), u.APIKey)
	lookupFails(t, "UserWithRealmByAPIKey", err)
}

// testOtherRealm: the store tells whether a realm other than the one asked
// about has the email, ignoring case; with one realm, only a question
// about another realm finds the root realm's users.
func testOtherRealm(t *testing.T, f *fixture) {
	fr := f.store.(zulipauth.OtherRealmFinder)
	f.seed(t, "", "iago@zulip.com")
	type question struct {
		realm, email string
		want         bool
	}
	qs := []question{
		{"", "iago@zulip.com", false},
		{"", " IAGO@ZULIP.COM ", false},
		{"nosuch", "IAGO@zulip.com", true},
		{"", "nobody@zulip.com", false},
		{"nosuch", "nobody@zulip.com", false},
	}
	if other, ok := f.secondRealm(t); ok {
		f.seed(t, other, "King@Lear.example")
		qs = append(qs,
			question{"", "king@lear.example", true},
			question{"", " KING@LEAR.EXAMPLE ", true},
			question{other, "king@lear.example", false},
			question{other, "iago@zulip.com", true},
		)
	}
	for _, q := range qs {
		got, err := fr.EmailInOtherRealm(t.Context(), q.realm, q.email)
		if err != nil || got != q.want {
			t.Errorf("EmailInOtherRealm(%q, %q) = %v, %v; want %v", q.realm, q.email, got, err, q.want)
		}
	}
}

func testCancelledOtherRealm(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	_, err := f.store.(zulipauth.OtherRealmFinder).EmailInOtherRealm(cancelled(t), "nosuch", u.Email)
	if err == nil {
		t.Error("EmailInOtherRealm with a cancelled context: nil error")
	}
}
