package zulipauth

import (
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth/internal/expiring"
)

// realmCache remembers, for Config.RealmCacheTTL, the realm each subdomain
// resolved to. A login resolves its realm after the client's budget and
// before the username's, so a flood from many addresses at a few spent
// usernames (each address a fresh client budget) would otherwise cost one
// store query per refused attempt: with SQLite, most of what such a refusal
// costs. Realms change rarely, and the store's change feed names the realm
// that changed, so the follower that keeps the API-key cache honest drops a
// changed realm here too.
//
// Only realms found are cached: an unknown subdomain is asked of the store
// every time, so a realm created elsewhere is seen at once, and made-up
// Host headers cannot fill the map (each such request has spent a client
// budget event before it gets here).
//
// A nil *realmCache caches nothing.
type realmCache struct {
	ttl    time.Duration
	realms *expiring.Map[Realm]
	// forgets keeps a lookup that began before a forget from putting its
	// (possibly stale) realm back.
	forgets forgetGuard
}

// realmCacheSize bounds the cached realms. Hosts with more active
// organizations than this still work; the rest cost a store query per
// login, as with no cache.
const realmCacheSize = 10_000

func newRealmCache(ttl time.Duration) *realmCache {
	return &realmCache{ttl: ttl, realms: expiring.New[Realm](realmCacheSize, ttl/2)}
}

func (c *realmCache) get(subdomain string, now time.Time) (Realm, bool) {
	if c == nil {
		return Realm{}, false
	}
	realm, _, ok := c.realms.Get(subdomain, now)
	return realm, ok
}

func (c *realmCache) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.forgets.generation()
}

// put caches realm under its subdomain, unless a forget happened since gen
// was read.
func (c *realmCache) put(gen uint64, realm Realm, now time.Time) {
	if c == nil {
		return
	}
	c.forgets.putUnlessForgotten(gen, func() { c.realms.Put(realm.Subdomain, realm, now.Add(c.ttl), now) })
}

// forgetChanges drops the realms the changes name (a change with UserID 0).
func (c *realmCache) forgetChanges(changes []Change) {
	if c == nil {
		return
	}
	changed := map[string]bool{}
	for _, ch := range changes {
		if ch.UserID == 0 {
			changed[ch.Realm] = true
		}
	}
	if len(changed) == 0 {
		return
	}
	c.forgets.forget(func() { c.realms.DeleteFunc(func(r Realm) bool { return changed[r.Subdomain] }) })
}

// forgetAll drops every realm.
func (c *realmCache) forgetAll() {
	if c == nil {
		return
	}
	c.forgets.forget(func() { c.realms.DeleteFunc(func(Realm) bool { return true }) })
}
