// Package redistest starts real redis-server processes for tests, as
// net/http/httptest starts HTTP servers: each on a free loopback port, in a
// directory of its own, without persistence, stopped when the test ends.
// The tests of backends/redislimit, of examples/server and of the load
// harness use it; integration tests run against the real server, never
// against a mock of it.
//
// Where redis-server is not installed (Debian's package redis-server), the
// test is skipped with a message saying so; when the environment variable
// CI is "true" it fails instead, since an integration test that silently
// skips proves nothing.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// redisBinary returns the path of redis-server, or skips the test when there
// is none. In CI (CI=true) a missing binary fails the test instead:
// integration tests that silently skip prove nothing.
func redisBinary(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	msg := "redis-server not found: no Redis to test against (install Debian's package redis-server)"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + "; CI=true, so this is a failure, not a skip")
	}
	tb.Skip(msg)
	return ""
}

// Server is a redis-server on a loopback port, in a directory of its own,
// with no persistence. It can be killed and started again on the same
// port, and paused (SIGSTOP: it then accepts connections and never
// answers) and resumed. It is not safe for concurrent use; the test that
// started it drives it.
type Server struct {
	tb     testing.TB
	bin    string
	dir    string
	port   int
	extra  []string
	cmd    *exec.Cmd
	waited <-chan error // the exit of cmd
	paused bool
}

// Start starts a server with the given extra arguments of redis-server (for
// example "--requirepass", "pw"), waits until it answers PING, and kills it
// when the test ends.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: redisBinary(tb), dir: tb.TempDir(), extra: extra}
	tb.Cleanup(s.kill)
	// A free port can be taken by someone else before the server binds
	// it; a few tries make that harmless.
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			return s
		}
	}
	tb.Fatalf("start redis-server: %v", err)
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir is the server's working directory.
func (s *Server) Dir() string { return s.dir }

// Kill stops the server at once (SIGKILL), as a crash would; its data is
// gone.
func (s *Server) Kill() { s.tb.Helper(); s.kill() }

// PID is the server process's id, 0 when it is not running.
func (s *Server) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatalf("restart redis-server: %v", err)
	}
}

// Pause stops the process (SIGSTOP): connections are still accepted by the
// kernel, and nothing is answered.
func (s *Server) Pause() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.tb.Fatalf("SIGSTOP redis-server: %v", err)
	}
	s.paused = true
}

// Resume continues a paused server (SIGCONT), its data intact.
func (s *Server) Resume() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.tb.Fatalf("SIGCONT redis-server: %v", err)
	}
	s.paused = false
}

func (s *Server) start() error {
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--logfile", "redis.log",
	}, s.extra...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited (%v); its log:\n%s", err, s.logTail())
		default:
		}
		if ping(s.Addr()) {
			s.cmd = cmd
			s.waited = exited
			return nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server did not answer PING within 10s; its log:\n%s", s.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) kill() {
	if s.cmd == nil {
		return
	}
	if s.paused {
		s.cmd.Process.Signal(syscall.SIGCONT)
		s.paused = false
	}
	s.cmd.Process.Kill()
	<-s.waited
	s.cmd = nil
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// ping reports whether a Redis server answers PING at addr: PONG, or an
// error such as NOAUTH from a server that wants a password, is an answer.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-"))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
