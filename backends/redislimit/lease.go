package redislimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// LeaseLifetime is how long an instance may spend the tokens of a lease
// ([WithLease]) after Redis last showed that the key's bucket was not
// refusing: when the lease was taken, or when a renewal (every
// [LeaseRenewInterval]) read the bucket. Tokens not spent by then go back to
// the shared bucket with the key's next lease. It bounds how long an
// instance goes on allowing a key that another instance was refused.
const LeaseLifetime = time.Second

// LeaseRenewInterval is how often a limiter with leases reads, in one
// pipelined round trip, the buckets of the keys whose leases it spent in
// the last [LeaseRenewIdle], and extends to LeaseLifetime after that read
// the leases whose bucket was not refusing. A key whose requests come back
// more slowly than once a second then keeps its lease until it is spent,
// for one round trip per instance every interval, whatever the number of
// keys, instead of one per key every second. In the same round trip, a
// lease that has lasted an interval and holds half its size or less is
// topped up to its size from the bucket, so that a key spending steadily
// takes its tokens in the background and its requests wait for no call.
const LeaseRenewInterval = LeaseLifetime / 2

// LeaseRenewIdle is how long after its last use a lease is still renewed;
// a key used less often takes a new lease when it comes back, giving back
// what the old one did not spend.
const LeaseRenewIdle = 2 * time.Second

// maxLeases bounds the keys a limiter holds leases for; past it, a key
// whose lease would need a new entry is decided in Redis, one round trip,
// as without leases. About 150 bytes each.
const maxLeases = 100_000

// leaseShards spreads the keys over independently locked maps, as
// zulipauth.MemoryLimiter does.
const leaseShards = 32

// leases are the tokens an instance took from Redis in advance, per key.
type leases struct {
	size   int
	seed   maphash.Seed
	shards [leaseShards]leaseShard
	// renewing is set while the renewal loop runs: a new lease starts it,
	// if the client can pipeline, and it ends when it has nothing left to
	// renew (see renewLoop).
	renewing atomic.Bool
}

type leaseShard struct {
	mu        sync.Mutex
	m         map[string]*lease
	lastSweep time.Time
}

// lease is one key's tokens taken from Redis and not spent yet. Its mutex is
// held across the call that renews it, so that the callers of one key
// wait for one round trip instead of each making its own.
type lease struct {
	mu      sync.Mutex
	swept   bool      // removed from its shard: look the key up again
	left    int       // tokens taken and not spent
	taken   time.Time // just before the call that took them
	expires time.Time // LeaseLifetime after taken, or after the last renewal
	used    time.Time // when a token was last spent
	// debt is the bucket's debt in Redis, in microseconds, just after the
	// tokens were taken (these tokens included).
	debt int64
}

func newLeases(size int) *leases {
	ls := &leases{size: size, seed: maphash.MakeSeed()}
	for i := range ls.shards {
		ls.shards[i].m = make(map[string]*lease)
	}
	return ls
}

// get returns key's lease, locked, creating it if need be; nil when the
// limiter holds as many leases as it may.
func (ls *leases) get(key string, now time.Time) *lease {
	s := &ls.shards[maphash.String(ls.seed, key)%leaseShards]
	for {
		s.mu.Lock()
		e := s.m[key]
		if e == nil {
			if len(s.m) >= maxLeases/leaseShards {
				s.sweep(now)
			}
			if len(s.m) >= maxLeases/leaseShards {
				s.mu.Unlock()
				return nil
			}
			e = &lease{}
			s.m[key] = e
		}
		s.mu.Unlock()
		e.mu.Lock()
		if !e.swept {
			return e
		}
		e.mu.Unlock() // swept between the two locks: a new entry, then
	}
}

// sweep forgets the leases that expired a lifetime ago or more, at most once
// per lifetime, skipping any in use. Their unspent tokens are not given back:
// the bucket refills them. s.mu is held.
func (s *leaseShard) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < LeaseLifetime {
		return
	}
	s.lastSweep = now
	for k, e := range s.m {
		if !e.mu.TryLock() {
			continue
		}
		if now.Sub(e.expires) >= LeaseLifetime {
			e.swept = true
			delete(s.m, k)
		}
		e.mu.Unlock()
	}
}

// drop forgets key's lease without giving its tokens back (Reset: the
// bucket is full again anyway).
func (ls *leases) drop(key string) {
	s := &ls.shards[maphash.String(ls.seed, key)%leaseShards]
	s.mu.Lock()
	e := s.m[key]
	delete(s.m, key)
	s.mu.Unlock()
	if e != nil {
		e.mu.Lock()
		e.swept, e.left = true, 0
		e.mu.Unlock()
	}
}

// allowLeased is Allow for a limiter with leases: one token of key's lease
// if it holds one, else a new lease from Redis (one round trip), else the
// answer without Redis.
func (l *Limiter) allowLeased(ctx context.Context, key string) (zulipauth.Decision, error) {
	e := l.leases.get(key, time.Now())
	if e == nil {
		return l.allowShared(ctx, key)
	}
	defer e.mu.Unlock()
	// Read after the lock: a caller that waited for another's lease must
	// not see its tokens as taken in its future.
	now := time.Now()
	if e.left > 0 && now.Before(e.expires) {
		return l.spendLease(e, now), nil
	}
	// The lease is spent or expired: what is left goes back with the next
	// call to Redis (none during an outage), and is forgotten before it, so
	// that a call that times out after Redis took the refund cannot give it
	// twice.
	tryRedis, probe := l.health.route()
	if !tryRedis {
		return l.fallback(ctx, key)
	}
	refund := e.left
	e.left = 0
	start := time.Now()
	reply, ok, err := callRedis(ctx, l, probe, func(ctx context.Context) ([]int64, error) {
		reply, err := leaseScript.Run(ctx, l.client, []string{l.prefix + key},
			l.args[0], l.args[1], l.leases.size, strconv.Itoa(refund)).Int64Slice()
		if err == nil && (len(reply) != 2 || reply[0] < 0 || reply[0] > int64(l.leases.size) || reply[1] < 0) {
			err = fmt.Errorf("redislimit: unexpected reply from the lease script: %v", reply)
		}
		return reply, err
	})
	if err != nil {
		return zulipauth.Decision{}, fmt.Errorf("redislimit: allow: %w", err)
	}
	if !ok {
		return l.fallback(ctx, key)
	}
	granted, debt := int(reply[0]), reply[1]
	if granted == 0 {
		return l.bucketDecision(debt), nil
	}
	e.left, e.debt = granted, debt+int64(granted)*l.interval
	e.taken, e.expires = start, start.Add(LeaseLifetime)
	if l.leases.renewing.CompareAndSwap(false, true) {
		if p, ok := l.client.(pipeliner); ok {
			go l.renewLoop(p)
		}
	}
	return l.spendLease(e, start), nil
}

// spendLease spends one token of e, which holds one, at now. Its decision
// is the one Redis would make if e's unspent tokens were still in the
// bucket and nobody else spent: what a limiter without leases answers on
// one instance.
func (l *Limiter) spendLease(e *lease, now time.Time) zulipauth.Decision {
	// e.debt counts e.left tokens that are still to be spent, so the debt
	// before this one is at most (burst-1) intervals: an allowed event.
	debt := e.debt - max(now.Sub(e.taken).Microseconds(), 0) - int64(e.left)*l.interval
	e.left--
	e.used = now
	return l.bucketDecision(max(debt, 0))
}

// bucketDecision is the decision on one event of a bucket owing debt
// microseconds, as allowScript makes it: allowed while the debt is at most
// (burst-1) intervals.
func (l *Limiter) bucketDecision(debt int64) zulipauth.Decision {
	d := zulipauth.Decision{Limit: l.limit}
	allowance := int64(l.limit-1) * l.interval
	if debt > allowance {
		d.RetryAfter = time.Duration(debt-allowance) * time.Microsecond
		d.ResetAfter = time.Duration(debt) * time.Microsecond
		return d
	}
	d.Allowed = true
	d.Remaining = l.limit - 1 - int((debt+l.interval-1)/l.interval)
	d.ResetAfter = time.Duration(debt+l.interval) * time.Microsecond
	return d
}

// pipeliner is a client that sends several commands in one round trip:
// *redis.Client, *redis.ClusterClient, *redis.Ring and every
// redis.UniversalClient. With another Client, leases are not renewed: each
// lasts LeaseLifetime from when it was taken.
type pipeliner interface {
	Pipeline() redis.Pipeliner
}

// renewLoop renews the leases every LeaseRenewInterval until a renewal
// finds none to renew, Redis is down (the outage's probes find out when it
// is back) or the client is closed; the next lease taken starts it again. A
// renewal that fails renews nothing: the leases then end LeaseLifetime
// after their last renewal, and the keys take new leases, with the outage
// handling of Allow. A lease taken as the loop ends may go without
// renewals, and ends LeaseLifetime after it was taken.
func (l *Limiter) renewLoop(p pipeliner) {
	defer l.leases.renewing.Store(false)
	tick := time.NewTicker(LeaseRenewInterval)
	defer tick.Stop()
	for range tick.C {
		if l.health.down.Load() {
			return
		}
		if n, err := l.renewLeases(context.Background(), p); n == 0 || errors.Is(err, redis.ErrClosed) {
			return
		}
	}
}

// renewChunk bounds the keys read in one pipeline, so that each is well
// within the limiter's timeout.
const renewChunk = 1000

// renewLeases reads, in one round trip per thousand keys, the Redis clock
// and the bucket of every live lease spent in the last LeaseRenewIdle,
// tops up those running low (see renewable), and extends to LeaseLifetime
// after the read those whose bucket was not refusing. It never shortens or
// drops a lease: a lease whose bucket refuses ends when it would have, and
// what it did not spend is then dropped with the next lease (see
// leaseScript), as without renewals. It returns how many leases it had to
// renew.
func (l *Limiter) renewLeases(ctx context.Context, p pipeliner) (int, error) {
	rs := l.leases.renewable(time.Now())
	n := len(rs)
	for len(rs) > 0 {
		c := min(len(rs), renewChunk)
		if err := l.renewChunk(ctx, p, rs[:c]); err != nil {
			return n, err
		}
		rs = rs[c:]
	}
	return n, nil
}

// renewChunk renews the leases of rs, one pipeline: a GET of the bucket for
// each lease that needs no top-up, the lease script for each that does.
func (l *Limiter) renewChunk(ctx context.Context, p pipeliner, rs []renewal) error {
	start := time.Now()
	type reply struct {
		now  *redis.TimeCmd
		gets []*redis.StringCmd
		tops []*redis.Cmd
	}
	r, err := bounded(ctx, l.timeout, l.direct, func(ctx context.Context) (reply, error) {
		pipe := p.Pipeline()
		r := reply{now: pipe.Time(ctx), gets: make([]*redis.StringCmd, len(rs)), tops: make([]*redis.Cmd, len(rs))}
		for i, rn := range rs {
			if rn.want > 0 {
				r.tops[i] = leaseScript.EvalSha(ctx, pipe, []string{l.prefix + rn.key}, l.args[0], l.args[1], rn.want, "0")
			} else {
				r.gets[i] = pipe.Get(ctx, l.prefix+rn.key)
			}
		}
		_, err := pipe.Exec(ctx)
		// Each command's own error is read below: a missing key is a full
		// bucket, and a top-up Redis cannot run leaves its lease as it is.
		return r, err
	})
	if err != nil && r.now == nil {
		return err
	}
	now, err := r.now.Result()
	if err != nil {
		return err
	}
	nowUS := now.UnixMicro()
	allowance := int64(l.limit-1) * l.interval
	expires := start.Add(LeaseLifetime)
	loadScript := false
	for i, rn := range rs {
		granted, debt := 0, int64(0)
		if rn.want > 0 {
			reply, err := r.tops[i].Int64Slice()
			if err != nil || len(reply) != 2 || reply[0] < 0 || reply[0] > int64(rn.want) || reply[1] < 0 {
				// NOSCRIPT: Redis lost its scripts (a restart, SCRIPT
				// FLUSH); the next renewal finds it loaded again.
				loadScript = loadScript || redis.HasErrorPrefix(err, "NOSCRIPT")
				continue
			}
			if reply[0] == 0 {
				continue // refusing: the lease ends when it would have
			}
			granted, debt = int(reply[0]), reply[1]
		} else {
			fullAt, err := r.gets[i].Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				continue
			}
			if fullAt-nowUS > allowance {
				continue // refusing: the lease ends when it would have
			}
		}
		l.renewed(rn, granted, debt, start, expires)
	}
	if s, ok := p.(redis.Scripter); ok && loadScript {
		bounded(ctx, l.timeout, l.direct, func(ctx context.Context) (string, error) { return leaseScript.Load(ctx, s).Result() })
	}
	return nil
}

// renewed applies one renewal read at start to its lease, whose bucket was
// not refusing: granted tokens (a top-up's, taken from a bucket that owed
// debt microseconds before them) join the lease, and the lease lives
// until expires. A top-up is never lost: tokens taken from the bucket are
// the lease's even when the lease was renewed meanwhile by a caller (the
// debt then counts them on top of what that caller read), and only a lease
// swept or dropped since forgets them, as it forgets its own.
func (l *Limiter) renewed(rn renewal, granted int, debt int64, start, expires time.Time) {
	e := rn.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.swept {
		return
	}
	if granted > 0 {
		if e.taken.Equal(rn.taken) {
			// The bucket's debt at start, every token the lease holds
			// included: spendLease counts from there.
			e.debt, e.taken = debt+int64(granted)*l.interval, start
		} else {
			e.debt += int64(granted) * l.interval
		}
		e.left += granted
	}
	// A lease taken after the read began is younger than it.
	if e.left > 0 && !e.taken.After(start) && e.expires.Before(expires) {
		e.expires = expires
	}
}

// renewal is one lease a renewal reads or tops up: its key, the lease, and,
// when it is topped up, the tokens asked for and when the lease was taken
// (a top-up that finds another lease taken since merges into it).
type renewal struct {
	key   string
	e     *lease
	want  int
	taken time.Time
}

// renewable returns the live leases spent since now-LeaseRenewIdle, with
// the top-up each needs: size minus what it holds, for a lease taken an
// interval ago or more that holds half its size or less (a younger one is
// spent faster than renewals could feed it, and takes its next lease when
// it needs it). A lease that a caller holds (renewing it in Redis) is left
// out: it is being renewed.
func (ls *leases) renewable(now time.Time) []renewal {
	var rs []renewal
	for i := range ls.shards {
		s := &ls.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if !e.mu.TryLock() {
				continue
			}
			if e.left > 0 && now.Before(e.expires) && now.Sub(e.used) < LeaseRenewIdle {
				r := renewal{key: k, e: e}
				if 2*e.left <= ls.size && now.Sub(e.taken) >= LeaseRenewInterval {
					r.want, r.taken = ls.size-e.left, e.taken
				}
				rs = append(rs, r)
			}
			e.mu.Unlock()
		}
		s.mu.Unlock()
	}
	return rs
}
