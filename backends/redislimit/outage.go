package redislimit

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ProbeInterval is how often, at most, a limiter tries Redis again during an
// outage. The call that tries waits for Redis up to the timeout; the others
// in the meantime are answered at once without Redis.
const ProbeInterval = time.Second

// FailClosedRetryAfter is the RetryAfter (and ResetAfter) of the refusals a
// limiter made with [WithFailClosed] answers while Redis does not: about when
// it will try Redis again.
const FailClosedRetryAfter = time.Second

// ErrUnavailable is returned, wrapped, by Reset of a limiter made with
// [WithFailClosed] when Redis does not answer: the key's budget was not
// cleared. (Allow answers a refusal instead of an error.)
var ErrUnavailable = errors.New("redislimit: Redis is unavailable")

// health tracks whether Redis answers, and decides which calls try it during
// an outage. Its fields are atomics because every call reads them: a call
// while Redis answers costs one atomic load.
type health struct {
	down atomic.Bool
	// nextProbe is when, in nanoseconds since start on the monotonic clock,
	// a call may next try Redis during an outage.
	nextProbe atomic.Int64
	// downAt is when the outage began, for the line that ends it.
	downAt atomic.Int64
	// lastAnswer is when, in nanoseconds since start, a call last got an
	// answer from Redis (see answeredSince).
	lastAnswer atomic.Int64
	start      time.Time

	outages atomic.Uint64 // see Limiter.Stats
}

func (h *health) now() int64 { return int64(time.Since(h.start)) }

// route reports whether a call should try Redis, and whether that try is
// the probe of an outage. Of the calls arriving during an outage, one per
// ProbeInterval wins the compare-and-swap and probes.
func (h *health) route() (tryRedis, probe bool) {
	if !h.down.Load() {
		return true, false
	}
	now, next := h.now(), h.nextProbe.Load()
	if now < next || !h.nextProbe.CompareAndSwap(next, now+int64(ProbeInterval)) {
		return false, false
	}
	return true, true
}

// failed records that Redis did not answer a call and reports whether this
// failure began an outage (so that its caller logs it, once).
func (h *health) failed() bool {
	now := h.now()
	// nextProbe first: a call that sees the outage must not probe at once.
	h.nextProbe.Store(now + int64(ProbeInterval))
	if !h.down.CompareAndSwap(false, true) {
		return false
	}
	h.downAt.Store(now)
	h.outages.Add(1)
	return true
}

// gotAnswer records that a call got an answer from Redis now. Concurrent
// calls may store out of order; an older instant only makes answeredSince
// say no, which is the old rule (an outage), so no ordering is needed.
func (h *health) gotAnswer() { h.lastAnswer.Store(h.now()) }

// answeredSince reports whether a call got an answer from Redis after the
// instant since (nanoseconds since start).
func (h *health) answeredSince(since int64) bool { return h.lastAnswer.Load() > since }

// answered records that a probe got an answer and reports how long the
// outage lasted, or false if another call had already ended it. Only probes
// end an outage: a call that started before the outage and answered late
// says nothing about Redis now.
func (h *health) answered() (time.Duration, bool) {
	if !h.down.CompareAndSwap(true, false) {
		return 0, false
	}
	return time.Duration(h.now() - h.downAt.Load()), true
}

// callRedis runs op with the limiter's timeout and reports how it went,
// keeping the health up to date and logging an outage's start and end.
// A failure of the request's own context is returned as an error; any other
// failure is reported as unavailable (nil error, ok false), so that the
// caller answers without Redis, and is an outage unless it is a timeout
// while other calls got answers (see slow).
func callRedis[T any](ctx context.Context, l *Limiter, probe bool, op func(ctx context.Context) (T, error)) (v T, ok bool, err error) {
	began := l.health.now()
	v, err = bounded(ctx, l.timeout, l.direct, op)
	l.calls.Observe(time.Duration(l.health.now() - began))
	if err == nil {
		l.health.gotAnswer()
		if probe {
			if lasted, ended := l.health.answered(); ended {
				l.logger.LogAttrs(ctx, slog.LevelInfo, "redislimit: Redis answers again; the shared budget applies",
					slog.String("prefix", l.prefix), slog.Duration("outage", lasted.Round(time.Millisecond)))
			}
		}
		return v, true, nil
	}
	if cerr := ctx.Err(); cerr != nil {
		// The client went away, or the request's deadline passed: Redis
		// may be fine, so this is the request's error and no outage.
		var zero T
		return zero, false, cerr
	}
	if !probe && slow(err) && l.health.answeredSince(began) {
		// Redis answered other calls while this one waited: it is busy
		// (a flood on the same cores, go-redis's pool all taken), not
		// gone. This call answers without Redis; nothing else changes.
		// Were it an outage, a flood could make every instance limit on
		// its own, or, failing closed, refuse every login.
		var zero T
		return zero, false, nil
	}
	if l.health.failed() {
		l.logger.LogAttrs(ctx, slog.LevelWarn, "redislimit: Redis is unavailable; "+l.fallbackName()+" until it answers",
			slog.String("prefix", l.prefix), slog.String("error", err.Error()))
	}
	var zero T
	return zero, false, nil
}

// slow reports whether err is a call that ran out of time (the limiter's
// timeout, a read timeout, no pooled connection in time), as opposed to one
// that Redis or the network refused.
func slow(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrPoolTimeout) ||
		(errors.As(err, &ne) && ne.Timeout())
}
