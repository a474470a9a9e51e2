package zulipauth_test

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

const wantRateLimited360 = `{"result":"error","msg":"API usage exceeded rate limit","code":"RATE_LIMIT_HIT","retry-after":360.0}` + "\n"

// Pins Zulip's RateLimitAuthenticationTests: once the per-username budget is
// spent, even the right password is refused, so a guesser learns nothing
// from a late hit.
func TestLoginBudgetRefusesEvenTheRightPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 1; i <= 5; i++ {
		w := f.login(iagoEmail, "wrong", "")
		if w.Code != 401 {
			t.Fatalf("attempt %d: status %d, want 401", i, w.Code)
		}
		if got, want := w.Header().Get("X-RateLimit-Remaining"), strconv.Itoa(5-i); got != want {
			t.Errorf("attempt %d: X-RateLimit-Remaining = %s, want %s", i, got, want)
		}
		if got := w.Header().Get("X-RateLimit-Limit"); got != "5" {
			t.Errorf("X-RateLimit-Limit = %s, want 5", got)
		}
	}
	w := f.login(iagoEmail, iagoPassword, "")
	if w.Code != 429 || w.Body.String() != wantRateLimited360 {
		t.Fatalf("6th attempt: %d %s, want 429 %s", w.Code, w.Body, wantRateLimited360)
	}
	if got := w.Header().Get("Retry-After"); got != "360" {
		t.Errorf("Retry-After = %q, want 360", got)
	}
	if got := w.Header().Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("X-RateLimit-Remaining = %q, want 0", got)
	}
	// Reset: every applied budget is full again 30 minutes after the last
	// recorded attempt (the 5th, at the fixture's fixed time).
	if got, want := w.Header().Get("X-RateLimit-Reset"), strconv.FormatInt(f.clock.Now().Add(30*time.Minute).Unix(), 10); got != want {
		t.Errorf("X-RateLimit-Reset = %s, want %s", got, want)
	}
	var limited int
	for _, e := range f.events() {
		if e.Kind == zulipauth.LoginRateLimited && e.Limit == "username" {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("rate-limited events = %d, want 1", limited)
	}

	// A refused attempt does not extend the lock-out: one token interval
	// later, exactly one attempt is allowed again.
	f.clock.Advance(6*time.Minute - time.Second)
	if w := f.login(iagoEmail, iagoPassword, ""); w.Code != 429 {
		t.Fatalf("before the interval: %d, want 429", w.Code)
	}
	f.clock.Advance(time.Second)
	if w := f.login(iagoEmail, iagoPassword, ""); w.Code != 200 {
		t.Fatalf("after the interval: %d %s, want 200", w.Code, w.Body)
	}
}

func TestLoginBudgetClearedBySuccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 4; i++ {
		f.login(iagoEmail, "wrong", "")
	}
	if w := f.login(iagoEmail, iagoPassword, ""); w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for i := 1; i <= 5; i++ {
		if w := f.login(iagoEmail, "wrong", ""); w.Code != 401 {
			t.Fatalf("failure %d after a success: %d, want 401 (budget not cleared)", i, w.Code)
		}
	}
	if w := f.login(iagoEmail, "wrong", ""); w.Code != 429 {
		t.Fatalf("6th failure: %d, want 429", w.Code)
	}
}

// Pins the case-variant bypass of Zulip's key (the username as typed): an
// attacker who changes letter case must not get a fresh budget.
func TestLoginBudgetIgnoresLetterCase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, u := range []string{"iago@zulip.com", "IAGO@zulip.com", "Iago@Zulip.Com", "iAgO@ZULIP.COM", "iago@zulip.COM"} {
		if w := f.login(u, "wrong", ""); w.Code != 401 {
			t.Fatalf("%s: %d", u, w.Code)
		}
	}
	if w := f.login("IaGo@zulip.com", iagoPassword, ""); w.Code != 429 {
		t.Fatalf("6th variant: %d, want 429", w.Code)
	}
	// Another user is unaffected.
	if w := f.login("othello@zulip.com", "wrong", ""); w.Code != 401 {
		t.Fatalf("another user: %d, want 401", w.Code)
	}
}

// Unknown users and deactivated accounts spend the budget too, as in Zulip,
// so the limit cannot be used to tell accounts apart.
func TestLoginBudgetCountsEveryFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		f.login("nobody@zulip.com", "x", "")
	}
	if w := f.login("nobody@zulip.com", "x", ""); w.Code != 429 {
		t.Fatalf("unknown user: %d, want 429", w.Code)
	}
	// 400s come before the limits and spend nothing.
	for i := 0; i < 10; i++ {
		if w := f.login("not an email", "x", ""); w.Code != 400 {
			t.Fatalf("bad email: %d", w.Code)
		}
	}
	if w := f.login(iagoEmail, iagoPassword, ""); w.Code != 200 {
		t.Fatalf("iago: %d", w.Code)
	}
}

func TestIPBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 100; i++ {
		w := f.login(fmt.Sprintf("user%d@zulip.com", i), "x", "198.51.100.7:5000")
		if w.Code != 401 {
			t.Fatalf("attempt %d: %d", i, w.Code)
		}
	}
	w := f.login(iagoEmail, iagoPassword, "198.51.100.7:5001")
	if w.Code != 429 {
		t.Fatalf("101st attempt from one IP: %d, want 429", w.Code)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (100 per minute refills one each 0.6 s)", got)
	}
	if got := w.Header().Get("X-RateLimit-Limit"); got != "100" {
		t.Errorf("X-RateLimit-Limit = %q, want 100", got)
	}
	if w := f.login(iagoEmail, iagoPassword, "198.51.100.8:5000"); w.Code != 200 {
		t.Fatalf("another IP: %d, want 200", w.Code)
	}
	// The refused attempt did not touch iago's username budget.
	for i := 0; i < 5; i++ {
		if w := f.login(iagoEmail, "wrong", "198.51.100.9:5000"); w.Code != 401 {
			t.Fatalf("iago failure %d: %d", i, w.Code)
		}
	}
}

// Pins IPv6 keying by /64: one host owns a /64 and could otherwise rotate
// through 2^64 addresses, each with a fresh budget.
func TestIPBudgetIPv6By64(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 100; i++ {
		f.login(fmt.Sprintf("user%d@zulip.com", i), "x", fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
	}
	if w := f.login(iagoEmail, iagoPassword, "[2001:db8:1:2:ffff::1]:443"); w.Code != 429 {
		t.Fatalf("same /64: %d, want 429", w.Code)
	}
	if w := f.login(iagoEmail, iagoPassword, "[2001:db8:1:3::1]:443"); w.Code != 200 {
		t.Fatalf("next /64: %d, want 200", w.Code)
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		realIP  string
		trusted []netip.Prefix
		header  string // Config.ClientIPHeader
		want    string
	}{
		{"peer", "203.0.113.9:1234", nil, "", nil, "", "203.0.113.9"},
		{"untrusted peer, spoofed XFF", "203.0.113.9:1234", []string{"1.2.3.4"}, "5.6.7.8", trusted, "", "203.0.113.9"},
		{"no trusted proxies configured", "10.0.0.1:80", []string{"1.2.3.4"}, "", nil, "", "10.0.0.1"},
		{"trusted proxy, XFF", "10.0.0.1:80", []string{"1.2.3.4"}, "", trusted, "", "1.2.3.4"},
		{"read from the right", "10.0.0.1:80", []string{"6.6.6.6, 1.2.3.4, 10.0.0.2"}, "", trusted, "", "1.2.3.4"},
		{"several XFF headers", "10.0.0.1:80", []string{"6.6.6.6", "1.2.3.4"}, "", trusted, "", "1.2.3.4"},
		{"garbage hop", "10.0.0.1:80", []string{"1.2.3.4, garbage, 10.0.0.3"}, "", trusted, "", "10.0.0.3"},
		{"all hops trusted", "10.0.0.1:80", []string{"10.0.0.5, 10.0.0.3"}, "", trusted, "", "10.0.0.5"},
		{"X-Real-IP is not read unless configured", "10.0.0.1:80", nil, "1.2.3.4", trusted, "", "10.0.0.1"},
		{"X-Real-IP configured", "10.0.0.1:80", nil, "1.2.3.4", trusted, "X-Real-IP", "1.2.3.4"},
		// Pins the bypass behind a proxy that sets only X-Real-IP: the
		// client's own X-Forwarded-For must not be believed.
		{"X-Real-IP configured, client's XFF ignored", "10.0.0.1:80", []string{"6.6.6.6"}, "1.2.3.4", trusted, "x-real-ip", "1.2.3.4"},
		{"IPv6 peer", "[::1]:80", []string{"2001:db8::7"}, "", trusted, "", "2001:db8::7"},
		{"IPv4-mapped", "[::ffff:203.0.113.9]:80", nil, "", nil, "", "203.0.113.9"},
		{"unparseable peer", "pipe", nil, "", nil, "", "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *zulipauth.Config) { c.TrustedProxies, c.ClientIPHeader = tt.trusted, tt.header })
			r := httptest.NewRequest("POST", fetchURL, nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			if got := f.auth.ClientIP(r).String(); got != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

// Through the handler: a spoofed X-Forwarded-For from an untrusted peer does
// not dodge the IP budget, and one from a trusted proxy is honoured.
func TestIPBudgetBehindProxies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *zulipauth.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	// Each attempt is for another username, so only the IP budget can
	// refuse; the refusal must name it (X-RateLimit-Limit 100).
	n := 0
	send := func(remote, xff string) *httptest.ResponseRecorder {
		n++
		r := formRequest(url.Values{"username": {fmt.Sprintf("user%d@zulip.com", n)}, "password": {"x"}}.Encode())
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		return f.do(r)
	}
	ipRefused := func(w *httptest.ResponseRecorder) bool {
		return w.Code == 429 && w.Header().Get("X-RateLimit-Limit") == "100"
	}
	for i := 0; i < 100; i++ {
		if w := send("203.0.113.1:1", fmt.Sprintf("1.1.1.%d", i)); w.Code != 401 {
			t.Fatalf("attempt %d: %d", i, w.Code)
		}
	}
	if w := send("203.0.113.1:1", "9.9.9.9"); !ipRefused(w) {
		t.Errorf("spoofed XFF from an untrusted peer: %d (limit %s), want the IP budget's 429", w.Code, w.Header().Get("X-RateLimit-Limit"))
	}
	for i := 0; i < 100; i++ {
		if w := send("10.0.0.1:1", "192.0.2.1"); w.Code != 401 {
			t.Fatalf("attempt %d behind the proxy: %d", i, w.Code)
		}
	}
	if w := send("10.0.0.1:1", "192.0.2.1"); !ipRefused(w) {
		t.Errorf("client behind a trusted proxy over budget: %d, want the IP budget's 429", w.Code)
	}
	// The proxy itself is not the client: another client behind it is fine.
	r := formRequest(url.Values{"username": {iagoEmail}, "password": {iagoPassword}}.Encode())
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "192.0.2.2")
	if w := f.do(r); w.Code != 200 {
		t.Errorf("another client behind the proxy: %d %s, want 200", w.Code, w.Body)
	}
}
