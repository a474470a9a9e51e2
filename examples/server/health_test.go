package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// probeOf answers GET path on base: its status and body.
func probeOf(t *testing.T, base, path string) (int, string) {
	t.Helper()
	code, body := get(t, base+path, nil)
	return code, string(body)
}

// untilReady polls /readyz until it answers status (a dependency going or
// coming back is noticed by the next probe; the poll only absorbs a pool's
// reconnection), and returns that answer's body.
func untilReady(t *testing.T, base string, status int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := probeOf(t, base, readyzPath)
		if code == status {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after 20 s, want %d:\n%s", code, status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// observed serves st through buildHandler with an observer (as serve does
// with -metrics-addr), mutate adjusting the configuration, and returns the
// metrics listener's server.
func observed(t *testing.T, st *sqlstore.Store, mutate func(*serveConfig)) (main, metrics *httptest.Server) {
	t.Helper()
	var obs *observer
	main, _ = inProcessServer(t, st, func(c *serveConfig) {
		c.obs = newObserver(2 * time.Second)
		obs = c.obs
		if mutate != nil {
			mutate(c)
		}
	})
	metrics = httptest.NewServer(obs.metricsMux(discardLogger()))
	t.Cleanup(metrics.Close)
	return main, metrics
}

// PostgreSQL unreachable (a TCP proxy in front of the shared cluster, cut:
// the cluster itself serves other tests): /readyz says the store fails,
// and the change feed's metric says its reads fail; both come back when
// the proxy does.
func TestReadinessFollowsPostgres(t *testing.T) {
	t.Parallel()
	dsn := freshPostgresSchema(t)
	u, _ := url.Parse(dsn)
	cut := newCutter(t, u.Host)
	u.Host = cut.ln.Addr().String()
	dsn = u.String()
	if err := run(context.Background(), []string{"create-user", "-postgres", dsn, "-email", "iago@zulip.com"},
		strings.NewReader("a long password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, metrics := observed(t, st, func(c *serveConfig) { c.APIKeyCacheTTL = time.Hour })
	feedUp := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			fams, _ := scrape(t, metrics.URL)
			if value(t, fams, "zulipauth_change_feed_up") == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("zulipauth_change_feed_up not %v after 20 s", want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	if body := untilReady(t, metrics.URL, 200); body != "ready\nstore: ok\n" {
		t.Errorf("ready: %q", body)
	}
	feedUp(1)
	cut.cut()
	if body := untilReady(t, metrics.URL, 503); !strings.HasPrefix(body, "not ready\nstore: failed") {
		t.Errorf("PostgreSQL cut: %q", body)
	}
	feedUp(0)
	if code, body := probeOf(t, metrics.URL, healthzPath); code != 200 || body != "ok\n" {
		t.Errorf("/healthz with PostgreSQL cut: %d %q, want 200: the process is alive", code, body)
	}
	cut.restore()
	if body := untilReady(t, metrics.URL, 200); body != "ready\nstore: ok\n" {
		t.Errorf("PostgreSQL back: %q", body)
	}
	feedUp(1)
}

// Redis killed with -redis-fail-closed, where every login is refused while
// it is away: not ready, naming Redis, and ready again when it returns.
// (Failing open, the fallback keeps the server ready:
// TestMetricsAfterAScriptedRun.)
func TestReadinessFollowsRedisFailingClosed(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	st := openStore(t, []string{"-db", tempDB(t)})
	_, metrics := observed(t, st, func(c *serveConfig) { c.redis, c.redisFailClosed = redis.Addr(), true })
	if body := untilReady(t, metrics.URL, 200); body != "ready\nstore: ok\nredis: ok\n" {
		t.Errorf("ready: %q", body)
	}
	redis.Kill()
	body := untilReady(t, metrics.URL, 503)
	if !strings.HasPrefix(body, "not ready\nstore: ok\nredis: failed") || strings.Contains(body, "ready without it") {
		t.Errorf("Redis killed, failing closed: %q", body)
	}
	redis.Restart()
	if body := untilReady(t, metrics.URL, 200); body != "ready\nstore: ok\nredis: ok\n" {
		t.Errorf("Redis back: %q", body)
	}
}

// slapd stopped: a server whose only method is LDAP is not ready; one
// that checks passwords too stays ready and says the directory fails. The
// directory's metrics count the outage. Both are ready again when slapd
// returns.
func TestReadinessFollowsSlapd(t *testing.T) {
	t.Parallel()
	dir := slapdtest.Start(t, slapdtest.Options{})
	ldapFlagsOf := ldapFlags{url: dir.URL, userDNTemplate: slapdtest.UserDNTemplate, appendDomain: "zulip.com", createUsers: true, timeout: time.Second}
	serverWith := func(methods ...string) *httptest.Server {
		st := openStore(t, []string{"-db", tempDB(t)})
		_, metrics := observed(t, st, func(c *serveConfig) { c.auth.methods, c.auth.ldap = methods, ldapFlagsOf })
		return metrics
	}
	only, both := serverWith("ldap"), serverWith("ldap", "password")
	for _, m := range []*httptest.Server{only, both} {
		if body := untilReady(t, m.URL, 200); body != "ready\nstore: ok\nldap: ok\n" {
			t.Errorf("ready: %q", body)
		}
	}
	dir.Stop()
	if body := untilReady(t, only.URL, 503); !strings.HasPrefix(body, "not ready\nstore: ok\nldap: failed: connection refused\n") {
		t.Errorf("slapd stopped, LDAP alone: %q", body)
	}
	if body := untilReady(t, both.URL, 200); body != "ready\nstore: ok\nldap: failed: connection refused (ready without it: passwords are checked without it)\n" {
		t.Errorf("slapd stopped, LDAP and passwords: %q", body)
	}
	fams, _ := scrape(t, only.URL)
	if up, outages := value(t, fams, "zulipauth_ldap_up"), value(t, fams, "zulipauth_ldap_outages_total"); up != 0 || outages != 1 {
		t.Errorf("slapd stopped: zulipauth_ldap_up %v, zulipauth_ldap_outages_total %v; want 0, 1", up, outages)
	}
	dir.Restart()
	for _, m := range []*httptest.Server{only, both} {
		if body := untilReady(t, m.URL, 200); body != "ready\nstore: ok\nldap: ok\n" {
			t.Errorf("slapd back: %q", body)
		}
	}
	fams, _ = scrape(t, only.URL)
	if up, outages := value(t, fams, "zulipauth_ldap_up"), value(t, fams, "zulipauth_ldap_outages_total"); up != 1 || outages != 1 {
		t.Errorf("slapd back: zulipauth_ldap_up %v, zulipauth_ldap_outages_total %v; want 1, 1", up, outages)
	}
}

// The health checks on the main listener (-health-on-main) are never rate
// limited: a client whose budget is spent, and who gets 429 for a login,
// still gets every probe answered; the login routes still work behind
// them. Once the server is shutting down, /readyz says so, so that a load
// balancer stops sending before the listener closes, while /healthz still
// answers.
func TestHealthOnMainIsNeverRateLimited(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")
	st := openStore(t, []string{"-db", db})
	c := serveConfig{}
	c.metrics = metricsFlags{healthOnMain: true, readyTimeout: 2 * time.Second}
	c.obs = c.metrics.observer()
	c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1, Per: time.Hour})
	h, stop, err := buildHandler(st, c, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	h, stopMetrics, err := c.metrics.serve(c.obs, h, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopMetrics)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	if code, _ := login(t, srv.URL, "iago@zulip.com", "a wrong password"); code != 401 {
		t.Fatalf("the first login: %d, want 401", code)
	}
	if code, _ := login(t, srv.URL, "iago@zulip.com", "a long password"); code != 429 {
		t.Fatalf("the second login: %d, want 429 (the client's budget of 1 is spent)", code)
	}
	for range 50 {
		if code, body := probeOf(t, srv.URL, healthzPath); code != 200 || body != "ok\n" {
			t.Fatalf("/healthz: %d %q", code, body)
		}
		if code, body := probeOf(t, srv.URL, readyzPath); code != 200 || body != "ready\nstore: ok\n" {
			t.Fatalf("/readyz: %d %q", code, body)
		}
	}
	if code, _ := get(t, srv.URL+"/api/v1/server_settings", nil); code != 200 {
		t.Errorf("server_settings behind the health checks: %d", code)
	}
	resp, err := http.Post(srv.URL+readyzPath, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz: %d, want 405", resp.StatusCode)
	}

	c.obs.beginShutdown() // SIGINT or SIGTERM (see TestShutdownDrain for the process)
	if body := untilReady(t, srv.URL, 503); body != "not ready\nshutting down\n" {
		t.Errorf("shutting down: %q", body)
	}
	if code, _ := probeOf(t, srv.URL, healthzPath); code != 200 {
		t.Errorf("/healthz while shutting down: %d, want 200", code)
	}
}

// The graceful shutdown drains: after SIGTERM the server goes on serving for
// -shutdown-drain with /readyz answering 503, on the port the load balancer
// probes and sends to, and only then closes the listener and exits. (The
// 503 was set as the listener closed, where no probe could see it.)
func TestShutdownDrain(t *testing.T) {
	t.Parallel()
	p := startServer(t, "-db", tempDB(t), "-health-on-main", "-shutdown-drain", "3s")
	if body := untilReady(t, p.base, 200); !strings.HasPrefix(body, "ready\n") {
		t.Fatalf("/readyz before the shutdown: %q", body)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if body := untilReady(t, p.base, 503); body != "not ready\nshutting down\n" {
		t.Errorf("/readyz while draining: %q", body)
	}
	if code, _ := get(t, p.base+"/api/v1/server_settings", nil); code != 200 {
		t.Errorf("server_settings while draining: %d, want 200: the listener is still open", code)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after the drain: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after the drain")
	}
	if !strings.Contains(p.stderr.String(), "draining") {
		t.Errorf("the log does not say the server drains:\n%s", p.stderr.String())
	}
}

// serve -h lists the metrics and health flags, with their defaults.
func TestHelpListsMetricsFlags(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(context.Background(), []string{"serve", "-h"}, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-metrics-addr string", "127.0.0.1:9992", "-health-on-main", "-ready-timeout duration", "(default 2s)", "-shutdown-drain duration"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve -h lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(context.Background(), []string{"serve", "-ready-timeout", "0"}, strings.NewReader(""), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "-ready-timeout") {
		t.Errorf("-ready-timeout 0: %v, want a usage error naming it", err)
	}
	if err := run(context.Background(), []string{"serve", "-shutdown-drain", "-1s"}, strings.NewReader(""), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "-shutdown-drain") {
		t.Errorf("-shutdown-drain -1s: %v, want a usage error naming it", err)
	}
}
