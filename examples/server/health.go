package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The health checks' paths, on the metrics listener and, with
// -health-on-main, on the main one.
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
)

// healthHandler answers /healthz and /readyz; anything else is next's
// (nil: 404). It sits in front of zulipauth's handlers, so that no budget
// ever refuses a probe.
func (o *observer) healthHandler(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case healthzPath:
			answerProbe(w, r, http.StatusOK, "ok\n")
		case readyzPath:
			status, body := o.ready(r.Context(), log)
			answerProbe(w, r, status, body)
		default:
			if next == nil {
				http.NotFound(w, r)
				return
			}
			next.ServeHTTP(w, r)
		}
	})
}

// answerProbe writes a probe's plain-text answer, never cached.
func answerProbe(w http.ResponseWriter, r *http.Request, status int, body string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		fmt.Fprint(w, body)
	}
}

// check is one readiness check: its name, whether the server is ready
// without it (then its failure is reported, not decisive), what to say
// when it fails and is not required, and the probe itself.
type check struct {
	name     string
	optional string // why the server is ready without it; "" when required
	run      func(ctx context.Context) error
}

// checks are the readiness checks of the parts buildHandler wired.
func (o *observer) checks() []check {
	cs := []check{{name: "store", run: func(ctx context.Context) error {
		_, err := o.store.LastChange(ctx) // one indexed query, through the pool
		return err
	}}}
	if o.redis != nil {
		c := check{name: "redis", run: o.redis.ping}
		if !o.redisFailClosed {
			c.optional = "the budgets are kept in this process until it answers"
		}
		cs = append(cs, c)
	}
	if o.dir != nil {
		c := check{name: "ldap", run: o.dir.Ping}
		if !o.ldapOnly {
			c.optional = "passwords are checked without it"
		}
		cs = append(cs, c)
	}
	return cs
}

// beginShutdown makes /readyz answer 503 "shutting down" from now on, for
// the drain of the graceful shutdown (refserver.ServeDraining). A nil
// observer serves no /readyz: nothing to do.
func (o *observer) beginShutdown() {
	if o != nil {
		o.shuttingDown.Store(true)
	}
}

// ready runs every check at once, each bounded by readyTimeout, and says
// whether the server is ready: 200 and "ready", or 503 and "not ready",
// then a line per check. A line names the check and how it failed
// (refused, no answer in time, failed), never the error itself, which goes
// to the log when the check's state changes.
func (o *observer) ready(ctx context.Context, log *slog.Logger) (int, string) {
	if o.shuttingDown.Load() {
		return http.StatusServiceUnavailable, "not ready\nshutting down\n"
	}
	cs := o.checks()
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { errs[i] = bounded(ctx, o.readyTimeout, c.run) })
	}
	wg.Wait()
	ready := true
	var lines []string
	for i, c := range cs {
		o.probes.report(log, c.name, errs[i])
		if errs[i] == nil {
			lines = append(lines, c.name+": ok")
			continue
		}
		line := c.name + ": " + describeFailure(errs[i], o.readyTimeout)
		if c.optional != "" {
			line += " (ready without it: " + c.optional + ")"
		} else {
			ready = false
		}
		lines = append(lines, line)
	}
	if !ready {
		return http.StatusServiceUnavailable, "not ready\n" + strings.Join(lines, "\n") + "\n"
	}
	return http.StatusOK, "ready\n" + strings.Join(lines, "\n") + "\n"
}

// errNoAnswer is a check that did not answer within its bound.
var errNoAnswer = errors.New("no answer in time")

// bounded runs f with a context ending after timeout and returns by then
// whatever f does: a driver that does not honour the context (go-redis
// without ContextTimeoutEnabled, say) cannot hold a probe.
func bounded(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		if err != nil && ctx.Err() != nil {
			return errNoAnswer
		}
		return err
	case <-ctx.Done():
		return errNoAnswer
	}
}

// describeFailure says how a check failed, without its error's text, which
// may name a host, a user or a database.
func describeFailure(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, errNoAnswer):
		return fmt.Sprintf("failed: no answer within %v", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "failed: connection refused"
	}
	return "failed (the server's log says why)"
}

// probeLog logs a readiness check's error when its state changes, not at
// every probe: a load balancer probes every few seconds.
type probeLog struct {
	mu     sync.Mutex
	failed map[string]bool
}

func (p *probeLog) report(log *slog.Logger, name string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed == nil {
		p.failed = map[string]bool{}
	}
	switch {
	case err != nil && !p.failed[name]:
		p.failed[name] = true
		log.Warn("readiness: a check fails", "check", name, "error", err)
	case err == nil && p.failed[name]:
		p.failed[name] = false
		log.Info("readiness: a check passes again", "check", name)
	}
}
