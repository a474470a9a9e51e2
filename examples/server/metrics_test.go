package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
)

// scrape reads addr's /metrics with Prometheus's own text parser.
func scrape(t *testing.T, base string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	code, body := get(t, base+"/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus's text format: %v\n%s", err, body)
	}
	return fams, string(body)
}

// series finds the series of fams' family name with exactly these labels
// (name=value pairs), or nil.
func series(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		match := true
		for i, l := range m.GetLabel() {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

// value is a counter's or a gauge's value; it fails the test when the
// series is missing.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := series(fams, name, labels...)
	switch {
	case m == nil:
		t.Fatalf("no series %s%v", name, labels)
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("%s%v is neither a counter nor a gauge", name, labels)
	return 0
}

// TestMetricsAfterAScriptedRun drives the server (budgets in a real
// redis-server, users in SQLite, the API-key cache on) through logins
// right and wrong, a username budget spent to 429, API requests right and
// wrong, and Redis killed; then scrapes /metrics with Prometheus's text
// parser and checks every counter at its exact value. It also pins that
// nothing secret or personal (a password, an API key, an email, a client
// address, Redis's password) is in a metric or a label.
func TestMetricsAfterAScriptedRun(t *testing.T) {
	t.Parallel()
	const redisPassword = "redis-secret-of-the-test"
	redis := redistest.Start(t, "--requirepass", redisPassword)
	db := tempDB(t)
	u := parseUser(t, mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com"))
	st := openStore(t, []string{"-db", db})
	var obs *observer
	srv, logs := inProcessServer(t, st, func(c *serveConfig) {
		c.redis = "redis://:" + redisPassword + "@" + redis.Addr()
		c.APIKeyCacheTTL = time.Hour
		c.obs = newObserver(2 * time.Second)
		obs = c.obs
	})
	metrics := httptest.NewServer(obs.metricsMux(discardLogger()))
	t.Cleanup(metrics.Close)

	post := func(password string, want int) {
		t.Helper()
		if code, body := login(t, srv.URL, "iago@zulip.com", password); code != want {
			t.Fatalf("login with %q: %d %v, want %d", password, code, body, want)
		}
	}
	me := func(key string, want int) {
		t.Helper()
		if code, body := get(t, srv.URL+"/api/v1/users/me", http.Header{"Authorization": {basicAuth("iago@zulip.com", key)}}); code != want {
			t.Fatalf("users/me: %d %s, want %d", code, body, want)
		}
	}
	post("a long password", 200) // clears the username's budget
	// At once: a failure is padded to the costliest verification, which
	// -race makes seconds long. Each spends the username's budget before
	// its hash, so all five are allowed and the sixth is not.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if code, body := login(t, srv.URL, "iago@zulip.com", "a wrong password"); code != 401 {
				t.Errorf("a wrong password: %d %v, want 401", code, body)
			}
		})
	}
	wg.Wait()
	post("a wrong password", 429) // the username's budget of 5 is spent
	me(u.APIKey, 200)             // a miss
	me(u.APIKey, 200)             // a hit
	const unknownKey = "0123456789abcdefghijABCDEFGHIJ01"
	me(unknownKey, 401) // a miss
	redis.Kill()
	me(u.APIKey, 200) // a hit; the user's budget finds no Redis: the outage, the fallback answers

	fams, body := scrape(t, metrics.URL)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"zulipauth_logins_total", []string{"method", "fetch_api_key", "outcome", "success"}, 1},
		{"zulipauth_logins_total", []string{"method", "fetch_api_key", "outcome", "failure"}, 5},
		{"zulipauth_logins_total", []string{"method", "fetch_api_key", "outcome", "rate_limited"}, 1},
		{"zulipauth_logins_total", []string{"method", "fetch_api_key", "outcome", "busy"}, 0},
		{"zulipauth_logins_total", []string{"method", "fetch_api_key", "outcome", "error"}, 0},
		{"zulipauth_rate_limit_refusals_total", []string{"budget", "username", "endpoint", "login"}, 1},
		{"zulipauth_rate_limit_refusals_total", []string{"budget", "account", "endpoint", "login"}, 0},
		{"zulipauth_rate_limit_refusals_total", []string{"budget", "ip", "endpoint", "login"}, 0},
		{"zulipauth_rate_limit_refusals_total", []string{"budget", "ip", "endpoint", "api"}, 0},
		{"zulipauth_rate_limit_refusals_total", []string{"budget", "user", "endpoint", "api"}, 0},
		{"zulipauth_api_authentications_total", []string{"outcome", "success"}, 3},
		{"zulipauth_api_authentications_total", []string{"outcome", "failure"}, 1},
		{"zulipauth_api_authentications_total", []string{"outcome", "bad_request"}, 0},
		{"zulipauth_api_authentications_total", []string{"outcome", "rate_limited"}, 0},
		{"zulipauth_api_authentications_total", []string{"outcome", "error"}, 0},
		{"zulipauth_api_key_cache_hits_total", nil, 2},
		{"zulipauth_api_key_cache_misses_total", nil, 2},
		{"zulipauth_api_key_cache_keys", nil, 2},
		{"zulipauth_change_feed_up", nil, 1},
		{"zulipauth_password_hash_slots", nil, float64(runtime.GOMAXPROCS(0))},
		{"zulipauth_password_hashes_in_progress", nil, 0},
		{"zulipauth_password_hash_queue_depth", []string{"lane", "ordinary"}, 0},
		{"zulipauth_password_hash_queue_depth", []string{"lane", "returning"}, 0},
		{"zulipauth_password_hash_busy_total", nil, 0},
		{"zulipauth_redis_up", nil, 0},            // the budgets share one Redis, so one outage
		{"zulipauth_redis_outages_total", nil, 1}, // counted once, as it is logged once
	} {
		if got := value(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The five wrong passwords came at once to GOMAXPROCS slots: how many
	// waited depends on the scheduler (backends/password's tests pin the
	// exact counts).
	if waits, secs := value(t, fams, "zulipauth_password_hash_waits_total"), value(t, fams, "zulipauth_password_hash_wait_seconds_total"); waits > 5 || (waits > 0) != (secs > 0) {
		t.Errorf("hash waits %v, %v s waited", waits, secs)
	}
	// The feed is read every second: its lag is a second or two, never the
	// time since the server started (or since 1970).
	if lag := value(t, fams, "zulipauth_change_feed_lag_seconds"); lag > 10 {
		t.Errorf("the change feed's lag is %v s", lag)
	}
	// Every budget is in Redis: none is kept in this process.
	if f := fams["zulipauth_limiter_keys"]; f != nil {
		t.Errorf("limiter keys reported for budgets kept in Redis: %v", f)
	}
	// Each budget's calls to Redis: the user's two before the outage and
	// the one that met it; the login budgets' at least one per login.
	for budget, atLeast := range map[string]uint64{"username": 7, "ip": 7, "user": 3} {
		m := series(fams, "zulipauth_redis_call_duration_seconds", "budget", budget)
		if m == nil || m.Histogram == nil {
			t.Fatalf("no call-duration histogram for the %s budget", budget)
		}
		if n := m.Histogram.GetSampleCount(); n < atLeast {
			t.Errorf("%s budget: %d calls to Redis, want at least %d", budget, n, atLeast)
		}
	}
	if m := series(fams, "zulipauth_redis_call_duration_seconds", "budget", "user"); m.Histogram.GetSampleCount() != 3 {
		t.Errorf("the user budget's calls to Redis: %d, want 3 (two answered, one met the outage)", m.Histogram.GetSampleCount())
	}
	if fams["go_goroutines"] == nil || fams["process_resident_memory_bytes"] == nil {
		t.Error("the Go runtime's and the process's metrics are missing")
	}

	// Redis down, failing open: ready, and the body says what answers.
	code, ready := get(t, metrics.URL+"/readyz", nil)
	if code != 200 || !strings.Contains(string(ready), "\nredis: failed") || !strings.Contains(string(ready), "(ready without it: the budgets are kept in this process") {
		t.Errorf("/readyz with Redis down, failing open: %d %q", code, ready)
	}
	for _, secret := range []string{"a long password", "a wrong password", u.APIKey, unknownKey, "iago", "zulip.com", "127.0.0.1", redisPassword} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics holds %q", secret)
		}
		if strings.Contains(string(ready), secret) {
			t.Errorf("/readyz holds %q", secret)
		}
	}
	if strings.Contains(logs.String(), redisPassword) {
		t.Error("Redis's password is in the log")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
