package redislimit_test

import (
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// TestStatsFollowAnOutage: against a real redis-server killed and
// restarted, Stats counts every call that tried Redis (not those the
// fallback answered without trying), says Down from the failed call to the
// probe that gets an answer, and counts the outage once. examples/server's
// metrics read exactly these.
func TestStatsFollowAnOutage(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	l := newLimiter(t, newClient(t, s), zulipauth.Budget{Events: 100, Per: time.Hour})
	check := func(what string, got redislimit.Stats, down bool, outages, calls uint64) {
		t.Helper()
		if got.Down != down || got.Outages != outages || got.Calls != calls {
			t.Fatalf("%s: Down %v, Outages %d, Calls %d; want %v, %d, %d", what, got.Down, got.Outages, got.Calls, down, outages, calls)
		}
		// Every call here takes far less than 2.5 s, the top bound: the
		// buckets, cumulative, count them all there.
		if n := got.CallBuckets[2.5]; n != got.Calls {
			t.Errorf("%s: %d calls within 2.5 s of %d", what, n, got.Calls)
		}
		if got.Calls > 0 && got.CallSeconds <= 0 {
			t.Errorf("%s: %d calls took %v s", what, got.Calls, got.CallSeconds)
		}
	}
	check("new", l.Stats(), false, 0, 0)
	allow(t, l, "k")
	allow(t, l, "k")
	check("up", l.Stats(), false, 0, 2)

	s.Kill()
	allow(t, l, "k") // fails: the outage begins
	check("down", l.Stats(), true, 1, 3)
	// The fallback answers without trying Redis until a probe is due,
	// ProbeInterval after the failure: this call tries Redis only if that
	// much time passed (a slow machine), and a failed probe is no new
	// outage.
	allow(t, l, "k")
	if got := l.Stats(); !got.Down || got.Outages != 1 || got.Calls > 4 {
		t.Fatalf("down, one call later: %+v, want Down, one outage, at most 4 calls", got)
	}

	s.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Down {
		if time.Now().After(deadline) {
			t.Fatal("Redis restarted: still Down after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
		allow(t, l, "k")
	}
	if got := l.Stats(); got.Outages != 1 || got.Calls < 4 {
		t.Errorf("Redis back: %+v, want one outage and at least one probe more", got)
	}
}
