package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/examples/internal/refserver"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// loadDuration is how long each side of a load comparison runs.
const loadDuration = 4 * time.Second

// measure runs op from workers goroutines for d and returns completed
// operations per second and how many failed.
func measure(d time.Duration, workers int, op func() bool) (float64, int64) {
	var ok, failed atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if op() {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), failed.Load()
}

func loadClient(workers int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
}

// BenchmarkLoginThroughput compares, in one run, raw argon2id verifications
// per second (default parameters, GOMAXPROCS goroutines) with end-to-end
// fetch_api_key logins per second over loopback against the SQLite store at
// saturation. Run: go test -run '^$' -bench LoginThroughput -benchtime 1x ./examples/server
func BenchmarkLoginThroughput(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	hash, err := argon2id.CreateHash("a long password", new(password.DefaultParams()))
	if err != nil {
		b.Fatal(err)
	}
	db := tempDB(b)
	workers := 4 * procs // enough to keep every verification slot busy
	// A user per concurrent request: several in-flight attempts for one
	// username would spend its budget (5) before a success clears it.
	forms := make([]string, 2*workers)
	for i := range forms {
		email := fmt.Sprintf("user%d@zulip.com", i)
		mustAdmin(b, db, "a long password\n", "create-user", "-email", email)
		forms[i] = url.Values{"username": {email}, "password": {"a long password"}}.Encode()
	}
	srv, _ := testServer(b, db, func(c *serveConfig) {
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
	})
	client := loadClient(workers)
	var next atomic.Int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw, _ := measure(loadDuration, procs, func() bool {
			ok, _ := argon2id.ComparePasswordAndHash("a long password", hash)
			return ok
		})
		logins, failed := measure(loadDuration, workers, func() bool {
			form := forms[next.Add(1)%int64(len(forms))]
			resp, err := client.Post(srv.URL+"/api/v1/fetch_api_key", "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		b.ReportMetric(raw, "verifications/s")
		b.ReportMetric(logins, "logins/s")
		b.ReportMetric(logins/raw, "ratio")
		b.ReportMetric(float64(failed), "failed")
	}
}

// BenchmarkAPIKeyMiddleware compares, in one run, requests per second to
// GET /api/v1/users/me behind RequireAPIKey (SQLite store, API-key cache on,
// then off) with the same handler unprotected, both over loopback, from Go's
// client and, for the cache, also from a lean client (see leanClient) that
// leaves the machine to the servers. ratio is the median of 16 paired
// rounds' ratios, mean_ratio that of their means.
// Run: go test -run '^$' -bench APIKeyMiddleware -benchtime 1x ./examples/server
func BenchmarkAPIKeyMiddleware(b *testing.B) {
	for _, tc := range []struct {
		name  string
		cache time.Duration
		lean  bool
	}{
		{"cache", 10 * time.Second, false},
		{"cache-leanclient", 10 * time.Second, true},
		{"nocache", 0, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			db := tempDB(b)
			u := parseUser(b, mustAdmin(b, db, "a long password\n", "create-user", "-email", "iago@zulip.com"))
			srv, _ := testServer(b, db, func(c *serveConfig) {
				c.APIKeyCacheTTL = tc.cache
				c.UserLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
			})
			// The same routes without the middleware, answering for the
			// user: the same work minus authentication.
			plainSrv := httptest.NewServer(refserver.BareHandler(zulipauth.User{ID: u.UserID, Email: u.Email, FullName: u.Email})) // the same kind of server as testServer's
			defer plainSrv.Close()
			workers := 4 * runtime.GOMAXPROCS(0)
			// Both sides get the same request, credentials included (a Zulip
			// client always sends them): the only difference is the middleware.
			get := func(base string) func() bool {
				if tc.lean {
					c, req := newLeanClient(b, base, "/api/v1/users/me", "iago@zulip.com", u.APIKey, workers)
					return func() bool { return c.do(req) }
				}
				client := loadClient(workers)
				return func() bool {
					req, _ := http.NewRequest("GET", base+"/api/v1/users/me", nil)
					req.SetBasicAuth("iago@zulip.com", u.APIKey)
					resp, err := client.Do(req)
					if err != nil {
						return false
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					return resp.StatusCode == 200
				}
			}
			plain, auth := get(plainSrv.URL), get(srv.URL)
			measure(time.Second, workers, plain) // warm both up
			measure(time.Second, workers, auth)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Alternate short rounds so that drift in the machine's
				// speed falls on both sides alike, and take the median of
				// the rounds' ratios, so that a burst of noise from
				// elsewhere on the machine during one round does not move
				// the result; the ratio of the means is reported too.
				var base, withAuth float64
				var failed int64
				const rounds = 16
				ratios := make([]float64, rounds)
				for round := range rounds {
					p, _ := measure(loadDuration/rounds*2, workers, plain)
					a, f := measure(loadDuration/rounds*2, workers, auth)
					base, withAuth, failed = base+p/rounds, withAuth+a/rounds, failed+f
					ratios[round] = a / p
				}
				slices.Sort(ratios)
				b.ReportMetric(base, "plain_req/s")
				b.ReportMetric(withAuth, "auth_req/s")
				b.ReportMetric((ratios[rounds/2-1]+ratios[rounds/2])/2, "ratio")
				b.ReportMetric(withAuth/base, "mean_ratio")
				b.ReportMetric(float64(failed), "failed")
			}
		})
	}
}
