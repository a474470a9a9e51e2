package redislimit

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

// Exported to the external tests (package redislimit_test).
var StartRedis = startRedis

// RedisServer is a redis-server process that a test started for itself.
type RedisServer = redisServer

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

// redisServer is a redis-server on a loopback port, in a directory of its
// own, with no persistence. It can be killed and started again on the same
// port, and paused (SIGSTOP: it then accepts connections and never
// answers) and resumed. It is not safe for concurrent use; the test that
// started it drives it.
type redisServer struct {
	tb     testing.TB
	bin    string
	dir    string
	port   int
	extra  []string
	cmd    *exec.Cmd
	waited <-chan error // the exit of cmd
	paused bool
}

// startRedis starts a server with the given extra arguments (for example
// "--requirepass", "pw") and stops it when the test ends.
func startRedis(tb testing.TB, extra ...string) *redisServer {
	tb.Helper()
	s := &redisServer{tb: tb, bin: redisBinary(tb), dir: tb.TempDir(), extra: extra}
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
func (s *redisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir is the server's working directory.
func (s *redisServer) Dir() string { return s.dir }

// Kill stops the server at once (SIGKILL), as a crash would; its data is
// gone.
func (s *redisServer) Kill() { s.tb.Helper(); s.kill() }

// Restart starts the server again on the same port, empty.
func (s *redisServer) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatalf("restart redis-server: %v", err)
	}
}

// Pause stops the process (SIGSTOP): connections are still accepted by the
// kernel, and nothing is answered.
func (s *redisServer) Pause() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.tb.Fatalf("SIGSTOP redis-server: %v", err)
	}
	s.paused = true
}

// Resume continues a paused server (SIGCONT), its data intact.
func (s *redisServer) Resume() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.tb.Fatalf("SIGCONT redis-server: %v", err)
	}
	s.paused = false
}

func (s *redisServer) start() error {
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

func (s *redisServer) kill() {
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

func (s *redisServer) logTail() string {
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
