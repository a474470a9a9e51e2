package redislimit

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of the options.
const (
	// DefaultPrefix is the key prefix when [WithPrefix] is not given.
	DefaultPrefix = "zulipauth:limit:"
	// DefaultTimeout bounds each call to Redis when [WithTimeout] is not
	// given: long enough for a round trip within a data centre, short enough
	// that a login does not notice an outage.
	DefaultTimeout = 100 * time.Millisecond
)

// Option configures a [Limiter]. Options are given to [New], which reports
// an invalid one as an error.
type Option func(*Limiter) error

// WithPrefix puts prefix before every key in Redis (default
// [DefaultPrefix]). Limiters with different budgets need different
// prefixes, for example "myapp:login:" and "myapp:ip:". An empty prefix is
// allowed, for a database that holds nothing else. In a Redis Cluster, a
// prefix with a hash tag ("{limits}:") puts every key in one slot, on one
// node; without one, keys spread over the cluster.
func WithPrefix(prefix string) Option {
	return func(l *Limiter) error {
		l.prefix = prefix
		return nil
	}
}

// WithTimeout bounds each call to Redis (default [DefaultTimeout]); the
// request's context bounds it too, when that ends sooner. A call that gets no
// answer in time counts as an outage. It must be positive.
func WithTimeout(d time.Duration) Option {
	return func(l *Limiter) error {
		if d <= 0 {
			return fmt.Errorf("redislimit: WithTimeout(%v): the timeout must be positive", d)
		}
		l.timeout = d
		return nil
	}
}

// WithLogger sets where the start and the end of an outage are logged
// (default slog.Default() at the time of [New]). It must not be nil.
func WithLogger(logger *slog.Logger) Option {
	return func(l *Limiter) error {
		if logger == nil {
			return errors.New("redislimit: WithLogger(nil): give a logger, or leave the option out for slog.Default()")
		}
		l.logger = logger
		return nil
	}
}

// WithFailClosed makes the limiter refuse every event while Redis does not
// answer, instead of falling back to an in-process budget: Allow returns a
// refusal whose RetryAfter and ResetAfter are [FailClosedRetryAfter], and
// Reset returns [ErrUnavailable]. Choose it when no login at all is better
// than a login limited per instance.
func WithFailClosed() Option {
	return func(l *Limiter) error {
		l.failClosed = true
		return nil
	}
}

// WithLease makes the limiter take up to size tokens of a key's budget from
// Redis at once, in one round trip, and spend them in process while Redis
// shows, every [LeaseRenewInterval], that the key's bucket is not spent, and
// for [LeaseLifetime] at most after it last did, so that most calls of a
// busy key make no call to Redis.
// An instance may then allow a key up to size events, for up to a second,
// after another instance was refused it: choose it for a budget such as the
// per-user API budget (Config.UserLimiter), never for the login budgets
// (Config.UsernameLimiter, IPLimiter), which are small and reset on
// success, and must stay exact. Reset clears this instance's lease, not
// those of other instances. See the package documentation for the bounds.
// size must be at least 1.
func WithLease(size int) Option {
	return func(l *Limiter) error {
		if size < 1 {
			return fmt.Errorf("redislimit: WithLease(%d): a lease is at least one token", size)
		}
		l.leases = newLeases(size)
		return nil
	}
}
