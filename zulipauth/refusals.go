package zulipauth

import "time"

// refusal is a budget's answer to a key it refused, kept until one event
// is allowed again but never longer than refusalKeep, so that the key's
// next attempts are refused without asking the limiter (a Redis round
// trip, with backends/redislimit) and, for a client, before its body is
// read.
//
// A kept refusal never outlasts the budget's own: a token bucket gains its
// next event only when RetryAfter has passed (the Limiter contract), and
// nothing else refills one (a budget is reset only after a successful
// login, which needs an event of that very budget). So until then every
// limiter, in this process or shared by many, would refuse the key too. The
// one exception is a shared budget that loses its state (a Redis restarted
// without persistence, a limiter falling back to a budget of its own during
// an outage and back): refusalKeep bounds how long a refusal made before
// outlives it. A refusal pushed out of the bounded map only costs the
// limiter call it would have saved.
type refusal struct {
	limit   int       // Decision.Limit
	allowed time.Time // when one event is allowed again (Decision.RetryAfter from then)
	reset   time.Time // when the budget is full again (Decision.ResetAfter from then)
}

// refusalKeep bounds how long a refusal is kept: a key hammering a spent
// budget then costs one limiter call a second, and a budget that lost its
// state (see refusal) is asked again within a second.
const refusalKeep = time.Second

// newRefusalMemory is a bounded map of refusals; see refusal.
func newRefusalMemory() *expiringMap[refusal] {
	return newExpiringMap[refusal](DefaultMaxKeys, refusalKeep)
}

// remember keeps d, a refusal of key at now; see refusal.
func remember(m *expiringMap[refusal], key string, d Decision, now time.Time) {
	if d.Allowed || d.RetryAfter <= 0 {
		return
	}
	r := refusal{limit: d.Limit, allowed: now.Add(d.RetryAfter), reset: now.Add(d.ResetAfter)}
	m.put(key, r, now.Add(min(d.RetryAfter, refusalKeep)), now)
}

// recall returns the decision the budget would give key at now, if key's
// refusal is kept and still holds.
func recall(m *expiringMap[refusal], key string, now time.Time) (Decision, bool) {
	r, _, ok := m.get(key, now)
	if !ok {
		return Decision{}, false
	}
	return Decision{Limit: r.limit, RetryAfter: r.allowed.Sub(now), ResetAfter: max(r.reset.Sub(now), 0)}, true
}
