package zulipauth_test

import (
	"io"
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
		kind, code := zulipauth.LoginFailed, "AUTHENTICATION_FAILED"
		if i%2 == 1 {
			kind, code = zulipauth.LoginRateLimited, "RATE_LIMIT_HIT"
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
	el.Log(zulipauth.Event{Kind: zulipauth.LoginFailed, Code: "AUTHENTICATION_FAILED", Time: start.Add(2 * time.Minute)})
	if got := strings.Count(buf.String(), "login failed"); got != 6 {
		t.Errorf("%d failures written one by one, want 5 of the first minute and 1 of the next", got)
	}
}

// A password typed into the username field must not reach the log: with
// -auth ldap, "username=Hunter2-MySecret" was written as typed in every
// failed attempt's line. A username is written only when it named an
// account; otherwise a keyed fingerprint that still tells an operator which
// attempts were for one username.
func TestEventLogWritesUsernamesOnlyForAccounts(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	el := zulipauth.NewEventLog(slog.New(slog.NewTextHandler(&buf, nil)), 0)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const secret = "Hunter2-MySecret"
	el.Log(zulipauth.Event{Kind: zulipauth.LoginFailed, Code: "AUTHENTICATION_FAILED", Time: at, Username: secret})
	el.Log(zulipauth.Event{Kind: zulipauth.LoginRateLimited, Code: "RATE_LIMIT_HIT", Limit: "username", Time: at, Username: "hunter2-mysecret "})
	el.Log(zulipauth.Event{Kind: zulipauth.LoginFailed, Code: "AUTHENTICATION_FAILED", Time: at, Username: "someone-else"})
	el.Log(zulipauth.Event{Kind: zulipauth.LoginFailed, Code: "AUTHENTICATION_FAILED", Time: at, Username: "hamlet", Account: "uid=hamlet,ou=people,dc=zulip,dc=com"})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), buf.String())
	}
	if strings.Contains(strings.ToLower(buf.String()), "hunter2") || strings.Contains(strings.ToLower(buf.String()), "mysecret") {
		t.Fatalf("a username that named no account was written:\n%s", buf.String())
	}
	fp := func(line string) string {
		_, after, ok := strings.Cut(line, "username_fp=")
		if !ok {
			t.Fatalf("no fingerprint in %q", line)
		}
		return strings.Fields(after)[0]
	}
	if a, b := fp(lines[0]), fp(lines[1]); a != b || len(a) != 12 {
		t.Errorf("one username (as typed, then folded) gave fingerprints %q and %q; want one of 12 hex digits", a, b)
	}
	if fp(lines[0]) == fp(lines[2]) {
		t.Errorf("two usernames share the fingerprint %q", fp(lines[0]))
	}
	if !strings.Contains(lines[3], "username=hamlet") || !strings.Contains(lines[3], "account=") {
		t.Errorf("a username that named an account is written with it: %q", lines[3])
	}

	// Another EventLog has another key: a fingerprint cannot be checked
	// against a guess without the key of the log that wrote it.
	var buf2 syncBuffer
	el2 := zulipauth.NewEventLog(slog.New(slog.NewTextHandler(&buf2, nil)), 0)
	el2.Log(zulipauth.Event{Kind: zulipauth.LoginFailed, Code: "AUTHENTICATION_FAILED", Time: at, Username: secret})
	if fp(strings.TrimSpace(buf2.String())) == fp(lines[0]) {
		t.Error("two EventLogs gave one username the same fingerprint")
	}
}

// Events reach the log out of order when logins run concurrently (a
// failure waits out the password backend's failure time before it is
// reported, with the Time its attempt began). An event older than the
// window counts in it: it once started a new window, and the bound of lines
// a minute no longer held (63 of 150 written, bound 60).
func TestEventLogCountsLateEventsInTheirWindow(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	el := zulipauth.NewEventLog(slog.New(slog.NewTextHandler(&buf, nil)), 10)
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i := range 100 {
		// Alternately half a second late and on time.
		at := start.Add(time.Duration(i)*100*time.Millisecond - time.Duration(i%2)*500*time.Millisecond)
		el.Log(zulipauth.Event{Kind: zulipauth.LoginFailed, Code: "AUTHENTICATION_FAILED", Time: at})
	}
	el.Flush()
	if got := strings.Count(buf.String(), "login failed"); got != 10 {
		t.Errorf("%d refusals written one by one, want the bound of 10:\n%s", got, buf.String())
	}
}

// A refusal past the minute's bound is only counted: with a flood of
// refusals on a reference server it runs thousands of times a second, and
// it costs no allocation.
func TestEventLogCountsWithoutAllocating(t *testing.T) {
	e := zulipauth.NewEventLog(slog.New(slog.NewTextHandler(io.Discard, nil)), -1)
	ev := zulipauth.Event{Kind: zulipauth.LoginRateLimited, Code: "RATE_LIMIT_HIT", Time: time.Now()}
	e.Log(ev)
	if n := testing.AllocsPerRun(100, func() { e.Log(ev) }); n != 0 {
		t.Errorf("counting a refusal: %v allocations, want 0", n)
	}
}
