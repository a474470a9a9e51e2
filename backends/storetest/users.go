package storetest

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// testCreateUser: CreateUser returns the user as stored, with a positive id
// and a well-formed key, and both lookups return the same user.
func testCreateUser(t *testing.T, s Store) {
	for _, nu := range []zulipauth.NewUser{
		{Email: "Iago@Zulip.com", FullName: "Iago", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{Email: "hamlet@zulip.com", FullName: "Hamlet, Prince of Dänemark ☃", PasswordHash: ""},
		{Email: "ÉLODIE@example.com", FullName: "", PasswordHash: "x"},
	} {
		t.Run(nu.Email, func(t *testing.T) {
			u, err := s.CreateUser(t.Context(), nu)
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
			checkStored(t, s, want)
		})
	}
}

// testCreatedAt: CreatedAt is the time of creation, and lookups return it.
func testCreatedAt(t *testing.T, s Store) {
	var prev zulipauth.User
	for i, email := range []string{"first@example.com", "second@example.com"} {
		before := time.Now()
		u := createUser(t, s, "", email)
		after := time.Now()
		if u.CreatedAt.IsZero() {
			t.Fatalf("CreateUser(%q): CreatedAt is zero", email)
		}
		if u.CreatedAt.Before(before.Add(-timeSlack)) || u.CreatedAt.After(after.Add(timeSlack)) {
			t.Errorf("CreateUser(%q): CreatedAt = %v, want between %v and %v", email, u.CreatedAt, before, after)
		}
		for _, got := range both(t, s, u) {
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

// testEmailFolding: UserByEmail finds a user under every spelling that
// zulipauth.FoldEmail folds to the same form, and returns the email exactly
// as it was created.
func testEmailFolding(t *testing.T, s Store) {
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
			u := createUser(t, s, "", tc.stored)
			if u.Email != tc.stored {
				t.Errorf("CreateUser(%q): Email = %q, want it as given", tc.stored, u.Email)
			}
			for _, l := range tc.lookups {
				if zulipauth.FoldEmail(l) != zulipauth.FoldEmail(tc.stored) {
					t.Fatalf("bad test case: %q and %q fold apart", l, tc.stored)
				}
				got := byEmail(t, s, "", l)
				if got.ID != u.ID {
					t.Errorf("UserByEmail(%q) = user %d, want %d", l, got.ID, u.ID)
				}
				if got.Email != tc.stored {
					t.Errorf("UserByEmail(%q): Email = %q, want %q exactly as created", l, got.Email, tc.stored)
				}
			}
		})
	}
}

// testEmailNotFolded: spellings that fold to another form find nobody; in
// particular a store using SQL LIKE or a prefix match fails here.
func testEmailNotFolded(t *testing.T, s Store) {
	createUser(t, s, "", "iago@zulip.com")
	for _, l := range []string{
		"iago@zulip.co", "iago@zulip.com.", "iago@zulip.co_", "iago@zulip.co%", "%", "_ago@zulip.com",
		"ia go@zulip.com", "iago @zulip.com", "iago+x@zulip.com", "íago@zulip.com", "iago", "", " ",
	} {
		_, err := s.UserByEmail(t.Context(), "", l)
		wantErr(t, "UserByEmail("+l+")", err, zulipauth.ErrUserNotFound)
	}
}

// testDuplicateEmail: a second account whose email folds like an existing
// one in the same realm is ErrUserExists, and the first account is unchanged.
func testDuplicateEmail(t *testing.T, s Store) {
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
			orig := createUser(t, s, "", tc.original)
			for _, d := range tc.dups {
				_, err := s.CreateUser(t.Context(), zulipauth.NewUser{Email: d, FullName: "Impostor", PasswordHash: "impostor"})
				wantErr(t, "CreateUser("+d+")", err, zulipauth.ErrUserExists)
				got := byEmail(t, s, "", d)
				sameUser(t, "after a refused CreateUser("+d+")", got, orig)
			}
		})
	}
}

// testSameEmailTwoRealms: one email in two realms is two distinct users.
func testSameEmailTwoRealms(t *testing.T, s Store) {
	createRealm(t, s, zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	root := createUser(t, s, "", "King@Lear.org")
	lear := createUser(t, s, "lear", "king@lear.org")
	if root.ID == lear.ID {
		t.Fatalf("both users have id %d", root.ID)
	}
	if root.APIKey == lear.APIKey {
		t.Fatalf("both users have API key %q", root.APIKey)
	}
	if lear.Realm != "lear" {
		t.Errorf("CreateUser in realm lear: Realm = %q", lear.Realm)
	}
	checkStored(t, s, root)
	checkStored(t, s, lear)
	if got := byEmail(t, s, "", "KING@LEAR.ORG"); got.ID != root.ID {
		t.Errorf("UserByEmail(root) = user %d, want %d", got.ID, root.ID)
	}
	if got := byEmail(t, s, "lear", "KING@LEAR.ORG"); got.ID != lear.ID || got.Realm != "lear" {
		t.Errorf("UserByEmail(lear) = user %d in %q, want %d in lear", got.ID, got.Realm, lear.ID)
	}
}

// testRealmScoping: UserByEmail never returns a user of another realm.
func testRealmScoping(t *testing.T, s Store) {
	createRealm(t, s, zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	createRealm(t, s, zulipauth.Realm{Subdomain: "empty", Name: "Empty"})
	root := createUser(t, s, "", "iago@zulip.com")
	lear := createUser(t, s, "lear", "cordelia@lear.org")
	for _, tc := range []struct{ realm, email string }{
		{"lear", root.Email},
		{"empty", root.Email},
		{"nosuch", root.Email},
		{"", lear.Email},
		{"empty", lear.Email},
	} {
		_, err := s.UserByEmail(t.Context(), tc.realm, tc.email)
		wantErr(t, "UserByEmail("+tc.realm+", "+tc.email+")", err, zulipauth.ErrUserNotFound)
	}
}

// testCreateUserUnknownRealm: CreateUser in a realm the store does not know
// is ErrRealmNotFound and leaves nothing behind.
func testCreateUserUnknownRealm(t *testing.T, s Store) {
	nu := zulipauth.NewUser{Realm: "nosuch", Email: "iago@zulip.com", FullName: "Iago"}
	_, err := s.CreateUser(t.Context(), nu)
	wantErr(t, "CreateUser in an unknown realm", err, zulipauth.ErrRealmNotFound)
	_, err = s.RealmBySubdomain(t.Context(), "nosuch")
	wantErr(t, "RealmBySubdomain after CreateUser in an unknown realm", err, zulipauth.ErrRealmNotFound)

	createRealm(t, s, zulipauth.Realm{Subdomain: "nosuch", Name: "Now it exists"})
	if _, err := s.CreateUser(t.Context(), nu); err != nil {
		t.Errorf("CreateUser after the realm was created: %v", err)
	}
}

// testUserNotFound: lookups that match nobody are ErrUserNotFound, never a nil
// error with a zero User.
func testUserNotFound(t *testing.T, s Store) {
	u := createUser(t, s, "", "iago@zulip.com")
	for _, email := range []string{"nobody@zulip.com", "", "iago"} {
		got, err := s.UserByEmail(t.Context(), "", email)
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
		got, err := s.UserByAPIKey(t.Context(), key)
		wantErr(t, "UserByAPIKey("+key+")", err, zulipauth.ErrUserNotFound)
		if got.ID == u.ID {
			t.Errorf("UserByAPIKey(%q) returned user %d with its error", key, u.ID)
		}
	}
}

// testUnknownUserID: every write by id to an id nobody has is
// ErrUserNotFound and changes nobody.
func testUnknownUserID(t *testing.T, s Store) {
	u := createUser(t, s, "", "iago@zulip.com")
	ctx := t.Context()
	for _, id := range []int64{0, -1, -u.ID, u.ID + 1000, math.MaxInt64} {
		if id == u.ID {
			continue
		}
		wantErr(t, "UpdatePasswordHash", s.UpdatePasswordHash(ctx, id, "new"), zulipauth.ErrUserNotFound)
		_, err := s.RegenerateAPIKey(ctx, id)
		wantErr(t, "RegenerateAPIKey", err, zulipauth.ErrUserNotFound)
		wantErr(t, "SetUserDeactivated", s.SetUserDeactivated(ctx, id, true), zulipauth.ErrUserNotFound)
		wantErr(t, "SetPasswordResetRequired", s.SetPasswordResetRequired(ctx, id, true), zulipauth.ErrUserNotFound)
	}
	checkStored(t, s, u)
}

// testAPIKeys: keys have Zulip's format, are unique, and find their user.
func testAPIKeys(t *testing.T, s Store) {
	const n = 20
	ids := make(map[int64]bool)
	keys := make(map[string]bool)
	var users []zulipauth.User
	for i := range n {
		u := createUser(t, s, "", "user"+string(rune('a'+i))+"@example.com")
		if !zulipauth.ValidAPIKeyFormat(u.APIKey) {
			t.Errorf("user %d: APIKey %q is not 32 characters of [A-Za-z0-9]", u.ID, u.APIKey)
		}
		if u.ID <= 0 {
			t.Errorf("user %q: ID = %d, want > 0", u.Email, u.ID)
		}
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
		sameUser(t, "UserByAPIKey", byKey(t, s, u.APIKey), u)
	}
}

// testAPIKeyCaseSensitive: a key with one letter's case flipped is another
// key; a store that compares keys case-insensitively multiplies the chance of
// a guess (Zulip's keys are case-sensitive).
func testAPIKeyCaseSensitive(t *testing.T, s Store) {
	u := createUser(t, s, "", "iago@zulip.com")
	for tries := 0; !strings.ContainsAny(u.APIKey, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"); tries++ {
		// A key without letters has probability (10/62)^32.
		if tries == 10 {
			t.Fatalf("10 keys in a row without a letter: last %q", u.APIKey)
		}
		key, err := s.RegenerateAPIKey(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		u.APIKey = key
	}
	first, _ := flipCase(u.APIKey, 0)
	lastIdx := strings.LastIndexAny(u.APIKey, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	last, _ := flipCase(u.APIKey, lastIdx)
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
		_, err := s.UserByAPIKey(t.Context(), key)
		wantErr(t, "UserByAPIKey(case-flipped "+key+")", err, zulipauth.ErrUserNotFound)
	}
	byKey(t, s, u.APIKey)
}

// testRegenerateAPIKey: the old key stops working at once, the new one finds
// the user, and nothing else changes.
func testRegenerateAPIKey(t *testing.T, s Store) {
	u := createUser(t, s, "", "iago@zulip.com")
	other := createUser(t, s, "", "hamlet@zulip.com")
	seen := map[string]bool{u.APIKey: true, other.APIKey: true}
	old := u.APIKey
	for i := range 3 {
		key, err := s.RegenerateAPIKey(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("RegenerateAPIKey #%d: %v", i, err)
		}
		if !zulipauth.ValidAPIKeyFormat(key) {
			t.Errorf("RegenerateAPIKey #%d = %q, not 32 characters of [A-Za-z0-9]", i, key)
		}
		if seen[key] {
			t.Errorf("RegenerateAPIKey #%d = %q, a key given before", i, key)
		}
		seen[key] = true
		_, err = s.UserByAPIKey(t.Context(), old)
		wantErr(t, "UserByAPIKey(old key)", err, zulipauth.ErrUserNotFound)
		u.APIKey = key
		checkStored(t, s, u)
		checkStored(t, s, other)
		old = key
	}
}

// testUpdatePasswordHash: the hash is stored byte for byte, whatever it holds,
// and only for the user named.
func testUpdatePasswordHash(t *testing.T, s Store) {
	u := createUser(t, s, "", "iago@zulip.com")
	other := createUser(t, s, "", "hamlet@zulip.com")
	for _, tc := range []struct{ name, hash string }{
		{"argon2id", "$argon2id$v=19$m=65536,t=3,p=2$MTIzNDU2Nzg5MGFiY2RlZg$6SxP1PsKqoCLb3Ra7KFuS4ZGnOE0Ou5CqTmHGBGdEWQ"},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"garbage", "not a hash: ☃ 'quote\" ;-- DROP TABLE users; \\ % _ \t\n\x7f\u00e9"},
		{"long", strings.Repeat("0123456789abcdef", 64)},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.UpdatePasswordHash(t.Context(), u.ID, tc.hash); err != nil {
				t.Fatalf("UpdatePasswordHash: %v", err)
			}
			u.PasswordHash = tc.hash
			checkStored(t, s, u)
			checkStored(t, s, other)
		})
	}
}

// testUserFlags: Deactivated and PasswordResetRequired round-trip, each on
// its own, and only for the user named.
func testUserFlags(t *testing.T, s Store) {
	u := createUser(t, s, "", "iago@zulip.com")
	other := createUser(t, s, "", "hamlet@zulip.com")
	for _, tc := range []struct {
		name              string
		deactivate, reset bool // which setter to call
		value             bool
	}{
		{"deactivate", true, false, true},
		{"require reset", false, true, true},
		{"reactivate", true, false, false},
		{"deactivate again", true, false, true},
		{"clear reset", false, true, false},
		{"reactivate again", true, false, false},
		{"reactivate active", true, false, false},
		{"clear cleared reset", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.deactivate {
				err = s.SetUserDeactivated(t.Context(), u.ID, tc.value)
				u.Deactivated = tc.value
			} else {
				err = s.SetPasswordResetRequired(t.Context(), u.ID, tc.value)
				u.PasswordResetRequired = tc.value
			}
			if err != nil {
				t.Fatal(err)
			}
			checkStored(t, s, u)
			checkStored(t, s, other)
		})
	}
}

// testCancelledContext: with a cancelled context every call fails, a lookup
// does not claim "not found" (that would answer a login with bad credentials
// instead of an internal error), and a write does not happen.
func testCancelledContext(t *testing.T, s Store) {
	createRealm(t, s, zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	u := createUser(t, s, "", "iago@zulip.com")
	ctx := cancelled(t)

	lookupFails := func(call string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s with a cancelled context: nil error", call)
		} else if errors.Is(err, zulipauth.ErrUserNotFound) || errors.Is(err, zulipauth.ErrRealmNotFound) {
			t.Errorf("%s with a cancelled context: %v, want an error that is not \"not found\"", call, err)
		}
	}
	_, err := s.UserByEmail(ctx, "", u.Email)
	lookupFails("UserByEmail", err)
	_, err = s.UserByAPIKey(ctx, u.APIKey)
	lookupFails("UserByAPIKey", err)
	_, err = s.RealmBySubdomain(ctx, "lear")
	lookupFails("RealmBySubdomain", err)

	writeFails := func(call string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s with a cancelled context: nil error", call)
		}
	}
	_, err = s.CreateUser(ctx, zulipauth.NewUser{Email: "new@zulip.com"})
	writeFails("CreateUser", err)
	_, err = s.RegenerateAPIKey(ctx, u.ID)
	writeFails("RegenerateAPIKey", err)
	writeFails("UpdatePasswordHash", s.UpdatePasswordHash(ctx, u.ID, "changed"))
	writeFails("SetUserDeactivated", s.SetUserDeactivated(ctx, u.ID, true))
	writeFails("SetPasswordResetRequired", s.SetPasswordResetRequired(ctx, u.ID, true))
	writeFails("CreateRealm", s.CreateRealm(ctx, zulipauth.Realm{Subdomain: "new"}))
	writeFails("UpdateRealm", s.UpdateRealm(ctx, zulipauth.Realm{Subdomain: "lear", Name: "Changed", Deactivated: true}))

	// Nothing happened.
	checkStored(t, s, u)
	_, err = s.UserByEmail(t.Context(), "", "new@zulip.com")
	wantErr(t, "UserByEmail of a user created with a cancelled context", err, zulipauth.ErrUserNotFound)
	_, err = s.RealmBySubdomain(t.Context(), "new")
	wantErr(t, "RealmBySubdomain of a realm created with a cancelled context", err, zulipauth.ErrRealmNotFound)
	if got, want := realmOf(t, s, "lear"), (zulipauth.Realm{Subdomain: "lear", Name: "Lear"}); got != want {
		t.Errorf("UpdateRealm with a cancelled context changed the realm to %+v", got)
	}
}
