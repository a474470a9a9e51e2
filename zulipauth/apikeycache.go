package zulipauth

import (
	"encoding/base64"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth/internal/expiring"
)

// apiKeyCache remembers what the store said about API keys, so that a busy
// client costs no store lookup per request. It holds three bounded maps, so
// that no kind of entry can push out another:
//
//   - users: key → the key's user, at most one entry per user;
//   - unknown: keys the store did not know, each of which cost the client
//     one event of its budget (see Auth.chargeFailedAPIRequest), so a flood of
//     made-up keys fills this map and no other;
//   - headers: a user's canonical Authorization header, "Basic " and the
//     base64 of the user's email, ":" and key, which is what clients send;
//     a request carrying exactly it needs no parsing. Any other spelling of
//     the same credentials (letter case, white space) is parsed and checked
//     on every request: keying by it would let one user fill the cache with
//     spellings.
//
// A user's entry is trusted for Config.APIKeyCacheTTL after the store last
// vouched for it: the lookup that put it did, and so does every complete
// read of the store's change feed (see changeFollower), which drops the
// entries its changes revoke before it vouches for the rest. While the feed
// is followed, an entry therefore holds until a change revokes it or the
// size bound pushes it out: a busy user costs one lookup, not one per TTL,
// and a revocation made anywhere takes effect here within a poll of the
// feed. A read of the feed that fails empties the cache and vouches for
// nothing (see changeFollower.fail); once the follower stops (Auth.Close),
// entries expire a TTL after its last read. Unknown keys hold for the TTL
// from their lookup whatever the feed says: a refusal kept too long delays
// a new key, never a revocation, and every change drops them anyway.
//
// The outcome of a request that read the cache or the store before a
// forget (ForgetUser, RegenerateAPIKey, a change) is not cached, so a store
// change made before the forget is never hidden by a request that saw the
// old state.
//
// A nil *apiKeyCache caches nothing.
type apiKeyCache struct {
	ttl                     time.Duration
	users, headers, unknown *expiring.Map[*keyCacheEntry]

	// forgets keeps a request that read the cache or the store before a
	// forget from putting its outcome after it.
	forgets forgetGuard

	// vouched is when the last complete read of the change feed began, in
	// Unix nanoseconds at Config.Now's clock; 0 while nothing follows the
	// feed.
	vouched atomic.Int64
}

// keyCacheEntry is what the store said about one API key. Once cached it is
// shared between requests and never written to.
type keyCacheEntry struct {
	found    bool   // the key is user's
	user     User   // the key's user without its secrets, for request contexts
	apiKey   string // the user's API key
	realm    Realm  // the user's realm, when joined
	joined   bool   // the store returned realm with the user
	limitKey string // the user's key in Config.UserLimiter
	header   string // the user's canonical Authorization header, once cached
	// until is when the entry stops being trusted unless the change feed
	// vouches for it (see apiKeyCache).
	until time.Time
}

// unknownAPIKey is what the store said about every key it did not know:
// one entry, shared, so that a flood of made-up keys costs the cache the
// keys alone.
var unknownAPIKey = &keyCacheEntry{}

// newKeyCacheEntry prepares what requests read from a found user. The
// password hash is dropped: nothing on the API path reads it.
func newKeyCacheEntry(user User, realm Realm, joined bool) *keyCacheEntry {
	return &keyCacheEntry{
		found:    true,
		user:     user.WithoutSecrets(),
		apiKey:   user.APIKey,
		realm:    realm,
		joined:   joined,
		limitKey: "user:" + strconv.FormatInt(user.ID, 10),
	}
}

// maxCachedHeaderLen bounds the Authorization headers looked up in the
// headers map: the longest email (254 bytes) with a key fits.
const maxCachedHeaderLen = 512

// kept is the instant a user's entry put while the feed vouches for the
// cache is kept until, in the bounded maps: it stays until a change drops
// it or the bound pushes it out, and apiKeyCache.trusted decides whether it
// is still trusted.
var kept = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

func newAPIKeyCache(ttl time.Duration, size int) *apiKeyCache {
	return &apiKeyCache{
		ttl:     ttl,
		users:   expiring.New[*keyCacheEntry](size, ttl/2),
		headers: expiring.New[*keyCacheEntry](size, ttl/2),
		unknown: expiring.New[*keyCacheEntry](size, ttl/2),
	}
}

// vouch records that a read of the change feed that began at start applied
// every change it found: every entry left in the cache then was still true
// at start.
func (c *apiKeyCache) vouch(start time.Time) {
	if c != nil {
		c.vouched.Store(start.UnixNano())
	}
}

// stopVouching withdraws what the last read of the change feed vouched
// for: entries then hold for the TTL from their lookup.
func (c *apiKeyCache) stopVouching() {
	if c != nil {
		c.vouched.Store(0)
	}
}

// vouching reports whether the change feed vouched for the cache less than
// a TTL before now.
func (c *apiKeyCache) vouching(now time.Time) bool {
	v := c.vouched.Load()
	return v != 0 && now.UnixNano()-v < int64(c.ttl)
}

// trusted reports whether a user's entry may still be used at now.
func (c *apiKeyCache) trusted(e *keyCacheEntry, now time.Time) bool {
	return now.Before(e.until) || c.vouching(now)
}

// keepUntil is how long the bounded maps keep a user's entry put at now.
func (c *apiKeyCache) keepUntil(e *keyCacheEntry, now time.Time) time.Time {
	if c.vouching(now) {
		return kept
	}
	return e.until
}

// byHeader returns the user whose canonical header this is.
func (c *apiKeyCache) byHeader(header string, now time.Time) (*keyCacheEntry, bool) {
	if c == nil || len(header) > maxCachedHeaderLen {
		return nil, false
	}
	e, _, ok := c.headers.Get(header, now)
	if !ok || !c.trusted(e, now) {
		return nil, false
	}
	return e, true
}

// byKey returns what the store said about key, if cached: an entry that
// is found or not.
func (c *apiKeyCache) byKey(key string, now time.Time) (*keyCacheEntry, bool) {
	if c == nil {
		return nil, false
	}
	if e, _, ok := c.users.Get(key, now); ok && c.trusted(e, now) {
		return e, true
	}
	if e, _, ok := c.unknown.Get(key, now); ok {
		return e, true
	}
	return nil, false
}

// generation is read before a store lookup and handed to the puts of its
// outcome.
func (c *apiKeyCache) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.forgets.generation()
}

// putLookup caches what the store said about key, unless a forget has
// happened since gen was read. For a found user it sets e.until and
// e.header, before e is shared.
func (c *apiKeyCache) putLookup(gen uint64, key string, e *keyCacheEntry, now time.Time) {
	if c == nil {
		return
	}
	if !e.found {
		until := now.Add(c.ttl)
		c.forgets.putUnlessForgotten(gen, func() { c.unknown.Put(key, e, until, now) })
		return
	}
	e.until = now.Add(c.ttl)
	e.header = "Basic " + base64.StdEncoding.EncodeToString([]byte(e.user.Email+":"+e.apiKey))
	keep := c.keepUntil(e, now)
	c.forgets.putUnlessForgotten(gen, func() { c.users.Put(key, e, keep, now) })
}

// putHeader caches e by its canonical header, unless a forget has happened
// since gen was read.
func (c *apiKeyCache) putHeader(gen uint64, e *keyCacheEntry, now time.Time) {
	if c == nil || len(e.header) > maxCachedHeaderLen {
		return
	}
	keep := c.keepUntil(e, now)
	c.forgets.putUnlessForgotten(gen, func() { c.headers.Put(e.header, e, keep, now) })
}

// forget drops the user's entries, and the unknown keys too when
// unknownKeys is set (a key just given out may have been refused before).
func (c *apiKeyCache) forget(userID int64, unknownKeys bool) {
	if c == nil {
		return
	}
	isUsers := func(e *keyCacheEntry) bool { return e.user.ID == userID }
	c.forgets.forget(func() {
		c.users.DeleteFunc(isUsers)
		c.headers.DeleteFunc(isUsers)
		if unknownKeys {
			c.unknown.DeleteFunc(func(*keyCacheEntry) bool { return true })
		}
	})
}

// forgetChanges drops, in one pass, the entries of the users and realms
// the changes name, and every unknown key (a key just given out elsewhere
// may have been refused here before).
func (c *apiKeyCache) forgetChanges(changes []Change) {
	if c == nil {
		return
	}
	users := make(map[int64]bool, len(changes))
	realms := map[string]bool{}
	for _, ch := range changes {
		if ch.UserID != 0 {
			users[ch.UserID] = true
		} else {
			realms[ch.Realm] = true
		}
	}
	affected := func(e *keyCacheEntry) bool { return users[e.user.ID] || realms[e.user.Realm] }
	c.forgets.forget(func() {
		c.users.DeleteFunc(affected)
		c.headers.DeleteFunc(affected)
		c.unknown.DeleteFunc(func(*keyCacheEntry) bool { return true })
	})
}

// forgetAll drops every entry.
func (c *apiKeyCache) forgetAll() {
	if c == nil {
		return
	}
	all := func(*keyCacheEntry) bool { return true }
	c.forgets.forget(func() {
		c.users.DeleteFunc(all)
		c.headers.DeleteFunc(all)
		c.unknown.DeleteFunc(all)
	})
}
