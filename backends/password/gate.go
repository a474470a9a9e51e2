package password

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// lane is the queue an attempt waits in when the gate cannot admit it.
type lane int

const (
	// laneOrdinary is everyone's lane: unknown users, new networks, Hash.
	laneOrdinary lane = iota
	// laneReturning is for a found user logging in again from a network
	// that proved the user's password recently (see returningUsers).
	laneReturning
)

// returningRun is how many admissions in a row go to the returning lane
// while the ordinary lane waits too: 3 of every 4. The returning lane comes
// first so that a spray, which fills the ordinary lane, never delays a
// returning user by more than a few verifications; it does not take every
// admission, so that whoever can reach it (members logging in over and
// over with several accounts: each user holds one place, see
// returningUsers.enterLaneAt) cannot starve everyone else.
const returningRun = 3

// gate bounds the hash computations in progress, by number (slots: each
// keeps a core busy) and by the memory they hold together (argon2 fills
// its parameters' memory), and the attempts waiting to start one: per lane,
// a FIFO list of waiters. What a computation leaves goes straight to the
// next waiter (the returning lane's first, see returningRun) once enough is
// free for it, and no later waiter, nor a newcomer, overtakes it: a heavy
// hash waits until enough memory is free, never for ever.
//
// A computation asking for more memory than the gate has (an imported
// hash with more memory than the slots' together) holds all of it: it
// runs alone, so the memory in use never exceeds the larger of the two.
type gate struct {
	maxWait time.Duration
	memory  uint64 // KiB the computations may hold together

	mu       sync.Mutex
	slots    int      // slots nobody holds
	freeMem  uint64   // KiB nobody holds
	queues   [2]queue // by lane
	run      int      // admissions handed to the returning lane since the last to the ordinary one
	peakHeld uint64   // the most KiB ever held at once, for tests

	stats gateStats // see Authenticator.Stats
}

// queue is one lane's waiters, each a *waiter, so that handing over never
// blocks.
type queue struct {
	waiters list.List // of *waiter
	max     int
	full    string // why an attempt is refused when the queue is full
}

// waiter is an attempt waiting for a slot and kib of memory; admitted
// receives once it holds them.
type waiter struct {
	kib      uint64
	admitted chan struct{} // 1-buffered
}

func newGate(slots int, memoryKiB uint64, maxWaiting, maxReturning int, maxWait time.Duration) *gate {
	g := &gate{maxWait: maxWait, memory: memoryKiB, slots: slots, freeMem: memoryKiB, stats: gateStats{slots: slots}}
	g.queues[laneOrdinary].max = maxWaiting
	g.queues[laneOrdinary].full = fmt.Sprintf("%d attempts already waiting", maxWaiting)
	g.queues[laneReturning].max = maxReturning
	g.queues[laneReturning].full = fmt.Sprintf("%d returning users already waiting", maxReturning)
	return g
}

// weigh is what a computation of kib holds of the gate's memory: kib, or
// all of it when kib is more (see gate).
func (g *gate) weigh(kib uint64) uint64 { return min(kib, g.memory) }

// enter takes a slot and kib of memory (see weigh), waiting in lane l at
// most maxWait and only while ctx lives and l's queue has room. Failing is
// zulipauth.ErrBusy, wrapped with the reason (and ctx's error). Give back
// what it took with leave(kib).
func (g *gate) enter(ctx context.Context, l lane, kib uint64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", zulipauth.ErrBusy, err)
	}
	w := &waiter{kib: g.weigh(kib)}
	g.mu.Lock()
	if g.queues[laneOrdinary].waiters.Len() == 0 && g.queues[laneReturning].waiters.Len() == 0 && g.fits(w) {
		g.admit(w)
		g.mu.Unlock()
		return nil
	}
	q := &g.queues[l]
	if q.waiters.Len() >= q.max {
		g.mu.Unlock()
		g.stats.busy.Add(1)
		return fmt.Errorf("%w: %s", zulipauth.ErrBusy, q.full)
	}
	w.admitted = make(chan struct{}, 1)
	e := q.waiters.PushBack(w)
	g.mu.Unlock()

	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	defer g.stats.waited(time.Now())
	var err error
	select {
	case <-w.admitted:
		return nil
	case <-ctx.Done():
		err = fmt.Errorf("%w: %w", zulipauth.ErrBusy, ctx.Err())
	case <-timer.C:
		g.stats.busy.Add(1)
		err = fmt.Errorf("%w: no slot within %v", zulipauth.ErrBusy, g.maxWait)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// Admission happens under mu, together with taking the waiter off its
	// list: either we are still listed and hold nothing, or we hold our
	// share. The attempt has given up, so what it held, or its place at
	// the head of a queue, goes on to the next waiters, never lost, never
	// held twice.
	select {
	case <-w.admitted:
		g.release(w.kib)
	default:
		q.waiters.Remove(e)
	}
	g.handOn()
	return err
}

// leave gives back what enter(kib) took.
func (g *gate) leave(kib uint64) {
	g.mu.Lock()
	g.release(g.weigh(kib))
	g.handOn()
	g.mu.Unlock()
}

// fits reports whether w can be admitted now. g.mu must be held.
func (g *gate) fits(w *waiter) bool { return g.slots > 0 && g.freeMem >= w.kib }

// admit gives w a slot and its memory. g.mu must be held.
func (g *gate) admit(w *waiter) {
	g.slots--
	g.freeMem -= w.kib
	g.peakHeld = max(g.peakHeld, g.memory-g.freeMem)
}

// release takes back a slot and kib of memory. g.mu must be held.
func (g *gate) release(kib uint64) {
	g.slots++
	g.freeMem += kib
}

// handOn admits waiters, in order, for as long as the next one fits: the
// returning lane's head first while its run lasts, else the ordinary
// lane's. When the next one does not fit, nobody is admitted past it.
// g.mu must be held.
func (g *gate) handOn() {
	for {
		ordinary, returning := &g.queues[laneOrdinary].waiters, &g.queues[laneReturning].waiters
		var from *list.List
		switch {
		case returning.Len() > 0 && (ordinary.Len() == 0 || g.run < returningRun):
			from = returning
		case ordinary.Len() > 0:
			from = ordinary
		default:
			return
		}
		next := from.Front()
		w := next.Value.(*waiter)
		if !g.fits(w) {
			return
		}
		from.Remove(next)
		if from == returning {
			g.run++
		} else {
			g.run = 0
		}
		g.admit(w)
		w.admitted <- struct{}{}
	}
}

// waiting returns how many attempts wait in lane l.
func (g *gate) waiting(l lane) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.queues[l].waiters.Len()
}
