package zulipauth

import (
	"sync"
	"time"
)

// keyCache remembers the outcome of API-key lookups for a short time, found
// and not found alike, so that a busy client, or a flood of made-up keys,
// costs one store lookup per key per TTL. It holds at most max entries;
// expired entries go first, then a random few.
type keyCache struct {
	ttl time.Duration
	max int

	mu        sync.RWMutex
	entries   map[string]keyCacheEntry
	lastSweep time.Time
}

type keyCacheEntry struct {
	user     User
	realm    Realm  // the user's realm, when joined
	joined   bool   // the store returned realm with the user
	public   *User  // user without its secrets, for request contexts; never written to
	limitKey string // the user's key in Config.UserLimiter
	found    bool
	expires  time.Time
}

func newKeyCache(ttl time.Duration, max int) *keyCache {
	return &keyCache{ttl: ttl, max: max, entries: make(map[string]keyCacheEntry)}
}

func (c *keyCache) get(key string, now time.Time) (keyCacheEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		return keyCacheEntry{}, false
	}
	return e, true
}

func (c *keyCache) put(key string, e keyCacheEntry, now time.Time) {
	e.expires = now.Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		c.evictLocked(now)
	}
	c.entries[key] = e
}

// evictLocked makes room for one entry: it drops every expired entry (at
// most once per half TTL, so a flood does not scan the map on every insert),
// then, while still full, entries at random (map order).
func (c *keyCache) evictLocked(now time.Time) {
	if now.Sub(c.lastSweep) >= c.ttl/2 || now.Before(c.lastSweep) {
		c.lastSweep = now
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
	}
	n := 0
	for k := range c.entries {
		if len(c.entries) < c.max || n == 8 {
			break
		}
		delete(c.entries, k)
		n++
	}
}

// forget drops keys from the cache.
func (c *keyCache) forget(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.entries, k)
	}
}

// forgetUser drops every entry of the user with id.
func (c *keyCache) forgetUser(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.found && e.user.ID == id {
			delete(c.entries, k)
		}
	}
}
