package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
)

// With -redis, the per-user API budget is leased by default (one Redis call
// per lease of -redis-lease tokens, not per request; -redis-lease 0 asks on
// every request), the login budgets are not (five failures spread over two
// instances spend one budget of five), and a spent API budget is answered
// as without leases: Zulip's 429 with the same Retry-After.
func TestRedisLeasesTheAPIBudgetOnly(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	db := tempDB(t)
	u := parseUser(t, mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com"))
	st := openStore(t, []string{"-db", db})
	serve := func(args ...string) string {
		c, _, err := parseServeFlags(append([]string{"-redis", rs.Addr(), "-redis-timeout", "5s"}, args...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		h, stop, err := buildHandler(st, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(func() { srv.Close(); stop() })
		return srv.URL
	}
	leased, perRequest := serve(), serve("-redis-lease", "0")

	const n = 30
	for _, tc := range []struct {
		name        string
		base        string
		maxEvalSHAs int
	}{
		{"default", leased, 2 * n / defaultRedisLease}, // a lease may expire on a slow machine
		{"-redis-lease 0", perRequest, n},
	} {
		before := evalSHAs(t, rdb)
		for range n {
			if code, _, body := apiGet(t, tc.base, u.Email, u.APIKey); code != 200 {
				t.Fatalf("%s: users/me: %d %s", tc.name, code, body)
			}
		}
		// Each call grants a lease of at most defaultRedisLease tokens, and
		// one taken before may have held some of them.
		minEvalSHAs := n/defaultRedisLease - 1
		if got := evalSHAs(t, rdb) - before; got > tc.maxEvalSHAs || got < minEvalSHAs || (tc.maxEvalSHAs == n && got != n) {
			t.Errorf("%s: %d Redis calls for %d API requests, want %d to %d", tc.name, got, n, minEvalSHAs, tc.maxEvalSHAs)
		}
	}

	// The login budget is the shared one, exactly: 5 per username.
	for i := range 5 {
		if code, _ := login(t, []string{leased, perRequest}[i%2], "iago@zulip.com", "wrong"); code != 401 {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	for _, base := range []string{leased, perRequest} {
		if code, _ := login(t, base, "iago@zulip.com", "a long password"); code != 429 {
			t.Errorf("6th attempt, on %s: %d, want 429: the login budget is not the shared one", base, code)
		}
	}

	// Spend the API budget on the leased instance; then both answer 429
	// alike (the other may first get a token that refilled meanwhile).
	allowed := 2 * n
	var answers [2]http.Header
	var bodies [2]map[string]any
	for i, base := range []string{leased, perRequest} {
		for tries := 0; ; tries++ {
			code, h, body := apiGet(t, base, u.Email, u.APIKey)
			if code == 200 && tries < 500 {
				allowed++
				continue
			}
			if code != 429 {
				t.Fatalf("%s: %d %s, want 429 once the budget is spent", base, code, body)
			}
			answers[i] = h
			if err := json.Unmarshal(body, &bodies[i]); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if allowed < 200 {
		t.Errorf("%d API requests allowed before the 429s, want the budget, 200", allowed)
	}
	for i, h := range answers {
		if got := h.Get("Retry-After"); got != "1" {
			t.Errorf("instance %d: Retry-After %q, want \"1\" (the rest of one token's 300 ms, rounded up)", i, got)
		}
		b := bodies[i]
		if b["code"] != "RATE_LIMIT_HIT" || b["msg"] != "API usage exceeded rate limit" || b["retry-after"] != 1.0 {
			t.Errorf("instance %d: the 429's body %v", i, b)
		}
	}
}

// apiGet calls GET /api/v1/users/me with HTTP Basic email:key.
func apiGet(t *testing.T, base, email, key string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/v1/users/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(email, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// evalSHAs is how many EVALSHA the Redis server ran (INFO commandstats).
func evalSHAs(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		stats, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:calls=")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(stats, ",")
		n, err := strconv.Atoi(calls)
		if err != nil {
			t.Fatalf("INFO commandstats: %q", line)
		}
		return n
	}
	return 0
}
