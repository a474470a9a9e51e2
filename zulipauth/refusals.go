package zulipauth

import (
	"sync"
	"time"
)

// refusals remembers, per client, until when the client's budget refuses
// it, so that a client flooding the API with made-up keys is turned away
// before it costs a store lookup. It holds at most max clients; expired
// entries go first, then arbitrary ones (a forgotten client just costs
// lookups again until its budget refuses it once more).
type refusals struct {
	max   int
	mu    sync.Mutex
	until map[string]time.Time
}

func newRefusals(max int) *refusals {
	return &refusals{max: max, until: make(map[string]time.Time)}
}

// check reports whether key is refused at now, and for how long still.
func (r *refusals) check(key string, now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.until[key]
	if !ok {
		return 0, false
	}
	if !now.Before(t) {
		delete(r.until, key)
		return 0, false
	}
	return t.Sub(now), true
}

// refuse records that key is refused until t.
func (r *refusals) refuse(key string, t, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.until[key]; !ok && len(r.until) >= r.max {
		for k, u := range r.until {
			if !now.Before(u) {
				delete(r.until, k)
			}
		}
		for k := range r.until {
			if len(r.until) < r.max {
				break
			}
			delete(r.until, k)
		}
	}
	r.until[key] = t
}
