package zulipauth_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestMemoryLimiterBucket(t *testing.T) {
	t.Parallel()
	l := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 5, Per: 30 * time.Minute})
	for i := 0; i < 5; i++ {
		d := l.AllowAt("k", t0)
		if !d.Allowed || d.Remaining != 4-i || d.Limit != 5 {
			t.Fatalf("event %d: %+v", i, d)
		}
		if want := time.Duration(i+1) * 6 * time.Minute; d.ResetAfter != want {
			t.Errorf("event %d: ResetAfter = %v, want %v", i, d.ResetAfter, want)
		}
	}
	d := l.AllowAt("k", t0.Add(time.Minute))
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != 5*time.Minute {
		t.Fatalf("over budget: %+v", d)
	}
	if d := l.AllowAt("k", t0.Add(6*time.Minute)); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after one interval: %+v", d)
	}
	if d := l.AllowAt("other", t0); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("another key: %+v", d)
	}
	l.Reset(context.Background(), "k")
	if d := l.AllowAt("k", t0.Add(6*time.Minute)); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("after Reset: %+v", d)
	}
}

func TestMemoryLimiterClock(t *testing.T) {
	t.Parallel()
	now := t0
	l := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1, Per: time.Hour}, zulipauth.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	if d, _ := l.Allow(ctx, "k"); !d.Allowed {
		t.Fatal("first event refused")
	}
	if d, _ := l.Allow(ctx, "k"); d.Allowed || d.RetryAfter != time.Hour {
		t.Fatalf("second event: %+v", d)
	}
	now = now.Add(time.Hour)
	if d, _ := l.Allow(ctx, "k"); !d.Allowed {
		t.Fatal("refused after the clock moved")
	}
}

// Pins bounded memory under a flood of distinct keys (for example a username
// per request from many addresses).
func TestMemoryLimiterFloodStaysBounded(t *testing.T) {
	t.Parallel()
	const max = 10_000
	l := zulipauth.NewMemoryLimiter(zulipauth.DefaultUsernameBudget(), zulipauth.WithMaxKeys(max))
	// A victim's nearly spent budget.
	for i := 0; i < 5; i++ {
		l.AllowAt("victim", t0)
	}
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	for i := 0; i < n; i++ {
		l.AllowAt("flood"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Microsecond))
		if i%100_000 == 0 && l.Len() > max {
			t.Fatalf("after %d keys the limiter holds %d > %d", i, l.Len(), max)
		}
	}
	if got := l.Len(); got > max {
		t.Fatalf("limiter holds %d keys, max %d", got, max)
	}
	// Eviction prefers the fullest buckets: the victim's empty bucket is
	// still there, so the flood did not reset the victim's budget.
	if d := l.AllowAt("victim", t0.Add(time.Second)); d.Allowed {
		t.Fatalf("the flood reset the victim's budget: %+v", d)
	}
}

func TestMemoryLimiterForgetsRefilledBuckets(t *testing.T) {
	t.Parallel()
	l := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 2, Per: time.Minute}, zulipauth.WithMaxKeys(64))
	for i := 0; i < 64; i++ {
		l.AllowAt(fmt.Sprint("a", i), t0)
	}
	// All refilled two minutes later: new keys push them out with no
	// eviction of live state.
	for i := 0; i < 64; i++ {
		l.AllowAt(fmt.Sprint("b", i), t0.Add(2*time.Minute))
	}
	if l.Len() > 64 {
		t.Fatalf("Len = %d > 64", l.Len())
	}
}

func TestMemoryLimiterInvalidBudgetPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewMemoryLimiter accepted a zero budget")
		}
	}()
	zulipauth.NewMemoryLimiter(zulipauth.Budget{})
}

func BenchmarkMemoryLimiterExistingKey(b *testing.B) {
	l := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
	l.AllowAt("iago@zulip.com", t0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.AllowAt("iago@zulip.com", t0)
	}
}

func BenchmarkMemoryLimiterExistingKeyParallel(b *testing.B) {
	l := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "user" + strconv.Itoa(i) + "@zulip.com"
		l.AllowAt(keys[i], t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.AllowAt(keys[i&1023], t0)
			i++
		}
	})
}

// BenchmarkMemoryLimiterBytesPerKey reports the heap each held key costs, for
// keys shaped like the handler's ("realm\x00user123456@zulip.com").
func BenchmarkMemoryLimiterBytesPerKey(b *testing.B) {
	const n = 200_000
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := zulipauth.NewMemoryLimiter(zulipauth.DefaultUsernameBudget(), zulipauth.WithMaxKeys(n))
		for k := 0; k < n; k++ {
			l.AllowAt("\x00user"+strconv.Itoa(100000+k)+"@zulip.com", t0)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/key")
		runtime.KeepAlive(l)
	}
}

// Pins a bug where a bound below the shard count left shards without room
// and keys falling there unlimited.
func TestMemoryLimiterTinyBound(t *testing.T) {
	t.Parallel()
	l := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1, Per: time.Hour}, zulipauth.WithMaxKeys(3))
	for i := 0; i < 100; i++ {
		k := fmt.Sprint("key", i)
		l.AllowAt(k, t0)
		if d := l.AllowAt(k, t0); d.Allowed {
			t.Fatalf("%s: second event allowed", k)
		}
		if l.Len() > 3 {
			t.Fatalf("Len = %d > 3", l.Len())
		}
	}
}

// BenchmarkMemoryLimiterActiveKeys: allowed events over 10,000 and
// 100,000 active keys, shaped like the per-user budget's ("user:123456"),
// round robin, against a lookup in a map of as many keys in the same run
// (the baseline the budgets should cost about the same as).
func BenchmarkMemoryLimiterActiveKeys(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = "user:" + strconv.Itoa(100000+i)
		}
		b.Run(fmt.Sprintf("keys=%d/map", n), func(b *testing.B) {
			m := make(map[string]*int, n)
			for _, k := range keys {
				m[k] = new(int)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				*m[keys[i%n]]++
			}
		})
		b.Run(fmt.Sprintf("keys=%d/limiter", n), func(b *testing.B) {
			l := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
			for _, k := range keys {
				l.AllowAt(k, t0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !l.AllowAt(keys[i%n], t0).Allowed {
					b.Fatal("refused")
				}
			}
		})
	}
}

// Pins a bug where the bound was shared out between the limiter's shards,
// and keys fall unevenly into shards: with as many active keys as the
// bound (100,000 users each spending the default API budget), the fullest
// shards evicted keys and gave them a fresh budget, at the cost of a sweep
// and an allocation per request. The bound holds for the whole limiter.
func TestMemoryLimiterHoldsAsManyKeysAsItsBound(t *testing.T) {
	t.Parallel()
	l := zulipauth.NewMemoryLimiter(zulipauth.DefaultUserBudget())
	keys := make([]string, zulipauth.DefaultMaxKeys)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i+1)
		l.AllowAt(keys[i], t0)
	}
	if n := l.Len(); n != len(keys) {
		t.Fatalf("the limiter holds %d keys, want %d", n, len(keys))
	}
	for _, k := range keys {
		if d := l.AllowAt(k, t0); !d.Allowed || d.Remaining != 198 {
			t.Fatalf("%s, second event: %+v, want allowed with 198 remaining (a key evicted gets a fresh budget)", k, d)
		}
	}
	if d := l.AllowAt("user:0", t0); !d.Allowed || l.Len() != len(keys) {
		t.Fatalf("one key over the bound: %+v, %d keys held", d, l.Len())
	}
}

// An allowed event of a key the limiter holds allocates nothing: it is
// spent by every API request (Config.UserLimiter).
func TestMemoryLimiterAllowsWithoutAllocating(t *testing.T) {
	l := zulipauth.NewMemoryLimiter(zulipauth.DefaultUserBudget())
	ctx := context.Background()
	l.Allow(ctx, "user:1")
	if n := testing.AllocsPerRun(100, func() {
		if d, _ := l.Allow(ctx, "user:1"); !d.Allowed {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Errorf("%v allocations per allowed event, want 0", n)
	}
}
