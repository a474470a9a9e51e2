package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// sharedLimits are the three budgets kept in Redis, so that every instance
// of the server spends one budget per username, client and user.
type sharedLimits struct {
	login, ip, user zulipauth.Limiter
	health          *redislimit.Health // the three limiters' one outage
	close           func() error
	ping            func(context.Context) error // the Redis PING of /readyz
}

// defaultRedisLease is -redis-lease's default: with 200 API requests a
// minute per user (Zulip's api_by_user), a user refused on one instance
// may make at most 10 more on each other instance, within a second.
const defaultRedisLease = 10

// redisLimits connects the budgets to the Redis at addr (HOST:PORT, or a
// redis:// or rediss:// URL with a password or database number). With
// failClosed, an unreachable Redis refuses logins (429) instead of falling
// back to budgets in this process; timeout bounds each call (0: the
// default). lease, when positive, is the size of the per-user API budget's
// leases (redislimit.WithLease): that budget alone is leased, so the login
// budgets (username, account, client address) stay exactly as they are,
// shared by every instance, never multiplied by their number.
func redisLimits(addr string, failClosed bool, timeout time.Duration, lease int, log *slog.Logger) (*sharedLimits, error) {
	if lease < 0 {
		return nil, fmt.Errorf("%w: serve: -redis-lease %d: give 0 (no leases) or a number of tokens", errUsage, lease)
	}
	opts := &redis.Options{Addr: addr}
	if strings.Contains(addr, "://") {
		var err error
		if opts, err = redis.ParseURL(addr); err != nil {
			// The URL may hold a password: say what is wrong, not what it was.
			return nil, fmt.Errorf("%w: serve: -redis: not a redis:// URL: %v", errUsage, errors.Unwrap(err))
		}
	}
	// One dial per call: go-redis dials five times, 100 ms apart, by
	// default, so a refused connection outlasted the limiters' bound and
	// was reported as a timeout instead of a refusal.
	opts.DialerRetries = 1
	client := redis.NewClient(opts)
	if timeout == 0 {
		timeout = redislimit.DefaultTimeout
	}
	// One Health for the three limiters: an outage is one for all of them
	// (one line when it begins, one when it ends), and a request does not
	// wait out each limiter's timeout in turn.
	health := redislimit.NewHealth()
	mode := []redislimit.Option{redislimit.WithLogger(log), redislimit.WithTimeout(timeout), redislimit.WithHealth(health)}
	if failClosed {
		mode = append(mode, redislimit.WithFailClosed())
	}
	limiter := func(prefix string, b zulipauth.Budget, more ...redislimit.Option) (zulipauth.Limiter, error) {
		return redislimit.New(client, b, append(append(mode, redislimit.WithPrefix("zulipauth:"+prefix+":")), more...)...)
	}
	var userLease []redislimit.Option
	if lease > 0 {
		userLease = append(userLease, redislimit.WithLease(lease))
	}
	s := sharedLimits{health: health}
	var err error
	if s.login, err = limiter("login", zulipauth.DefaultUsernameBudget()); err != nil {
		client.Close()
		return nil, err
	}
	if s.ip, err = limiter("ip", zulipauth.DefaultIPBudget()); err != nil {
		client.Close()
		return nil, err
	}
	if s.user, err = limiter("user", zulipauth.DefaultUserBudget(), userLease...); err != nil {
		client.Close()
		return nil, err
	}
	s.close = client.Close
	checkRedis(client, opts.Addr, health, failClosed, log)
	s.ping = func(ctx context.Context) error { return client.Ping(ctx).Err() }
	return &s, nil
}
