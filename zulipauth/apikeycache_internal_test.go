package zulipauth

import (
	"fmt"
	"math"
	"runtime"
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

// A flood of made-up keys fills the unknown keys' part of the cache and no
// other: it never holds more than the bound, every entry shares one value
// (a made-up key costs the cache the key alone), and every cached user is
// still there, costing no lookup, after a flood a hundred times the bound.
// With the feed vouching, as here, users never expire, so nothing but the
// bound limits them: the flood must not push them out.
func TestAPIKeyCacheFloodOfMadeUpKeys(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const size = 1000
	c := newAPIKeyCache(time.Duration(math.MaxInt64), size)
	c.vouch(now)
	users := make([]User, size)
	for i := range users {
		users[i] = User{ID: int64(1 + i), Email: fmt.Sprintf("u%d@zulip.com", i), APIKey: fmt.Sprintf("u%031d", i)}
		c.putLookup(c.generation(), users[i].APIKey, newKeyCacheEntry(users[i], Realm{}, true), now)
	}
	for i := range 100 * size {
		now = now.Add(time.Millisecond)
		key := fmt.Sprintf("z%031d", i)
		if _, ok := c.byKey(key, now); ok {
			t.Fatalf("made-up key %d cached before its lookup", i)
		}
		c.putLookup(c.generation(), key, unknownAPIKey, now)
		if n := c.unknown.Len(); n > size {
			t.Fatalf("after %d made-up keys the cache holds %d unknown keys, over its bound %d", i+1, n, size)
		}
	}
	if n := c.users.Len(); n != size {
		t.Errorf("the cache holds %d users after the flood, want %d", n, size)
	}
	for _, u := range users {
		if e, ok := c.byKey(u.APIKey, now); !ok || e.user.ID != u.ID {
			t.Fatalf("user %d was pushed out by the flood", u.ID)
		}
	}
	shared := 0
	c.unknown.DeleteFunc(func(e *keyCacheEntry) bool {
		if e == unknownAPIKey {
			shared++
		}
		return false
	})
	if shared != c.unknown.Len() {
		t.Errorf("%d of %d unknown keys share the one unknown entry", shared, c.unknown.Len())
	}
}

// BenchmarkAPIKeyCacheBytesPerEntry reports the heap a cached user (its
// entry by key and by header) and an unknown key cost, for emails and keys
// of the usual length.
func BenchmarkAPIKeyCacheBytesPerEntry(b *testing.B) {
	const n = 100_000
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	measure := func(fill func(c *apiKeyCache)) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := newAPIKeyCache(time.Hour, n)
		fill(c)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(c)
		return float64(after.HeapAlloc-before.HeapAlloc) / n
	}
	for range b.N {
		b.ReportMetric(measure(func(c *apiKeyCache) {
			for i := range n {
				u := User{ID: int64(100000 + i), Realm: "", Email: fmt.Sprintf("user%d@zulip.example.com", 100000+i),
					FullName: fmt.Sprintf("User %d", i), APIKey: fmt.Sprintf("u%031d", i), PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}
				e := newKeyCacheEntry(u, Realm{Subdomain: "", Name: "Zulip"}, true)
				c.putLookup(c.generation(), u.APIKey, e, now)
				c.putHeader(c.generation(), e, now)
			}
		}), "B/user")
		b.ReportMetric(measure(func(c *apiKeyCache) {
			for i := range n {
				c.putLookup(c.generation(), fmt.Sprintf("z%031d", i), unknownAPIKey, now)
			}
		}), "B/unknown")
	}
}
