package limitertest_test

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/limitertest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The reference implementation passes its own suite.
func TestMemoryLimiter(t *testing.T) {
	limitertest.Run(t, func(_ *testing.T, b zulipauth.Budget) zulipauth.Limiter {
		return zulipauth.NewMemoryLimiter(b)
	})
}
