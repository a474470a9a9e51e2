package redislimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// newClient returns a go-redis client for the server, closed when the test
// ends. opts, if given, adjusts the options before the client is made.
func newClient(tb testing.TB, s *redistest.Server, opts ...func(*redis.Options)) *redis.Client {
	tb.Helper()
	o := &redis.Options{Addr: s.Addr()}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	return c
}

// newLimiter returns a limiter on client with a prefix of the test's own, and
// fails the test if New does.
func newLimiter(tb testing.TB, client redislimit.Client, b zulipauth.Budget, opts ...redislimit.Option) *redislimit.Limiter {
	tb.Helper()
	opts = append([]redislimit.Option{redislimit.WithPrefix("test:" + tb.Name() + ":")}, opts...)
	l, err := redislimit.New(client, b, opts...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return l
}

// logRecorder is a slog.Handler keeping each record as one line of text:
// the level, the message and the attributes.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", rec.Level, rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}

// Lines returns the records so far.
func (r *logRecorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// count returns how many records so far contain s.
func (r *logRecorder) count(s string) int {
	n := 0
	for _, l := range r.Lines() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// allow calls l.Allow and fails the test on an error.
func allow(tb testing.TB, l zulipauth.Limiter, key string) zulipauth.Decision {
	tb.Helper()
	d, err := l.Allow(context.Background(), key)
	if err != nil {
		tb.Fatalf("Allow(%q): %v", key, err)
	}
	return d
}
