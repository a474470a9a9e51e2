package redistest_test

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
)

// launch is Launch for a test: it skips (fails under CI=true) where
// redis-server is not installed, as Start does.
func launch(t *testing.T, extra ...string) (*redistest.Server, error) {
	t.Helper()
	s, err := redistest.Launch(extra...)
	if errors.Is(err, redistest.ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI=true, so this is a failure, not a skip", err)
		}
		t.Skip(err)
	}
	return s, err
}

// answersPing reports whether something at addr answers Redis's PING.
func answersPing(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 7)
	n, _ := c.Read(buf)
	return string(buf[:n]) == "+PONG\r\n"
}

// Launch, for programs: a running server, its log, and after Close no
// process, no answer and no directory left. TMPDIR points at the test's own
// folder, so that what Launch leaves on disk can be seen.
func TestLaunchAndClose(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s, err := launch(t)
	if err != nil {
		t.Fatal(err)
	}
	if !answersPing(s.Addr()) {
		t.Fatalf("no PONG from %s", s.Addr())
	}
	if s.PID() == 0 {
		t.Error("PID is 0 while the server runs")
	}
	if !strings.HasPrefix(s.Dir(), tmp) {
		t.Errorf("Dir %s is not in TMPDIR %s", s.Dir(), tmp)
	}
	if log := s.Log(); !strings.Contains(log, "Ready to accept connections") {
		t.Errorf("the log lacks redis-server's start:\n%s", log)
	}
	addr := s.Addr()
	s.Close()
	s.Close() // a second Close does nothing
	if s.PID() != 0 {
		t.Error("PID is not 0 after Close")
	}
	if answersPing(addr) {
		t.Errorf("%s still answers after Close", addr)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %d entries in TMPDIR, the first %s", len(left), left[0].Name())
	}
}

// A server that cannot start is an error quoting redis-server, not a
// panic or a hang, and leaves nothing behind.
func TestLaunchError(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s, err := launch(t, "--no-such-option", "x")
	if err == nil {
		s.Close()
		t.Fatal("Launch with an unknown option succeeded")
	}
	if errors.Is(err, redistest.ErrNotInstalled) || !strings.Contains(err.Error(), "no-such-option") {
		t.Errorf("error %q does not quote redis-server's complaint", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("a failed Launch left %d entries in TMPDIR", len(left))
	}
}

// Start, for tests, still starts a server that answers and can be killed
// and restarted on its port.
func TestStartKillRestart(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if !answersPing(s.Addr()) {
		t.Fatalf("no PONG from %s", s.Addr())
	}
	s.Kill()
	if answersPing(s.Addr()) {
		t.Fatal("answers after Kill")
	}
	s.Restart()
	if !answersPing(s.Addr()) {
		t.Fatal("no PONG after Restart")
	}
}
