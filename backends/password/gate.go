package password

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// lane is the queue an attempt waits in when every slot is taken.
type lane int

const (
	// laneOrdinary is everyone's lane: unknown users, new networks, Hash.
	laneOrdinary lane = iota
	// laneReturning is for a found user logging in again from a network
	// that proved the user's password recently (see returningUsers).
	laneReturning
)

// returningRun is how many slots in a row go to the returning lane while
// the ordinary lane waits too: 3 of every 4. The returning lane comes first
// so that a spray, which fills the ordinary lane, never delays a returning
// user by more than a few verifications; it does not take every slot, so
// that whoever can reach it (members logging in over and over with several
// accounts: each user holds one place, see returningUsers.enterLaneAt)
// cannot starve everyone else.
const returningRun = 3

// gate bounds concurrent hash computations and the attempts waiting for
// one: a semaphore of slots and, per lane, a FIFO list of waiters. A slot
// that is left goes straight to the next waiter (the returning lane's
// first, see returningRun), so a newcomer never overtakes a waiter.
type gate struct {
	maxWait time.Duration

	mu     sync.Mutex
	free   int      // slots nobody holds; above 0 only while no one waits
	queues [2]queue // by lane
	run    int      // slots handed to the returning lane since the last to the ordinary one
}

// queue is one lane's waiters, each a 1-buffered channel that receives the
// slot handed to it, so handing over never blocks.
type queue struct {
	waiters list.List // of chan struct{}
	max     int
	full    string // why an attempt is refused when the queue is full
}

func newGate(slots, maxWaiting, maxReturning int, maxWait time.Duration) *gate {
	g := &gate{maxWait: maxWait, free: slots}
	g.queues[laneOrdinary].max = maxWaiting
	g.queues[laneOrdinary].full = fmt.Sprintf("%d attempts already waiting", maxWaiting)
	g.queues[laneReturning].max = maxReturning
	g.queues[laneReturning].full = fmt.Sprintf("%d returning users already waiting", maxReturning)
	return g
}

// enter takes a slot, waiting in lane l at most maxWait and only while ctx
// lives and l's queue has room. Failing to get one is zulipauth.ErrBusy,
// wrapped with the reason (and ctx's error).
func (g *gate) enter(ctx context.Context, l lane) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", zulipauth.ErrBusy, err)
	}
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	q := &g.queues[l]
	if q.waiters.Len() >= q.max {
		g.mu.Unlock()
		return fmt.Errorf("%w: %s", zulipauth.ErrBusy, q.full)
	}
	slot := make(chan struct{}, 1)
	e := q.waiters.PushBack(slot)
	g.mu.Unlock()

	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	var err error
	select {
	case <-slot:
		return nil
	case <-ctx.Done():
		err = fmt.Errorf("%w: %w", zulipauth.ErrBusy, ctx.Err())
	case <-timer.C:
		err = fmt.Errorf("%w: no slot within %v", zulipauth.ErrBusy, g.maxWait)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// A slot is handed over under mu, together with taking the waiter off
	// its list: either we are still listed and nothing was sent, or the
	// slot is in our channel. The attempt has given up, so the slot goes
	// on to the next waiter, never lost, never held twice.
	select {
	case <-slot:
		g.handOn()
	default:
		q.waiters.Remove(e)
	}
	return err
}

// leave gives back a slot taken by enter.
func (g *gate) leave() {
	g.mu.Lock()
	g.handOn()
	g.mu.Unlock()
}

// handOn gives a slot that was just left to the next waiter, or frees it.
// g.mu must be held.
func (g *gate) handOn() {
	ordinary, returning := &g.queues[laneOrdinary].waiters, &g.queues[laneReturning].waiters
	var next *list.Element
	switch {
	case returning.Len() > 0 && (ordinary.Len() == 0 || g.run < returningRun):
		next = returning.Front()
		returning.Remove(next)
		g.run++
	case ordinary.Len() > 0:
		next = ordinary.Front()
		ordinary.Remove(next)
		g.run = 0
	default:
		g.free++
		return
	}
	next.Value.(chan struct{}) <- struct{}{}
}

// waiting returns how many attempts wait in lane l.
func (g *gate) waiting(l lane) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.queues[l].waiters.Len()
}
