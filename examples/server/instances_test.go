package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Two server processes on one database stand for several instances behind
// a load balancer, the API-key cache on for an hour. A deactivation, a new
// key or a deactivated realm made by an admin command (a third process)
// stops the old credentials on both within a second, through the store's
// change feed, and the new key works on both at once.
func TestInstancesFollowRevocations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"-db", tempDB(t)} }},
		{"postgres", func(t *testing.T) []string { return []string{"-postgres", freshPostgresSchema(t)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storeArgs := tc.store(t)
			adminCmd := func(stdin string, args ...string) string {
				t.Helper()
				var all []string
				all = append(all, args[0])
				all = append(all, storeArgs...)
				all = append(all, args[1:]...)
				var out strings.Builder
				if err := run(context.Background(), all, strings.NewReader(stdin), &out, io.Discard); err != nil {
					t.Fatalf("%v: %v", all, err)
				}
				return out.String()
			}
			iago := parseUser(t, adminCmd("a long password\n", "create-user", "-email", "iago@zulip.com"))
			var bases []string
			for range 2 {
				p := startServer(t, append(storeArgs, "-api-key-cache", "1h")...)
				bases = append(bases, p.base)
			}
			me := func(base, key string) int {
				code, _ := do(t, "GET", base+"/api/v1/users/me", nil, http.Header{"Authorization": {"Basic " + basicCreds("iago@zulip.com", key)}})
				return code
			}
			within := func(what string, cond func(base string) bool) {
				t.Helper()
				for _, base := range bases {
					deadline := time.Now().Add(time.Second)
					for !cond(base) {
						if time.Now().After(deadline) {
							t.Fatalf("%s: not within 1 s on %s", what, base)
						}
						time.Sleep(10 * time.Millisecond)
					}
				}
			}
			for _, base := range bases {
				if code := me(base, iago.APIKey); code != 200 {
					t.Fatalf("before: %d", code) // and now cached for an hour
				}
			}
			adminCmd("", "deactivate-user", "-email", "iago@zulip.com")
			within("deactivate-user", func(base string) bool { return me(base, iago.APIKey) == 401 })
			adminCmd("", "reactivate-user", "-email", "iago@zulip.com")
			within("reactivate-user", func(base string) bool { return me(base, iago.APIKey) == 200 })

			rotated := parseUser(t, adminCmd("", "regenerate-api-key", "-email", "iago@zulip.com"))
			within("regenerate-api-key", func(base string) bool {
				return me(base, iago.APIKey) == 401 && me(base, rotated.APIKey) == 200
			})

			adminCmd("", "deactivate-realm", "-subdomain", "")
			within("deactivate-realm", func(base string) bool { return me(base, rotated.APIKey) == 401 })
		})
	}
}
