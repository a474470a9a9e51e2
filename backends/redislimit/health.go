package redislimit

import (
	"errors"
	"time"
)

// Health is whether one Redis answers, shared by the limiters that use it.
//
// Without it each [Limiter] finds out about an outage on its own: an
// application with three budgets in one Redis logs three outages when it
// goes, and a request that passes through two limiters waits out the
// timeout twice before both fall back. Limiters given one Health with
// [WithHealth] notice it once: the first call that gets no answer begins
// the outage for all of them (one line in the log), the calls of every
// limiter then answer from their fallback without waiting, one call among
// all of them tries Redis every [ProbeInterval], and its answer ends the
// outage for all (one line). Give one Health to the limiters of one Redis
// server or cluster, never to limiters of different ones.
//
// A Health is also what an application reads to say whether its budgets
// are shared ([Health.Unavailable]), and where it records a failure it saw
// itself, such as a check at start-up ([Health.MarkUnavailable]). Its
// methods are safe for concurrent use.
type Health struct {
	h health
}

// NewHealth returns a Health that counts Redis as answering until a call
// fails.
func NewHealth() *Health {
	return &Health{h: health{start: time.Now()}}
}

// WithHealth makes the limiter share h with every other limiter given it
// (see [Health]). h must not be nil.
func WithHealth(h *Health) Option {
	return func(l *Limiter) error {
		if h == nil {
			return errors.New("redislimit: WithHealth(nil): give a Health from NewHealth, or leave the option out")
		}
		l.health = &h.h
		return nil
	}
}

// Unavailable reports whether an outage is under way: a call got no answer
// (or [Health.MarkUnavailable] was called) and no call has got one since.
// During an outage the limiters answer from their fallback.
func (h *Health) Unavailable() bool { return h.h.down.Load() }

// Outages counts the outages begun since [NewHealth], of all the limiters
// given h: one however many of them met it.
func (h *Health) Outages() uint64 { return h.h.outages.Load() }

// MarkUnavailable records that Redis did not answer a call made outside
// the limiters, such as a PING when the application starts, so that the
// limiters answer from their fallback at once instead of each waiting out
// its timeout first. One of them tries Redis after [ProbeInterval], and its
// answer ends the outage (logged by that limiter, as any outage's end).
// It reports whether this began an outage; the limiters do not log its
// start, so the caller says what failed.
func (h *Health) MarkUnavailable() bool { return h.h.failed() }
