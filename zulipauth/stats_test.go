package zulipauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// TestStatsCountsAPIRequests pins what Auth.Stats reports after a scripted
// run of API requests, each counter at its exact value: a host's metrics
// (examples/server's) are these numbers, and an outcome counted twice, or
// under another outcome, would mislead whoever reads them during an
// incident.
func TestStatsCountsAPIRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memstore.New()
	u, err := store.CreateUser(ctx, zulipauth.NewUser{Email: iagoEmail})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	auth, err := zulipauth.New(zulipauth.Config{
		Users: store, Authenticator: noLogins, APIKeyCacheTTL: time.Hour, ChangePollInterval: 5 * time.Millisecond, Now: clock,
		IPLimiter:   zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 3, Per: time.Hour}, zulipauth.WithClock(clock)),
		UserLimiter: zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 3, Per: time.Hour}, zulipauth.WithClock(clock)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	h := auth.RequireAPIKey(me)
	const unknownKey = "0123456789abcdefghijABCDEFGHIJ01"
	for i, step := range []struct {
		remote, header string
		status         int
	}{
		{"192.0.2.1:1", "", 401},                           // no credentials: the client's budget 1 of 3
		{"192.0.2.1:1", "Bearer abc", 400},                 // not Basic: charges nothing
		{"192.0.2.1:1", basic(iagoEmail, unknownKey), 401}, // a miss, cached as unknown; 2 of 3
		{"192.0.2.1:1", basic(iagoEmail, unknownKey), 401}, // a hit; 3 of 3
		{"192.0.2.1:1", basic(iagoEmail, unknownKey), 429}, // a hit; the client's budget refuses
		{"192.0.2.2:1", basic(iagoEmail, u.APIKey), 200},   // a miss; the user's budget 1 of 3
		{"192.0.2.2:1", basic(iagoEmail, u.APIKey), 200},   // a hit, by its header
		{"192.0.2.2:1", basic(iagoEmail, u.APIKey), 200},   // a hit
		{"192.0.2.2:1", basic(iagoEmail, u.APIKey), 429},   // a hit; the user's budget refuses
	} {
		if got := getMe(h, step.remote, step.header).Code; got != step.status {
			t.Fatalf("request %d: %d, want %d", i, got, step.status)
		}
	}
	got := auth.Stats()
	want := zulipauth.Stats{
		APIAuthenticated: 3, APIUnauthorized: 3, APIBadRequest: 1, APIRateLimitedUser: 1, APIRateLimitedIP: 1,
		APIKeyCacheHits: 5, APIKeyCacheMisses: 2, APIKeyCacheKeys: 2,
		UsernameLimiterKeys: 0, IPLimiterKeys: 1, UserLimiterKeys: 1,
		FollowingChanges: true, ChangesApplied: got.ChangesApplied, ChangesReadAt: got.ChangesReadAt,
	}
	if got != want {
		t.Errorf("Stats after the run:\n got %+v\nwant %+v", got, want)
	}

	// The change feed: a change made now is applied, by a read that began
	// after it was made.
	made := time.Now()
	if err := store.SetUserDeactivated(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	last, err := store.LastChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s := auth.Stats(); s.ChangesApplied != last || s.ChangesReadAt.Before(made); s = auth.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the change feed's stats did not reach change %d read after %v: %+v", last, made, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := auth.Stats(); s.ChangesFailing {
		t.Errorf("the feed is reported failing: %+v", s)
	}
}

// TestStatsCountsFaults: a limiter that fails is a 500, counted as a
// fault; a Limiter that is not a MemoryLimiter reports -1 keys, not 0; no
// cache, no hits or misses.
func TestStatsCountsFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memstore.New()
	u, err := store.CreateUser(ctx, zulipauth.NewUser{Email: iagoEmail})
	if err != nil {
		t.Fatal(err)
	}
	// A limiter out of capacity is answered busy, a 429 that no budget
	// made: a fault too, never the user's budget.
	for _, tc := range []struct {
		name    string
		limiter zulipauth.Limiter
		status  int
	}{
		{"failing", failingLimiter{}, 500},
		{"busy", busyLimiter{}, 429},
	} {
		auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: noLogins, UserLimiter: tc.limiter})
		if err != nil {
			t.Fatal(err)
		}
		if got := getMe(auth.RequireAPIKey(me), "", basic(iagoEmail, u.APIKey)).Code; got != tc.status {
			t.Fatalf("a %s limiter: %d, want %d", tc.name, got, tc.status)
		}
		want := zulipauth.Stats{APIFaults: 1, UsernameLimiterKeys: 0, IPLimiterKeys: 0, UserLimiterKeys: -1}
		if got := auth.Stats(); got != want {
			t.Errorf("a %s limiter: Stats:\n got %+v\nwant %+v", tc.name, got, want)
		}
	}
}

type busyLimiter struct{}

func (busyLimiter) Allow(context.Context, string) (zulipauth.Decision, error) {
	return zulipauth.Decision{}, zulipauth.ErrBusy
}

func (busyLimiter) Reset(context.Context, string) error { return zulipauth.ErrBusy }

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string) (zulipauth.Decision, error) {
	return zulipauth.Decision{}, errors.New("the limiter is down")
}

func (failingLimiter) Reset(context.Context, string) error { return errors.New("the limiter is down") }
