package zulipauth_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// realmCounter counts the realm lookups that reach the store.
type realmCounter struct {
	zulipauth.RealmStore
	lookups atomic.Int64
}

func (c *realmCounter) RealmBySubdomain(ctx context.Context, sub string) (zulipauth.Realm, error) {
	c.lookups.Add(1)
	return c.RealmStore.RealmBySubdomain(ctx, sub)
}

// With the realm cache on, a flood of logins at one realm costs one realm
// lookup, not one per attempt (the many-address flood of the load harness
// spent most of each refusal in it), and a realm deactivated in the store by
// another process still stops logins within the change feed's interval.
func TestRealmCacheFollowsTheChangeFeed(t *testing.T) {
	t.Parallel()
	var realms *realmCounter
	f := newFixture(t, func(c *zulipauth.Config) {
		realms = &realmCounter{RealmStore: c.Users.(zulipauth.RealmStore)}
		c.Realms = zulipauth.HostRealms{Realms: realms}
		c.RealmCacheTTL = time.Hour
		c.ChangePollInterval = 10 * time.Millisecond
	})
	t.Cleanup(func() { f.auth.Close() })
	for i := range 3 {
		if w := f.login(iagoEmail, "wrong", "192.0.2.1:1"); w.Code != 401 {
			t.Fatalf("wrong password %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := f.login(iagoEmail, iagoPassword, "192.0.2.1:1"); w.Code != 200 {
		t.Fatalf("correct password: %d %s", w.Code, w.Body)
	}
	if n := realms.lookups.Load(); n != 1 {
		t.Errorf("%d realm lookups for 4 logins, want 1", n)
	}

	if err := f.store.UpdateRealm(context.Background(), zulipauth.Realm{Name: "Zulip", Deactivated: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		w := f.login(iagoEmail, iagoPassword, "192.0.2.1:1")
		if w.Code == 401 && strings.Contains(w.Body.String(), "REALM_DEACTIVATED") {
			break
		}
		if w.Code != 200 || time.Now().After(deadline) {
			t.Fatalf("after the realm's deactivation: %d %s (want REALM_DEACTIVATED within 1 s)", w.Code, w.Body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Without a change feed to follow, a cached realm is asked again once its
// TTL has passed; an unknown subdomain is never cached, so a realm created
// meanwhile is found at once.
func TestRealmCacheTTLAndUnknownRealms(t *testing.T) {
	t.Parallel()
	var realms *realmCounter
	f := newFixture(t, func(c *zulipauth.Config) {
		realms = &realmCounter{RealmStore: c.Users.(zulipauth.RealmStore)}
		c.Realms = zulipauth.HostRealms{Realms: realms, ExternalHost: "example.com"}
		c.RealmCacheTTL = time.Minute
		c.ChangePollInterval = -1
	})
	settings := func(host string) int {
		r := httptest.NewRequest("GET", "http://"+host+"/api/v1/server_settings", nil)
		w := httptest.NewRecorder()
		f.auth.ServerSettingsHandler().ServeHTTP(w, r)
		return w.Code
	}
	for range 3 {
		if c := settings("example.com"); c != 200 {
			t.Fatalf("server_settings: %d", c)
		}
	}
	if n := realms.lookups.Swap(0); n != 1 {
		t.Errorf("%d lookups within the TTL, want 1", n)
	}
	f.clock.Advance(time.Minute)
	settings("example.com")
	if n := realms.lookups.Swap(0); n != 1 {
		t.Errorf("%d lookups after the TTL, want 1", n)
	}

	for range 2 {
		if c := settings("lear.example.com"); c != 400 {
			t.Fatalf("unknown realm: %d, want 400", c)
		}
	}
	if n := realms.lookups.Swap(0); n != 2 {
		t.Errorf("%d lookups for two requests to an unknown realm, want 2 (not cached)", n)
	}
	if err := f.store.CreateRealm(context.Background(), zulipauth.Realm{Subdomain: "lear", Name: "Lear"}); err != nil {
		t.Fatal(err)
	}
	if c := settings("lear.example.com"); c != 200 {
		t.Errorf("a realm created after misses: %d, want 200 at once", c)
	}
}
