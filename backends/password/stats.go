package password

import (
	"sync/atomic"
	"time"
)

// Stats is what an [Authenticator]'s hash queue holds and has done, for a
// host's metrics (examples/server exports it to Prometheus). Every
// verification and every hash runs in one of a bounded number of slots
// (WithMaxConcurrent, WithMaxMemory); an attempt that finds none free waits
// in a queue, the returning users' or everyone else's, and is refused with
// zulipauth.ErrBusy (429, a short Retry-After) when its queue is full or no
// slot frees up within WithMaxWait. Counters count from [New]; the others are read when
// [Authenticator.Stats] is called.
type Stats struct {
	// Slots is how many hash computations may run at once; InProgress how
	// many run now.
	Slots, InProgress int
	// Waiting and WaitingReturning are how many attempts wait now in the
	// ordinary queue and in the returning users' (see
	// WithReturningUsers).
	Waiting, WaitingReturning int
	// Waits counts the attempts that had to wait for a slot, whatever came
	// of it; WaitSeconds is the time they waited, in all.
	Waits       uint64
	WaitSeconds float64
	// Busy counts the attempts refused with zulipauth.ErrBusy because
	// their queue was full or no slot freed up within WithMaxWait (not
	// those whose client went away meanwhile).
	Busy uint64
}

// Stats returns what a's hash queue holds and has done (see [Stats]). It
// takes the queue's lock for a moment: call it when scraping, not per
// login.
func (a *Authenticator) Stats() Stats {
	g := a.gate
	g.mu.Lock()
	s := Stats{
		Slots:            g.stats.slots,
		InProgress:       g.stats.slots - g.slots,
		Waiting:          g.queues[laneOrdinary].waiters.Len(),
		WaitingReturning: g.queues[laneReturning].waiters.Len(),
	}
	g.mu.Unlock()
	s.Waits = g.stats.waits.Load()
	s.WaitSeconds = time.Duration(g.stats.waitNanos.Load()).Seconds()
	s.Busy = g.stats.busy.Load()
	return s
}

// gateStats counts what a gate did; atomics, so that counting needs no
// lock of its own.
type gateStats struct {
	slots     int // the gate's, fixed
	waits     atomic.Uint64
	waitNanos atomic.Int64
	busy      atomic.Uint64
}

// waited records a wait in a queue that began at start.
func (s *gateStats) waited(start time.Time) {
	s.waits.Add(1)
	s.waitNanos.Add(int64(time.Since(start)))
}
