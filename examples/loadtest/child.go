package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the harness started: a server under test, a baseline
// server, redis-server or slapd. Its output is read line by line; the last
// lines are kept for the error that reports its failure.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit, once done is closed

	mu    sync.Mutex
	lines []string // the last maxLines lines of output
	match func(line string)
}

const maxLines = 40

// startChild starts bin with args in dir. Standard output and error are
// read line by line (match, when not nil, sees each). The process is killed
// if the harness dies (see setParentDeath).
func startChild(name, bin string, args []string, dir string, match func(line string)) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	setParentDeath(cmd)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), match: match}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go c.readLines(pr)
	go func() {
		c.err = cmd.Wait()
		pw.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) readLines(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		c.mu.Lock()
		c.lines = append(c.lines, line)
		if len(c.lines) > maxLines {
			c.lines = c.lines[len(c.lines)-maxLines:]
		}
		match := c.match
		c.mu.Unlock()
		if match != nil {
			match(line)
		}
	}
	io.Copy(io.Discard, r) // a line too long: keep the child writing
}

// pid is the process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// tail is the last lines of output, for an error message.
func (c *child) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM (a server then shuts down gracefully),
// SIGKILL after 10 s. It waits for the exit and is safe to call twice.
func (c *child) stop() {
	if c.exited() {
		return
	}
	c.cmd.Process.Signal(syscall.SIGCONT) // a paused process cannot handle SIGTERM
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// servingRE finds the address in examples/server's (and a baseline's)
// "serving addr=http://127.0.0.1:PORT" log line.
var servingRE = regexp.MustCompile(`msg=serving addr=http://(\S+)`)

// startServing starts a child that logs a "serving" line and waits for it,
// returning the host:port it serves on.
func startServing(ctx context.Context, name, bin string, args []string, dir string) (*child, string, error) {
	addr := make(chan string, 1)
	c, err := startChild(name, bin, args, dir, func(line string) {
		if m := servingRE.FindStringSubmatch(line); m != nil {
			select {
			case addr <- m[1]:
			default:
			}
		}
	})
	if err != nil {
		return nil, "", err
	}
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case a := <-addr:
		return c, a, nil
	case <-c.done:
		return nil, "", fmt.Errorf("%s exited before serving (%v):\n%s", name, c.err, c.tail())
	case <-timer.C:
		c.stop()
		return nil, "", fmt.Errorf("%s did not serve within 30 s:\n%s", name, c.tail())
	case <-ctx.Done():
		c.stop()
		return nil, "", ctx.Err()
	}
}

// waitDial waits until something accepts connections at addr, while c runs.
func waitDial(ctx context.Context, c *child, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		switch {
		case c.exited():
			return fmt.Errorf("%s exited at start (%v):\n%s", c.name, c.err, c.tail())
		case time.Now().After(deadline):
			return fmt.Errorf("%s did not listen on %s within %v:\n%s", c.name, addr, within, c.tail())
		case ctx.Err() != nil:
			return ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freePort returns a loopback port free when asked. Another process may
// take it before the child binds it; the callers retry.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var errNoBinary = errors.New("not installed")

// findBinary looks name up on PATH, then in the sbin folders that a
// user's PATH often lacks (slapd lives in /usr/sbin).
func findBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		if p, err := exec.LookPath(dir + "/" + name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, errNoBinary)
}
