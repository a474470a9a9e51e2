package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// hashUpdaterTests check zulipauth.PasswordHashUpdater.
var hashUpdaterTests = []test{
	{"UpdatePasswordHash", nil, testUpdatePasswordHash},
	{"UnknownUserID", nil, testUpdateHashUnknownID},
	{"CancelledContext", nil, testCancelledUpdateHash},
}

// testUpdatePasswordHash: the hash is stored byte for byte, whatever it holds,
// and only for the user named.
func testUpdatePasswordHash(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	other := f.seed(t, "", "hamlet@zulip.com")
	for _, tc := range []struct{ name, hash string }{
		{"argon2id", "$argon2id$v=19$m=65536,t=3,p=2$MTIzNDU2Nzg5MGFiY2RlZg$6SxP1PsKqoCLb3Ra7KFuS4ZGnOE0Ou5CqTmHGBGdEWQ"},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"garbage", "not a hash: ☃ 'quote\" ;-- DROP TABLE users; \\ % _ \t\n\x7f\u00e9"},
		{"long", strings.Repeat("0123456789abcdef", 64)},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.hashUpdater().UpdatePasswordHash(t.Context(), u.ID, tc.hash); err != nil {
				t.Fatalf("UpdatePasswordHash: %v", err)
			}
			u.PasswordHash = tc.hash
			checkStored(t, f.store, u)
			checkStored(t, f.store, other)
		})
	}
}

// testUpdateHashUnknownID: an id nobody has is ErrUserNotFound and changes
// nobody.
func testUpdateHashUnknownID(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	for _, id := range unknownIDs(u) {
		err := f.hashUpdater().UpdatePasswordHash(t.Context(), id, "new")
		wantErr(t, fmt.Sprintf("UpdatePasswordHash(%d)", id), err, zulipauth.ErrUserNotFound)
	}
	checkStored(t, f.store, u)
}

// testCancelledUpdateHash: with a cancelled context the hash stays.
func testCancelledUpdateHash(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	writeFails(t, "UpdatePasswordHash", f.hashUpdater().UpdatePasswordHash(cancelled(t), u.ID, "changed"))
	checkStored(t, f.store, u)
}
