package redislimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/backends/internal/latency"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Client is what a [Limiter] needs of a go-redis client: scripts for Allow,
// DEL for Reset. *redis.Client, *redis.ClusterClient, *redis.Ring and every
// redis.UniversalClient are Clients.
type Client interface {
	redis.Scripter
	Del(ctx context.Context, keys ...string) *redis.IntCmd
}

// Limiter is a zulipauth.Limiter keeping its token buckets in Redis; see the
// package documentation for the model and for what happens when Redis does
// not answer. Create it with [New]. It is safe for concurrent use.
type Limiter struct {
	client     Client
	limit      int
	interval   int64 // microseconds per token, args[0] as a number
	args       []any // the script's ARGV, see scriptArgs
	prefix     string
	timeout    time.Duration
	logger     *slog.Logger
	failClosed bool
	// direct: client bounds its calls by itself; see boundCalls.
	direct bool
	// memory answers during an outage; nil when failing closed.
	memory *zulipauth.MemoryLimiter
	// health is whether Redis answers: the limiter's own, or the
	// Health it shares (WithHealth).
	health *health
	calls  latency.Recorder // see Stats
	// leases holds WithLease's leases; nil without.
	leases *leases
}

var _ zulipauth.Limiter = (*Limiter)(nil)

// New returns a limiter giving every key the budget b, in the Redis that
// client reaches. It makes no connection: the first Allow does. A
// *redis.Client built without ContextTimeoutEnabled is used through its
// WithTimeout clone (see the package documentation), which runs none of the
// client's hooks.
//
// It returns an error if client is nil, if b does not allow at least one
// event over a positive period, if b refills faster than one event per
// microsecond, or if an option is invalid.
func New(client Client, b zulipauth.Budget, opts ...Option) (*Limiter, error) {
	if client == nil || isNilPointer(client) {
		return nil, errors.New("redislimit: New: the client is nil")
	}
	args, err := scriptArgs(b)
	if err != nil {
		return nil, err
	}
	l := &Limiter{
		client:   client,
		limit:    b.Events,
		interval: b.Per.Microseconds() / int64(b.Events),
		args:     args,
		prefix:   DefaultPrefix,
		timeout:  DefaultTimeout,
		logger:   slog.Default(),
		health:   &health{start: time.Now()},
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("redislimit: New: nil option")
		}
		if err := o(l); err != nil {
			return nil, err
		}
	}
	l.client, l.direct = boundCalls(client, l.timeout)
	if !l.failClosed {
		l.memory = zulipauth.NewMemoryLimiter(b)
	}
	return l, nil
}

// Allow implements zulipauth.Limiter: it spends one event of key's budget if
// one is left, and says so. It returns an error only for ctx's own failure
// (canceled, or past its deadline), wrapped; when Redis does not answer it
// answers from the fallback (see the package documentation) with a nil
// error. It returns within the limiter's timeout. With [WithLease], most
// calls spend a token taken from Redis earlier and make no call at all.
func (l *Limiter) Allow(ctx context.Context, key string) (zulipauth.Decision, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.Decision{}, fmt.Errorf("redislimit: allow: %w", err)
	}
	if l.leases != nil {
		return l.allowLeased(ctx, key)
	}
	return l.allowShared(ctx, key)
}

// allowShared decides one event in Redis, one round trip.
func (l *Limiter) allowShared(ctx context.Context, key string) (zulipauth.Decision, error) {
	if tryRedis, probe := l.health.route(); tryRedis {
		d, ok, err := callRedis(ctx, l, probe, func(ctx context.Context) (zulipauth.Decision, error) {
			return l.decide(ctx, key)
		})
		if err != nil {
			return zulipauth.Decision{}, fmt.Errorf("redislimit: allow: %w", err)
		}
		if ok {
			return d, nil
		}
	}
	return l.fallback(ctx, key)
}

// fallback answers an event without Redis: refused when failing closed,
// else by the in-process budget.
func (l *Limiter) fallback(ctx context.Context, key string) (zulipauth.Decision, error) {
	if l.failClosed {
		return zulipauth.Decision{Limit: l.limit, RetryAfter: FailClosedRetryAfter, ResetAfter: FailClosedRetryAfter}, nil
	}
	return l.memory.Allow(ctx, key)
}

// decide runs the script for key: one EVALSHA (EVAL, once, after the
// server's script cache was emptied).
func (l *Limiter) decide(ctx context.Context, key string) (zulipauth.Decision, error) {
	reply, err := allowScript.Run(ctx, l.client, []string{l.prefix + key}, l.args...).Int64Slice()
	if err != nil {
		return zulipauth.Decision{}, err
	}
	return decisionFrom(reply, l.limit)
}

// Reset implements zulipauth.Limiter: key's budget is full again, in Redis
// and in the in-process fallback. It returns an error for ctx's own failure,
// wrapped; and, when Redis does not answer, nil by default (the fallback,
// which is what applies then, was cleared; the key's bucket in Redis keeps
// its state) or [ErrUnavailable] with [WithFailClosed]. It returns within
// the limiter's timeout.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redislimit: reset: %w", err)
	}
	if l.leases != nil {
		l.leases.drop(key)
	}
	if l.memory != nil {
		// Always: a bucket left from an earlier outage must not refuse a
		// key that was cleared since, when the next outage comes.
		l.memory.Reset(ctx, key) //nolint:errcheck // a MemoryLimiter never fails
	}
	if tryRedis, probe := l.health.route(); tryRedis {
		_, ok, err := callRedis(ctx, l, probe, func(ctx context.Context) (int64, error) {
			return l.client.Del(ctx, l.prefix+key).Result()
		})
		if err != nil {
			return fmt.Errorf("redislimit: reset: %w", err)
		}
		if ok {
			return nil
		}
	}
	if l.failClosed {
		return fmt.Errorf("redislimit: reset: %w", ErrUnavailable)
	}
	return nil
}

// isNilPointer reports whether c is a nil pointer in a non-nil interface,
// such as a (*redis.Client)(nil), which would panic on the first call.
func isNilPointer(c Client) bool {
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// fallbackName says, for the outage's log line, what answers meanwhile.
func (l *Limiter) fallbackName() string {
	if l.failClosed {
		return "refusing every event"
	}
	return "limiting with an in-process budget"
}
