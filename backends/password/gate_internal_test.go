package password

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// waitFor polls until cond holds: a goroutine has reached the gate's queue.
// It fails the test after 10 s, when the goroutine clearly went
// elsewhere.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the attempt never reached the queue")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// checkIdle fails unless every slot of g is free and no one waits: no slot
// was lost or handed out twice.
func checkIdle(t *testing.T, g *gate, slots int) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.slots != slots || g.freeMem != g.memory || g.queues[laneOrdinary].waiters.Len() != 0 || g.queues[laneReturning].waiters.Len() != 0 {
		t.Fatalf("free %d of %d slots and %d of %d KiB, waiting %d ordinary, %d returning", g.slots, slots, g.freeMem, g.memory,
			g.queues[laneOrdinary].waiters.Len(), g.queues[laneReturning].waiters.Len())
	}
}

func TestGate(t *testing.T) {
	t.Parallel()
	g := newGate(1, 1<<20, 1, 1, time.Hour)
	ctx := context.Background()
	if err := g.enter(ctx, laneOrdinary, 1); err != nil {
		t.Fatal(err)
	}
	// One may wait; cancelling its context releases it with ErrBusy.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- g.enter(cctx, laneOrdinary, 1) }()
	waitFor(t, func() bool { return g.waiting(laneOrdinary) == 1 })
	// The queue is full: a third attempt fails at once.
	if err := g.enter(ctx, laneOrdinary, 1); !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("overflow: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, zulipauth.ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	// A waiter is served when the slot is left.
	go func() { done <- g.enter(ctx, laneOrdinary, 1) }()
	waitFor(t, func() bool { return g.waiting(laneOrdinary) == 1 })
	g.leave(1)
	if err := <-done; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	g.leave(1)
	checkIdle(t, g, 1)
	// A context already over never takes a slot, even a free one.
	if err := g.enter(cctx, laneReturning, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("over context: %v", err)
	}
	checkIdle(t, g, 1)
}

func TestGateMaxWait(t *testing.T) {
	t.Parallel()
	for _, l := range []lane{laneOrdinary, laneReturning} {
		g := newGate(1, 1<<20, 1, 1, 10*time.Millisecond)
		g.enter(context.Background(), l, 1)
		if err := g.enter(context.Background(), l, 1); !errors.Is(err, zulipauth.ErrBusy) || !strings.Contains(err.Error(), "no slot within") {
			t.Fatalf("lane %d: got %v, want ErrBusy after MaxWait", l, err)
		}
		g.leave(1)
		checkIdle(t, g, 1)
	}
}

// queued is the outcome of a waiter started by enqueue: name says which,
// err is what enter returned.
type queued struct {
	name string
	err  error
}

// enqueue starts an attempt in lane l and returns once it waits there; the
// outcome goes to out.
func enqueue(t *testing.T, g *gate, l lane, name string, out chan<- queued) {
	t.Helper()
	before := g.waiting(l)
	go func() { out <- queued{name, g.enter(context.Background(), l, 1)} }()
	waitFor(t, func() bool { return g.waiting(l) == before+1 })
}

// With every slot taken and both lanes waiting, freed slots go to the
// returning lane first, FIFO, three in a row, then one to the ordinary lane
// so that it is never starved.
func TestGateReturningFirst(t *testing.T) {
	t.Parallel()
	g := newGate(1, 1<<20, 10, 10, time.Hour)
	if err := g.enter(context.Background(), laneOrdinary, 1); err != nil {
		t.Fatal(err)
	}
	out := make(chan queued)
	enqueue(t, g, laneOrdinary, "o1", out)
	enqueue(t, g, laneReturning, "r1", out)
	enqueue(t, g, laneOrdinary, "o2", out)
	enqueue(t, g, laneReturning, "r2", out)
	enqueue(t, g, laneReturning, "r3", out)
	enqueue(t, g, laneReturning, "r4", out)
	enqueue(t, g, laneReturning, "r5", out)
	var order []string
	for range 7 {
		g.leave(1) // the holder's slot goes to exactly one waiter, who now holds it
		q := <-out
		if q.err != nil {
			t.Fatalf("%s: %v", q.name, q.err)
		}
		order = append(order, q.name)
	}
	if got, want := strings.Join(order, " "), "r1 r2 r3 o1 r4 r5 o2"; got != want {
		t.Fatalf("served %s, want %s", got, want)
	}
	g.leave(1)
	checkIdle(t, g, 1)
}

// The point of the lane: a full ordinary queue (a spray) turns away
// ordinary attempts at once but still admits a returning user, whose own
// bound then yields ErrBusy.
func TestGateLaneBounds(t *testing.T) {
	t.Parallel()
	g := newGate(1, 1<<20, 2, 1, time.Hour)
	ctx := context.Background()
	g.enter(ctx, laneOrdinary, 1)
	out := make(chan queued, 3)
	enqueue(t, g, laneOrdinary, "o1", out)
	enqueue(t, g, laneOrdinary, "o2", out)
	if err := g.enter(ctx, laneOrdinary, 1); !errors.Is(err, zulipauth.ErrBusy) || !strings.Contains(err.Error(), "2 attempts already waiting") {
		t.Fatalf("ordinary overflow: %v", err)
	}
	enqueue(t, g, laneReturning, "r1", out)
	if err := g.enter(ctx, laneReturning, 1); !errors.Is(err, zulipauth.ErrBusy) || !strings.Contains(err.Error(), "1 returning users already waiting") {
		t.Fatalf("returning overflow: %v", err)
	}
	g.leave(1)
	if q := <-out; q.name != "r1" || q.err != nil {
		t.Fatalf("first served: %s %v, want r1", q.name, q.err)
	}
	for range 3 {
		g.leave(1)
	}
	for range 2 {
		if q := <-out; q.err != nil {
			t.Fatalf("%s: %v", q.name, q.err)
		}
	}
	checkIdle(t, g, 1)
}

// A waiter whose context ends just as leave hands it the slot must pass the
// slot on. The test holds g.mu while it cancels the waiter and hands it the
// slot, so the waiter wakes with both ready: whichever it sees, the slot
// ends up free exactly once.
func TestGateGiveUpWhileHandedASlot(t *testing.T) {
	t.Parallel()
	g := newGate(1, 1<<20, 1, 1, time.Hour)
	gaveOn := 0
	for range 200 {
		g.enter(context.Background(), laneOrdinary, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- g.enter(ctx, laneReturning, 1) }()
		waitFor(t, func() bool { return g.waiting(laneReturning) == 1 })
		g.mu.Lock()
		cancel()
		for range 100 {
			runtime.Gosched() // let the waiter see ctx.Done and block on g.mu
		}
		g.release(1) // what leave does: the slot goes to the waiter
		g.handOn()
		g.mu.Unlock()
		if err := <-done; err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			gaveOn++
		} else {
			g.leave(1) // it took the slot: it holds it
		}
		checkIdle(t, g, 1)
	}
	t.Logf("gave on %d of 200", gaveOn)
	if gaveOn == 0 {
		t.Fatal("the waiter never gave up while handed a slot: the race was not exercised")
	}
}

// Many attempts in both lanes, with contexts and MaxWait ending all the
// time, some just as a slot is handed over: never more holders than slots,
// and in the end every slot free and no one waiting.
func TestGateStress(t *testing.T) {
	t.Parallel()
	const slots = 3
	g := newGate(slots, 1<<20, 20, 10, 200*time.Microsecond)
	var holders, entered, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 200 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(300))*time.Microsecond)
				if err := g.enter(ctx, lane(rng.IntN(2)), 1); err != nil {
					refused.Add(1)
					cancel()
					continue
				}
				cancel()
				entered.Add(1)
				if n := holders.Add(1); n > slots {
					t.Errorf("%d holders of %d slots", n, slots)
				}
				if rng.IntN(2) == 0 {
					runtime.Gosched()
				}
				holders.Add(-1)
				g.leave(1)
			}
		})
	}
	wg.Wait()
	checkIdle(t, g, slots)
	if entered.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("entered %d, refused %d: both must happen for the test to mean anything", entered.Load(), refused.Load())
	}
}

// With every slot taken and no queue, a login fails fast with ErrBusy and
// never runs a hash: the bound on concurrent verifications holds.
func TestAuthenticateWhenSaturated(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	a, err := New(store, WithParams(Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}))
	if err != nil {
		t.Fatal(err)
	}
	a.gate = newGate(2, 1<<20, 0, 0, time.Hour)
	a.gate.enter(context.Background(), laneOrdinary, 1)
	a.gate.enter(context.Background(), laneOrdinary, 1)
	_, err = a.Authenticate(context.Background(), zulipauth.Attempt{Username: "a@b.co", Password: "x"})
	if !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("got %v, want ErrBusy", err)
	}
}

// enqueueKiB is enqueue for an attempt that asks for kib of memory.
func enqueueKiB(t *testing.T, g *gate, l lane, name string, kib uint64, out chan<- queued) {
	t.Helper()
	before := g.waiting(l)
	go func() { out <- queued{name, g.enter(context.Background(), l, kib)} }()
	waitFor(t, func() bool { return g.waiting(l) == before+1 })
}

// Pins the memory bound that heavy imported hashes broke: each wrong guess
// at a user imported with m=256 MiB took 280 MB, two at once 543 MB, against
// a 102 MiB soft limit, because admission counted verifications, not their
// memory. A verification is admitted with its hash's memory; one that
// needs more than the gate has runs alone; nobody overtakes a waiter that
// does not fit yet, so a heavy hash waits for room, not for ever.
func TestGateWeighsMemory(t *testing.T) {
	t.Parallel()
	const memory = 100
	g := newGate(4, memory, 10, 10, time.Hour)
	if err := g.enter(context.Background(), laneOrdinary, 60); err != nil {
		t.Fatal(err)
	}
	out := make(chan queued, 4)
	// 50 KiB do not fit beside 60: the attempt waits, though a slot is free.
	enqueueKiB(t, g, laneOrdinary, "fifty", 50, out)
	// 10 KiB would fit, but must not overtake the waiter ahead of it.
	enqueueKiB(t, g, laneOrdinary, "ten", 10, out)
	// More than the gate has: it will run alone.
	enqueueKiB(t, g, laneOrdinary, "heavy", 300, out)
	select {
	case q := <-out:
		t.Fatalf("%s was admitted while 60 of %d KiB were held and a waiter was ahead", q.name, memory)
	case <-time.After(20 * time.Millisecond):
	}
	g.leave(60)
	// Both fit now (50 + 10); heavy, behind them, does not.
	admitted := map[string]bool{}
	for range 2 {
		q := <-out
		if q.err != nil {
			t.Fatalf("%s: %v", q.name, q.err)
		}
		admitted[q.name] = true
	}
	if !admitted["fifty"] || !admitted["ten"] {
		t.Fatalf("admitted %v, want fifty and ten", admitted)
	}
	g.leave(50)
	select {
	case q := <-out:
		t.Fatalf("%s was admitted beside another verification: it asks for more than the gate has and must run alone", q.name)
	case <-time.After(20 * time.Millisecond):
	}
	g.leave(10)
	if q := <-out; q.name != "heavy" || q.err != nil {
		t.Fatalf("admitted %s (%v), want heavy", q.name, q.err)
	}
	// While it runs, nothing else is admitted, not even the smallest.
	enqueueKiB(t, g, laneReturning, "tiny", 1, out)
	select {
	case q := <-out:
		t.Fatalf("%s was admitted beside the heavy verification", q.name)
	case <-time.After(20 * time.Millisecond):
	}
	g.leave(300)
	if q := <-out; q.name != "tiny" || q.err != nil {
		t.Fatalf("admitted %s (%v), want tiny", q.name, q.err)
	}
	g.leave(1)
	checkIdle(t, g, 4)
	if g.peakHeld > memory {
		t.Fatalf("held %d KiB at once, more than the gate's %d", g.peakHeld, memory)
	}
}

// A waiter that gives up at the head of its queue lets those behind it in,
// if they fit: its place is not lost.
func TestGateGiveUpAtTheHead(t *testing.T) {
	t.Parallel()
	g := newGate(2, 100, 10, 10, time.Hour)
	if err := g.enter(context.Background(), laneOrdinary, 60); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { gaveUp <- g.enter(ctx, laneOrdinary, 80) }()
	waitFor(t, func() bool { return g.waiting(laneOrdinary) == 1 })
	out := make(chan queued, 1)
	enqueueKiB(t, g, laneOrdinary, "small", 30, out)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("the heavy waiter: %v, want its context's end", err)
	}
	if q := <-out; q.name != "small" || q.err != nil {
		t.Fatalf("admitted %s (%v), want small", q.name, q.err)
	}
	g.leave(30)
	g.leave(60)
	checkIdle(t, g, 2)
}

// The stress test with weights: random memory asks, some above the gate's,
// never more held than the gate has (counting a heavy one as all of it),
// and in the end everything free.
func TestGateStressWeighted(t *testing.T) {
	t.Parallel()
	const slots, memory = 3, 64
	g := newGate(slots, memory, 20, 10, 200*time.Microsecond)
	var held atomic.Int64
	var entered atomic.Int64
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for range 200 {
				kib := uint64(1 + rng.IntN(80))
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(300))*time.Microsecond)
				err := g.enter(ctx, lane(rng.IntN(2)), kib)
				cancel()
				if err != nil {
					continue
				}
				entered.Add(1)
				if n := held.Add(int64(min(kib, memory))); n > memory {
					t.Errorf("%d KiB held of the gate's %d", n, memory)
				}
				runtime.Gosched()
				held.Add(-int64(min(kib, memory)))
				g.leave(kib)
			}
		})
	}
	wg.Wait()
	checkIdle(t, g, slots)
	if entered.Load() == 0 {
		t.Fatal("nothing was admitted")
	}
}
