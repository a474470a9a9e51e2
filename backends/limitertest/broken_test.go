package limitertest_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/limitertest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// A suite that passes everything proves nothing: each broken limiter below
// has one of the bugs the suite exists to catch, and the suite must fail it
// in the named sub-test. The suite runs in a child process (this test
// binary again, with brokenEnv set), since a failing *testing.T cannot be
// observed from inside.
func TestSuiteCatchesBrokenLimiters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, bug string
		failsIn   string // "": the suite must pass
	}{
		{"has no bug", "none", ""}, // the control: the same bucket passes
		{"refusals consume", "consume-on-refusal", "RefusalConsumesNothing"},
		{"Remaining counts this event", "remaining-off-by-one", "BurstThenRefused"},
		{"read then write without a lock", "racy", "ConcurrentOneKey"},
		{"Reset does nothing", "no-reset", "ResetRestores"},
		{"keys folded to lower case", "folded-keys", "KeysIndependent"},
		{"never refills", "no-refill", "Refill"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenChild$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tc.bug)
			out, err := cmd.CombinedOutput()
			if tc.failsIn == "" {
				if err != nil {
					t.Fatalf("the suite failed the limiter that %s: %v\n%s", tc.name, err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passed a limiter whose %s:\n%s", tc.name, out)
			}
			if want := "--- FAIL: TestBrokenChild/" + tc.failsIn; !strings.Contains(string(out), want) {
				t.Fatalf("the suite failed the limiter whose %s, but not in %s:\n%s", tc.name, tc.failsIn, out)
			}
		})
	}
}

const brokenEnv = "LIMITERTEST_BROKEN"

// TestBrokenChild runs the suite against the broken limiter named by
// brokenEnv; it is skipped in a normal run.
func TestBrokenChild(t *testing.T) {
	bug := os.Getenv(brokenEnv)
	if bug == "" {
		t.Skip("run by TestSuiteCatchesBrokenLimiters only")
	}
	limitertest.Run(t, func(_ *testing.T, b zulipauth.Budget) zulipauth.Limiter {
		return &brokenLimiter{bug: bug, b: b, buckets: map[string]*bucket{}}
	})
}

// brokenLimiter is a plain token bucket per key with one bug switched on.
type brokenLimiter struct {
	bug     string
	b       zulipauth.Budget
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func (l *brokenLimiter) Allow(_ context.Context, key string) (zulipauth.Decision, error) {
	if l.bug == "folded-keys" {
		key = strings.ToLower(key)
	}
	interval := l.b.Per / time.Duration(l.b.Events)
	now := time.Now()
	l.mu.Lock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(l.b.Events), at: now}
		l.buckets[key] = b
	}
	if l.bug != "no-refill" {
		b.tokens = min(float64(l.b.Events), b.tokens+float64(now.Sub(b.at))/float64(interval))
	}
	b.at = now
	tokens := b.tokens
	if l.bug == "racy" {
		// Read, let the others read the same, then write.
		l.mu.Unlock()
		runtime.Gosched()
		time.Sleep(time.Millisecond)
		l.mu.Lock()
	}
	d := zulipauth.Decision{Limit: l.b.Events}
	if tokens >= 1 {
		b.tokens = tokens - 1
		d.Allowed, d.Remaining = true, int(tokens-1)
		if l.bug == "remaining-off-by-one" {
			d.Remaining = min(int(tokens), l.b.Events-1)
		}
	} else {
		if l.bug == "consume-on-refusal" {
			b.tokens = tokens - 1
		}
		d.RetryAfter = time.Duration((1 - tokens) * float64(interval))
	}
	d.ResetAfter = time.Duration((float64(l.b.Events) - b.tokens) * float64(interval))
	d.ResetAfter = min(d.ResetAfter, l.b.Per)
	if d.RetryAfter > interval {
		d.RetryAfter = interval
	}
	l.mu.Unlock()
	return d, nil
}

func (l *brokenLimiter) Reset(_ context.Context, key string) error {
	if l.bug == "no-reset" {
		return nil
	}
	l.mu.Lock()
	delete(l.buckets, key)
	l.mu.Unlock()
	return nil
}
