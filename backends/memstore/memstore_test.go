package memstore_test

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness[*memstore.Store]{
		New: func(*testing.T) *memstore.Store { return memstore.New() },
	})
}
