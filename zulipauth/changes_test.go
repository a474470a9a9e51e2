package zulipauth_test

import (
	"context"
	"errors"
	"net/http"
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
	within := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 1 s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
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
		within("deactivation on instance "+string(rune('0'+i)), func() bool { return status(h, u.APIKey) == 401 })
	}
	store.SetUserDeactivated(ctx, u.ID, false)
	for _, h := range instances {
		within("reactivation", func() bool { return status(h, u.APIKey) == 200 })
	}

	newKey, err := store.RegenerateAPIKey(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range instances {
		within("regeneration", func() bool { return status(h, u.APIKey) == 401 && status(h, newKey) == 200 })
	}

	store.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", Deactivated: true})
	for _, h := range instances {
		within("realm deactivation", func() bool { return status(h, newKey) == 401 })
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
