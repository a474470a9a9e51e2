package zulipauth

import "time"

// refusal is a budget's answer to a key it refused, kept until one event
// is allowed again, so that the key's next attempts are refused without
// asking the limiter (a Redis round trip, with backends/redislimit) and,
// for a client, before its body is read.
//
// This is exact, not a cache that may lag: a token bucket gains its next
// event only when RetryAfter has passed, and nothing else refills one (a
// budget is reset only after a successful login, which needs an event of
// that very budget). So until then every limiter, in this process or
// shared by many, would refuse the key too. A refusal pushed out of the
// bounded map only costs the limiter call it would have saved.
type refusal struct {
	limit int       // Decision.Limit
	reset time.Time // when the budget is full again (Decision.ResetAfter from then)
}

// newRefusalMemory is a bounded map of refusals; see refusal.
func newRefusalMemory() *expiringMap[refusal] {
	return newExpiringMap[refusal](DefaultMaxKeys, time.Second)
}

// remember keeps d, a refusal of key at now, until one event is allowed.
func remember(m *expiringMap[refusal], key string, d Decision, now time.Time) {
	if d.Allowed || d.RetryAfter <= 0 {
		return
	}
	m.put(key, refusal{limit: d.Limit, reset: now.Add(d.ResetAfter)}, now.Add(d.RetryAfter), now)
}

// recall returns the decision the budget would give key at now, if key's
// refusal is remembered and still holds.
func recall(m *expiringMap[refusal], key string, now time.Time) (Decision, bool) {
	r, until, ok := m.get(key, now)
	if !ok {
		return Decision{}, false
	}
	return Decision{Limit: r.limit, RetryAfter: until.Sub(now), ResetAfter: max(r.reset.Sub(now), 0)}, true
}
