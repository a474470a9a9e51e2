package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// coreTests check the zulipauth.UserStore contract, which every store
// meets: they only add users (Seed or CreateUser) and look them up.
var coreTests = []test{
	{"Lookups", nil, testLookups},
	{"EmailFolding", nil, testEmailFolding},
	{"EmailNotFolded", nil, testEmailNotFolded},
	{"RealmScoping", nil, testRealmScoping},
	{"SameEmailTwoRealms", nil, testSameEmailTwoRealms},
	{"UserNotFound", nil, testUserNotFound},
	{"APIKeys", nil, testAPIKeys},
	{"APIKeyCaseSensitive", nil, testAPIKeyCaseSensitive},
	{"CancelledContext", nil, testCancelledLookups},
	{"ConcurrentLookups", nil, testConcurrentLookups},
}

// testLookups: both lookups return a user field for field as it was added,
// whatever its name and hash hold.
func testLookups(t *testing.T, f *fixture) {
	ids := map[int64]string{}
	for _, nu := range []zulipauth.NewUser{
		{Email: "Iago@Zulip.com", FullName: "Iago", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{Email: "hamlet@zulip.com", FullName: "Hamlet, Prince of Dänemark ☃", PasswordHash: ""},
		{Email: "ÉLODIE@example.com", FullName: "", PasswordHash: "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{Email: "o'brien@example.com", FullName: `Quote " and ' and ; -- and \`, PasswordHash: "x"},
	} {
		t.Run(nu.Email, func(t *testing.T) {
			u := f.seedUser(t, nu)
			if prev, dup := ids[u.ID]; dup {
				t.Errorf("%s and %s both have id %d", prev, u.Email, u.ID)
			}
			ids[u.ID] = u.Email
			checkStored(t, f.store, u)
		})
	}
}

// testEmailFolding: UserByEmail finds a user under every spelling that
// zulipauth.FoldEmail folds to the same form, and returns the email exactly
// as it was added.
func testEmailFolding(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		name    string
		stored  string
		lookups []string
	}{
		{"ASCII case", "Iago@Zulip.com", []string{"Iago@Zulip.com", "iago@zulip.com", "IAGO@ZULIP.COM", "iAgO@zUlIp.CoM"}},
		{"white space", "hamlet@zulip.com", []string{" hamlet@zulip.com", "hamlet@zulip.com\t", "\n  HAMLET@zulip.com \r\n"}},
		{"stored with white space", "  Othello@Zulip.com ", []string{"othello@zulip.com", "OTHELLO@ZULIP.COM  "}},
		{"non-ASCII", "ÉLODIE@example.com", []string{"élodie@example.com", "Élodie@EXAMPLE.com", "ÉLODIE@example.com"}},
		{"non-ASCII stored lower", "élise@example.com", []string{"ÉLISE@EXAMPLE.COM"}},
		// Plain lower-casing gets these wrong: unicode.ToLower leaves the
		// final sigma and the long s alone, simple case folding does not.
		{"Greek final sigma", "ΣΩΚΡΑΤΗΣ@example.gr", []string{"σωκρατης@example.gr", "σωκρατησ@example.gr", "ΣΩΚΡΑΤΗΣ@EXAMPLE.GR"}},
		{"long s", "Sam@example.com", []string{"ſam@example.com", "SAM@EXAMPLE.COM"}},
		{"Kelvin sign", "\u212Aelvin@example.com", []string{"kelvin@example.com", "KELVIN@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := f.seed(t, "", tc.stored)
			for _, l := range tc.lookups {
				if zulipauth.FoldEmail(l) != zulipauth.FoldEmail(tc.stored) {
					t.Fatalf("bad test case: %q and %q fold apart", l, tc.stored)
				}
				got := byEmail(t, f.store, "", l)
				if got.ID != u.ID {
					t.Errorf("UserByEmail(%q) = user %d, want %d", l, got.ID, u.ID)
				}
				if got.Email != tc.stored {
					t.Errorf("UserByEmail(%q): Email = %q, want %q exactly as added", l, got.Email, tc.stored)
				}
			}
		})
	}
}

// testEmailNotFolded: spellings that fold to another form find nobody; in
// particular a store using SQL LIKE or a prefix match fails here.
func testEmailNotFolded(t *testing.T, f *fixture) {
	f.seed(t, "", "iago@zulip.com")
	for _, l := range []string{
		"iago@zulip.co", "iago@zulip.com.", "iago@zulip.co_", "iago@zulip.co%", "%", "_ago@zulip.com",
		"ia go@zulip.com", "iago @zulip.com", "iago+x@zulip.com", "íago@zulip.com", "iago", "", " ",
	} {
		_, err := f.store.UserByEmail(t.Context(), "", l)
		wantErr(t, "UserByEmail("+l+")", err, zulipauth.ErrUserNotFound)
	}
}

// testRealmScoping: UserByEmail never returns a user of another realm.
func testRealmScoping(t *testing.T, f *fixture) {
	root := f.seed(t, "", "iago@zulip.com")
	for _, realm := range []string{"nosuch", "zulip", " ", "%"} {
		_, err := f.store.UserByEmail(t.Context(), realm, root.Email)
		wantErr(t, fmt.Sprintf("UserByEmail(%q, a root realm user's email)", realm), err, zulipauth.ErrUserNotFound)
	}
	t.Run("TwoRealms", func(t *testing.T) {
		other := f.needSecondRealm(t)
		lear := f.seed(t, other, "cordelia@lear.org")
		for _, tc := range []struct{ realm, email string }{
			{other, root.Email},
			{"nosuch", root.Email},
			{"", lear.Email},
			{"nosuch", lear.Email},
		} {
			_, err := f.store.UserByEmail(t.Context(), tc.realm, tc.email)
			wantErr(t, "UserByEmail("+tc.realm+", "+tc.email+")", err, zulipauth.ErrUserNotFound)
		}
		checkStored(t, f.store, lear)
	})
}

// testSameEmailTwoRealms: one email in two realms is two distinct users.
func testSameEmailTwoRealms(t *testing.T, f *fixture) {
	other := f.needSecondRealm(t)
	root := f.seed(t, "", "King@Lear.org")
	lear := f.seed(t, other, "king@lear.org")
	if root.ID == lear.ID {
		t.Fatalf("both users have id %d", root.ID)
	}
	if root.APIKey == lear.APIKey {
		t.Fatalf("both users have API key %q", root.APIKey)
	}
	checkStored(t, f.store, root)
	checkStored(t, f.store, lear)
	if got := byEmail(t, f.store, "", "KING@LEAR.ORG"); got.ID != root.ID {
		t.Errorf("UserByEmail(root) = user %d, want %d", got.ID, root.ID)
	}
	if got := byEmail(t, f.store, other, "KING@LEAR.ORG"); got.ID != lear.ID || got.Realm != other {
		t.Errorf("UserByEmail(%s) = user %d in %q, want %d in %s", other, got.ID, got.Realm, lear.ID, other)
	}
}

// testUserNotFound: lookups that match nobody are ErrUserNotFound, never a nil
// error with a zero User.
func testUserNotFound(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	for _, email := range []string{"nobody@zulip.com", "", "iago"} {
		got, err := f.store.UserByEmail(t.Context(), "", email)
		wantErr(t, "UserByEmail("+email+")", err, zulipauth.ErrUserNotFound)
		if got.ID == u.ID {
			t.Errorf("UserByEmail(%q) returned user %d with its error", email, u.ID)
		}
	}
	for _, key := range []string{
		zulipauth.GenerateAPIKey(), "", " ", "short", u.APIKey + "x", u.APIKey[:31], " " + u.APIKey,
		u.APIKey + " ", strings.Repeat("A", 32), u.APIKey[:31] + "%", "%", u.APIKey[:31] + "_",
	} {
		if key == u.APIKey {
			continue
		}
		got, err := f.store.UserByAPIKey(t.Context(), key)
		wantErr(t, "UserByAPIKey("+key+")", err, zulipauth.ErrUserNotFound)
		if got.ID == u.ID {
			t.Errorf("UserByAPIKey(%q) returned user %d with its error", key, u.ID)
		}
	}
}

// testAPIKeys: keys have Zulip's format, are unique, and find their user.
func testAPIKeys(t *testing.T, f *fixture) {
	const n = 20
	ids := make(map[int64]bool)
	keys := make(map[string]bool)
	var users []zulipauth.User
	for i := range n {
		u := f.seed(t, "", fmt.Sprintf("user%c@example.com", 'a'+i))
		if ids[u.ID] {
			t.Errorf("user %q: ID %d given twice", u.Email, u.ID)
		}
		if keys[u.APIKey] {
			t.Errorf("user %q: APIKey %q given twice", u.Email, u.APIKey)
		}
		ids[u.ID], keys[u.APIKey] = true, true
		users = append(users, u)
	}
	for _, u := range users {
		sameUser(t, "UserByAPIKey", byKey(t, f.store, u.APIKey), u)
	}
}

// testAPIKeyCaseSensitive: a key with one letter's case flipped is another
// key; a store that compares keys case-insensitively (a SQL collation that
// ignores case, say) multiplies the chance of a guess (Zulip's keys are
// case-sensitive).
func testAPIKeyCaseSensitive(t *testing.T, f *fixture) {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var u zulipauth.User
	for tries := 0; ; tries++ {
		// A key without letters has probability (10/62)^32.
		if tries == 10 {
			t.Fatalf("10 keys in a row without a letter: last %q", u.APIKey)
		}
		if u = f.seed(t, "", fmt.Sprintf("iago%d@zulip.com", tries)); strings.ContainsAny(u.APIKey, letters) {
			break
		}
	}
	first, _ := flipCase(u.APIKey, 0)
	last, _ := flipCase(u.APIKey, strings.LastIndexAny(u.APIKey, letters))
	all := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, u.APIKey)
	for _, key := range []string{first, last, all, strings.ToLower(u.APIKey), strings.ToUpper(u.APIKey)} {
		if key == u.APIKey {
			continue // the key is already all lower or all upper case
		}
		_, err := f.store.UserByAPIKey(t.Context(), key)
		wantErr(t, "UserByAPIKey(case-flipped "+key+")", err, zulipauth.ErrUserNotFound)
	}
	byKey(t, f.store, u.APIKey)
}

// testCancelledLookups: with a cancelled context a lookup fails, and does
// not claim "not found".
func testCancelledLookups(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	ctx := cancelled(t)
	_, err := f.store.UserByEmail(ctx, "", u.Email)
	lookupFails(t, "UserByEmail", err)
	_, err = f.store.UserByAPIKey(ctx, u.APIKey)
	lookupFails(t, "UserByAPIKey", err)
	checkStored(t, f.store, u)
}

// testConcurrentLookups: readers looking users up at once, by email in
// changing letter case and by key, each get the right user, field for field.
// A store that shares a scratch value or a connection's result between
// calls fails here (and under -race).
func testConcurrentLookups(t *testing.T, f *fixture) {
	const (
		nUsers  = 8
		readers = 8
		reads   = 100 // per reader
	)
	users := make([]zulipauth.User, nUsers)
	for i := range users {
		users[i] = f.seed(t, "", fmt.Sprintf("Reader%d@Example.com", i))
	}
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for n := range reads {
				want := users[(r+n)%nUsers]
				var got zulipauth.User
				var err error
				switch n % 3 {
				case 0:
					got, err = f.store.UserByEmail(t.Context(), "", want.Email)
				case 1:
					got, err = f.store.UserByEmail(t.Context(), "", strings.ToUpper(want.Email))
				default:
					got, err = f.store.UserByAPIKey(t.Context(), want.APIKey)
				}
				if err != nil {
					t.Errorf("reader %d, read %d: %v", r, n, err)
					return
				}
				if d := diffUser(got, want); len(d) > 0 {
					t.Errorf("reader %d, read %d, user %d: %s", r, n, want.ID, strings.Join(d, "; "))
					return
				}
			}
		})
	}
	wg.Wait()
	// Unknown users stay unknown under the same load.
	_, err := f.store.UserByEmail(t.Context(), "", "nobody@example.com")
	if !errors.Is(err, zulipauth.ErrUserNotFound) {
		t.Errorf("UserByEmail(unknown) after the readers: %v, want ErrUserNotFound", err)
	}
}
