package redislimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/backends/limitertest"
	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// A leased limiter is a Limiter like any other on one instance: its
// decisions are those of the shared bucket. Leases of 3 tokens make the
// suite's budgets (1 to 20 events) span one lease, a partial one and many.
func TestLeaseConformance(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	for _, tc := range []struct {
		name   string
		client redislimit.Client
	}{
		{"Client", newClient(t, s)},
		{"unknown Client", wrappedClient{newClient(t, s)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			limitertest.Run(t, func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter {
				return newLimiter(t, tc.client, b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(3))
			})
		})
	}
}

func TestWithLeaseRejectsMisuse(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })
	for _, size := range []int{0, -1} {
		l, err := redislimit.New(client, zulipauth.DefaultUserBudget(), redislimit.WithLease(size))
		if err == nil || l != nil || !strings.Contains(err.Error(), "WithLease") {
			t.Errorf("WithLease(%d): New = %v, %v; want an error naming WithLease", size, l, err)
		}
	}
}

// Pins what the lease changes and what it does not, on one instance: the
// same decisions as without (Allowed, Remaining, and the refusal's
// RetryAfter and ResetAfter, which the API's 429 and its Retry-After header
// are made of), for one EVALSHA per lease instead of one per decision.
func TestLeaseDecidesAsWithout(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	admin := newClient(t, s)
	const events, size = 10, 4
	b := zulipauth.Budget{Events: events, Per: time.Hour}
	interval := b.Per / events
	plain := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithPrefix("plain:"))
	leased := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithPrefix("leased:"), redislimit.WithLease(size))
	allow(t, plain, "warm-up")
	allow(t, leased, "warm-up")

	start := time.Now()
	before := commandCalls(t, admin)
	var got []zulipauth.Decision
	for range events + 3 {
		got = append(got, allow(t, leased, "k"))
	}
	after := commandCalls(t, admin)
	// 4 + 4 + 2 tokens, then each of the 3 refusals asks Redis.
	if n := after["evalsha"] - before["evalsha"]; n != 3+3 {
		t.Errorf("%d EVALSHA for %d decisions with leases of %d, want 6: one per lease and one per refusal", n, events+3, size)
	}
	for i, d := range got {
		want := allow(t, plain, "k")
		elapsed := time.Since(start)
		if d.Allowed != want.Allowed || d.Remaining != want.Remaining || d.Limit != want.Limit {
			t.Errorf("decision %d: %+v with leases, %+v without", i+1, d, want)
		}
		if !near(d.ResetAfter, want.ResetAfter, elapsed) || !near(d.RetryAfter, want.RetryAfter, elapsed) {
			t.Errorf("decision %d: RetryAfter %v, ResetAfter %v with leases; %v, %v without", i+1, d.RetryAfter, d.ResetAfter, want.RetryAfter, want.ResetAfter)
		}
		if !d.Allowed && (d.RetryAfter > interval || d.RetryAfter < interval-elapsed-time.Millisecond) {
			t.Errorf("refusal %d: RetryAfter %v, want the rest of one token's refill (%v)", i+1, d.RetryAfter, interval)
		}
	}
}

// near reports whether a and b differ by no more than the time that passed
// between them, and a millisecond.
func near(a, b, elapsed time.Duration) bool {
	return (a - b).Abs() <= elapsed+time.Millisecond
}

// Pins the over-grant bound under concurrency on two instances: a lease's
// tokens are taken from the shared bucket before they are spent, so the two
// never allow more than the budget between them; and once the bucket
// refuses (here, a third instance without leases spends it), they allow
// no more than the tokens their leases held then, at most instances × lease
// size.
func TestLeaseOverGrantBound(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	const size, callers = 10, 32
	b := zulipauth.Budget{Events: 100, Per: 24 * time.Hour} // no refill during the test
	instances := func(t *testing.T) []*redislimit.Limiter {
		var ls []*redislimit.Limiter
		for range 2 {
			ls = append(ls, newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(size)))
		}
		return ls
	}
	// hammer spends key from callers goroutines on each instance, each
	// until its first refusal, and returns how many were allowed.
	hammer := func(t *testing.T, ls []*redislimit.Limiter, key string) int {
		var (
			mu      sync.Mutex
			allowed int
			wg      sync.WaitGroup
		)
		start := make(chan struct{})
		for _, l := range ls {
			for range callers {
				wg.Go(func() {
					<-start
					for {
						d, err := l.Allow(context.Background(), key)
						if err != nil {
							t.Error(err)
							return
						}
						if !d.Allowed {
							return
						}
						mu.Lock()
						allowed++
						mu.Unlock()
					}
				})
			}
		}
		close(start)
		wg.Wait()
		return allowed
	}

	t.Run("from a full bucket", func(t *testing.T) {
		t.Parallel()
		if n := hammer(t, instances(t), "k"); n != b.Events {
			t.Errorf("2 instances × %d callers: %d allowed, want the budget, %d", callers, n, b.Events)
		}
	})
	t.Run("after a refusal", func(t *testing.T) {
		t.Parallel()
		ls := instances(t)
		for _, l := range ls {
			allow(t, l, "k") // each holds a lease with size-1 tokens left
		}
		shared := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout))
		n := spendAll(t, shared, "k")
		if want := b.Events - len(ls)*size; n != want {
			t.Fatalf("the instance without leases: %d allowed, want %d (the budget less the leases)", n, want)
		}
		after := hammer(t, ls, "k")
		if bound := len(ls) * size; after > bound {
			t.Errorf("after the bucket refused: %d allowed, over the bound of %d (instances × lease size)", after, bound)
		}
		if want := len(ls) * (size - 1); after != want {
			t.Errorf("after the bucket refused: %d allowed, want the tokens the leases held, %d", after, want)
		}
	})
}

// spendAll calls Allow until the first refusal, and returns how many were
// allowed.
func spendAll(t *testing.T, l zulipauth.Limiter, key string) int {
	t.Helper()
	for n := 0; ; n++ {
		if d := allow(t, l, key); !d.Allowed {
			return n
		}
	}
}

// Pins that a key refused on one instance is refused on every other within
// LeaseLifetime, even with a lease renewed for longer than that: an
// instance spends a lease only within LeaseLifetime of a moment Redis showed
// the bucket was not refusing, and what is left then is dropped, not given
// back, since the bucket is spent.
func TestLeaseRefusalReachesEveryInstance(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	const size = 10
	b := zulipauth.Budget{Events: 30, Per: 24 * time.Hour}
	a := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(size))
	other := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(size))
	// The over-grant must be seen within half a lifetime of the refusal; a
	// machine too busy for that gets another try, on a key of its own, and
	// fails only when no try was quick enough.
	const tries = 3
	for try := range tries {
		if refusalReachesEveryInstance(t, a, other, fmt.Sprint("k", try), size, b) {
			return
		}
	}
	t.Fatalf("in %d tries, the machine was never quick enough to see the other instance's lease before it ended", tries)
}

// refusalReachesEveryInstance is one try of
// TestLeaseRefusalReachesEveryInstance on key; false when the machine was
// too slow to see the lease before it ended.
func refusalReachesEveryInstance(t *testing.T, a, other zulipauth.Limiter, key string, size int, b zulipauth.Budget) bool {
	t.Helper()
	allow(t, other, key) // other takes a lease, and holds size-1 tokens
	// Renewed while the bucket has tokens: the lease outlives LeaseLifetime.
	time.Sleep(redislimit.LeaseLifetime + redislimit.LeaseRenewInterval)
	if d := allow(t, other, key); !d.Allowed || d.Remaining != b.Events-2 {
		t.Fatalf("the other instance, %v after its lease: %+v, want its lease's second token (Remaining %d)", redislimit.LeaseLifetime+redislimit.LeaseRenewInterval, d, b.Events-2)
	}
	if n := spendAll(t, a, key); n != b.Events-size {
		t.Fatalf("a: %d allowed, want %d", n, b.Events-size)
	}
	refusedAt := time.Now()
	// The over-grant: the other instance spends some of its lease.
	for i := range 3 {
		if d := allow(t, other, key); !d.Allowed {
			if time.Since(refusedAt) > redislimit.LeaseLifetime/2 {
				t.Logf("the machine was too slow to see the lease before it ended: %v", time.Since(refusedAt))
				return false
			}
			t.Fatalf("the other instance, token %d of its lease: %+v", i+3, d)
		}
	}
	time.Sleep(time.Until(refusedAt.Add(redislimit.LeaseLifetime)))
	for i := range 3 {
		if d := allow(t, other, key); d.Allowed {
			t.Errorf("the other instance, %d: allowed a lifetime after a refusal elsewhere: %+v", i, d)
		}
		if d := allow(t, a, key); d.Allowed {
			t.Errorf("a, %d: allowed after its refusal: %+v", i, d)
		}
	}
	return true
}

// Pins the renewal: a key spent more slowly than its lease lasts keeps its
// lease, and a key spent steadily has it topped up by the renewals, so that
// its requests make one call to Redis, the first, not one per lease or per
// LeaseLifetime; every decision is still the one the bucket would make, and
// the lease never holds more than its size. Through a client that cannot
// pipeline, leases are neither renewed nor topped up: each lasts
// LeaseLifetime, and a key takes a new one every second.
func TestLeaseRenewed(t *testing.T) {
	t.Parallel()
	const size = 10
	b := zulipauth.Budget{Events: 100, Per: time.Hour}
	for _, tc := range []struct {
		name   string
		client func(*redis.Client) redislimit.Client
		events int // over 3 s
		calls  func(n uint64) bool
		want   string
	}{
		{"slow", func(c *redis.Client) redislimit.Client { return c }, 8, func(n uint64) bool { return n == 1 }, "1: the lease renewed"},
		{"steady", func(c *redis.Client) redislimit.Client { return c }, 18, func(n uint64) bool { return n == 1 }, "1: the lease topped up by the renewals"},
		{"no Pipeline", func(c *redis.Client) redislimit.Client { return scriptOnlyClient{c} }, 8, func(n uint64) bool { return n >= 3 }, "3 or more: one a second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := redistest.Start(t)
			l := newLimiter(t, tc.client(newClient(t, s)), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(size))
			before := l.Stats().Calls
			for i := range tc.events {
				if d := allow(t, l, "k"); !d.Allowed || d.Remaining != b.Events-1-i {
					t.Fatalf("event %d: %+v, want allowed with Remaining %d", i+1, d, b.Events-1-i)
				}
				time.Sleep(3 * time.Second / time.Duration(tc.events))
			}
			if n := l.Stats().Calls - before; !tc.calls(n) {
				t.Errorf("%d calls to Redis for %d events over 3 s with leases of %d, want %s", n, tc.events, size, tc.want)
			}
			// What the bucket holds: every event spent, and at most one
			// lease's tokens taken ahead.
			plain := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout))
			d := allow(t, plain, "k")
			if spent := b.Events - 1 - d.Remaining; spent < tc.events+1 || spent > tc.events+1+size {
				t.Errorf("the bucket counts %d events (%+v) after %d and one more, want at most %d more: one lease", spent, d, tc.events, size)
			}
		})
	}
}

// scriptOnlyClient is a Client with nothing more: no Pipeline.
type scriptOnlyClient struct{ c *redis.Client }

func (s scriptOnlyClient) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return s.c.Eval(ctx, script, keys, args...)
}
func (s scriptOnlyClient) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return s.c.EvalSha(ctx, sha1, keys, args...)
}
func (s scriptOnlyClient) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return s.c.EvalRO(ctx, script, keys, args...)
}
func (s scriptOnlyClient) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return s.c.EvalShaRO(ctx, sha1, keys, args...)
}
func (s scriptOnlyClient) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return s.c.ScriptExists(ctx, hashes...)
}
func (s scriptOnlyClient) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return s.c.ScriptLoad(ctx, script)
}
func (s scriptOnlyClient) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return s.c.Del(ctx, keys...)
}

// Pins that tokens a lease did not spend go back to the shared bucket with
// the next lease once it ended, while the bucket is not spent: without that, a user whose
// requests a load balancer spreads over several instances would lose most
// of each instance's lease every second, and be refused far below the
// budget.
func TestLeaseUnspentTokensGoBack(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	const size = 10
	b := zulipauth.Budget{Events: 20, Per: 24 * time.Hour}
	a := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(size))
	other := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(size))

	allow(t, a, "k")
	// Unused, the lease is renewed for LeaseRenewIdle, and ends a lifetime
	// after its last renewal.
	time.Sleep(redislimit.LeaseRenewIdle + redislimit.LeaseLifetime)
	// 9 tokens back, 10 taken: 2 spent, 9 in a's lease, 9 in Redis.
	if d := allow(t, a, "k"); !d.Allowed || d.Remaining != b.Events-2 {
		t.Errorf("a's second lease: %+v, want Remaining %d, as without leases", d, b.Events-2)
	}
	if n := spendAll(t, other, "k"); n != b.Events-2-(size-1) {
		t.Errorf("the other instance: %d allowed, want %d: the first lease's unspent tokens did not go back", n, b.Events-2-(size-1))
	}
}

// A Redis outage in the middle of a lease: the instance spends what it
// holds without calling Redis (the tokens were taken from the shared
// budget already), then answers as any limiter does during an outage, with
// one line in the log, and uses Redis again when it is back.
func TestLeaseOutageMidLease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		down, up   func(*redistest.Server)
		failClosed bool
	}{
		{"killed", (*redistest.Server).Kill, (*redistest.Server).Restart, false},
		{"hung", (*redistest.Server).Pause, (*redistest.Server).Resume, false},
		{"killed, failing closed", (*redistest.Server).Kill, (*redistest.Server).Restart, true},
		{"hung, failing closed", (*redistest.Server).Pause, (*redistest.Server).Resume, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := redistest.Start(t, "--requirepass", redisPassword)
			client, _ := slowClient(t, s, plainClient)
			logs := &logRecorder{}
			const size = 5
			b := zulipauth.Budget{Events: 8, Per: time.Hour}
			opts := []redislimit.Option{redislimit.WithLogger(slog.New(logs)), redislimit.WithLease(size)}
			if tc.failClosed {
				opts = append(opts, redislimit.WithFailClosed())
			}
			l := newLimiter(t, client, b, opts...)
			if d := allow(t, l, "k"); !d.Allowed || d.Remaining != b.Events-1 {
				t.Fatalf("before the outage: %+v", d)
			}

			tc.down(s)
			triedBefore := tried(l)
			for i := range size - 1 {
				d, err := allowSoon(t, l, context.Background(), "k")
				if err != nil || !d.Allowed || d.Remaining != b.Events-2-i {
					t.Errorf("token %d of the lease while Redis is down: %+v, %v; want allowed, Remaining %d", i+2, d, err, b.Events-2-i)
				}
			}
			if n := tried(l) - triedBefore; n != 0 {
				t.Errorf("%d calls to Redis while spending the lease, want none", n)
			}
			if lines := logs.Lines(); len(lines) != 0 {
				t.Errorf("logged %q while spending the lease: no call, no outage yet", lines)
			}

			// The lease is spent: the next call finds Redis down.
			if tc.failClosed {
				want := zulipauth.Decision{Limit: b.Events, RetryAfter: redislimit.FailClosedRetryAfter, ResetAfter: redislimit.FailClosedRetryAfter}
				for _, key := range []string{"k", "other", "k"} {
					if d, err := allowSoon(t, l, context.Background(), key); err != nil || d != want {
						t.Errorf("Allow(%q) after the lease, Redis down: %+v, %v; want %+v", key, d, err, want)
					}
				}
			} else if n := spend(t, l, "k"); n != b.Events {
				t.Errorf("after the lease, Redis down: %d allowed, want the in-process budget, %d", n, b.Events)
			}
			checkLogs(t, logs, 0)
			if tc.failClosed && logs.count("refusing every event") != 1 {
				t.Errorf("the outage line does not say the limiter refuses: %q", logs.Lines())
			}

			tc.up(s)
			waitForRedis(t, l, logs)
			if strings.HasPrefix(tc.name, "killed") {
				// Redis lost the bucket.
				if d := allow(t, l, "k"); !d.Allowed || d.Remaining != b.Events-1 {
					t.Errorf("Redis back: %+v, want Redis's new bucket, Remaining %d", d, b.Events-1)
				}
			} else {
				// Redis kept it: one lease spent, and the call that found
				// Redis hung took what was left once Redis resumed (as
				// any call that times out may have counted in Redis), so
				// no instance gets a fresh budget out of the outage.
				if d := allow(t, l, "k"); d.Allowed && d.Remaining > b.Events-size-1 {
					t.Errorf("Redis back: %+v, want at most what the bucket kept, Remaining %d", d, b.Events-size-1)
				}
				if d := allow(t, l, "fresh"); !d.Allowed || d.Remaining != b.Events-1 {
					t.Errorf("Redis back, a new key: %+v", d)
				}
			}
			checkLogs(t, logs, 1)
		})
	}
}

// No renewal is tried while the Health a limiter shares says Redis does not
// answer: an outage another limiter of that Health met, or the host marked.
// (The renewals once read the limiter's own health, which WithHealth leaves
// unused, and went on waiting out their timeout through shared outages.)
func TestLeaseNoRenewalDuringSharedOutage(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	// With ContextTimeoutEnabled the limiter calls the client itself, whose
	// hooks then see the renewals (a WithTimeout clone runs none).
	c := newClient(t, s, func(o *redis.Options) { o.ContextTimeoutEnabled = true })
	pipelines := &atomic.Int64{}
	c.AddHook(pipelineCounter{pipelines})
	h := redislimit.NewHealth()
	l := newLimiter(t, c, zulipauth.Budget{Events: 100, Per: time.Hour}, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(10), redislimit.WithHealth(h))
	allow(t, l, "k") // a lease in use: renewed every LeaseRenewInterval while Redis answers
	// While Redis answers, the renewals are sent: what follows counts
	// something that happens.
	deadline := time.Now().Add(3 * redislimit.LeaseRenewInterval)
	for pipelines.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no renewal within %v of a lease, while Redis answers", 3*redislimit.LeaseRenewInterval)
		}
		time.Sleep(10 * time.Millisecond)
	}
	allow(t, l, "k") // used again: still renewable through the outage's time
	h.MarkUnavailable()
	before := pipelines.Load()
	time.Sleep(2*redislimit.LeaseRenewInterval + redislimit.LeaseRenewInterval/2)
	if n := pipelines.Load() - before; n != 0 {
		t.Errorf("%d renewals sent during the shared outage, want none", n)
	}
}

// pipelineCounter counts the pipelines a client sends.
type pipelineCounter struct{ n *atomic.Int64 }

func (h pipelineCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h pipelineCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h pipelineCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// Reset forgets the instance's lease with the bucket: the key's whole
// budget is there again, and a lease taken before does not linger.
func TestLeaseReset(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	b := zulipauth.Budget{Events: 5, Per: time.Hour}
	l := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(3))
	if n := spendAll(t, l, "k"); n != b.Events {
		t.Fatalf("%d allowed, want %d", n, b.Events)
	}
	allow(t, l, "j") // a lease of 3, 2 left
	for _, key := range []string{"k", "j"} {
		if err := l.Reset(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		if d := allow(t, l, key); !d.Allowed || d.Remaining != b.Events-1 {
			t.Errorf("%s after Reset: %+v, want a full bucket (Remaining %d)", key, d, b.Events-1)
		}
	}
}

// Many keys: each has a lease of its own, and the leases of keys nobody
// spends any more are forgotten (see lease_internal_test.go).
func TestLeaseManyKeys(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	admin := newClient(t, s)
	b := zulipauth.Budget{Events: 50, Per: time.Hour}
	l := newLimiter(t, newClient(t, s), b, redislimit.WithTimeout(conformanceTimeout), redislimit.WithLease(10))
	allow(t, l, "warm-up")
	const keys, tries = 200, 3
	// The rounds must end within the leases' lifetime; a machine too busy
	// for that gets another try, on keys of its own, and fails only when
	// no try was quick enough.
	for try := range tries {
		start, before := time.Now(), commandCalls(t, admin)
		for round := range 3 {
			for k := range keys {
				if d := allow(t, l, fmt.Sprint("try", try, "user", k)); !d.Allowed || d.Remaining != b.Events-1-round {
					t.Fatalf("try %d, round %d, key %d: %+v", try, round, k, d)
				}
			}
		}
		if took := time.Since(start); took >= redislimit.LeaseLifetime {
			t.Logf("try %d: the rounds took %v, past the leases' lifetime: the machine was too slow to count round trips", try, took)
			continue
		}
		if n := commandCalls(t, admin)["evalsha"] - before["evalsha"]; n != keys {
			t.Errorf("%d EVALSHA for 3 rounds of %d keys with leases of 10, want one per key: %d", n, keys, keys)
		}
		return
	}
	t.Fatalf("in %d tries, the rounds never ended within the leases' lifetime", tries)
}
