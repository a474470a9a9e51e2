package storetest

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// changeFeedTests check zulipauth.ChangeFeed: every revocation the store can
// make is recorded, in order, where a follower reads it.
var changeFeedTests = []test{
	{"RegenerationRecorded", []capability{capAPIKeyRegenerator}, testRegenerationRecorded},
	{"DeactivationRecorded", []capability{capUserDeactivator}, testDeactivationRecorded},
	{"RealmChangeRecorded", []capability{capRealmAdmin, capRealmStore}, testRealmChangeRecorded},
	{"OrderAndLimit", []capability{capAPIKeyRegenerator}, testChangesOrderAndLimit},
	{"CancelledContext", nil, testChangesCancelled},
}

func (f *fixture) feed() zulipauth.ChangeFeed { return f.store.(zulipauth.ChangeFeed) }

// lastChange is the feed's newest sequence number, or stops the test.
func (f *fixture) lastChange(t *testing.T) int64 {
	t.Helper()
	seq, err := f.feed().LastChange(t.Context())
	if err != nil {
		t.Fatalf("LastChange: %v", err)
	}
	return seq
}

// changesAfter reads every change after seq.
func (f *fixture) changesAfter(t *testing.T, seq int64) []zulipauth.Change {
	t.Helper()
	cs, err := f.feed().ChangesSince(t.Context(), seq, 1000)
	if err != nil {
		t.Fatalf("ChangesSince(%d): %v", seq, err)
	}
	return cs
}

// wantChange fails unless the changes after before end with one that names
// want (its UserID, or its Realm with UserID 0), numbered LastChange.
func (f *fixture) wantChange(t *testing.T, what string, before int64, want zulipauth.Change) {
	t.Helper()
	last := f.lastChange(t)
	cs := f.changesAfter(t, before)
	if last <= before || len(cs) == 0 {
		t.Fatalf("%s recorded no change (LastChange %d, was %d; %d changes after it)", what, last, before, len(cs))
	}
	got := cs[len(cs)-1]
	if got.Seq != last || got.UserID != want.UserID || (want.UserID == 0 && got.Realm != want.Realm) {
		t.Errorf("%s: the newest change is %+v (LastChange %d), want user %d realm %q", what, got, last, want.UserID, want.Realm)
	}
}

func testRegenerationRecorded(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	before := f.lastChange(t)
	if _, err := f.regenerator().RegenerateAPIKey(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	f.wantChange(t, "RegenerateAPIKey", before, zulipauth.Change{UserID: u.ID})
}

func testDeactivationRecorded(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	for _, deactivated := range []bool{true, false} {
		before := f.lastChange(t)
		if err := f.store.(UserDeactivator).SetUserDeactivated(t.Context(), u.ID, deactivated); err != nil {
			t.Fatal(err)
		}
		f.wantChange(t, "SetUserDeactivated", before, zulipauth.Change{UserID: u.ID})
	}
}

func testRealmChangeRecorded(t *testing.T, f *fixture) {
	r := realmOf(t, f.realms(), "")
	before := f.lastChange(t)
	r.Deactivated = true
	if err := f.realmAdmin().UpdateRealm(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	f.wantChange(t, "UpdateRealm", before, zulipauth.Change{Realm: ""})
}

// testChangesOrderAndLimit: changes come oldest first, with growing numbers,
// at most limit at a time, and reading on from the last one read misses
// none.
func testChangesOrderAndLimit(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	start := f.lastChange(t)
	for range 5 {
		if _, err := f.regenerator().RegenerateAPIKey(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	var all []zulipauth.Change
	for after := start; ; {
		cs, err := f.feed().ChangesSince(t.Context(), after, 2)
		if err != nil {
			t.Fatalf("ChangesSince(%d, 2): %v", after, err)
		}
		if len(cs) > 2 {
			t.Fatalf("ChangesSince(%d, 2) returned %d changes", after, len(cs))
		}
		if len(cs) == 0 {
			break
		}
		all = append(all, cs...)
		after = cs[len(cs)-1].Seq
	}
	if len(all) != 5 {
		t.Fatalf("read %d changes after 5 regenerations: %+v", len(all), all)
	}
	for i, c := range all {
		if c.UserID != u.ID || c.Seq <= start || (i > 0 && c.Seq <= all[i-1].Seq) {
			t.Errorf("change %d = %+v: not user %d, or not after %d and the one before", i, c, u.ID, start)
		}
	}
}

func testChangesCancelled(t *testing.T, f *fixture) {
	if _, err := f.feed().ChangesSince(cancelled(t), 0, 10); err == nil {
		t.Error("ChangesSince with a cancelled context succeeded")
	}
	if _, err := f.feed().LastChange(cancelled(t)); err == nil {
		t.Error("LastChange with a cancelled context succeeded")
	}
}
