package limitertest

import (
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// tolerance is how far a limiter's durations may be from the exact value,
// beyond the time that passed during the test: limiters round to their
// clock's resolution (nanoseconds in memory, microseconds in Redis).
const tolerance = time.Millisecond

// settle is added to a wait for a refill, so that a clock of coarser
// resolution than Go's, or another host's clock running a hair slower,
// has surely seen the refill too.
const settle = 5 * time.Millisecond

// budgetLimiter is a limiter under test with the budget it was made with.
type budgetLimiter struct {
	zulipauth.Limiter
	b zulipauth.Budget
}

func newBudgetLimiter(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter, b zulipauth.Budget) budgetLimiter {
	t.Helper()
	l := newLimiter(t, b)
	if l == nil {
		t.Fatal("newLimiter returned nil")
	}
	return budgetLimiter{l, b}
}

// allow spends one event of key, checks the decision against the
// invariants of every decision (see checkDecision), and returns it.
func (l budgetLimiter) allow(t *testing.T, key string) zulipauth.Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), key)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	if msg := checkDecision(d, l.b); msg != "" {
		t.Fatalf("Allow(%q) = %+v: %s", key, d, msg)
	}
	return d
}

// reset resets key, failing the test on an error.
func (l budgetLimiter) reset(t *testing.T, key string) {
	t.Helper()
	if err := l.Reset(t.Context(), key); err != nil {
		t.Fatalf("Reset(%q): %v", key, err)
	}
}

// checkDecision returns what is wrong with a decision of budget b whatever
// the state of the bucket, or "".
func checkDecision(d zulipauth.Decision, b zulipauth.Budget) string {
	switch {
	case d.Limit != b.Events:
		return "Limit is not the budget's Events"
	case d.Remaining < 0 || d.Remaining >= b.Events:
		return "Remaining is outside [0, Events)"
	case !d.Allowed && d.Remaining != 0:
		return "refused with Remaining > 0"
	case !d.Allowed && d.RetryAfter <= 0:
		return "refused with no RetryAfter"
	case !d.Allowed && d.RetryAfter > b.Per/time.Duration(b.Events)+tolerance:
		return "RetryAfter is longer than one token's refill"
	case d.ResetAfter < 0 || d.ResetAfter > b.Per+tolerance:
		return "ResetAfter is outside [0, Per]"
	case d.Allowed && d.ResetAfter <= 0:
		return "allowed, so the bucket is not full, but ResetAfter is 0"
	case !d.Allowed && d.RetryAfter > d.ResetAfter+tolerance:
		return "RetryAfter is after ResetAfter"
	}
	return ""
}

// within fails the test unless got, a duration computed by the limiter at
// some instant during the last elapsed, is want less at most that time:
// what is left of a wait shrinks as time passes, and never grows.
func within(t *testing.T, what string, got, want, elapsed time.Duration) {
	t.Helper()
	if got > want+tolerance || got < want-elapsed-tolerance {
		t.Errorf("%s = %v, want %v (less at most the %v that passed, ± %v)", what, got, want, elapsed, tolerance)
	}
}
