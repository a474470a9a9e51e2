package sqlstore_test

import (
	"context"
	"encoding/base64"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Two instances of an application, each an Auth on a Store of its own over
// one database, cache API keys for as long as a cache can
// (APIKeyCacheTTL at its maximum) and poll the change feed at the default
// interval. A deactivation, a new key and a deactivated realm, made by a
// third Store (an admin command), still stop the old credentials on both
// within a second, and a reactivation lets them back in: the feed, not the
// TTL, bounds how long a revoked key works.
func TestLongestAPIKeyCacheFollowsTheFeed(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		dsn := dc.newDSN(t)
		admin := open(t, dc.driver, dsn)
		ctx := t.Context()
		u, err := admin.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com"})
		if err != nil {
			t.Fatal(err)
		}
		var instances []http.Handler
		for range 2 {
			auth, err := zulipauth.New(zulipauth.Config{
				Users:          open(t, dc.driver, dsn),
				Authenticator:  noLogins,
				APIKeyCacheTTL: time.Duration(math.MaxInt64),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { auth.Close() })
			instances = append(instances, auth.RequireAPIKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
		}
		status := func(h http.Handler, key string) int {
			r := httptest.NewRequest("GET", "/api/v1/users/me", nil)
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Email+":"+key)))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code
		}
		// Each step changes the database through admin, then checks both
		// instances; the clock starts after the change is committed.
		step := func(what string, change func() error, cond func(h http.Handler) bool) {
			t.Helper()
			if err := change(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			deadline := time.Now().Add(time.Second)
			for i, h := range instances {
				for !cond(h) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: not on instance %d within 1 s", what, i)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		key := u.APIKey
		for _, h := range instances {
			if c := status(h, key); c != 200 {
				t.Fatalf("before: %d", c)
			}
		}
		step("deactivation", func() error { return admin.SetUserDeactivated(ctx, u.ID, true) },
			func(h http.Handler) bool { return status(h, key) == 401 })
		step("reactivation", func() error { return admin.SetUserDeactivated(ctx, u.ID, false) },
			func(h http.Handler) bool { return status(h, key) == 200 })
		old := key
		step("a new key", func() error { key, err = admin.RegenerateAPIKey(ctx, u.ID); return err },
			func(h http.Handler) bool { return status(h, old) == 401 && status(h, key) == 200 })
		step("realm deactivation", func() error { return admin.UpdateRealm(ctx, zulipauth.Realm{Name: "Zulip", Deactivated: true}) },
			func(h http.Handler) bool { return status(h, key) == 401 })
	})
}

// noLogins refuses every login: these tests are about the API.
var noLogins = zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
	return zulipauth.User{}, zulipauth.ErrBadCredentials
})
