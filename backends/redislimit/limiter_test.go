package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/backends/limitertest"
	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// conformanceTimeout bounds each call in the conformance runs, which check
// decisions, not outages: under -race on a loaded machine a call can take
// over the default 100 ms, and the in-process fallback taking over would
// then hand out a second budget (the outage tests use short timeouts).
const conformanceTimeout = 10 * time.Second

// Against one server, through each way of bounding a call (see bound.go).
func TestConformance(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	for _, tc := range []struct {
		name   string
		client redislimit.Client
	}{
		{"Client", newClient(t, s)},
		{"Client+ContextTimeoutEnabled", newClient(t, s, func(o *redis.Options) { o.ContextTimeoutEnabled = true })},
		{"unknown Client", wrappedClient{newClient(t, s)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			limitertest.Run(t, func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter {
				return newLimiter(t, tc.client, b, redislimit.WithTimeout(conformanceTimeout))
			})
		})
	}
}

// The script touches one key, so a Ring, which shards by key, runs it as
// one server does.
func TestConformanceRing(t *testing.T) {
	t.Parallel()
	shards := []*redistest.Server{redistest.Start(t), redistest.Start(t)}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": shards[0].Addr(), "b": shards[1].Addr()}})
	t.Cleanup(func() { ring.Close() })
	// After the parallel sub-tests: both shards hold buckets.
	t.Cleanup(func() {
		for i, s := range shards {
			if n := newClient(t, s).DBSize(context.Background()).Val(); n == 0 {
				t.Errorf("ring shard %d holds no key: the keys were not spread", i)
			}
		}
	})
	limitertest.Run(t, func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter {
		return newLimiter(t, ring, b, redislimit.WithTimeout(conformanceTimeout))
	})
}

// And so does a Redis Cluster (of one node, which owns every slot).
func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	admin := newClient(t, s)
	ctx := context.Background()
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := admin.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not become ready: %q, %v", info, err)
		}
	}
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{s.Addr()}})
	t.Cleanup(func() { cluster.Close() })
	limitertest.Run(t, func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter {
		return newLimiter(t, cluster, b, redislimit.WithTimeout(conformanceTimeout))
	})
}

func TestNewRejectsMisuse(t *testing.T) {
	t.Parallel()
	// No connection is made by New, so no server is needed.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })
	ok := zulipauth.Budget{Events: 5, Per: time.Minute}
	for _, tc := range []struct {
		name   string
		client redislimit.Client
		b      zulipauth.Budget
		opts   []redislimit.Option
		want   string // in the error
	}{
		{"nil client", nil, ok, nil, "client is nil"},
		{"nil *redis.Client", (*redis.Client)(nil), ok, nil, "client is nil"},
		{"zero budget", client, zulipauth.Budget{}, nil, "invalid budget"},
		{"negative events", client, zulipauth.Budget{Events: -1, Per: time.Minute}, nil, "invalid budget"},
		{"zero period", client, zulipauth.Budget{Events: 5}, nil, "invalid budget"},
		{"finer than a microsecond", client, zulipauth.Budget{Events: 2001, Per: time.Millisecond}, nil, "faster than one event per microsecond"},
		{"zero timeout", client, ok, []redislimit.Option{redislimit.WithTimeout(0)}, "timeout must be positive"},
		{"negative timeout", client, ok, []redislimit.Option{redislimit.WithTimeout(-time.Second)}, "timeout must be positive"},
		{"nil logger", client, ok, []redislimit.Option{redislimit.WithLogger(nil)}, "WithLogger(nil)"},
		{"nil option", client, ok, []redislimit.Option{nil}, "nil option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := redislimit.New(tc.client, tc.b, tc.opts...)
			if err == nil || l != nil {
				t.Fatalf("New = %v, %v; want an error", l, err)
			}
			if !strings.HasPrefix(err.Error(), "redislimit: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one starting with \"redislimit: \" and saying %q", err, tc.want)
			}
		})
	}
	// The finest budget that can be represented is accepted.
	if _, err := redislimit.New(client, zulipauth.Budget{Events: 1000, Per: time.Millisecond}); err != nil {
		t.Errorf("New with one event per microsecond: %v", err)
	}
}

// A request whose client went away, or whose deadline passed, gets its own
// error back, spends nothing, and is no outage.
func TestRequestContextErrors(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	client := newClient(t, s)
	logs := &logRecorder{}
	l := newLimiter(t, client, zulipauth.Budget{Events: 3, Per: time.Hour}, redislimit.WithLogger(slog.New(logs)))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"canceled", canceled, context.Canceled},
		{"past its deadline", expired, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := l.Allow(tc.ctx, "k"); !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "redislimit: ") {
				t.Errorf("Allow: %v, want a wrapped %v", err, tc.want)
			}
			if err := l.Reset(tc.ctx, "k"); !errors.Is(err, tc.want) {
				t.Errorf("Reset: %v, want a wrapped %v", err, tc.want)
			}
		})
	}
	if d := allow(t, l, "k"); !d.Allowed || d.Remaining != 2 {
		t.Errorf("after the failed calls: %+v, want the whole budget (Remaining 2)", d)
	}
	if lines := logs.Lines(); len(lines) != 0 {
		t.Errorf("logged %q; a request's own context is no outage", lines)
	}
}

// Pins the properties that make the keys safe to leave in a shared Redis:
// one key per bucket, each expiring once its bucket is full again (so a key
// nobody spends vanishes), none left without a TTL, and Reset deleting it.
func TestKeysExpireWhenFull(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	client := newClient(t, s)
	ctx := context.Background()
	b := zulipauth.Budget{Events: 10, Per: time.Minute}
	const prefix = "ttl:"
	l, err := redislimit.New(client, b, redislimit.WithPrefix(prefix), redislimit.WithTimeout(conformanceTimeout))
	if err != nil {
		t.Fatal(err)
	}

	// 64 callers on one key, as in the suite, against this real server.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted int
		last    = map[string]zulipauth.Decision{}
	)
	for range 64 {
		wg.Go(func() {
			for range 3 {
				d, err := l.Allow(ctx, "one")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if d.Allowed {
					granted++
					if d.ResetAfter > last["one"].ResetAfter {
						last["one"] = d
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != b.Events {
		t.Fatalf("64 callers × 3 on one key: %d allowed, want %d", granted, b.Events)
	}
	for i := range 5 {
		k := "key" + strconv.Itoa(i)
		for range i + 1 {
			last[k] = allow(t, l, k)
		}
	}
	// A refusal writes nothing: no key for a bucket that was never
	// allowed anything cannot appear, and a full one is not refused.
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(last) {
		t.Errorf("%d keys in Redis (%q), want one per bucket spent: %d", len(keys), keys, len(last))
	}
	for _, key := range keys {
		name := strings.TrimPrefix(key, prefix)
		ttl, err := client.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		full := last[name].ResetAfter
		switch {
		case ttl <= 0:
			t.Errorf("%s has no TTL (%v): it would stay forever", key, ttl)
		case ttl > b.Per:
			t.Errorf("%s: TTL %v, longer than the bucket's refill time %v", key, ttl, b.Per)
		case ttl > full.Truncate(time.Millisecond)+time.Millisecond:
			t.Errorf("%s: TTL %v, longer than the %v until its bucket is full", key, ttl, full)
		}
	}
	if err := l.Reset(ctx, "key0"); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(ctx, prefix+"key0").Val(); n != 0 {
		t.Errorf("after Reset the key is still there")
	}
}

// When Redis forgot the script (a restart, a failover, SCRIPT FLUSH), the
// next decision sends it again and keeps the bucket's state.
func TestScriptFlushed(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	client := newClient(t, s)
	logs := &logRecorder{}
	l := newLimiter(t, client, zulipauth.Budget{Events: 5, Per: time.Hour}, redislimit.WithLogger(slog.New(logs)), redislimit.WithTimeout(conformanceTimeout))
	allow(t, l, "k")
	allow(t, l, "k")
	ctx := context.Background()
	for round := range 2 {
		if err := client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		before := commandCalls(t, client)
		if d := allow(t, l, "k"); !d.Allowed || d.Remaining != 2-round {
			t.Fatalf("after SCRIPT FLUSH: %+v, want allowed with Remaining %d", d, 2-round)
		}
		after := commandCalls(t, client)
		if got := after["eval"] - before["eval"]; got != 1 {
			t.Errorf("after SCRIPT FLUSH: %d EVAL, want 1 (the script sent again)", got)
		}
	}
	if lines := logs.Lines(); len(lines) != 0 {
		t.Errorf("logged %q; a flushed script is no outage", lines)
	}
}

// Pins one round trip per decision: N decisions are N EVALSHA from the
// client and nothing else (no SCRIPT LOAD, no EXISTS, no second command).
// Redis counts the commands a script runs too: each decision reads TIME and
// GET, and only an allowed one writes (SET), so this also pins that a
// refusal writes nothing.
func TestOneRoundTripPerDecision(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	client := newClient(t, s)
	admin := newClient(t, s)
	l := newLimiter(t, client, zulipauth.Budget{Events: 3, Per: time.Hour}, redislimit.WithTimeout(conformanceTimeout))
	allow(t, l, "warm-up") // opens the connection, loads the script
	const n = 20
	before := commandCalls(t, admin)
	allowed := 0
	for i := range n {
		if allow(t, l, fmt.Sprint("k", i%4)).Allowed { // 3 allowed, then refused, per key
			allowed++
		}
	}
	after := commandCalls(t, admin)
	if allowed != 12 {
		t.Fatalf("%d allowed of %d, want 12", allowed, n)
	}
	for cmd, calls := range after {
		want := before[cmd]
		switch cmd {
		case "evalsha", "time", "get":
			want += n
		case "set":
			want += allowed
		case "info":
			want++ // the INFO that read these
		}
		if calls != want {
			t.Errorf("%s: %d calls during %d decisions, want %d", cmd, calls-before[cmd], n, want-before[cmd])
		}
	}
}

// commandCalls reads INFO commandstats: calls per command.
func commandCalls(t testing.TB, client *redis.Client) map[string]int {
	t.Helper()
	info, err := client.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		// cmdstat_evalsha:calls=20,usec=180,usec_per_call=9.00,...
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(stats, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("INFO commandstats: %q: %v", line, err)
				}
				calls[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	if len(calls) == 0 {
		t.Fatalf("INFO commandstats: no command in %q", info)
	}
	return calls
}
