package storetest_test

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/storetest"
)

// A store's own test runs the suite: every layer the store's capabilities
// call for (a store that cannot create users gives Harness.Seed, which adds
// them the application's way). Put this in a _test.go file of the store's
// package.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T) {
		storetest.Run(t, storetest.Harness[*memstore.Store]{
			New: func(t *testing.T) *memstore.Store { return memstore.New() },
		})
	}
}
