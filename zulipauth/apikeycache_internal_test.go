package zulipauth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A forget drops the user's entries before it announces itself through the
// generation: a request that reads the new generation cannot find an
// entry the forget is about to drop, and put it back under the new
// generation. The users map is large so that a forget's scan is slow and a
// reader spinning beside it would see such an entry if the order were
// wrong.
func TestAPIKeyCacheForgetDropsBeforeTheGenerationMoves(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c := newAPIKeyCache(time.Hour, 20_000)
	for i := range 10_000 {
		u := User{ID: int64(1000 + i), Email: fmt.Sprintf("u%d@zulip.com", i), APIKey: fmt.Sprintf("%032d", i)}
		c.putLookup(c.generation(), u.APIKey, newKeyCacheEntry(u, Realm{}, true), now)
	}
	iago := User{ID: 1, Email: "iago@zulip.com", APIKey: "iagoiagoiagoiagoiagoiagoiagoiago"}
	var stale atomic.Int64
	for range 20 {
		c.putLookup(c.generation(), iago.APIKey, newKeyCacheEntry(iago, Realm{}, true), now)
		after := c.generation() + 1
		var wg sync.WaitGroup
		var done atomic.Bool
		started := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			close(started)
			for !done.Load() {
				if c.generation() == after {
					if _, ok := c.byKey(iago.APIKey, now); ok {
						stale.Add(1)
					}
				}
			}
		}()
		<-started
		c.forget(iago.ID, false)
		done.Store(true)
		wg.Wait()
		if _, ok := c.byKey(iago.APIKey, now); ok {
			t.Fatal("the user's entry survived the forget")
		}
	}
	if n := stale.Load(); n > 0 {
		t.Errorf("%d reads found the user's entry under the generation after the forget", n)
	}
}
