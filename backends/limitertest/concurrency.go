package limitertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// callers is how many goroutines the concurrency sub-tests run at once.
const callers = 64

// testConcurrentOneKey: callers spending one key at once get exactly the
// budget between them, each Remaining once: a limiter that reads the bucket
// and writes it back in two steps, without a lock or an atomic script,
// hands the same token to two callers here.
func testConcurrentOneKey(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	const events, per, each = 20, time.Hour, 4
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: events, Per: per})
	var (
		mu      sync.Mutex
		granted []zulipauth.Decision
		wg      sync.WaitGroup
	)
	start := make(chan struct{})
	began := time.Now()
	for range callers {
		wg.Go(func() {
			<-start
			for range each {
				d, err := l.Allow(t.Context(), "k")
				if err != nil {
					t.Errorf("Allow: %v", err)
					return
				}
				if msg := checkDecision(d, l.b); msg != "" {
					t.Errorf("Allow = %+v: %s", d, msg)
				}
				if d.Allowed {
					mu.Lock()
					granted = append(granted, d)
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	wg.Wait()
	refilled := int(time.Since(began) / (per / events)) // 0 unless the test took minutes
	if len(granted) < events || len(granted) > events+refilled {
		t.Fatalf("%d callers × %d events on one key: %d allowed, want %d (the budget)", callers, each, len(granted), events)
	}
	if refilled > 0 {
		return
	}
	seen := make(map[int]bool)
	for _, d := range granted {
		if seen[d.Remaining] {
			t.Errorf("two allowed events both left Remaining %d: one token was handed out twice", d.Remaining)
		}
		seen[d.Remaining] = true
	}
}

// testConcurrentKeys: callers on keys of their own each get their whole
// budget, no more and no less.
func testConcurrentKeys(t *testing.T, newLimiter func(t *testing.T, b zulipauth.Budget) zulipauth.Limiter) {
	const events, each = 3, 5
	l := newBudgetLimiter(t, newLimiter, zulipauth.Budget{Events: events, Per: time.Hour})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for c := range callers {
		wg.Go(func() {
			key := fmt.Sprintf("caller%d@example.com", c)
			<-start
			allowed := 0
			for range each {
				d, err := l.Allow(t.Context(), key)
				if err != nil {
					t.Errorf("Allow(%q): %v", key, err)
					return
				}
				if d.Allowed {
					allowed++
				}
			}
			if allowed != events {
				t.Errorf("%s: %d of %d events allowed, want %d", key, allowed, each, events)
			}
		})
	}
	close(start)
	wg.Wait()
}
