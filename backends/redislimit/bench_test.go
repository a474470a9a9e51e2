package redislimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// benchKeys is how many keys the benchmarks spread decisions over, with a
// budget that none of them exhausts.
const benchKeys = 1024

var benchBudget = zulipauth.Budget{Events: 10_000_000, Per: time.Minute}

func benchKeyNames() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "user" + strconv.Itoa(i) + "@zulip.com"
	}
	return keys
}

// BenchmarkAllow measures one decision in Redis, serially and from 64
// goroutines.
func BenchmarkAllow(b *testing.B) {
	client := newClient(b, redistest.Start(b))
	// A timeout that load on the machine cannot reach: an outage would
	// measure the in-process fallback instead of Redis.
	logs := &logRecorder{}
	l := newLimiter(b, client, benchBudget, redislimit.WithTimeout(time.Minute), redislimit.WithLogger(slog.New(logs)))
	b.Cleanup(func() {
		if lines := logs.Lines(); len(lines) != 0 {
			b.Errorf("Redis was unavailable during the benchmark: %q", lines)
		}
	})
	keys := benchKeyNames()
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := l.Allow(ctx, keys[i%benchKeys]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel64", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(64 / runtime.GOMAXPROCS(0)) // 64 callers, as in BenchmarkVersusRedisRate
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Allow(ctx, keys[n.Add(1)%benchKeys]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkVersusRedisRate compares, in one run, decisions per second of
// this limiter with github.com/go-redis/redis_rate/v10's on the same Redis,
// the same go-redis client and the same budget (PerMinute), from 1 and from
// 64 concurrent callers, with go-redis's default options and with
// ContextTimeoutEnabled. ratio is ours over theirs, the median of paired
// rounds (short rounds alternate, so that drift in the machine's speed falls
// on both alike). The machine is shared, so the CPU time each decision cost
// is reported too, which load from elsewhere moves less: in this process
// (client_µs) and in redis-server (redis_µs), ours and theirs.
// allocs/decision is ours.
// Run: go test -run '^$' -bench VersusRedisRate -benchtime 1x ./backends/redislimit
func BenchmarkVersusRedisRate(b *testing.B) {
	s := redistest.Start(b)
	admin := newClient(b, s)
	for _, client := range []struct {
		name string
		opts func(*redis.Options)
	}{
		{"client=default", func(*redis.Options) {}},
		{"client=ContextTimeoutEnabled", func(o *redis.Options) { o.ContextTimeoutEnabled = true }},
	} {
		b.Run(client.name, func(b *testing.B) {
			c := newClient(b, s, client.opts)
			// A timeout that load on the machine cannot reach: an outage
			// would measure the in-process fallback instead of Redis.
			logs := &logRecorder{}
			ours, err := redislimit.New(c, benchBudget, redislimit.WithTimeout(time.Minute), redislimit.WithLogger(slog.New(logs)))
			if err != nil {
				b.Fatal(err)
			}
			benchVersus(b, admin, ours, redis_rate.NewLimiter(c))
			if lines := logs.Lines(); len(lines) != 0 {
				b.Fatalf("Redis was unavailable during the benchmark: %q", lines)
			}
		})
	}
}

func benchVersus(b *testing.B, admin *redis.Client, ours *redislimit.Limiter, theirs *redis_rate.Limiter) {
	theirLimit := redis_rate.PerMinute(benchBudget.Events)
	keys := benchKeyNames()
	ctx := context.Background()
	oursOnce := func(i int) error {
		d, err := ours.Allow(ctx, keys[i%benchKeys])
		if err == nil && !d.Allowed {
			err = fmt.Errorf("refused: %+v", d)
		}
		return err
	}
	theirsOnce := func(i int) error {
		r, err := theirs.Allow(ctx, keys[i%benchKeys], theirLimit)
		if err == nil && r.Allowed != 1 {
			err = fmt.Errorf("refused: %+v", r)
		}
		return err
	}
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			const round, rounds = 100 * time.Millisecond, 10
			measure(b, admin, round, callers, oursOnce) // warm both up
			measure(b, admin, round, callers, theirsOnce)
			b.ResetTimer()
			for range b.N {
				var o, t sample
				ratios := make([]float64, rounds)
				for r := range rounds {
					so := measure(b, admin, round, callers, oursOnce)
					st := measure(b, admin, round, callers, theirsOnce)
					o, t = o.add(so), t.add(st)
					ratios[r] = so.perSecond() / st.perSecond()
				}
				slices.Sort(ratios)
				b.ReportMetric((ratios[rounds/2-1]+ratios[rounds/2])/2, "ratio")
				b.ReportMetric(o.perSecond(), "our_decisions/s")
				b.ReportMetric(t.perSecond(), "redis_rate_decisions/s")
				b.ReportMetric(o.clientMicros(), "our_client_µs/decision")
				b.ReportMetric(t.clientMicros(), "redis_rate_client_µs/decision")
				b.ReportMetric(o.redisMicros(), "our_redis_µs/decision")
				b.ReportMetric(t.redisMicros(), "redis_rate_redis_µs/decision")
				b.ReportMetric(float64(o.mallocs)/float64(o.n), "allocs/decision")
			}
		})
	}
}

// sample is what one or more measured rounds cost.
type sample struct {
	n, mallocs                 uint64
	wall, clientCPU, serverCPU time.Duration
}

func (s sample) add(o sample) sample {
	return sample{s.n + o.n, s.mallocs + o.mallocs, s.wall + o.wall, s.clientCPU + o.clientCPU, s.serverCPU + o.serverCPU}
}
func (s sample) perSecond() float64    { return float64(s.n) / s.wall.Seconds() }
func (s sample) clientMicros() float64 { return float64(s.clientCPU.Microseconds()) / float64(s.n) }
func (s sample) redisMicros() float64  { return float64(s.serverCPU.Microseconds()) / float64(s.n) }

// measure runs once from callers goroutines for about d, and returns what
// that cost.
func measure(b *testing.B, admin *redis.Client, d time.Duration, callers int, once func(i int) error) sample {
	b.Helper()
	var (
		n    atomic.Uint64
		stop atomic.Bool
		wg   sync.WaitGroup
		mem  runtime.MemStats
	)
	runtime.ReadMemStats(&mem)
	mallocs, cpu, serverCPU := mem.Mallocs, processCPU(b), redisCPU(b, admin)
	start := time.Now()
	time.AfterFunc(d, func() { stop.Store(true) })
	for c := range callers {
		wg.Go(func() {
			for i := c; !stop.Load(); i += callers {
				if err := once(i); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	runtime.ReadMemStats(&mem)
	return sample{
		n: n.Load(), mallocs: mem.Mallocs - mallocs, wall: wall,
		clientCPU: processCPU(b) - cpu, serverCPU: redisCPU(b, admin) - serverCPU,
	}
}

// processCPU is the CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time the Redis server has used (INFO cpu).
func redisCPU(b *testing.B, admin *redis.Client) time.Duration {
	info, err := admin.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			secs, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("INFO cpu: %q: %v", line, err)
			}
			total += time.Duration(secs * float64(time.Second))
		}
	}
	return total
}

// BenchmarkLeasedVersusShared compares, in one run, decisions per second of
// a limiter with leases of 10 tokens (WithLease) and of one without, on the
// same Redis with the same go-redis client and budget, from 1 and from 64
// concurrent callers, over 1,024 keys and over 10,000 (the load harness's
// api scenario spreads its requests over about 10,000 users). ratio is
// leased over unleased, the median of paired rounds, as in
// BenchmarkVersusRedisRate; evalsha/decision is the leased limiter's lease
// calls per decision on the request path (the unleased one makes one per
// decision) and renewal_get/decision the keys its renewals read or top up
// per decision (pipelined, a round trip per instance every
// LeaseRenewInterval), and its CPU time per
// decision in this process and in redis-server is reported too, which
// includes the renewals.
// Run: go test -run '^$' -bench LeasedVersusShared -benchtime 1x -benchmem -count 6 ./backends/redislimit
func BenchmarkLeasedVersusShared(b *testing.B) {
	s := redistest.Start(b)
	admin := newClient(b, s)
	c := newClient(b, s)
	logs := &logRecorder{}
	// A timeout that load on the machine cannot reach: an outage would
	// measure the in-process fallback instead of Redis.
	opts := []redislimit.Option{redislimit.WithTimeout(time.Minute), redislimit.WithLogger(slog.New(logs))}
	leased, err := redislimit.New(c, benchBudget, append(opts, redislimit.WithPrefix("leased:"), redislimit.WithLease(10))...)
	if err != nil {
		b.Fatal(err)
	}
	shared, err := redislimit.New(c, benchBudget, append(opts, redislimit.WithPrefix("shared:"))...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, nkeys := range []int{1024, 10_000} {
		keys := make([]string, nkeys)
		for i := range keys {
			keys[i] = "user" + strconv.Itoa(i) + "@zulip.com"
		}
		once := func(l *redislimit.Limiter) func(i int) error {
			return func(i int) error {
				d, err := l.Allow(ctx, keys[i%nkeys])
				if err == nil && !d.Allowed {
					err = fmt.Errorf("refused: %+v", d)
				}
				return err
			}
		}
		leasedOnce, sharedOnce := once(leased), once(shared)
		for _, callers := range []int{1, 64} {
			b.Run(fmt.Sprintf("keys=%d/callers=%d", nkeys, callers), func(b *testing.B) {
				const round, rounds = 100 * time.Millisecond, 10
				measure(b, admin, round, callers, leasedOnce) // warm both up
				measure(b, admin, round, callers, sharedOnce)
				b.ResetTimer()
				for range b.N {
					var ls, ss sample
					// The limiters' own calls, on the request path; the
					// renewals, in the background, are not among them.
					leasedCalls, sharedCalls := leased.Stats().Calls, shared.Stats().Calls
					gets := commandCalls(b, admin)["get"]
					ratios := make([]float64, rounds)
					for r := range rounds {
						sl := measure(b, admin, round, callers, leasedOnce)
						sh := measure(b, admin, round, callers, sharedOnce)
						ls, ss = ls.add(sl), ss.add(sh)
						ratios[r] = sl.perSecond() / sh.perSecond()
					}
					calls := leased.Stats().Calls - leasedCalls
					// Each script runs one GET, which INFO counts, and so
					// does each renewal's read or top-up: the GETs beyond
					// the limiters' calls are the renewals'.
					renewals := commandCalls(b, admin)["get"] - gets - int(calls) - int(shared.Stats().Calls-sharedCalls)
					slices.Sort(ratios)
					b.ReportMetric((ratios[rounds/2-1]+ratios[rounds/2])/2, "ratio")
					b.ReportMetric(float64(renewals)/float64(ls.n), "renewal_get/decision")
					b.ReportMetric(ls.perSecond(), "leased_decisions/s")
					b.ReportMetric(ss.perSecond(), "unleased_decisions/s")
					b.ReportMetric(float64(calls)/float64(ls.n), "evalsha/decision")
					b.ReportMetric(ls.clientMicros(), "leased_client_µs/decision")
					b.ReportMetric(ss.clientMicros(), "unleased_client_µs/decision")
					b.ReportMetric(ls.redisMicros(), "leased_redis_µs/decision")
					b.ReportMetric(ss.redisMicros(), "unleased_redis_µs/decision")
					b.ReportMetric(float64(ls.mallocs)/float64(ls.n), "leased_allocs/decision")
				}
			})
		}
	}
	if lines := logs.Lines(); len(lines) != 0 {
		b.Fatalf("Redis was unavailable during the benchmark: %q", lines)
	}
}
