package redislimit

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// readBucket begins both scripts: the budget's interval and burst from
// ARGV[1] and ARGV[2], Redis's clock in microseconds (now), and the debt of
// the bucket at KEYS[1] (see allowScript), 0 for a full one.
const readBucket = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local debt = (tonumber(redis.call('GET', KEYS[1])) or now) - now
if debt < 0 then
  debt = 0
end`

// allowScript makes one decision on one token bucket, atomically, on the
// Redis server's clock.
//
// The key holds the instant, in microseconds on Redis's clock, at which the
// bucket is full again; a missing key, or an instant already past, is a full
// bucket. The bucket "owes" the time from now until that instant: each token
// spent adds one interval to the debt, and the debt shrinks as time passes.
// One more event fits while the debt is at most (burst-1) intervals. Every
// quantity is a whole number of microseconds below 2^53, so Lua's doubles
// compute it exactly and the decisions count down without rounding drift.
// The instant goes to SET as a number, which Redis writes out in full
// (Lua's tostring would round it to 14 digits, 100 µs). SET with PX sets the
// value and its expiry, the instant the bucket is full, in one command.
//
// Reading TIME and then writing is allowed because Redis 5.0 and later
// replicate a script's effects (the SET), not the script; older servers
// would refuse the SET.
var allowScript = redis.NewScript(readBucket + `
local allowance = (burst - 1) * interval
if debt > allowance then
  return {0, 0, debt - allowance, debt}
end
local remaining = burst - 1 - math.ceil(debt / interval)
debt = debt + interval
redis.call('SET', KEYS[1], now + debt, 'PX', math.ceil(debt / 1000))
return {1, remaining, 0, debt}
`)

// leaseScript takes up to ARGV[3] tokens of one bucket at once, for a
// [WithLease] limiter, after giving back ARGV[4] tokens of an expired lease
// that were not spent. The key and its value are allowScript's: limiters
// with and without leases on one prefix share one bucket (a rolling
// upgrade). The bucket grants as many tokens as would be allowed one after
// the other, at most the lease's size: at least one, or none (a refusal,
// which writes nothing, as allowScript's). A refund is dropped when the
// bucket refuses: the key's budget was spent meanwhile, and tokens given
// back then would let the instance that returns them allow again after
// every other instance refused (see the package documentation).
//
// It replies {granted, debt}: the tokens taken and the bucket's debt
// before them (after the refund), from which the caller computes the
// decision of each token as allowScript would have, and a refusal's.
var leaseScript = redis.NewScript(readBucket + `
local want = tonumber(ARGV[3])
local refund = tonumber(ARGV[4])
if debt > (burst - 1) * interval then
  return {0, debt}
end
debt = math.max(debt - refund * interval, 0)
local granted = math.min(want, burst - math.ceil(debt / interval))
local after = debt + granted * interval
redis.call('SET', KEYS[1], now + after, 'PX', math.ceil(after / 1000))
return {granted, debt}
`)

// scriptArgs are the script's ARGV for a budget: the refill interval in
// whole microseconds and the burst. An interval below one microsecond is an
// error: the script could not represent it.
func scriptArgs(b zulipauth.Budget) ([]any, error) {
	if b.Events <= 0 || b.Per <= 0 {
		return nil, fmt.Errorf("redislimit: invalid budget %d per %v: it must allow at least one event over a positive period", b.Events, b.Per)
	}
	interval := b.Per.Microseconds() / int64(b.Events)
	if interval < 1 {
		return nil, fmt.Errorf("redislimit: budget %d per %v refills faster than one event per microsecond", b.Events, b.Per)
	}
	// Formatted once here, so a decision sends them without converting.
	return []any{fmt.Sprint(interval), fmt.Sprint(b.Events)}, nil
}

// decisionFrom turns the script's reply {allowed, remaining, retry_after_us,
// reset_after_us} into a Decision for a budget of limit events.
func decisionFrom(reply []int64, limit int) (zulipauth.Decision, error) {
	if len(reply) != 4 || reply[0] < 0 || reply[0] > 1 || reply[1] < 0 || reply[2] < 0 || reply[3] < 0 {
		return zulipauth.Decision{}, fmt.Errorf("redislimit: unexpected reply from the script: %v", reply)
	}
	return zulipauth.Decision{
		Allowed:    reply[0] == 1,
		Limit:      limit,
		Remaining:  int(reply[1]),
		RetryAfter: time.Duration(reply[2]) * time.Microsecond,
		ResetAfter: time.Duration(reply[3]) * time.Microsecond,
	}, nil
}
