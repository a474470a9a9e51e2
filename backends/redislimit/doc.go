// Package redislimit is a zulipauth.Limiter on Redis: one shared budget per
// key for every instance of an application, so a password guesser gains
// nothing by spreading attempts over the instances behind a load balancer.
//
// # The model
//
// Each key is a token bucket with the [zulipauth.Budget] given to [New]: at
// most Events at once, refilled evenly so that Events more are allowed every
// Per. The decisions are those of zulipauth.MemoryLimiter: an allowed event
// consumes one token, a refused one consumes nothing (refused attempts do not
// extend a lock-out), Remaining counts the whole events still allowed after
// this one, RetryAfter is how long until one event is allowed and ResetAfter
// how long until the bucket is full again.
//
// A decision is one Lua script run atomically in Redis, so concurrent
// decisions on one key from any number of processes never allow more than
// the budget. The script reads the Redis server's clock (TIME), so the
// instances need no clock synchronisation. It touches exactly one key, so it
// runs on Redis Cluster and on a redis.Ring as on one server, and it costs
// one round trip: EVALSHA, with EVAL once after the server's script cache was
// emptied (a restart, SCRIPT FLUSH). A key holds one number, the instant its
// bucket is full again, and expires at that instant: a key that is not being
// spent leaves nothing behind. Times are kept in whole microseconds. It
// needs Redis 5.0 or later (or a server compatible with it, such as Valkey).
//
// Keys are the caller's key after a prefix ([DefaultPrefix], or
// [WithPrefix]). Give every Limiter that shares a Redis database and has its
// own budget its own prefix: two budgets under one prefix would share
// buckets.
//
// # Leases: the per-user API budget without a round trip per request
//
// With [WithLease], a limiter takes up to N tokens of a key's bucket at once,
// in one round trip (a second Lua script, on the same key and value, so
// limiters with and without leases on one prefix share one bucket), and
// spends them in process: a busy key costs at most one Redis call per
// lease, not per event. A lease is spent only within [LeaseLifetime] (a second) of a
// moment Redis showed its bucket was not refusing: when it was taken, or
// when a renewal read the bucket. Every [LeaseRenewInterval] (half a
// second), one pipelined round trip per instance reads the buckets of the
// leases spent in the last [LeaseRenewIdle] and renews those whose bucket
// has tokens, so a key whose requests come back every second or two keeps
// its lease until it is spent (a client without Pipeline gets no renewals:
// each lease lasts a second). In the same round trip, a lease that has
// lasted half a second and holds N/2 tokens or fewer is topped up to N, so
// a key spending steadily takes its tokens in the background and its
// requests make no call to Redis after the first. When a lease ends, what is left goes back to
// the bucket with the key's next lease from that instance (or, when the
// instance needs room for other keys' leases, is forgotten, and the bucket
// refills it). A decision spent from a lease is the one the bucket would
// have made had those tokens not been taken yet, so on one instance a
// leased limiter answers as one without leases: the same Remaining,
// RetryAfter and ResetAfter, and a refusal is always Redis's own.
//
// The bounds, for I instances with leases of N:
//
//   - Over-grant: none in count, since every token is taken from the shared
//     bucket before it is spent. What a lease shifts is when: once the
//     bucket refuses a key, the instances may still allow it the tokens
//     their leases hold, at most I × N events, all within a second.
//   - Refusal: a key refused on one instance is refused on every instance
//     within a second (until its bucket refills): a refusing bucket renews
//     no lease, so every lease of the key ends within LeaseLifetime, and
//     unspent tokens are not given back to a bucket that refuses (they are
//     dropped, so the instance that held them asks Redis and is refused
//     too).
//   - Under-grant: tokens held in one instance's lease are not available
//     to another until they go back, so a key may be refused while up to
//     (I-1) × N of its tokens sit in other instances' leases, and a call
//     that times out may have taken up to N tokens it never spends.
//
// Leases are for budgets where that is acceptable, such as the per-user API
// budget (zulipauth's Config.UserLimiter, 200 a minute: with leases of 10 on
// 4 instances, at most 40 events more, within a second of a refusal). Never
// lease the login budgets (Config.UsernameLimiter and IPLimiter). A success
// resets the username's budget, and Reset clears the bucket and this
// instance's lease but not the leases other instances hold, whose tokens
// would then come on top of a full budget; and in a budget of 5 attempts,
// one lease could hold them all, refusing the key on every other instance.
// An instance holds leases for at most 100,000 keys; past that, a key is
// decided in Redis, one round trip per event.
//
// During an outage a lease already taken is spent (its tokens came out of
// the shared bucket) until it ends, a second after its last renewal at
// most; the next call then finds Redis down and answers as below. No
// renewal is tried during an outage.
//
// A limiter with leases keeps one goroutine for the renewals while it holds
// leases in use: a lease taken starts it, and it ends at the first renewal
// that finds none to renew, or when Redis is down or the client closed.
//
// # When Redis does not answer
//
// Every call is bounded by the request's context and by a short timeout
// ([DefaultTimeout], or [WithTimeout]), whatever the go-redis client's own
// timeouts are: a Redis server that accepts connections and never answers
// costs a call about the timeout at most, never a hang. A *redis.Client is
// used through its WithTimeout clone (the same connection pool, with the
// limiter's timeout for reads and writes) unless it was built with
// ContextTimeoutEnabled, and then as it is. The clone runs none of the
// client's hooks (go-redis's WithTimeout does not carry them over): build a
// client whose hooks must see the limiter's calls (tracing, metrics) with
// ContextTimeoutEnabled. Build a redis.ClusterClient or redis.Ring with
// ContextTimeoutEnabled too: without it, each call runs in a goroutine of
// its own, abandoned at the timeout, which makes decisions slower.
//
// Any error from Redis starts an outage, logged once (one slog line at level
// Warn, with the key prefix and the error, never a key or a password); so
// does a timeout, unless Redis answered other calls while the one that timed
// out waited: then Redis is busy (a flood on the same cores, the go-redis
// pool all taken), not gone, and that call alone is answered as during an
// outage. During an outage one call at most every [ProbeInterval] tries
// Redis again, the others do not wait for it, and the first answer ends the
// outage (one line at level Info). What the limiter answers without Redis
// depends on its mode:
//
//   - By default, an in-process zulipauth.MemoryLimiter with the same budget
//     takes over: the application is still limited, each instance on its own
//     budget, until Redis answers again. It knows nothing of the buckets in
//     Redis, so a key whose budget was spent there gets a fresh budget in
//     each instance for the length of the outage; when Redis is back, its
//     buckets apply again as they were (or empty, if Redis lost its data).
//     A Reset during the outage clears the key in process only.
//   - With [WithFailClosed], every Allow is refused with a Decision whose
//     RetryAfter is [FailClosedRetryAfter]; zulipauth's handlers answer that
//     with Zulip's JSON 429 and a Retry-After header, and clients retry.
//     Nobody can log in while Redis is down, and nobody can guess either.
//
// Limiters of one Redis given one [Health] ([WithHealth]) see one outage
// together: it begins, is logged and ends once for all of them, and after
// its first failed call no limiter waits for Redis until the next probe.
//
// A request context that is canceled or past its deadline (the client went
// away) is not an outage: Allow and Reset return its error, wrapped, and
// change nothing.
//
// A Limiter is safe for concurrent use. It holds no connection of its own:
// the go-redis client passed to [New] does, and the caller closes it.
package redislimit
