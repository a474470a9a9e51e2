package password

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// gate bounds concurrent hash computations and the attempts waiting for one.
type gate struct {
	slots      chan struct{}
	waiting    atomic.Int64
	maxWaiting int64
	maxWait    time.Duration
}

func newGate(slots, maxWaiting int, maxWait time.Duration) *gate {
	return &gate{slots: make(chan struct{}, slots), maxWaiting: int64(maxWaiting), maxWait: maxWait}
}

// enter takes a slot, waiting at most maxWait and only while ctx lives and
// the queue has room. Failing to get one is zulipauth.ErrBusy.
func (g *gate) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", zulipauth.ErrBusy, err)
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return fmt.Errorf("%w: %d attempts already waiting", zulipauth.ErrBusy, g.maxWaiting)
	}
	defer g.waiting.Add(-1)
	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", zulipauth.ErrBusy, ctx.Err())
	case <-timer.C:
		return fmt.Errorf("%w: no slot within %v", zulipauth.ErrBusy, g.maxWait)
	}
}

func (g *gate) leave() { <-g.slots }
