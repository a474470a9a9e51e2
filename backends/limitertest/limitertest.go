// Package limitertest is the conformance suite for zulipauth.Limiter
// implementations: zulipauth.MemoryLimiter and backends/redislimit run it,
// and so should a limiter that an application writes itself.
//
// Call [Run] from a test, with a function that returns a fresh limiter with
// the budget it is given (see its example).
//
// The suite checks the contract written on zulipauth.Limiter and
// zulipauth.Decision, with the semantics of zulipauth.MemoryLimiter, the
// reference: a full bucket allows Events at once and then refuses; Remaining
// counts the whole events left after this one; RetryAfter is how long until
// one event is allowed and ResetAfter how long until the bucket is full, both
// within a millisecond of the exact value once the time that passed during
// the test is allowed for; a refused event consumes nothing; Reset restores
// the full budget; keys are independent and compared byte for byte; the
// bucket refills with real time; and concurrent callers on one key never get
// more than the budget. Each property is its own named sub-test, so
// `go test -run 'TestConformance/Refill'` runs one.
//
// The limiters run on the real clock, so the suite sleeps: budgets are small
// (5 per 500 ms) where it waits for a refill, and the sub-tests run in
// parallel; the whole suite takes about a second.
package limitertest

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Run runs the conformance suite against the limiters that newLimiter makes.
//
// newLimiter is called at the start of each sub-test, with that sub-test's t
// and the budget the sub-test needs, and must return a new limiter with
// exactly that budget, independent of every other limiter it returned (for a
// limiter backed by a shared server, a key prefix of its own). It registers
// any clean-up with t.Cleanup and reports set-up failures with t.Fatal. The
// sub-tests run in parallel, so newLimiter is called from several goroutines
// at once, and the limiter it returns is used from many.
func Run(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	t.Helper()
	for _, tc := range []struct {
		name string
		test func(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter)
	}{
		{"BurstThenRefused", testBurstThenRefused},
		{"RetryAfterAndResetAfter", testRetryAfterAndResetAfter},
		{"RefusalConsumesNothing", testRefusalConsumesNothing},
		{"ResetRestores", testResetRestores},
		{"ResetUnknownKey", testResetUnknownKey},
		{"KeysIndependent", testKeysIndependent},
		{"Refill", testRefill},
		{"ConcurrentOneKey", testConcurrentOneKey},
		{"ConcurrentKeys", testConcurrentKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newLimiter)
		})
	}
}
