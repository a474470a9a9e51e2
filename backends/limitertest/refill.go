package limitertest

import (
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// These sub-tests wait for the real clock, on budgets small enough that the
// waits are a fraction of a second. Waiting longer than asked can only
// refill more, so a slow machine makes them no less exact.

// testRefill: a spent bucket allows one event again RetryAfter later, and
// is full again ResetAfter later.
func testRefill(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	const events, per = 5, 500 * time.Millisecond
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: events, Per: per})
	start := time.Now()
	for range events {
		l.allow(t, "k")
	}
	d := l.allow(t, "k")
	if d.Allowed {
		// Only if spending five tokens took a whole token's refill.
		t.Skipf("the machine is too slow for this budget: %v to spend %d events", time.Since(start), events)
	}
	within(t, "RetryAfter of the refusal", d.RetryAfter, per/events, time.Since(start))

	time.Sleep(d.RetryAfter + settle)
	if d = l.allow(t, "k"); !d.Allowed {
		t.Fatalf("RetryAfter later: refused: %+v", d)
	}
	time.Sleep(d.ResetAfter + settle)
	if d = l.allow(t, "k"); !d.Allowed || d.Remaining != events-1 {
		t.Fatalf("ResetAfter later: %+v, want allowed from a full bucket (Remaining %d)", d, events-1)
	}
}

// testRefusalConsumesNothing: refusals do not push the next allowed event
// back, as Zulip's do not extend a lock-out. A limiter that spent a token
// (going into debt) on each refusal would still refuse at the end.
func testRefusalConsumesNothing(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: 1, Per: 300 * time.Millisecond})
	l.allow(t, "k")
	first := l.allow(t, "k")
	if first.Allowed {
		t.Skip("the machine is too slow for this budget: 300 ms passed between two calls")
	}
	ready := time.Now().Add(first.RetryAfter + settle)
	for i := range 10 {
		if time.Until(ready) < 50*time.Millisecond {
			break // leave the refusals room before the token is back
		}
		d := l.allow(t, "k")
		if d.Allowed {
			t.Fatalf("refusal %d came out allowed before RetryAfter: %+v", i+2, d)
		}
		if d.RetryAfter > first.RetryAfter+tolerance {
			t.Fatalf("refusal %d: RetryAfter %v grew from %v: the refusals are consuming", i+2, d.RetryAfter, first.RetryAfter)
		}
	}
	time.Sleep(time.Until(ready))
	if d := l.allow(t, "k"); !d.Allowed {
		t.Fatalf("the first refusal's RetryAfter (%v) later: refused: %+v", first.RetryAfter, d)
	}
}
