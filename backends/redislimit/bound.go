package redislimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A call must not outlast the limiter's timeout, whatever the client's own
// timeouts are, but go-redis bounds a call by its context only when the
// client was built with ContextTimeoutEnabled; by default it ignores the
// context's deadline on the connection and waits out its ReadTimeout
// (seconds) on a server that accepts and never answers. So a limiter picks,
// once in New, one of three ways to bound its calls:
//
//   - a client that honours contexts is called directly, under a context
//     with the timeout;
//   - a *redis.Client that does not is replaced by its WithTimeout clone
//     (the same connection pool, with the limiter's timeout as read and
//     write timeout) and called directly too: the context still bounds
//     waiting for a connection and dialling;
//   - any other client (a ClusterClient or Ring without
//     ContextTimeoutEnabled, a wrapper of unknown kind) is called in a
//     goroutine of its own, abandoned at the timeout. The goroutine ends
//     when the client gives up; the pool, and only one probe per
//     ProbeInterval during an outage, bound how many wait at once.
//
// The first two exist because the third costs: a goroutine hand-off per
// decision, whose stack grows to go-redis's depth each time, made decisions
// about a quarter slower from 64 callers, and half as fast from one
// (BenchmarkVersusRedisRate).

// boundCalls returns the client the limiter calls, and whether the calls
// can be made directly (the first two ways above).
func boundCalls(client Client, timeout time.Duration) (Client, bool) {
	switch c := client.(type) {
	case *redis.Client:
		if c.Options().ContextTimeoutEnabled {
			return c, true
		}
		// The clone is never closed: closing it would close the pool it
		// shares with the caller's client, which the caller closes.
		return c.WithTimeout(timeout), true
	case *redis.ClusterClient:
		return c, c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c, c.Options().ContextTimeoutEnabled
	}
	return client, false
}

// bounded runs op under timeout, and returns when op does or, unless
// direct, when the timeout or ctx ends, whichever comes first.
func bounded[T any](ctx context.Context, timeout time.Duration, direct bool, op func(ctx context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if direct {
		v, err := op(ctx)
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %v: %w", timeout, err)
		}
		return v, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned op still finishes
	go func() {
		v, err := op(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("no answer within %v: %w", timeout, ctx.Err())
	}
}
