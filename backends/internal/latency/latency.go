// Package latency records how long a backend's calls take, in fixed
// buckets, with atomics only, so that a call pays a clock read and two
// adds: the backends' Stats methods report it, and a host exports it as a
// histogram (examples/server's Prometheus metrics).
package latency

import (
	"sync/atomic"
	"time"
)

// Bounds are the buckets' upper bounds, in seconds: from half a
// millisecond, a round trip on one machine, to 2.5 s, past any timeout a
// login should wait for.
var Bounds = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Recorder counts calls by duration. The zero value is ready; it is safe
// for concurrent use.
type Recorder struct {
	counts [len(Bounds) + 1]atomic.Uint64 // by bucket, not cumulative; the last is above every bound
	nanos  atomic.Int64
}

// Observe records one call of duration d.
func (r *Recorder) Observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(Bounds) && s > Bounds[i] {
		i++
	}
	r.counts[i].Add(1)
	r.nanos.Add(int64(d))
}

// Snapshot returns the calls recorded: how many, their total duration in
// seconds, and for each bound how many took at most that long (cumulative,
// as a Prometheus histogram's buckets). Calls recorded meanwhile may be
// missing from the sum and not from the counts, or the other way round.
func (r *Recorder) Snapshot() (count uint64, seconds float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(Bounds))
	for i, b := range Bounds {
		count += r.counts[i].Load()
		buckets[b] = count
	}
	count += r.counts[len(Bounds)].Load()
	return count, time.Duration(r.nanos.Load()).Seconds(), buckets
}
