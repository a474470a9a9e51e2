package limitertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The budgets here refill one token in minutes, so no token comes back
// while a sub-test runs and every count is exact.

// testBurstThenRefused: a full bucket allows Events at once, Remaining
// counting down to 0, then refuses.
func testBurstThenRefused(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: 5, Per: time.Hour})
	for i := range 5 {
		if d := l.allow(t, "k"); !d.Allowed || d.Remaining != 4-i {
			t.Fatalf("event %d: %+v, want allowed with Remaining %d", i+1, d, 4-i)
		}
	}
	for i := range 3 {
		if d := l.allow(t, "k"); d.Allowed {
			t.Fatalf("event %d of a budget of 5: allowed: %+v", 6+i, d)
		}
	}
}

// testRetryAfterAndResetAfter: each allowed event adds one token's refill
// to ResetAfter; a refusal's RetryAfter is the rest of one token's refill
// and its ResetAfter that of the whole bucket.
func testRetryAfterAndResetAfter(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	const events, per = 4, time.Hour
	const interval = per / events
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: events, Per: per})
	start := time.Now()
	for i := range events {
		d := l.allow(t, "k")
		if !d.Allowed {
			t.Fatalf("event %d: refused: %+v", i+1, d)
		}
		within(t, fmt.Sprintf("ResetAfter after event %d", i+1), d.ResetAfter, time.Duration(i+1)*interval, time.Since(start))
	}
	d := l.allow(t, "k")
	if d.Allowed {
		t.Fatalf("event %d: allowed: %+v", events+1, d)
	}
	elapsed := time.Since(start)
	within(t, "RetryAfter of the refusal", d.RetryAfter, interval, elapsed)
	within(t, "ResetAfter of the refusal", d.ResetAfter, per, elapsed)
}

// testResetRestores: after Reset a spent key has its whole budget again.
func testResetRestores(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: 3, Per: time.Hour})
	for range 3 {
		l.allow(t, "k")
	}
	if d := l.allow(t, "k"); d.Allowed {
		t.Fatalf("4th event of 3: allowed: %+v", d)
	}
	l.reset(t, "k")
	start := time.Now()
	d := l.allow(t, "k")
	if !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after Reset: %+v, want allowed with Remaining 2", d)
	}
	within(t, "ResetAfter after Reset", d.ResetAfter, 20*time.Minute, time.Since(start))
	// And Reset twice in a row is no error.
	l.reset(t, "k")
	l.reset(t, "k")
}

// testResetUnknownKey: resetting a key never seen is no error, and leaves
// it with its full budget.
func testResetUnknownKey(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: 3, Per: time.Hour})
	l.reset(t, "never-seen")
	if d := l.allow(t, "never-seen"); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after Reset of an unknown key: %+v, want allowed with Remaining 2", d)
	}
}

// testKeysIndependent: spending or resetting one key leaves every other
// untouched, and keys are compared byte for byte (the caller folds letter
// case if it wants to; a limiter must not).
func testKeysIndependent(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: 2, Per: time.Hour})
	const spent = "a"
	others := []string{
		"A", "a ", " a", "a\x00", "a\x00b", "", "aa",
		"\x00iago@zulip.com", "lear\x00iago@zulip.com", "2001:db8::/64", "203.0.113.7",
		"ünïcödé", "{a}", "a*", strings.Repeat("k", 1000),
	}
	l.allow(t, spent)
	l.allow(t, spent)
	if d := l.allow(t, spent); d.Allowed {
		t.Fatalf("3rd event of 2 on %q: allowed: %+v", spent, d)
	}
	for _, k := range others {
		if d := l.allow(t, k); !d.Allowed || d.Remaining != 1 {
			t.Errorf("key %q after %q was spent: %+v, want allowed with Remaining 1", k, spent, d)
		}
	}
	if d := l.allow(t, spent); d.Allowed {
		t.Fatalf("%q after other keys were spent: allowed: %+v", spent, d)
	}
	for _, k := range others {
		l.reset(t, k)
	}
	if d := l.allow(t, spent); d.Allowed {
		t.Fatalf("%q after other keys were reset: allowed: %+v", spent, d)
	}
	l.reset(t, spent)
	if d := l.allow(t, others[0]); !d.Allowed || d.Remaining != 1 {
		t.Errorf("key %q after it and %q were reset: %+v, want allowed with Remaining 1", others[0], spent, d)
	}
}
