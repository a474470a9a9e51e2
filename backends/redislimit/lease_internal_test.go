package redislimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Pins the memory bound of the leases: at most maxLeases keys, the leases
// that expired a lifetime ago forgotten when room is needed, a live one
// never, and a key past the bound answered without a lease (nil).
func TestLeasesBounded(t *testing.T) {
	t.Parallel()
	ls := newLeases(10)
	t0 := time.Unix(1_000_000, 0)
	// Fill every shard with live leases, through get as Allow does.
	n := 0
	for i := 0; n < maxLeases; i++ {
		e := ls.get("k"+strconv.Itoa(i), t0)
		if e == nil {
			continue // its shard is full; others are not yet
		}
		e.left, e.taken, e.expires = 1, t0, t0.Add(LeaseLifetime)
		e.mu.Unlock()
		n++
	}
	if got := ls.len(); got != maxLeases {
		t.Fatalf("%d leases held, want %d", got, maxLeases)
	}
	// Live leases are never pushed out: a new key gets none.
	if e := ls.get("new", t0.Add(LeaseLifetime/2)); e != nil {
		t.Fatal("a new key got a lease while every held lease was live")
	}
	// A lease held by a caller is kept even when it expired long ago.
	busy := ls.get("k0", t0)
	defer busy.mu.Unlock()
	// A lifetime after they expired, the others are forgotten.
	later := t0.Add(2 * LeaseLifetime)
	e := ls.get("new", later)
	if e == nil {
		t.Fatal("no lease for a new key although every other had expired a lifetime ago")
	}
	e.mu.Unlock()
	if busy.swept {
		t.Error("a lease in use was forgotten")
	}
	// The sweep is of the new key's shard only: the others sweep when
	// they need room.
	if got := ls.len(); got > maxLeases-maxLeases/leaseShards+2 {
		t.Errorf("%d leases held after the sweep, want the expired ones of a shard gone", got)
	}
	// Existing keys still work, and a swept key gets a new entry.
	for _, key := range []string{"k1", "k2", "new"} {
		e := ls.get(key, later)
		if e == nil || e.swept {
			t.Fatalf("get(%q) = %+v after the sweep", key, e)
		}
		e.mu.Unlock()
	}
}

// len reports how many leases ls holds.
func (ls *leases) len() int {
	n := 0
	for i := range ls.shards {
		s := &ls.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func TestBucketDecision(t *testing.T) {
	t.Parallel()
	// 5 events per 500 µs: one every 100 µs.
	l := &Limiter{limit: 5, interval: 100}
	for _, tc := range []struct {
		name string
		debt int64
		want zulipauth.Decision
	}{
		{"full", 0, zulipauth.Decision{Allowed: true, Limit: 5, Remaining: 4, ResetAfter: 100 * time.Microsecond}},
		{"part of a token owed", 1, zulipauth.Decision{Allowed: true, Limit: 5, Remaining: 3, ResetAfter: 101 * time.Microsecond}},
		{"the last token", 400, zulipauth.Decision{Allowed: true, Limit: 5, Remaining: 0, ResetAfter: 500 * time.Microsecond}},
		{"spent", 401, zulipauth.Decision{Limit: 5, RetryAfter: time.Microsecond, ResetAfter: 401 * time.Microsecond}},
		{"spent, a token owed", 500, zulipauth.Decision{Limit: 5, RetryAfter: 100 * time.Microsecond, ResetAfter: 500 * time.Microsecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.bucketDecision(tc.debt); got != tc.want {
				t.Errorf("bucketDecision(%d) = %+v, want %+v", tc.debt, got, tc.want)
			}
		})
	}
}

// The renewal goroutine runs while leases are in use: it ends at the first
// renewal that finds none (it once ran until the client was closed, ticking
// for ever on an idle limiter), and the next lease starts it again.
func TestRenewalLoopEndsWhenIdle(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { c.Close() })
	l, err := New(c, zulipauth.Budget{Events: 100, Per: time.Hour}, WithPrefix("test:"+t.Name()+":"), WithLease(10))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		if _, err := l.Allow(context.Background(), "k"+strconv.Itoa(round)); err != nil {
			t.Fatal(err)
		}
		if !l.leases.renewing.Load() {
			t.Fatalf("round %d: no renewal loop after a lease", round)
		}
		// Unused, the lease is renewed for LeaseRenewIdle; the next
		// renewal finds nothing to do.
		deadline := time.Now().Add(LeaseRenewIdle + 3*LeaseRenewInterval)
		for l.leases.renewing.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the renewal loop still runs %v after the last use", round, LeaseRenewIdle+3*LeaseRenewInterval)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
