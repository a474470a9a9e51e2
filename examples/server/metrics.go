package main

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/examples/internal/refserver"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// observer is what serve's metrics and health checks read: the parts
// buildHandler wires (the store, the authenticators, the budgets in Redis,
// zulipauth's Auth), and the login events it counts. Built by
// metricsFlags.observer when -metrics-addr or -health-on-main is given,
// filled by buildHandler (attach, redis), then read by scrapes and probes.
//
// Every label value is bounded by the configuration: a login method is one
// the server offers, a budget one of five names; no username, email,
// address or key is ever a label.
type observer struct {
	readyTimeout time.Duration

	// Set by attach and redis before the handler serves; read only after.
	store *sqlstore.Store
	// The authenticators -auth built: each method once at most (-auth
	// refuses one named twice; there is one -ldap-url).
	password        *password.Authenticator
	dir             *ldap.Authenticator
	ldapOnly        bool // -auth ldap alone: no login without the directory
	redis           *sharedLimits
	redisFailClosed bool
	methods         []string // the login methods offered, Event.Method's values

	auth         atomic.Pointer[zulipauth.Auth]
	shuttingDown atomic.Bool

	mu       sync.Mutex
	logins   map[[2]string]uint64 // by method, outcome
	refusals map[string]uint64    // login refusals by budget

	probes probeLog
}

// Outcomes of a login, the values of zulipauth_logins_total's outcome.
const (
	outcomeSuccess     = "success"
	outcomeFailure     = "failure"
	outcomeRateLimited = "rate_limited"
	outcomeError       = "error"
	outcomeBusy        = "busy"
)

func newObserver(readyTimeout time.Duration) *observer {
	return &observer{readyTimeout: readyTimeout, logins: map[[2]string]uint64{}, refusals: map[string]uint64{}}
}

// attach records what buildHandler built into c and hooks the observer
// into c's events; a nil observer does nothing.
func (o *observer) attach(c *refserver.Config, st *sqlstore.Store, auth authFlags) {
	if o == nil {
		return
	}
	o.store = st
	for _, a := range auth.built {
		switch a := a.(type) {
		case *password.Authenticator:
			o.password = a
		case *ldap.Authenticator:
			o.dir = a
		}
	}
	o.ldapOnly = o.dir != nil && o.password == nil
	o.methods = []string{"fetch_api_key"}
	if c.TokenVerifier != nil {
		o.methods = append(o.methods, "jwt")
	}
	if c.InsecureDevLogin {
		o.methods = append(o.methods, "dev")
	}
	for _, p := range c.IdentityProviders {
		info := p.Info()
		o.methods = append(o.methods, info.Kind+":"+info.Name)
	}
	// Every series from the start, at 0: a dashboard's rate() needs a
	// first sample, and a test reads exact values.
	for _, m := range o.methods {
		for _, out := range []string{outcomeSuccess, outcomeFailure, outcomeRateLimited, outcomeBusy, outcomeError} {
			o.logins[[2]string{m, out}] = 0
		}
	}
	for _, b := range []string{"ip", "username", "account"} {
		o.refusals[b] = 0
	}
	c.OnEvent = o.event
	prev := c.OnAuth
	c.OnAuth = func(a *zulipauth.Auth) {
		o.auth.Store(a)
		if prev != nil {
			prev(a)
		}
	}
}

// setRedis records the budgets kept in Redis; a nil observer does nothing.
func (o *observer) setRedis(s *sharedLimits, failClosed bool) {
	if o == nil {
		return
	}
	o.redis, o.redisFailClosed = s, failClosed
}

// event counts one login event.
func (o *observer) event(ev zulipauth.Event) {
	method := ev.Method
	if !slices.Contains(o.methods, method) {
		method = "other" // never a value a client chose
	}
	sso := strings.Contains(method, ":")
	var outcome string
	switch {
	case ev.Kind == zulipauth.LoginSucceeded:
		outcome = outcomeSuccess
	case ev.Kind == zulipauth.LoginRateLimited:
		outcome = outcomeRateLimited
	case ev.Code == "RATE_LIMIT_HIT":
		// zulipauth.ErrBusy: no hash slot in time (a budget's refusal is
		// LoginRateLimited).
		outcome = outcomeBusy
	case ev.Code == "" && !sso:
		// A fault: the answer has no code. (A single sign-on failure
		// never has one: its answer is a page.)
		outcome = outcomeError
	default:
		outcome = outcomeFailure
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.logins[[2]string{method, outcome}]++
	if ev.Kind == zulipauth.LoginRateLimited {
		if _, ok := o.refusals[ev.Limit]; ok {
			o.refusals[ev.Limit]++
		}
	}
}

// metricsHandler serves the metrics in Prometheus's text format: the
// observer's, the Go runtime's and the process's.
func (o *observer) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(o, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// The metrics; examples/server/README.md says what each means.
var (
	descLogins = prometheus.NewDesc("zulipauth_logins_total",
		"Login attempts that reached the client's budget, by method (fetch_api_key, jwt, dev, or a single sign-on provider's kind:name) and outcome (success, failure, rate_limited, busy, error).",
		[]string{"method", "outcome"}, nil)
	descRefusals = prometheus.NewDesc("zulipauth_rate_limit_refusals_total",
		"Requests refused with 429 by a spent budget, by endpoint (login, api) and budget (ip, username, account; user).",
		[]string{"endpoint", "budget"}, nil)
	descAPI = prometheus.NewDesc("zulipauth_api_authentications_total",
		"API requests (HTTP Basic email:api_key), by outcome (success, failure, bad_request, rate_limited, error).",
		[]string{"outcome"}, nil)
	descSSO = prometheus.NewDesc("zulipauth_sso_completions_total",
		"Single sign-on returns from an identity provider, by provider (kind:name) and outcome (success, failure, rate_limited).",
		[]string{"provider", "outcome"}, nil)
	descCacheHits = prometheus.NewDesc("zulipauth_api_key_cache_hits_total",
		"API requests whose key the API-key cache answered.", nil, nil)
	descCacheMisses = prometheus.NewDesc("zulipauth_api_key_cache_misses_total",
		"API requests whose key cost a store lookup, the cache on.", nil, nil)
	descCacheKeys = prometheus.NewDesc("zulipauth_api_key_cache_keys",
		"API keys the cache holds (users' and unknown ones).", nil, nil)
	descLimiterKeys = prometheus.NewDesc("zulipauth_limiter_keys",
		"Keys a budget kept in this process holds, by budget (username, ip, user).", []string{"budget"}, nil)
	descFeedLag = prometheus.NewDesc("zulipauth_change_feed_lag_seconds",
		"Time since the last read of the store's change feed that caught up began: revocations made elsewhere take effect here within about this long.", nil, nil)
	descFeedUp = prometheus.NewDesc("zulipauth_change_feed_up",
		"1 when the last read of the store's change feed succeeded, 0 when it failed.", nil, nil)
	descHashSlots = prometheus.NewDesc("zulipauth_password_hash_slots",
		"Password hashes that may be computed at once.", nil, nil)
	descHashBusy = prometheus.NewDesc("zulipauth_password_hashes_in_progress",
		"Password hashes being computed.", nil, nil)
	descHashQueue = prometheus.NewDesc("zulipauth_password_hash_queue_depth",
		"Logins waiting for a hash slot, by lane (ordinary, returning).", []string{"lane"}, nil)
	descHashWaits = prometheus.NewDesc("zulipauth_password_hash_waits_total",
		"Logins that waited for a hash slot.", nil, nil)
	descHashWaitSeconds = prometheus.NewDesc("zulipauth_password_hash_wait_seconds_total",
		"Time logins waited for a hash slot, in all.", nil, nil)
	descHashRefusals = prometheus.NewDesc("zulipauth_password_hash_busy_total",
		"Logins refused (429, a short Retry-After) because the hash queue was full or no slot freed up in time.", nil, nil)
	descRedisUp = prometheus.NewDesc("zulipauth_redis_up",
		"1 while Redis answers the budgets' calls, 0 during an outage (the fallback answers).", nil, nil)
	descRedisOutages = prometheus.NewDesc("zulipauth_redis_outages_total",
		"Redis outages begun.", nil, nil)
	descRedisCalls = prometheus.NewDesc("zulipauth_redis_call_duration_seconds",
		"Duration of a budget's calls to Redis, by budget.", []string{"budget"}, nil)
	descLDAPUp = prometheus.NewDesc("zulipauth_ldap_up",
		"1 while the directory answers, 0 when its last call got no answer.", nil, nil)
	descLDAPOutages = prometheus.NewDesc("zulipauth_ldap_outages_total",
		"Directory outages begun.", nil, nil)
	descLDAPCalls = prometheus.NewDesc("zulipauth_ldap_call_duration_seconds",
		"Duration of the directory's calls (a search or a user's bind, with the dial when one was needed).", nil, nil)
)

// Describe implements prometheus.Collector.
func (o *observer) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLogins, descRefusals, descAPI, descSSO, descCacheHits, descCacheMisses, descCacheKeys,
		descLimiterKeys, descFeedLag, descFeedUp, descHashSlots, descHashBusy, descHashQueue, descHashWaits, descHashWaitSeconds,
		descHashRefusals, descRedisUp, descRedisOutages, descRedisCalls, descLDAPUp, descLDAPOutages, descLDAPCalls} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads every part's stats now.
func (o *observer) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	o.mu.Lock()
	for k, n := range o.logins {
		counter(descLogins, float64(n), k[0], k[1])
		if strings.Contains(k[0], ":") && k[1] != outcomeError && k[1] != outcomeBusy {
			counter(descSSO, float64(n), k[0], k[1])
		}
	}
	for b, n := range o.refusals {
		counter(descRefusals, float64(n), "login", b)
	}
	o.mu.Unlock()

	if a := o.auth.Load(); a != nil {
		s := a.Stats()
		counter(descAPI, float64(s.APIAuthenticated), outcomeSuccess)
		counter(descAPI, float64(s.APIUnauthorized), outcomeFailure)
		counter(descAPI, float64(s.APIBadRequest), "bad_request")
		counter(descAPI, float64(s.APIRateLimitedUser+s.APIRateLimitedIP), outcomeRateLimited)
		counter(descAPI, float64(s.APIFaults), outcomeError)
		counter(descRefusals, float64(s.APIRateLimitedUser), "api", "user")
		counter(descRefusals, float64(s.APIRateLimitedIP), "api", "ip")
		counter(descCacheHits, float64(s.APIKeyCacheHits))
		counter(descCacheMisses, float64(s.APIKeyCacheMisses))
		gauge(descCacheKeys, float64(s.APIKeyCacheKeys))
		for budget, n := range map[string]int{"username": s.UsernameLimiterKeys, "ip": s.IPLimiterKeys, "user": s.UserLimiterKeys} {
			if n >= 0 {
				gauge(descLimiterKeys, float64(n), budget)
			}
		}
		if s.FollowingChanges {
			gauge(descFeedLag, max(time.Since(s.ChangesReadAt).Seconds(), 0))
			gauge(descFeedUp, b2f(!s.ChangesFailing))
		}
	}

	if o.password != nil {
		h := o.password.Stats()
		gauge(descHashSlots, float64(h.Slots))
		gauge(descHashBusy, float64(h.InProgress))
		gauge(descHashQueue, float64(h.Waiting), "ordinary")
		gauge(descHashQueue, float64(h.WaitingReturning), "returning")
		counter(descHashWaits, float64(h.Waits))
		counter(descHashWaitSeconds, h.WaitSeconds)
		counter(descHashRefusals, float64(h.Busy))
	}

	if o.redis != nil {
		gauge(descRedisUp, b2f(!o.redis.health.Unavailable()))
		counter(descRedisOutages, float64(o.redis.health.Outages()))
		for budget, l := range map[string]zulipauth.Limiter{"username": o.redis.login, "ip": o.redis.ip, "user": o.redis.user} {
			if rl, ok := l.(*redislimit.Limiter); ok {
				s := rl.Stats()
				ch <- prometheus.MustNewConstHistogram(descRedisCalls, s.Calls, s.CallSeconds, s.CallBuckets, budget)
			}
		}
	}

	if o.dir != nil {
		s := o.dir.Stats()
		gauge(descLDAPUp, b2f(!s.Down))
		counter(descLDAPOutages, float64(s.Outages))
		ch <- prometheus.MustNewConstHistogram(descLDAPCalls, s.Calls, s.CallSeconds, s.CallBuckets)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
