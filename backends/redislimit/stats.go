package redislimit

// Stats is what a [Limiter] saw of Redis, for a host's metrics
// (examples/server exports it to Prometheus). Counters count from [New].
type Stats struct {
	// Down reports whether an outage is in course: a call got no answer
	// and no probe has had one since (see the package documentation), so
	// the fallback answers (the in-process budget, or refusals with
	// [WithFailClosed]).
	Down bool
	// Outages counts the outages begun. Limiters that share a [Health]
	// ([WithHealth]) share their outages too: each reports the same Down
	// and Outages, the Health's.
	Outages uint64
	// Calls counts the calls made to Redis, answered or not (those the
	// fallback answered without trying Redis are not calls, nor are the
	// background renewals of leases, a pipeline each half second);
	// CallSeconds is their time in all; CallBuckets maps each upper bound,
	// in seconds, to how many calls took at most that long (cumulative, as
	// a Prometheus histogram's buckets).
	Calls       uint64
	CallSeconds float64
	CallBuckets map[float64]uint64
}

// Stats returns what l saw of Redis (see [Stats]). It is safe for
// concurrent use and takes no lock.
func (l *Limiter) Stats() Stats {
	s := Stats{Down: l.health.down.Load(), Outages: l.health.outages.Load()}
	s.Calls, s.CallSeconds, s.CallBuckets = l.calls.Snapshot()
	return s
}
