package limitertest_test

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/limitertest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// A limiter's own test runs the suite with a function that returns a fresh
// limiter with the budget it is given. Put this in a _test.go file of the
// limiter's package.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T) {
		limitertest.Run(t, func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter {
			return zulipauth.NewMemoryLimiter(b) // your limiter here
		})
	}
}
