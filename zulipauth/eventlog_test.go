package zulipauth_test

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// A flood of refused logins writes at most the bound per minute plus one
// summary, where it once wrote a line per attempt (one client: ~400 KB/s of
// log). Successes are still written one by one, and the summary counts
// every refusal it did not write.
func TestEventLogBoundsRefusals(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	el := zulipauth.NewEventLog(slog.New(slog.NewTextHandler(&buf, nil)), 10)
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ip := netip.MustParseAddr("198.51.100.7")
	for i := range 10_000 {
		kind, code := zulipauth.LoginFailed, zulipauth.CodeAuthenticationFailed
		if i%2 == 1 {
			kind, code = zulipauth.LoginRateLimited, zulipauth.CodeRateLimitHit
		}
		el.Log(zulipauth.Event{Kind: kind, Code: code, Time: start.Add(time.Duration(i) * time.Millisecond), Username: "spray@zulip.com", ClientIP: ip})
	}
	el.Log(zulipauth.Event{Kind: zulipauth.LoginSucceeded, Time: start.Add(11 * time.Second), User: zulipauth.User{ID: 7, APIKey: "secretsecretsecretsecretsecret12"}})
	el.Flush()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10+1+1 {
		t.Fatalf("%d lines, want 10 refusals, 1 success and 1 summary:\n%s", len(lines), buf.String())
	}
	summary := lines[len(lines)-1]
	for _, want := range []string{"login refusals not logged one by one", "count=9990", "login_failed.AUTHENTICATION_FAILED=4995", "login_rate_limited.RATE_LIMIT_HIT=4995"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
	if strings.Count(buf.String(), "login succeeded") != 1 || strings.Contains(buf.String(), "secretsecret") {
		t.Errorf("the success must be one line without the key:\n%s", buf.String())
	}

	// A later minute writes one by one again, after the summary of the last.
	el.Log(zulipauth.Event{Kind: zulipauth.LoginFailed, Code: zulipauth.CodeAuthenticationFailed, Time: start.Add(2 * time.Minute)})
	if got := strings.Count(buf.String(), "login failed"); got != 6 {
		t.Errorf("%d failures written one by one, want 5 of the first minute and 1 of the next", got)
	}
}
