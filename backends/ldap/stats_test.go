package ldap_test

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// TestStatsAndPingFollowTheDirectory: against a real slapd stopped and
// restarted, Ping answers while it runs and fails while it is down, and
// Stats counts each call, says Down during the outage, and counts the
// outage once however many calls fail in it. A wrong password is an answer
// of the directory, never an outage. examples/server's readiness and
// metrics read exactly these.
func TestStatsAndPingFollowTheDirectory(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	a := newAuth(t, searchConfig(d, storeWith(t, "hamlet@zulip.com")))
	ctx := t.Context()
	if err := a.Ping(ctx); err != nil {
		t.Fatalf("Ping with the directory up: %v", err)
	}
	if _, err := login(t, a, ctx, "hamlet", "not hamlet's password"); !checkErr(err, zulipauth.ErrBadCredentials) {
		t.Fatalf("a wrong password: %v", err)
	}
	// Ping, then the login's search and its bind.
	check := func(what string, down bool, outages, calls uint64) {
		t.Helper()
		s := a.Stats()
		if s.Down != down || s.Outages != outages || s.Calls != calls {
			t.Fatalf("%s: Down %v, Outages %d, Calls %d; want %v, %d, %d", what, s.Down, s.Outages, s.Calls, down, outages, calls)
		}
		// Every call here takes far less than 2.5 s, the top bound: the
		// buckets, cumulative, count them all there.
		if n := s.CallBuckets[2.5]; n != s.Calls {
			t.Errorf("%s: %d calls within 2.5 s of %d", what, n, s.Calls)
		}
		if s.Calls > 0 && s.CallSeconds <= 0 {
			t.Errorf("%s: %d calls took %v s", what, s.Calls, s.CallSeconds)
		}
	}
	check("up", false, 0, 3)

	d.Stop()
	if err := a.Ping(ctx); err == nil {
		t.Fatal("Ping with the directory stopped: nil")
	}
	check("stopped, after a ping", true, 1, 4)
	if _, err := login(t, a, ctx, "hamlet", slapdtest.HamletPassword); !checkErr(err, errFault) {
		t.Fatalf("a login with the directory stopped: %v, want a fault", err)
	}
	check("stopped, after a login", true, 1, 5)

	d.Restart()
	if err := a.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	check("restarted", false, 1, 6)
}

// TestPingRefusedServiceAccount: a service account the directory refuses
// fails Ping, since every login that searches would fail.
func TestPingRefusedServiceAccount(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	cfg := searchConfig(d, storeWith(t))
	cfg.BindPassword = "not the service password"
	a := newAuth(t, cfg)
	if err := a.Ping(t.Context()); err == nil {
		t.Fatal("Ping with a refused service account: nil")
	}
	if s := a.Stats(); s.Down || s.Calls != 1 {
		t.Errorf("a refusal is an answer: %+v", s)
	}
}
