package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// deactivatorTests check [UserDeactivator].
var deactivatorTests = []test{
	{"Deactivate", nil, func(t *testing.T, f *fixture) { testFlag(t, f, deactivatedFlag) }},
	{"UnknownUserID", nil, func(t *testing.T, f *fixture) { testFlagUnknownID(t, f, deactivatedFlag) }},
	{"CancelledContext", nil, func(t *testing.T, f *fixture) { testCancelledFlag(t, f, deactivatedFlag) }},
}

// resetRequirerTests check [PasswordResetRequirer].
var resetRequirerTests = []test{
	{"RequireReset", nil, func(t *testing.T, f *fixture) { testFlag(t, f, resetFlag) }},
	{"UnknownUserID", nil, func(t *testing.T, f *fixture) { testFlagUnknownID(t, f, resetFlag) }},
	{"CancelledContext", nil, func(t *testing.T, f *fixture) { testCancelledFlag(t, f, resetFlag) }},
}

// userFlag is one of a user's flags: its setter and its field.
type userFlag struct {
	name  string
	set   func(ctx context.Context, s zulipauth.UserStore, id int64, v bool) error
	field func(u *zulipauth.User) *bool
}

var (
	deactivatedFlag = userFlag{
		"SetUserDeactivated",
		func(ctx context.Context, s zulipauth.UserStore, id int64, v bool) error {
			return s.(UserDeactivator).SetUserDeactivated(ctx, id, v)
		},
		func(u *zulipauth.User) *bool { return &u.Deactivated },
	}
	resetFlag = userFlag{
		"SetPasswordResetRequired",
		func(ctx context.Context, s zulipauth.UserStore, id int64, v bool) error {
			return s.(PasswordResetRequirer).SetPasswordResetRequired(ctx, id, v)
		},
		func(u *zulipauth.User) *bool { return &u.PasswordResetRequired },
	}
)

// testFlag: the flag round-trips through both lookups, setting it twice or
// clearing a clear flag changes nothing, and only the user named changes.
func testFlag(t *testing.T, f *fixture, fl userFlag) {
	u := f.seed(t, "", "iago@zulip.com")
	other := f.seed(t, "", "hamlet@zulip.com")
	for i, v := range []bool{true, false, true, true, false, false} {
		t.Run(fmt.Sprintf("%d-%v", i, v), func(t *testing.T) {
			if err := fl.set(t.Context(), f.store, u.ID, v); err != nil {
				t.Fatalf("%s(%v): %v", fl.name, v, err)
			}
			*fl.field(&u) = v
			checkStored(t, f.store, u)
			checkStored(t, f.store, other)
		})
	}
}

// testFlagUnknownID: an id nobody has is ErrUserNotFound and changes nobody.
func testFlagUnknownID(t *testing.T, f *fixture, fl userFlag) {
	u := f.seed(t, "", "iago@zulip.com")
	for _, id := range unknownIDs(u) {
		wantErr(t, fmt.Sprintf("%s(%d)", fl.name, id), fl.set(t.Context(), f.store, id, true), zulipauth.ErrUserNotFound)
	}
	checkStored(t, f.store, u)
}

// testCancelledFlag: with a cancelled context the flag stays.
func testCancelledFlag(t *testing.T, f *fixture, fl userFlag) {
	u := f.seed(t, "", "iago@zulip.com")
	writeFails(t, fl.name, fl.set(cancelled(t), f.store, u.ID, true))
	checkStored(t, f.store, u)
}
