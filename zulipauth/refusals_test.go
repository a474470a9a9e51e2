package zulipauth_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// countingLimiter counts the calls that reach a limiter.
type countingLimiter struct {
	zulipauth.Limiter
	calls atomic.Int64
	keys  sync.Map // every key asked for
}

func (c *countingLimiter) Allow(ctx context.Context, key string) (zulipauth.Decision, error) {
	c.calls.Add(1)
	c.keys.Store(key, true)
	return c.Limiter.Allow(ctx, key)
}

// forget resets every key it was asked for, as a budget that loses its
// state (a Redis restarted without persistence) forgets them.
func (c *countingLimiter) forget() {
	c.keys.Range(func(k, _ any) bool {
		c.Limiter.Reset(context.Background(), k.(string))
		return true
	})
}

// unreadBody fails the test when the handler reads it.
type unreadBody struct{ t *testing.T }

func (b unreadBody) Read([]byte) (int, error) {
	b.t.Error("the body of a refused client was read")
	return 0, io.EOF
}

// A client its budget refused is refused again, with the same 429 and
// headers, before its body is read and without a limiter call, until the
// budget allows one event: a client hammering a spent budget (the load
// harness's one-address flood) then costs no parsing and, with Redis, no
// round trip.
func TestRefusedClientIsAnsweredBeforeItsBody(t *testing.T) {
	t.Parallel()
	var ip *countingLimiter
	f := newFixture(t, func(c *zulipauth.Config) {
		ip = &countingLimiter{Limiter: zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 2, Per: time.Minute}, zulipauth.WithClock(c.Now))}
		c.IPLimiter = ip
	})
	for i := range 2 {
		if w := f.login("not-an-email", "pw", "192.0.2.7:1"); w.Code != 400 {
			t.Fatalf("spending %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := f.login("not-an-email", "pw", "192.0.2.7:1"); w.Code != 429 {
		t.Fatalf("spent: %d %s", w.Code, w.Body)
	}
	if n := ip.calls.Load(); n != 3 {
		t.Fatalf("%d limiter calls, want 3", n)
	}
	f.clock.Advance(500 * time.Millisecond)
	r := formRequest("")
	r.Body = io.NopCloser(unreadBody{t})
	r.RemoteAddr = "192.0.2.7:1"
	w := f.do(r)
	if w.Code != 429 || !strings.Contains(w.Body.String(), `"retry-after":30.0`) {
		t.Errorf("remembered refusal: %d %s, want 429 with retry-after 30.0 (29.5 s, rounded up)", w.Code, w.Body)
	}
	for name, want := range map[string]string{
		"Retry-After": "30", "X-Ratelimit-Limit": "2", "X-Ratelimit-Remaining": "0",
		// Full again a minute after the two events spent at the start.
		"X-Ratelimit-Reset": strconv.FormatInt(f.clock.Now().Add(59500*time.Millisecond).Unix(), 10),
		"Cache-Control":     "no-store",
	} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if n := ip.calls.Load(); n != 3 {
		t.Errorf("%d limiter calls after the remembered refusal, want still 3", n)
	}
	if ev := f.lastEvent(); ev.Kind != zulipauth.LoginRateLimited || ev.Limit != "ip" || ev.ClientIP.String() != "192.0.2.7" {
		t.Errorf("event %+v, want a rate-limited one for the ip budget", ev)
	}
	// Another client is not affected.
	if w := f.login("not-an-email", "pw", "192.0.2.8:1"); w.Code != 400 {
		t.Errorf("another client: %d, want 400", w.Code)
	}
	// Once one event is allowed again, the limiter decides.
	f.clock.Advance(30 * time.Second)
	if w := f.login("not-an-email", "pw", "192.0.2.7:1"); w.Code != 400 {
		t.Errorf("after the refill: %d %s, want 400", w.Code, w.Body)
	}
	if n := ip.calls.Load(); n != 5 {
		t.Errorf("%d limiter calls, want 5", n)
	}
}

// A username its budget refused is refused again without a limiter call
// until the budget allows one event, and before the client's budget: from
// new addresses (the load harness's many-address flood), such attempts cost
// no client bucket either, and are answered with the username budget's
// headers, as Zulip answers.
func TestSpentUsernameCostsNoLimiterCall(t *testing.T) {
	t.Parallel()
	var login, ip *countingLimiter
	f := newFixture(t, func(c *zulipauth.Config) {
		login = &countingLimiter{Limiter: zulipauth.NewMemoryLimiter(zulipauth.DefaultUsernameBudget(), zulipauth.WithClock(c.Now))}
		ip = &countingLimiter{Limiter: c.IPLimiter}
		c.UsernameLimiter, c.IPLimiter = login, ip
	})
	for i := range 5 {
		f.login(iagoEmail, "wrong", fmt.Sprintf("192.0.2.%d:1", i))
	}
	if w := f.login(iagoEmail, iagoPassword, "198.51.100.99:1"); w.Code != 429 {
		t.Fatalf("spent username: %d %s", w.Code, w.Body)
	}
	ipCalls := ip.calls.Load()
	for i := range 3 {
		w := f.login(strings.ToUpper(iagoEmail), iagoPassword, fmt.Sprintf("198.51.100.%d:1", i))
		if w.Code != 429 || w.Header().Get("X-Ratelimit-Limit") != "5" || w.Header().Get("X-Ratelimit-Remaining") != "0" || w.Header().Get("Retry-After") != "360" {
			t.Fatalf("spent username, attempt %d: %d %v %s", i, w.Code, w.Header(), w.Body)
		}
		if ev := f.lastEvent(); ev.Kind != zulipauth.LoginRateLimited || ev.Limit != "username" {
			t.Errorf("event %+v, want rate-limited by the username's budget", ev)
		}
	}
	// Each of the five attempts that reached the password check spent the
	// username's budget and the account's.
	if n := login.calls.Load(); n != 11 {
		t.Errorf("%d login-limiter calls, want 11 (5 spending the username's and the account's budgets, 1 refusal, then none)", n)
	}
	if n := ip.calls.Load() - ipCalls; n != 0 {
		t.Errorf("%d client-limiter calls for attempts at a spent username, want 0", n)
	}
	f.clock.Advance(zulipauth.DefaultUsernameBudget().Per / time.Duration(zulipauth.DefaultUsernameBudget().Events))
	if w := f.login(iagoEmail, iagoPassword, "203.0.113.1:1"); w.Code != 200 {
		t.Errorf("after one event refilled: %d %s, want 200", w.Code, w.Body)
	}
}

// The remembered refusals change no answer a budget gives: a random
// sequence of attempts from a few clients at a few usernames, at random
// times, is answered as a pair of reference limiters with the same budgets
// decide, in fetch_api_key's order: a client refused less than a second
// ago stays refused until its budget allows one event, then likewise a
// username (the reference budget must agree that it would refuse either,
// which pins the exactness argument of refusal), then the client's budget,
// then the username's.
func TestRefusalMemoryChangesNoAnswer(t *testing.T) {
	t.Parallel()
	ipBudget, userBudget := zulipauth.Budget{Events: 3, Per: 10 * time.Second}, zulipauth.Budget{Events: 2, Per: 20 * time.Second}
	f := newFixture(t, func(c *zulipauth.Config) {
		c.IPLimiter = zulipauth.NewMemoryLimiter(ipBudget, zulipauth.WithClock(c.Now))
		c.UsernameLimiter = zulipauth.NewMemoryLimiter(userBudget, zulipauth.WithClock(c.Now))
	})
	refIP, refUser := zulipauth.NewMemoryLimiter(ipBudget), zulipauth.NewMemoryLimiter(userBudget)
	rng := rand.New(rand.NewPCG(1, 2))
	// A kept refusal: asked again after keep, allowed again at allowed.
	type kept struct{ keep, allowed time.Time }
	ipRefused, userRefused := map[string]kept{}, map[string]kept{}
	keep := func(now time.Time, d zulipauth.Decision) kept {
		return kept{keep: now.Add(min(d.RetryAfter, time.Second)), allowed: now.Add(d.RetryAfter)}
	}
	refused := 0
	for i := range 3000 {
		f.clock.Advance(time.Duration(rng.IntN(700)) * time.Millisecond)
		now := f.clock.Now()
		client := fmt.Sprintf("192.0.2.%d", rng.IntN(3))
		user := fmt.Sprintf("user%d@zulip.test", rng.IntN(3))
		want, wantRetry := 401, time.Duration(0)
		// A refused attempt spends nothing, so asking the reference
		// budgets whether they still refuse changes nothing.
		if k := ipRefused[client]; now.Before(k.keep) {
			if d := refIP.AllowAt(client, now); d.Allowed {
				t.Fatalf("attempt %d: %s is refused as remembered, but its budget allows it", i, client)
			}
			want, wantRetry = 429, k.allowed.Sub(now)
		} else if k := userRefused[user]; now.Before(k.keep) {
			if d := refUser.AllowAt(user, now); d.Allowed {
				t.Fatalf("attempt %d: %s is refused as remembered, but its budget allows it", i, user)
			}
			want, wantRetry = 429, k.allowed.Sub(now)
		} else if d := refIP.AllowAt(client, now); !d.Allowed {
			want, wantRetry = 429, d.RetryAfter
			ipRefused[client] = keep(now, d)
		} else if d := refUser.AllowAt(user, now); !d.Allowed {
			want, wantRetry = 429, d.RetryAfter
			userRefused[user] = keep(now, d)
		}
		r := formRequest(url.Values{"username": {user}, "password": {"wrong"}}.Encode())
		r.RemoteAddr = client + ":1"
		w := f.do(r)
		if w.Code != want {
			t.Fatalf("attempt %d (%s from %s at +%v): %d, the budgets say %d", i, user, client, now.Sub(time.Time{}), w.Code, want)
		}
		if want == 429 {
			refused++
			got, _ := strconv.Atoi(w.Header().Get("Retry-After"))
			if wantSecs := int((wantRetry + time.Second - 1) / time.Second); got != wantSecs {
				t.Fatalf("attempt %d: Retry-After %d, the budget says %d", i, got, wantSecs)
			}
		}
	}
	if refused < 300 {
		t.Errorf("only %d of 3000 attempts refused: the sequence does not exercise the budgets", refused)
	}
}

// A kept refusal is asked again within a second, even while the budget's
// own RetryAfter is minutes away: a shared budget that lost its state (a
// Redis restarted without persistence; one that fell back to an in-process
// budget during an outage) must not be outlived by refusals made before.
// Pins a bug: after a Redis restart, a username spent before the outage
// stayed refused for six minutes, though Redis's budget was full.
func TestKeptRefusalsAreAskedAgainWithinASecond(t *testing.T) {
	t.Parallel()
	var login *countingLimiter
	var budget *zulipauth.MemoryLimiter
	f := newFixture(t, func(c *zulipauth.Config) {
		budget = zulipauth.NewMemoryLimiter(zulipauth.DefaultUsernameBudget(), zulipauth.WithClock(c.Now))
		login = &countingLimiter{Limiter: budget}
		c.UsernameLimiter = login
	})
	for i := range 6 {
		f.login(iagoEmail, "wrong", fmt.Sprintf("192.0.2.%d:1", i))
	}
	f.clock.Advance(999 * time.Millisecond)
	if w := f.login(iagoEmail, iagoPassword, "198.51.100.1:1"); w.Code != 429 || w.Header().Get("Retry-After") != "360" {
		t.Fatalf("kept refusal: %d Retry-After %q, want 429 and the budget's 360", w.Code, w.Header().Get("Retry-After"))
	}
	if n := login.calls.Load(); n != 11 {
		t.Fatalf("%d limiter calls, want 11 (5 attempts spending the username's and the account's budgets, 1 refusal): the refusal was not kept", n)
	}
	// The budget loses its state, as a Redis restarted without persistence.
	login.forget()
	f.clock.Advance(time.Millisecond)
	if w := f.login(iagoEmail, iagoPassword, "198.51.100.1:1"); w.Code != 200 {
		t.Errorf("a second after the refusal, the budget allows it: %d %s, want 200", w.Code, w.Body)
	}
}

// A client refused for failed API authentications is refused again, without
// a lookup, with its budget's own Retry-After, not with how long the
// refusal is kept. Pins a bug: once refusals were kept for a second at
// most, this answer said "Retry-After: 1" to a client whose budget refills
// in half an hour.
func TestKeptAPIRefusalKeepsTheBudgetsRetryAfter(t *testing.T) {
	t.Parallel()
	f, cs := countingFixture(t, func(c *zulipauth.Config) {
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 2, Per: time.Hour}, zulipauth.WithClock(c.Now))
	})
	h := f.auth.RequireAPIKey(me)
	for range 3 { // two made-up keys spend the budget, the third is refused
		getMe(h, "198.51.100.1:1", basic(iagoEmail, zulipauth.GenerateAPIKey()))
	}
	lookups := cs.lookups.Load()
	f.clock.Advance(500 * time.Millisecond)
	w := getMe(h, "198.51.100.1:1", basic(iagoEmail, zulipauth.GenerateAPIKey()))
	if w.Code != 429 || w.Header().Get("Retry-After") != "1800" {
		t.Errorf("kept refusal: %d Retry-After %q, want 429 and the budget's 1800", w.Code, w.Header().Get("Retry-After"))
	}
	if n := cs.lookups.Load() - lookups; n != 0 {
		t.Errorf("%d lookups for a kept refusal, want 0", n)
	}
}
