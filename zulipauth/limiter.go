package zulipauth

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limiter decides whether one more event may happen for a key: a budget per
// key, a token bucket. An [Auth] keeps three (Config.UsernameLimiter,
// IPLimiter and UserLimiter, whose keys its handlers build; see budgets.go).
// The in-memory default is [MemoryLimiter]; backends/redislimit shares one
// budget between every instance of an application.
//
// Allow consumes one event when it allows it and consumes nothing when it
// refuses (refused attempts do not extend a lock-out, as in Zulip). Reset
// forgets a key, restoring its full budget (a successful login clears the
// username's failures). An error from either method is a fault of the
// limiter; the handler then answers 500 rather than skipping the limit.
// Implementations must be safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
	Reset(ctx context.Context, key string) error
}

// Decision is a [Limiter]'s answer for one event.
type Decision struct {
	// Allowed reports whether the event may go ahead.
	Allowed bool
	// Limit is the size of the budget (X-RateLimit-Limit).
	Limit int
	// Remaining is how many whole events the key may still make now,
	// after this one (X-RateLimit-Remaining); 0 when refused.
	Remaining int
	// RetryAfter, when refused, is how long until one event is allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the key's budget is full again.
	ResetAfter time.Duration
}

// Budget is a token bucket: at most Events at once, refilled evenly so that
// Events more are allowed every Per. Budget{5, 30 * time.Minute} allows five
// attempts at once, then one every six minutes.
type Budget struct {
	Events int
	Per    time.Duration
}

// The default budgets, Zulip's DEFAULT_RATE_LIMITING_RULES. They are
// functions so that no importer can change them for the whole process.

// DefaultUsernameBudget is Config.UsernameLimiter's: 5 login attempts per
// 30 minutes, Zulip's authenticate_by_username.
func DefaultUsernameBudget() Budget { return Budget{Events: 5, Per: 30 * time.Minute} }

// DefaultIPBudget is Config.IPLimiter's: 100 per minute, Zulip's api_by_ip.
func DefaultIPBudget() Budget { return Budget{Events: 100, Per: time.Minute} }

// DefaultUserBudget is Config.UserLimiter's: 200 requests per minute,
// Zulip's api_by_user.
func DefaultUserBudget() Budget { return Budget{Events: 200, Per: time.Minute} }

func (b Budget) valid() bool { return b.Events > 0 && b.Per > 0 }

// MemoryLimiter is an in-memory [Limiter]: one token bucket
// (golang.org/x/time/rate) per key, all with the same [Budget].
//
// Memory is bounded. The limiter holds at most MaxKeys buckets. A bucket that
// has refilled completely carries no information and is forgotten when room
// is needed; if none has, the limiter evicts, from a small random sample, the
// bucket with the most tokens left. A flood of new keys therefore pushes out
// other flood keys before it pushes out a bucket that is nearly empty, which
// is the one a brute-force attacker would like to see reset.
//
// Budgets are per process: instances of an application behind a load
// balancer each have their own. Use backends/redislimit to share one.
//
// A MemoryLimiter is safe for concurrent use. Allow has a twin taking the
// instant, AllowAt, so tests pass explicit times instead of sleeping;
// [WithClock] sets the clock that Allow uses.
type MemoryLimiter struct {
	limit   rate.Limit
	burst   int
	per     time.Duration
	now     func() time.Time
	maxKeys int
	seed    maphash.Seed
	nshards uint64
	shards  [limiterShards]limiterShard
	// held counts the buckets of every shard, at most maxKeys: a shard
	// takes a slot before it adds a bucket, so that the bound holds for
	// the whole limiter however unevenly keys fall into shards.
	held atomic.Int64
}

// limiterShards spreads keys over independently locked maps so that
// concurrent requests for different keys rarely contend.
const limiterShards = 32

// evictionSample is how many buckets are examined to choose one to evict.
const evictionSample = 8

type limiterShard struct {
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// DefaultMaxKeys is the default bound on the keys a [MemoryLimiter] holds;
// about 200 bytes each.
const DefaultMaxKeys = 100_000

// MemoryOption configures a [MemoryLimiter].
type MemoryOption func(*MemoryLimiter)

// WithMaxKeys bounds the number of keys held (default [DefaultMaxKeys]).
// Values below 1 keep the default.
func WithMaxKeys(n int) MemoryOption {
	return func(l *MemoryLimiter) {
		if n > 0 {
			l.maxKeys = n
		}
	}
}

// WithClock sets the clock Allow and Reset use (default time.Now).
func WithClock(now func() time.Time) MemoryOption {
	return func(l *MemoryLimiter) {
		if now != nil {
			l.now = now
		}
	}
}

// NewMemoryLimiter returns a limiter giving every key the budget b. It panics
// if b does not allow at least one event over a positive period, a programming
// error that no request could recover from.
func NewMemoryLimiter(b Budget, opts ...MemoryOption) *MemoryLimiter {
	if !b.valid() {
		panic(fmt.Sprintf("zulipauth: NewMemoryLimiter: invalid budget %d per %v", b.Events, b.Per))
	}
	l := &MemoryLimiter{
		limit:   rate.Limit(float64(b.Events) / b.Per.Seconds()),
		burst:   b.Events,
		per:     b.Per,
		now:     time.Now,
		maxKeys: DefaultMaxKeys,
		seed:    maphash.MakeSeed(),
	}
	for _, o := range opts {
		o(l)
	}
	// A bound below the shard count uses fewer shards.
	l.nshards = min(limiterShards, uint64(l.maxKeys))
	for i := range l.nshards {
		l.shards[i].buckets = make(map[string]*rate.Limiter)
	}
	return l
}

// Allow implements [Limiter] at the limiter's clock. It never fails.
func (l *MemoryLimiter) Allow(_ context.Context, key string) (Decision, error) {
	return l.AllowAt(key, l.now()), nil
}

// Reset implements [Limiter]: key's budget is full again. It never fails.
func (l *MemoryLimiter) Reset(_ context.Context, key string) error {
	s := l.shard(key)
	s.mu.Lock()
	l.deleteLocked(s, key)
	s.mu.Unlock()
	return nil
}

// Len reports how many keys the limiter holds now.
func (l *MemoryLimiter) Len() int {
	n := 0
	for i := range l.nshards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}

// AllowAt is Allow at the instant t. Times before an earlier call for the same
// key are treated as that earlier time.
func (l *MemoryLimiter) AllowAt(key string, t time.Time) Decision {
	s := l.shard(key)
	s.mu.Lock()
	b := s.buckets[key]
	for b == nil {
		if l.takeSlot() || l.makeRoom(s, t) {
			b = rate.NewLimiter(l.limit, l.burst)
			s.buckets[strings.Clone(key)] = b
			break
		}
		// Every slot is taken and this shard holds no bucket to give
		// one up: free one in another shard, without holding this
		// shard's lock, then look again.
		s.mu.Unlock()
		l.evictElsewhere(s, t)
		s.mu.Lock()
		b = s.buckets[key]
	}
	d := l.decide(b, t)
	s.mu.Unlock()
	return d
}

// takeSlot takes one of the maxKeys slots, if one is free.
func (l *MemoryLimiter) takeSlot() bool {
	if l.held.Add(1) <= int64(l.maxKeys) {
		return true
	}
	l.held.Add(-1)
	return false
}

// deleteLocked drops key's bucket, if held, and frees its slot.
func (l *MemoryLimiter) deleteLocked(s *limiterShard, key string) {
	if _, ok := s.buckets[key]; ok {
		delete(s.buckets, key)
		l.held.Add(-1)
	}
}

func (l *MemoryLimiter) decide(b *rate.Limiter, t time.Time) Decision {
	d := Decision{Limit: l.burst}
	tokens := b.TokensAt(t)
	if tokens >= 1 && b.AllowN(t, 1) {
		tokens--
		d.Allowed = true
		d.Remaining = int(tokens)
	} else {
		d.RetryAfter = l.secondsFor(1 - tokens)
	}
	d.ResetAfter = l.secondsFor(float64(l.burst) - tokens)
	return d
}

// secondsFor is how long the bucket takes to gain n tokens.
func (l *MemoryLimiter) secondsFor(n float64) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(n / float64(l.limit) * float64(time.Second)))
}

// makeRoom frees a slot for a new bucket in s, whose lock is held, and
// takes it; it reports false when it could not: s holds no bucket to give
// up, or another shard took the freed slot first. Refilled
// buckets are swept at most once per token interval, so a flood of new
// keys costs a bounded sample per insert instead of a scan of the shard
// each time.
func (l *MemoryLimiter) makeRoom(s *limiterShard, t time.Time) bool {
	interval := l.per / time.Duration(l.burst)
	if t.Sub(s.lastSweep) >= interval || t.Before(s.lastSweep) {
		s.lastSweep = t
		full := float64(l.burst)
		for k, b := range s.buckets {
			if b.TokensAt(t) >= full {
				l.deleteLocked(s, k)
			}
		}
		if l.takeSlot() {
			return true
		}
	}
	if !l.evictLocked(s, t) {
		return false
	}
	return l.takeSlot()
}

// evictLocked drops, from a random sample of s's buckets, the one with the
// most tokens left; it reports false when s holds none.
func (l *MemoryLimiter) evictLocked(s *limiterShard, t time.Time) bool {
	var victim string
	most := math.Inf(-1)
	n := 0
	for k, b := range s.buckets { // map order is random: a random sample
		if tok := b.TokensAt(t); tok > most {
			most, victim = tok, k
		}
		if n++; n == evictionSample {
			break
		}
	}
	if n == 0 {
		return false
	}
	l.deleteLocked(s, victim)
	return true
}

// evictElsewhere frees a slot in the first shard after s that holds a
// bucket, for a key of s, which holds none. Only a limiter whose keys fall
// very unevenly (a bound of a few keys) gets here.
func (l *MemoryLimiter) evictElsewhere(s *limiterShard, t time.Time) {
	i := uint64(0)
	for i < l.nshards && &l.shards[i] != s {
		i++
	}
	for j := uint64(1); j < l.nshards; j++ {
		o := &l.shards[(i+j)%l.nshards]
		o.mu.Lock()
		ok := l.evictLocked(o, t)
		o.mu.Unlock()
		if ok {
			return
		}
	}
}

func (l *MemoryLimiter) shard(key string) *limiterShard {
	return &l.shards[maphash.String(l.seed, key)%l.nshards]
}
