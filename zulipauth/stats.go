package zulipauth

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what an [Auth] counts, for a host's metrics
// (examples/server exports it to Prometheus). Counters count from [New] and
// only grow; the other fields are read when [Auth.Stats] is called.
//
// Logins are not counted here: every login's outcome is an [Event] (its
// method, code and the budget that refused it), so count them in
// Config.OnEvent. What a request to the host's own API does is here, since
// it makes no event.
type Stats struct {
	// The requests [Auth.RequireAPIKey] answered, by outcome:
	// authenticated and passed on; 401 (no, malformed or wrong credentials,
	// a deactivated user or realm, another realm's user); 400 (a scheme
	// other than Basic); 429 because the user's budget (Config.UserLimiter)
	// was spent; 429 because the client's failures spent its budget
	// (Config.IPLimiter); 500, a fault of the store or a limiter, and the
	// busy 429 (a component out of capacity, or the request's own time run
	// out), which no budget made.
	APIAuthenticated, APIUnauthorized, APIBadRequest, APIRateLimitedUser, APIRateLimitedIP, APIFaults uint64

	// APIKeyCacheHits and APIKeyCacheMisses count the API requests whose
	// key the API-key cache answered and those that cost a store lookup; a
	// request refused before its key was read counts in neither. Both stay
	// 0 with the cache off (Config.APIKeyCacheTTL 0).
	APIKeyCacheHits, APIKeyCacheMisses uint64
	// APIKeyCacheKeys is how many API keys the cache holds now, its users'
	// and the unknown ones', expired entries not yet swept included.
	APIKeyCacheKeys int

	// UsernameLimiterKeys, IPLimiterKeys and UserLimiterKeys are how many
	// keys each budget holds now ([MemoryLimiter.Len]); -1 for a Limiter
	// that is not a MemoryLimiter, which keeps its keys elsewhere.
	UsernameLimiterKeys, IPLimiterKeys, UserLimiterKeys int

	// FollowingChanges reports whether New started following the store's
	// [ChangeFeed] (the API-key or the realm cache on, a store that is
	// one). The other fields of the feed are zero when it is false.
	FollowingChanges bool
	// ChangesApplied is the Seq of the newest change applied to the caches
	// (where the feed stood at New when none since).
	ChangesApplied int64
	// ChangesReadAt is when the last read of the feed that caught up with
	// it began: every change recorded before it has been applied. The
	// feed's lag is the time since.
	ChangesReadAt time.Time
	// ChangesFailing reports whether the last read of the feed failed.
	ChangesFailing bool
}

// Stats returns what a counts now (see [Stats]). It is safe to call
// concurrently with requests; it costs a lock of each MemoryLimiter's
// shards and of the API-key cache's maps, so call it when scraping, not per
// request.
func (a *Auth) Stats() Stats {
	s := Stats{
		APIAuthenticated:    a.stats.api[apiAuthenticated].Load(),
		APIUnauthorized:     a.stats.api[apiUnauthorized].Load(),
		APIBadRequest:       a.stats.api[apiBadRequest].Load(),
		APIRateLimitedUser:  a.stats.api[apiRateLimitedUser].Load(),
		APIRateLimitedIP:    a.stats.api[apiRateLimitedIP].Load(),
		APIFaults:           a.stats.api[apiFault].Load(),
		APIKeyCacheHits:     a.stats.cacheHits.Load(),
		APIKeyCacheMisses:   a.stats.cacheMisses.Load(),
		UsernameLimiterKeys: limiterKeys(a.cfg.UsernameLimiter),
		IPLimiterKeys:       limiterKeys(a.cfg.IPLimiter),
		UserLimiterKeys:     limiterKeys(a.cfg.UserLimiter),
		FollowingChanges:    a.follower != nil,
	}
	if a.keys != nil {
		s.APIKeyCacheKeys = a.keys.users.Len() + a.keys.unknown.Len()
	}
	if s.FollowingChanges {
		s.ChangesApplied = a.stats.feedSeq.Load()
		s.ChangesReadAt = time.Unix(0, a.stats.feedReadAt.Load())
		s.ChangesFailing = a.stats.feedFailing.Load()
	}
	return s
}

func limiterKeys(l Limiter) int {
	if m, ok := l.(*MemoryLimiter); ok {
		return m.Len()
	}
	return -1
}

// apiOutcome indexes stats.api.
type apiOutcome int

const (
	apiAuthenticated apiOutcome = iota
	apiUnauthorized
	apiBadRequest
	apiRateLimitedUser
	apiRateLimitedIP
	apiFault
	apiOutcomes
)

// stats is what an Auth counts on its own requests: atomics, so that a
// request pays an uncontended add or two and no lock.
type stats struct {
	api                    [apiOutcomes]atomic.Uint64
	cacheHits, cacheMisses atomic.Uint64

	// The change follower's progress, written by its goroutine alone.
	feedSeq     atomic.Int64
	feedReadAt  atomic.Int64 // Unix nanoseconds
	feedFailing atomic.Bool
}

// countAPI counts RequireAPIKey's answer: user is authorize's (set when the
// user's own budget refused), zerr its error.
func (s *stats) countAPI(user *User, zerr *Error) {
	o := apiAuthenticated
	switch {
	case zerr == nil:
	case zerr.busy:
		o = apiFault
	case zerr.Status == http.StatusTooManyRequests && user != nil:
		o = apiRateLimitedUser
	case zerr.Status == http.StatusTooManyRequests:
		o = apiRateLimitedIP
	case zerr.Status == http.StatusUnauthorized:
		o = apiUnauthorized
	case zerr.Status >= 500:
		o = apiFault
	default:
		o = apiBadRequest
	}
	s.api[o].Add(1)
}

// countCache counts one API-key lookup: cached or not, when a cache is on.
func (s *stats) countCache(on, cached bool) {
	switch {
	case !on:
	case cached:
		s.cacheHits.Add(1)
	default:
		s.cacheMisses.Add(1)
	}
}

// feedRead records a read of the change feed that began at start and left
// the follower at seq, failing or not.
func (s *stats) feedRead(start time.Time, seq int64, failing bool) {
	s.feedSeq.Store(seq)
	s.feedFailing.Store(failing)
	if !failing {
		s.feedReadAt.Store(start.UnixNano())
	}
}
