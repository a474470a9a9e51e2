package password

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// TestStatsOfTheHashQueue: Stats reports the queue as it stands (slots in
// use, attempts waiting in each lane) and counts waits and busy refusals
// exactly; a client that goes away while waiting is a wait, not a busy
// refusal. Metrics read these numbers to tell an operator that logins
// queue for the CPU.
func TestStatsOfTheHashQueue(t *testing.T) {
	t.Parallel()
	a, err := New(memstore.New(), WithParams(Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}))
	if err != nil {
		t.Fatal(err)
	}
	g := newGate(2, 1<<20, 1, 1, time.Hour)
	a.gate = g
	ctx := context.Background()
	if got, want := a.Stats(), (Stats{Slots: 2}); got != want {
		t.Fatalf("idle: %+v, want %+v", got, want)
	}
	g.enter(ctx, laneOrdinary, 1)
	g.enter(ctx, laneOrdinary, 1)
	out := make(chan queued, 2)
	enqueue(t, g, laneOrdinary, "o1", out)
	cctx, cancel := context.WithCancel(ctx)
	go func() { out <- queued{"r1", g.enter(cctx, laneReturning, 1)} }()
	waitFor(t, func() bool { return g.waiting(laneReturning) == 1 })
	if err := g.enter(ctx, laneOrdinary, 1); !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("a full queue: %v", err)
	}
	got := a.Stats()
	if want := (Stats{Slots: 2, InProgress: 2, Waiting: 1, WaitingReturning: 1, Busy: 1}); got != want {
		t.Fatalf("saturated: %+v, want %+v", got, want)
	}
	cancel()
	if q := <-out; q.name != "r1" || !errors.Is(q.err, context.Canceled) {
		t.Fatalf("the cancelled returning attempt: %s %v", q.name, q.err)
	}
	g.leave(1)
	if q := <-out; q.name != "o1" || q.err != nil {
		t.Fatalf("the ordinary attempt: %s %v", q.name, q.err)
	}
	got = a.Stats()
	if got.WaitSeconds <= 0 {
		t.Errorf("WaitSeconds %v after two waits", got.WaitSeconds)
	}
	got.WaitSeconds = 0
	if want := (Stats{Slots: 2, InProgress: 2, Waits: 2, Busy: 1}); got != want {
		t.Errorf("after the waits: %+v, want %+v", got, want)
	}
	g.leave(1)
	g.leave(1)
	checkIdle(t, g, 2)

	// No slot within MaxWait is busy too.
	g = newGate(1, 1<<20, 1, 1, time.Millisecond)
	a.gate = g
	g.enter(ctx, laneOrdinary, 1)
	if err := g.enter(ctx, laneOrdinary, 1); !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("past MaxWait: %v", err)
	}
	got = a.Stats()
	got.WaitSeconds = 0
	if want := (Stats{Slots: 1, InProgress: 1, Waits: 1, Busy: 1}); got != want {
		t.Errorf("past MaxWait: %+v, want %+v", got, want)
	}
}
