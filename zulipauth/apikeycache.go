package zulipauth

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth/internal/expiring"
)

// apiKeyCache remembers, for Config.APIKeyCacheTTL, what the store said
// about API keys, so that a busy client costs no store lookup per request.
// It holds three bounded maps, so that no kind of entry can push out
// another:
//
//   - users: key → the key's user, at most one entry per user;
//   - unknown: keys the store did not know, each of which cost the client
//     one event of its budget (see Auth.chargeFailure), so a flood of
//     made-up keys fills this map and no other;
//   - headers: a user's canonical Authorization header, "Basic " and the
//     base64 of the user's email, ":" and key, which is what clients send;
//     a request carrying exactly it needs no parsing. Any other spelling of
//     the same credentials (letter case, white space) is parsed and checked
//     on every request: keying by it would let one user fill the cache with
//     spellings.
//
// The outcome of a request that read the cache or the store before a
// forget (ForgetUser, RegenerateAPIKey) is not cached, so a store change
// made before the forget is never hidden by a request that saw the old
// state.
//
// A nil *apiKeyCache caches nothing.
type apiKeyCache struct {
	ttl                     time.Duration
	users, headers, unknown *expiring.Map[*keyCacheEntry]

	// forgets keeps a request that read the cache or the store before a
	// forget from putting its outcome after it.
	forgets forgetGuard
}

// keyCacheEntry is what the store said about one API key. Once cached it is
// shared between requests and never written to.
type keyCacheEntry struct {
	found    bool // the key is user's
	user     User
	realm    Realm  // the user's realm, when joined
	joined   bool   // the store returned realm with the user
	public   *User  // user without its secrets, for request contexts
	limitKey string // the user's key in Config.UserLimiter
	header   string // the user's canonical Authorization header, once cached
	until    time.Time
}

// newKeyCacheEntry prepares what requests read from a found user.
func newKeyCacheEntry(user User, realm Realm, joined bool) *keyCacheEntry {
	public := user.WithoutSecrets()
	return &keyCacheEntry{
		found:    true,
		user:     user,
		realm:    realm,
		joined:   joined,
		public:   &public,
		limitKey: "user:" + strconv.FormatInt(user.ID, 10),
	}
}

// maxCachedHeaderLen bounds the Authorization headers looked up in the
// headers map: the longest email (254 bytes) with a key fits.
const maxCachedHeaderLen = 512

func newAPIKeyCache(ttl time.Duration, size int) *apiKeyCache {
	return &apiKeyCache{
		ttl:     ttl,
		users:   expiring.New[*keyCacheEntry](size, ttl/2),
		headers: expiring.New[*keyCacheEntry](size, ttl/2),
		unknown: expiring.New[*keyCacheEntry](size, ttl/2),
	}
}

// byHeader returns the user whose canonical header this is.
func (c *apiKeyCache) byHeader(header string, now time.Time) (*keyCacheEntry, bool) {
	if c == nil || len(header) > maxCachedHeaderLen {
		return nil, false
	}
	e, _, ok := c.headers.Get(header, now)
	return e, ok
}

// byKey returns what the store said about key, if cached: an entry that
// is found or not.
func (c *apiKeyCache) byKey(key string, now time.Time) (*keyCacheEntry, bool) {
	if c == nil {
		return nil, false
	}
	if e, _, ok := c.users.Get(key, now); ok {
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
// happened since gen was read. It sets e.until and, for a user, e.header.
func (c *apiKeyCache) putLookup(gen uint64, key string, e *keyCacheEntry, now time.Time) {
	if c == nil {
		return
	}
	e.until = now.Add(c.ttl)
	if e.found {
		e.header = "Basic " + base64.StdEncoding.EncodeToString([]byte(e.user.Email+":"+e.user.APIKey))
	}
	c.forgets.putUnlessForgotten(gen, func() {
		if e.found {
			c.users.Put(key, e, e.until, now)
		} else {
			c.unknown.Put(key, e, e.until, now)
		}
	})
}

// putHeader caches e by its canonical header until e expires, unless a
// forget has happened since gen was read.
func (c *apiKeyCache) putHeader(gen uint64, e *keyCacheEntry, now time.Time) {
	if c == nil || len(e.header) > maxCachedHeaderLen {
		return
	}
	c.forgets.putUnlessForgotten(gen, func() { c.headers.Put(e.header, e, e.until, now) })
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
