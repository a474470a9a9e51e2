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
	close           func() error
	ping            func(context.Context) error // the Redis PING of /readyz
}

// redisLimits connects the budgets to the Redis at addr (HOST:PORT, or a
// redis:// or rediss:// URL with a password or database number). With
// failClosed, an unreachable Redis refuses logins (429) instead of falling
// back to budgets in this process; timeout bounds each call (0: the
// default).
func redisLimits(addr string, failClosed bool, timeout time.Duration, log *slog.Logger) (*sharedLimits, error) {
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
	limiter := func(prefix string, b zulipauth.Budget) (zulipauth.Limiter, error) {
		return redislimit.New(client, b, append(mode, redislimit.WithPrefix("zulipauth:"+prefix+":"))...)
	}
	var s sharedLimits
	var err error
	if s.login, err = limiter("login", zulipauth.DefaultUsernameBudget()); err != nil {
		client.Close()
		return nil, err
	}
	if s.ip, err = limiter("ip", zulipauth.DefaultIPBudget()); err != nil {
		client.Close()
		return nil, err
	}
	if s.user, err = limiter("user", zulipauth.DefaultUserBudget()); err != nil {
		client.Close()
		return nil, err
	}
	s.close = client.Close
	checkRedis(client, opts.Addr, health, failClosed, log)
	s.ping = func(ctx context.Context) error { return client.Ping(ctx).Err() }
	return &s, nil
}
