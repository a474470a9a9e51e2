package zulipauth_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Two Auths on one store stand for two instances of an application. With
// the API-key cache on (an hour), a deactivation, a new key or a deactivated
// realm made outside an Auth reaches both within a second, through the
// store's change feed, and without a store query per cached request.
func TestChangeFeedRevokesEverywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &countingStore{Store: memstore.New()}
	u, err := store.CreateUser(ctx, zulipauth.NewUser{Email: iagoEmail})
	if err != nil {
		t.Fatal(err)
	}
	var instances []http.Handler
	for range 2 {
		auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: noLogins, APIKeyCacheTTL: time.Hour, ChangePollInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { auth.Close() })
		instances = append(instances, auth.RequireAPIKey(me))
	}
	status := func(h http.Handler, key string) int { return getMe(h, "", basic(iagoEmail, key)).Code }
	for _, h := range instances {
		if c := status(h, u.APIKey); c != 200 {
			t.Fatalf("before: %d", c)
		}
	}
	before := store.lookups.Load()
	for range 100 {
		status(instances[0], u.APIKey)
	}
	if n := store.lookups.Load() - before; n != 0 {
		t.Errorf("%d store lookups for 100 cached requests, want 0", n)
	}

	store.SetUserDeactivated(ctx, u.ID, true)
	for i, h := range instances {
		within(t, "deactivation on instance "+string(rune('0'+i)), func() bool { return status(h, u.APIKey) == 401 })
	}
	store.SetUserDeactivated(ctx, u.ID, false)
	for _, h := range instances {
		within(t, "reactivation", func() bool { return status(h, u.APIKey) == 200 })
	}

	newKey, err := store.RegenerateAPIKey(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range instances {
		within(t, "regeneration", func() bool { return status(h, u.APIKey) == 401 && status(h, newKey) == 200 })
	}

	store.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", Deactivated: true})
	for _, h := range instances {
		within(t, "realm deactivation", func() bool { return status(h, newKey) == 401 })
	}
}

// A store that fails: New reports it, naming the feed.
func TestChangeFeedUnreadableAtStart(t *testing.T) {
	t.Parallel()
	_, err := zulipauth.New(zulipauth.Config{Users: brokenFeed{memstore.New()}, Authenticator: noLogins, APIKeyCacheTTL: time.Hour})
	if err == nil || !errors.Is(err, errFault) {
		t.Errorf("New = %v, want the feed's error", err)
	}
	// Without the cache nothing is followed, so nothing is read.
	if _, err := zulipauth.New(zulipauth.Config{Users: brokenFeed{memstore.New()}, Authenticator: noLogins}); err != nil {
		t.Errorf("New without a cache = %v", err)
	}
}

type brokenFeed struct{ *memstore.Store }

func (brokenFeed) LastChange(context.Context) (int64, error) { return 0, errFault }

// flakyFeed is a store counting its API-key lookups whose change feed can
// be made unreadable.
type flakyFeed struct {
	*countingStore
	down atomic.Bool
}

func (s *flakyFeed) ChangesSince(ctx context.Context, after int64, limit int) ([]zulipauth.Change, error) {
	if s.down.Load() {
		return nil, errFault
	}
	return s.Store.ChangesSince(ctx, after, limit)
}

// With the longest cache, a feed that cannot be read empties it: a user
// deactivated while the feed is down is refused within a second, although
// the change never reaches the follower, and the failure is logged once.
// When the feed answers again the cache fills and vouches again.
func TestChangeFeedUnreadableEmptiesTheCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &flakyFeed{countingStore: &countingStore{Store: memstore.New()}}
	u, err := store.CreateUser(ctx, zulipauth.NewUser{Email: iagoEmail})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	auth, err := zulipauth.New(zulipauth.Config{
		Users:              store,
		Authenticator:      noLogins,
		APIKeyCacheTTL:     time.Duration(math.MaxInt64),
		ChangePollInterval: 10 * time.Millisecond,
		Logger:             slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	h := auth.RequireAPIKey(me)
	status := func() int { return getMe(h, "", basic(iagoEmail, u.APIKey)).Code }
	if c := status(); c != 200 {
		t.Fatalf("before: %d", c)
	}
	store.down.Store(true)
	// The deactivation is recorded in the feed, which no one can read.
	store.SetUserDeactivated(ctx, u.ID, true)
	within(t, "the deactivation while the feed is down", func() bool { return status() == 401 })
	time.Sleep(50 * time.Millisecond) // a few more failed polls
	if n := strings.Count(logs.String(), "change feed failed"); n != 1 {
		t.Errorf("%d log lines for the failing feed, want 1:\n%s", n, logs.String())
	}

	store.SetUserDeactivated(ctx, u.ID, false)
	store.down.Store(false)
	within(t, "the reactivation once the feed answers", func() bool { return status() == 200 })
	// A few polls: the first drops the user for the reactivation, the
	// next ones vouch for the cache.
	time.Sleep(50 * time.Millisecond)
	status()
	before := store.lookups.Load()
	for range 100 {
		if c := status(); c != 200 {
			t.Fatalf("after the feed came back: %d", c)
		}
	}
	if n := store.lookups.Load() - before; n != 0 {
		t.Errorf("%d store lookups for 100 requests once the feed answers again, want 0", n)
	}
	if !strings.Contains(logs.String(), "answers again") {
		t.Errorf("no log line for the feed answering again:\n%s", logs.String())
	}
}

// within fails t unless cond holds within a second.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 1 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// While the feed is followed, each read vouches for the cache, so a key
// stays cached past its TTL and a busy user costs one lookup, not one per
// TTL; once the follower stops (Close), cached keys expire a TTL after its
// last read.
func TestChangeFeedKeepsKeysPastTheirTTL(t *testing.T) {
	t.Parallel()
	f, cs := countingFixture(t, func(c *zulipauth.Config) {
		c.APIKeyCacheTTL = time.Minute
		c.ChangePollInterval = 5 * time.Millisecond
	})
	t.Cleanup(func() { f.auth.Close() })
	h := f.auth.RequireAPIKey(me)
	send := func() {
		t.Helper()
		if c := getMe(h, "", basic(iagoEmail, f.iago.APIKey)).Code; c != 200 {
			t.Fatalf("status %d", c)
		}
	}
	send()
	for range 10 { // ten minutes, half a TTL at a time, the feed read between
		f.clock.Advance(30 * time.Second)
		time.Sleep(30 * time.Millisecond)
		send()
	}
	if n := cs.lookups.Load(); n != 1 {
		t.Errorf("%d store lookups over ten TTLs with the feed followed, want 1", n)
	}
	f.auth.Close()
	f.clock.Advance(59 * time.Second)
	send()
	if n := cs.lookups.Load(); n != 1 {
		t.Errorf("%d store lookups within a TTL of the feed's last read, want 1", n)
	}
	f.clock.Advance(time.Second)
	send()
	if n := cs.lookups.Load(); n != 2 {
		t.Errorf("%d store lookups a TTL after the feed's last read, want 2", n)
	}
}
