package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

const (
	outageLine    = "redislimit: Redis is unavailable"
	backLine      = "redislimit: Redis answers again"
	redisPassword = "s3cret-redis-password"
)

// hangLimit is how long a call may take before the test calls it a hang.
// It is no speed measurement: the client below waits 30 s for an answer, so
// a call that is not bounded by the limiter's 100 ms takes 30 s, not 5.
const hangLimit = 5 * time.Second

// How a client bounds a call, and so which of the limiter's three ways of
// bounding calls a test exercises (see bound.go).
type clientKind int

const (
	plainClient    clientKind = iota // *redis.Client, default options: the WithTimeout clone
	contextsClient                   // *redis.Client with ContextTimeoutEnabled: the context
	unknownClient                    // a wrapper New does not know: a goroutine per call
)

func (k clientKind) String() string {
	return [...]string{"Client", "Client+ContextTimeoutEnabled", "unknown Client"}[k]
}

// wrappedClient is a Client of a type New does not recognise.
type wrappedClient struct{ *redis.Client }

// slowClient is a client of the given kind that waits for a hung server
// 30 s, so only the limiter's own bound can make a call return in time. It
// counts the commands the limiter sends through it, except for the plain
// kind: the limiter calls that one's WithTimeout clone, which runs none of
// its hooks (count those calls with tried).
func slowClient(t *testing.T, s *redistest.Server, kind clientKind) (redislimit.Client, *atomic.Int64) {
	t.Helper()
	c := newClient(t, s, func(o *redis.Options) {
		o.Password = redisPassword
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 30*time.Second, 30*time.Second, 30*time.Second
		o.ContextTimeoutEnabled = kind == contextsClient
	})
	sent := &atomic.Int64{}
	c.AddHook(countingHook{sent})
	if kind == unknownClient {
		return wrappedClient{c}, sent
	}
	return c, sent
}

// tried is how many calls the limiters made to Redis, answered or not
// (Stats.Calls): what the outage tests bound, for every kind of client.
func tried(ls ...*redislimit.Limiter) int64 {
	var n int64
	for _, l := range ls {
		n += int64(l.Stats().Calls)
	}
	return n
}

type countingHook struct{ n *atomic.Int64 }

func (h countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// allowSoon is Allow, failing the test if the call hangs.
func allowSoon(t *testing.T, l zulipauth.Limiter, ctx context.Context, key string) (zulipauth.Decision, error) {
	t.Helper()
	type result struct {
		d   zulipauth.Decision
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := l.Allow(ctx, key)
		done <- result{d, err}
	}()
	select {
	case r := <-done:
		return r.d, r.err
	case <-time.After(hangLimit):
		t.Fatalf("Allow(%q) hung for %v while Redis did not answer", key, hangLimit)
		return zulipauth.Decision{}, nil
	}
}

// spend calls Allow until the first refusal and returns how many were
// allowed; the budgets in these tests are a few events.
func spend(t *testing.T, l zulipauth.Limiter, key string) int {
	t.Helper()
	for n := 0; n < 100; n++ {
		d, err := allowSoon(t, l, context.Background(), key)
		if err != nil {
			t.Fatalf("Allow(%q): %v", key, err)
		}
		if !d.Allowed {
			return n
		}
	}
	t.Fatalf("Allow(%q): 100 allowed, no limit", key)
	return 0
}

// waitForRedis calls Allow on a key of its own until the limiter logs that
// Redis answers again, which it may do once per ProbeInterval.
func waitForRedis(t *testing.T, l zulipauth.Limiter, logs *logRecorder) {
	t.Helper()
	for deadline := time.Now().Add(10 * redislimit.ProbeInterval); logs.count(backLine) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the limiter did not use Redis again; logs: %q", logs.Lines())
		}
		allowSoon(t, l, context.Background(), "probe")
	}
}

// checkLogs fails the test unless there was exactly one outage line and
// the given number of lines saying Redis answers again, and no line holds
// the password.
func checkLogs(t *testing.T, logs *logRecorder, wantBack int) {
	t.Helper()
	if n := logs.count(outageLine); n != 1 {
		t.Errorf("%d outage lines, want 1: %q", n, logs.Lines())
	}
	if n := logs.count(backLine); n != wantBack {
		t.Errorf("%d lines saying Redis answers, want %d: %q", n, wantBack, logs.Lines())
	}
	for _, line := range logs.Lines() {
		if strings.Contains(line, redisPassword) {
			t.Errorf("a log line holds the password: %q", line)
		}
	}
}

// Redis crashes: the limiter goes on limiting in process, logs the outage
// once, and uses Redis again as soon as it is back.
func TestRedisKilled(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, "--requirepass", redisPassword)
	client, _ := slowClient(t, s, plainClient)
	logs := &logRecorder{}
	b := zulipauth.Budget{Events: 3, Per: time.Hour}
	l := newLimiter(t, client, b, redislimit.WithLogger(slog.New(logs)))
	if d := allow(t, l, "k"); d.Remaining != 2 {
		t.Fatalf("before the outage: %+v", d)
	}

	s.Kill()
	began, triedBefore := time.Now(), tried(l)
	if n := spend(t, l, "during"); n != b.Events {
		t.Errorf("during the outage: %d allowed, want the budget, %d, from the fallback", n, b.Events)
	}
	if n := spend(t, l, "during"); n != 0 {
		t.Errorf("during the outage, a spent key: %d more allowed", n)
	}
	if err := l.Reset(context.Background(), "during"); err != nil {
		t.Errorf("Reset during the outage: %v", err)
	}
	if n := spend(t, l, "during"); n != b.Events {
		t.Errorf("during the outage, after Reset: %d allowed, want %d", n, b.Events)
	}
	// One call began the outage; after it, one per ProbeInterval at most
	// tried Redis.
	probes := 1 + int(time.Since(began)/redislimit.ProbeInterval) + 1
	if got := tried(l) - triedBefore; got < 1 || got > int64(probes) {
		t.Errorf("%d calls to a dead Redis in %v, want 1 (the one that began the outage) to %d", got, time.Since(began), probes)
	}
	checkLogs(t, logs, 0)

	s.Restart() // empty: a crash without persistence loses the buckets
	waitForRedis(t, l, logs)
	if d := allow(t, l, "during"); !d.Allowed || d.Remaining != 2 {
		t.Errorf("Redis back: %+v, want Redis's (empty) bucket, not the fallback's", d)
	}
	checkLogs(t, logs, 1)
}

// Redis hangs (SIGSTOP: the kernel accepts connections, nothing answers),
// with a client that would wait 30 s: every call still returns within the
// limiter's timeout, limited by the fallback, and the shared budget applies
// again when Redis resumes, as it was. Each way of bounding a call is
// pinned.
func TestRedisHung(t *testing.T) {
	t.Parallel()
	for _, kind := range []clientKind{plainClient, contextsClient, unknownClient} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			s := redistest.Start(t, "--requirepass", redisPassword)
			client, sent := slowClient(t, s, kind)
			logs := &logRecorder{}
			b := zulipauth.Budget{Events: 3, Per: time.Hour}
			l := newLimiter(t, client, b, redislimit.WithLogger(slog.New(logs)))
			// A second instance of the application, with its own client.
			otherClient, _ := slowClient(t, s, kind)
			other := newLimiter(t, otherClient, b)
			allow(t, l, "shared")
			if d := allow(t, other, "shared"); d.Remaining != 1 {
				t.Fatalf("the other instance: %+v, want the shared budget (Remaining 1)", d)
			}

			s.Pause()
			// The client going away during the wait is its own error, no outage.
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			if _, err := allowSoon(t, l, ctx, "canceled"); !errors.Is(err, context.Canceled) {
				t.Errorf("request canceled while Redis hangs: %v, want context.Canceled", err)
			}
			if lines := logs.Lines(); len(lines) != 0 {
				t.Errorf("a canceled request was logged as an outage: %q", lines)
			}

			began, sentBefore, triedBefore := time.Now(), sent.Load(), tried(l)
			if n := spend(t, l, "during"); n != b.Events {
				t.Errorf("during the outage: %d allowed, want the budget, %d, from the fallback", n, b.Events)
			}
			for range 20 {
				if d, err := allowSoon(t, l, context.Background(), "during"); err != nil || d.Allowed {
					t.Fatalf("during the outage, a spent key: %+v, %v", d, err)
				}
			}
			probes := 1 + int(time.Since(began)/redislimit.ProbeInterval) + 1
			if got := tried(l) - triedBefore; got < 1 || got > int64(probes) {
				t.Errorf("%d calls to a hung Redis in %v, want 1 (the one that began the outage) to %d: the calls are paying the timeout", got, time.Since(began), probes)
			}
			if got := sent.Load() - sentBefore; kind != plainClient && (got < 1 || got > int64(probes)) {
				t.Errorf("%d commands sent to a hung Redis in %v, want 1 to %d", got, time.Since(began), probes)
			}
			checkLogs(t, logs, 0)

			s.Resume()
			waitForRedis(t, l, logs)
			// Redis kept "shared" at one event left; the fallback never saw it.
			if d := allow(t, l, "shared"); !d.Allowed || d.Remaining != 0 {
				t.Errorf("Redis back: %+v, want the shared bucket's last event", d)
			}
			if d := allow(t, other, "shared"); d.Allowed {
				t.Errorf("Redis back, the other instance: %+v, want refused (shared budget spent)", d)
			}
			checkLogs(t, logs, 1)
		})
	}
}

// With WithFailClosed, a limiter refuses everything while Redis is down,
// with a short Retry-After, and Reset says it could not clear the budget.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		down func(s *redistest.Server)
		up   func(s *redistest.Server)
	}{
		{"killed", (*redistest.Server).Kill, (*redistest.Server).Restart},
		{"hung", (*redistest.Server).Pause, (*redistest.Server).Resume},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := redistest.Start(t, "--requirepass", redisPassword)
			client, _ := slowClient(t, s, plainClient)
			logs := &logRecorder{}
			l := newLimiter(t, client, zulipauth.Budget{Events: 3, Per: time.Hour},
				redislimit.WithFailClosed(), redislimit.WithLogger(slog.New(logs)))
			allow(t, l, "k")

			tc.down(s)
			want := zulipauth.Decision{Limit: 3, RetryAfter: redislimit.FailClosedRetryAfter, ResetAfter: redislimit.FailClosedRetryAfter}
			for _, key := range []string{"k", "never-seen", "k"} {
				if d, err := allowSoon(t, l, context.Background(), key); err != nil || d != want {
					t.Errorf("Allow(%q) while Redis is down: %+v, %v; want %+v, nil", key, d, err, want)
				}
			}
			if err := l.Reset(context.Background(), "k"); !errors.Is(err, redislimit.ErrUnavailable) {
				t.Errorf("Reset while Redis is down: %v, want ErrUnavailable", err)
			}
			checkLogs(t, logs, 0)
			if n := logs.count("refusing every event"); n != 1 {
				t.Errorf("the outage line does not say the limiter refuses: %q", logs.Lines())
			}

			tc.up(s)
			waitForRedis(t, l, logs)
			if d := allow(t, l, "new"); !d.Allowed {
				t.Errorf("Redis back: %+v, want allowed", d)
			}
			checkLogs(t, logs, 1)
		})
	}
}

// slowKeyClient answers a key ending in "slow" only after slowKeyDelay, and
// every other key at once, as a Redis busy with a flood answers some calls
// late and others in time. A type New does not know: each call runs in a
// goroutine of its own, abandoned at the limiter's timeout.
type slowKeyClient struct{ *redis.Client }

const slowKeyDelay = 300 * time.Millisecond

func (c slowKeyClient) wait(keys []string) {
	if len(keys) > 0 && strings.HasSuffix(keys[0], "slow") {
		time.Sleep(slowKeyDelay)
	}
}

func (c slowKeyClient) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	c.wait(keys)
	return c.Client.EvalSha(ctx, sha, keys, args...)
}

func (c slowKeyClient) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	c.wait(keys)
	return c.Client.Eval(ctx, script, keys, args...)
}

// A call that times out while Redis answers other calls is answered without
// Redis, alone: no outage begins, and the calls after it use the shared
// budget. Pins a bug the load harness found: under a password spray on two
// cores, calls waited past the 100 ms timeout for go-redis's pool while
// Redis answered others, and each began an outage, a dozen in 20 s, so the
// shared budgets flipped to each instance's own (or, failing closed,
// refused every login). Without other answers, the same timeout is still an
// outage.
func TestSlowCallWhileOthersAnswerIsNoOutage(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	b := zulipauth.Budget{Events: 3, Per: time.Hour}
	logs := &logRecorder{}
	l := newLimiter(t, slowKeyClient{newClient(t, s)}, b, redislimit.WithLogger(slog.New(logs)))
	other := newLimiter(t, newClient(t, s), b) // another instance, same prefix: the shared budget
	allow(t, l, "warm")

	stop := make(chan struct{})
	answered := make(chan int)
	go func() {
		n := 0
		defer func() { answered <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				allow(t, l, fmt.Sprintf("fast-%d", n))
				n++
			}
		}
	}()
	d, err := allowSoon(t, l, context.Background(), "k-slow")
	close(stop)
	if n := <-answered; n == 0 {
		t.Fatal("no other call was answered while the slow one waited: the test proves nothing")
	}
	if err != nil || !d.Allowed {
		t.Errorf("the slow call: %+v, %v; want allowed by the fallback", d, err)
	}
	if n := logs.count(outageLine); n != 0 {
		t.Errorf("%d outage lines for one slow call while others were answered, want 0: %q", n, logs.Lines())
	}
	// The next calls use Redis: the other instance sees them.
	if n := spend(t, l, "shared"); n != b.Events {
		t.Fatalf("after the slow call: %d allowed, want %d", n, b.Events)
	}
	if d := allow(t, other, "shared"); d.Allowed {
		t.Errorf("the other instance: %+v, want refused: the calls after the slow one went to the fallback", d)
	}

	// Alone, the same slow call is an outage.
	if _, err := allowSoon(t, l, context.Background(), "alone-slow"); err != nil {
		t.Fatal(err)
	}
	if n := logs.count(outageLine); n != 1 {
		t.Errorf("%d outage lines after a slow call with no other answer, want 1: %q", n, logs.Lines())
	}
}
