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
//
// A program that is not a test (the load harness, examples/loadtest) starts
// one with [Launch], which returns errors instead of failing a test, and
// ends it with [Server.Close].
package redistest

import (
	"bufio"
	"errors"
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

// ErrNotInstalled is the error of Launch where redis-server is not
// installed, wrapped with what to install.
var ErrNotInstalled = errors.New("redistest: redis-server not found")

// findBinary returns the path of redis-server: on PATH, or in /usr/bin
// (Debian's). Its error wraps ErrNotInstalled.
func findBinary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server", nil
	}
	return "", fmt.Errorf("%w: no Redis to test against (install Debian's package redis-server)", ErrNotInstalled)
}

// redisBinary returns the path of redis-server, or skips the test when there
// is none. In CI (CI=true) a missing binary fails the test instead:
// integration tests that silently skip prove nothing.
func redisBinary(tb testing.TB) string {
	tb.Helper()
	p, err := findBinary()
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(err.Error() + "; CI=true, so this is a failure, not a skip")
	}
	tb.Skip(err.Error())
	return ""
}

// Server is a redis-server on a loopback port, in a directory of its own,
// with no persistence. It can be killed and started again on the same
// port, and paused (SIGSTOP: it then accepts connections and never
// answers) and resumed. It is not safe for concurrent use; the test (or
// program) that started it drives it.
//
// Restart, Pause and Resume report failures with Fatal on the testing.TB
// given to Start. A Server from Launch has no test to fail: there they
// panic instead, so a program should keep to Addr, PID, Dir, Log, Kill and
// Close.
type Server struct {
	tb      testing.TB // nil for a Server from Launch
	bin     string
	dir     string
	ownsDir bool // Launch made dir, and Close removes it
	port    int
	extra   []string
	cmd     *exec.Cmd
	waited  <-chan error // the exit of cmd
	paused  bool
}

// Files of a server's directory: redis-server's log file, and its
// standard output and error, where it says why it refuses a configuration
// before it opens the log.
const (
	logFile    = "redis.log"
	outputFile = "output.log"
)

// Start starts a server with the given extra arguments of redis-server (for
// example "--requirepass", "pw"), waits until it answers PING, and kills it
// when the test ends.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: redisBinary(tb), dir: tb.TempDir(), extra: extra}
	tb.Cleanup(s.kill)
	if err := s.startOnFreePort(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	return s
}

// Launch is Start for a program: it starts a server with the given extra
// arguments of redis-server, in a new temporary directory, and waits until
// it answers PING. The caller must call Close, which stops the server and
// removes the directory. The error wraps ErrNotInstalled where
// redis-server is missing; otherwise it quotes redis-server's log. On an
// error nothing is left running or on disk.
func Launch(extra ...string) (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	s := &Server{bin: bin, dir: dir, ownsDir: true, extra: extra}
	if err := s.startOnFreePort(); err != nil {
		s.Close()
		return nil, fmt.Errorf("redistest: starting redis-server: %w", err)
	}
	return s, nil
}

// startOnFreePort starts the server on a port that was free a moment ago.
// A free port can be taken by someone else before the server binds it; a
// few tries make that harmless.
func (s *Server) startOnFreePort() error {
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			return nil
		}
	}
	return err
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir is the server's working directory.
func (s *Server) Dir() string { return s.dir }

// Kill stops the server at once (SIGKILL), as a crash would; its data is
// gone.
func (s *Server) Kill() { s.helper(); s.kill() }

// Close stops the server (SIGKILL: it keeps nothing to save) and, for a
// Server from Launch, removes its directory. It is safe to call more than
// once; a test need not call it, since Start's server is stopped when the
// test ends.
func (s *Server) Close() {
	s.kill()
	if s.ownsDir {
		os.RemoveAll(s.dir)
		s.ownsDir = false
	}
}

// Log is what redis-server has written so far: to standard output and
// error (a configuration it refuses), then to its log file (its start,
// warnings and shutdown), for a failure message or a program's own log.
func (s *Server) Log() string {
	out, _ := os.ReadFile(filepath.Join(s.dir, outputFile))
	log, _ := os.ReadFile(filepath.Join(s.dir, logFile))
	return string(out) + string(log)
}

// PID is the server process's id, 0 when it is not running.
func (s *Server) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.helper()
	if err := s.start(); err != nil {
		s.fatalf("restart redis-server: %v", err)
	}
}

// Pause stops the process (SIGSTOP): connections are still accepted by the
// kernel, and nothing is answered.
func (s *Server) Pause() {
	s.helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.fatalf("SIGSTOP redis-server: %v", err)
	}
	s.paused = true
}

// Resume continues a paused server (SIGCONT), its data intact.
func (s *Server) Resume() {
	s.helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.fatalf("SIGCONT redis-server: %v", err)
	}
	s.paused = false
}

// helper marks the caller as a test helper, when there is a test.
func (s *Server) helper() {
	if s.tb != nil {
		s.tb.Helper()
	}
}

// fatalf fails the test, or panics for a Server from Launch (see Server).
func (s *Server) fatalf(format string, args ...any) {
	if s.tb != nil {
		s.tb.Helper()
		s.tb.Fatalf(format, args...)
	}
	panic("redistest: " + fmt.Sprintf(format, args...))
}

func (s *Server) start() error {
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--logfile", logFile,
	}, s.extra...)
	out, err := os.OpenFile(filepath.Join(s.dir, outputFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close() // the process has its own copy
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
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
	b := s.Log()
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return b
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
