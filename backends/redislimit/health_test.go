package redislimit_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Three limiters on one Redis share one Health: Redis crashing is one
// outage, logged once, not once per limiter; after the first failed call
// the others answer from their fallback without sending a command; and
// Redis's return is logged once too. (It pins the reference server's
// promise of one line per outage, which it broke with one per budget.)
func TestLimitersSharingAHealthSeeOneOutage(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, "--requirepass", redisPassword)
	client, _ := slowClient(t, s, plainClient)
	logs := &logRecorder{}
	h := redislimit.NewHealth()
	b := zulipauth.Budget{Events: 3, Per: time.Hour}
	var ls []*redislimit.Limiter
	for _, p := range []string{"ip:", "login:", "user:"} {
		ls = append(ls, newLimiter(t, client, b, redislimit.WithLogger(slog.New(logs)), redislimit.WithHealth(h),
			redislimit.WithPrefix("test:"+t.Name()+":"+p)))
	}
	for _, l := range ls {
		allow(t, l, "k")
	}
	if h.Unavailable() {
		t.Fatal("Unavailable while Redis answers")
	}

	s.Kill()
	allowSoon(t, ls[0], t.Context(), "k") // begins the outage
	if !h.Unavailable() {
		t.Fatal("not Unavailable after a call got no answer")
	}
	before := tried(ls[1:]...)
	for _, l := range ls[1:] {
		if d, _ := allowSoon(t, l, t.Context(), "k"); !d.Allowed {
			t.Errorf("the fallback refused a fresh key: %+v", d)
		}
	}
	// A probe may fall due meanwhile on a slow machine: at most one.
	if n := tried(ls[1:]...) - before; n > 1 {
		t.Errorf("%d calls to Redis by the other limiters during the outage, want none (at most one probe)", n)
	}
	checkLogs(t, logs, 0)

	s.Restart()
	waitForRedis(t, ls[2], logs)
	for _, l := range ls {
		allow(t, l, "after")
	}
	if h.Unavailable() {
		t.Error("still Unavailable after Redis answered")
	}
	if n := h.Outages(); n != 1 {
		t.Errorf("Outages() = %d after one outage the three limiters met, want 1", n)
	}
	checkLogs(t, logs, 1)
}

// MarkUnavailable (a failed check at start-up) puts every limiter sharing
// the Health on its fallback before any of them waits for Redis, logs
// nothing itself, and the first probe's answer ends it, logged once.
func TestMarkUnavailable(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, "--requirepass", redisPassword)
	client, _ := slowClient(t, s, plainClient)
	logs := &logRecorder{}
	h := redislimit.NewHealth()
	l := newLimiter(t, client, zulipauth.Budget{Events: 3, Per: time.Hour}, redislimit.WithLogger(slog.New(logs)), redislimit.WithHealth(h))
	if !h.MarkUnavailable() {
		t.Fatal("MarkUnavailable did not begin an outage")
	}
	if h.MarkUnavailable() {
		t.Error("a second MarkUnavailable began another outage")
	}
	if n := spend(t, l, "k"); n != 3 || tried(l) > 1 {
		t.Errorf("after MarkUnavailable: %d allowed and %d calls to Redis, want the fallback's 3 and no call (at most one probe)", n, tried(l))
	}
	if n := logs.count(outageLine); n != 0 {
		t.Errorf("MarkUnavailable logged %d outage lines; its caller says what failed", n)
	}
	waitForRedis(t, l, logs) // Redis answers all along: the first probe ends it
	if h.Unavailable() || logs.count(backLine) != 1 {
		t.Errorf("after the probe: Unavailable %v, %d lines saying Redis answers: %q", h.Unavailable(), logs.count(backLine), logs.Lines())
	}
}

func TestWithHealthNil(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if _, err := redislimit.New(newClient(t, s), zulipauth.Budget{Events: 1, Per: time.Second}, redislimit.WithHealth(nil)); err == nil {
		t.Error("WithHealth(nil) accepted")
	}
}
