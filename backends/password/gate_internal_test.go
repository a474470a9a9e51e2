package password

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

func TestGate(t *testing.T) {
	t.Parallel()
	g := newGate(1, 1, time.Hour)
	ctx := context.Background()
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	// One may wait; cancelling its context releases it with ErrBusy.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- g.enter(cctx) }()
	for g.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	// The queue is full: a third attempt fails at once.
	if err := g.enter(ctx); !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("overflow: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, zulipauth.ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	// A waiter is served when the slot is left.
	go func() { done <- g.enter(ctx) }()
	for g.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	g.leave()
	if err := <-done; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if g.waiting.Load() != 0 {
		t.Fatalf("waiting = %d", g.waiting.Load())
	}
}

func TestGateMaxWait(t *testing.T) {
	t.Parallel()
	g := newGate(1, 1, 10*time.Millisecond)
	g.enter(context.Background())
	if err := g.enter(context.Background()); !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("got %v, want ErrBusy after MaxWait", err)
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
	a.gate = newGate(2, 0, time.Hour)
	a.gate.slots <- struct{}{}
	a.gate.slots <- struct{}{}
	_, err = a.Authenticate(context.Background(), zulipauth.Attempt{Username: "a@b.co", Password: "x"})
	if !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("got %v, want ErrBusy", err)
	}
}
