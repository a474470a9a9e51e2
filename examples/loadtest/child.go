package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the harness started: a server under test or a
// baseline server. Its standard output and error go, every byte, to its log
// file (with -log-dir) and, line by line, to a ring of the last lines for
// the error that reports its failure.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *output
	done chan struct{} // closed when the process has exited
	err  error         // its exit, once done is closed
}

// startChild starts bin with args in dir. Its output is written to log
// (nil: nowhere but the ring), which is closed when the process has
// exited; match, when not nil, sees each line. The process is killed if
// the harness dies (see setParentDeath).
func startChild(name, bin string, args []string, dir string, log io.WriteCloser, match func(line string)) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	setParentDeath(cmd)
	out := &output{log: log, match: match}
	// One writer for both: os/exec then gives the child one pipe for both
	// and copies it in one goroutine, so Write is never called
	// concurrently, and the lines stay in the order the child wrote them.
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		if log != nil {
			log.Close()
		}
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		// Wait returns once the process has exited and os/exec has copied
		// all its output into out.
		c.err = cmd.Wait()
		out.finish()
		close(c.done)
	}()
	return c, nil
}

// pid is the process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// tail is the last lines of output, for an error message.
func (c *child) tail() string { return c.out.tail() }

// stop ends the process: SIGTERM (a server then shuts down gracefully and
// says so in its log), SIGKILL after 10 s. It waits for the exit and is
// safe to call twice.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
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
func startServing(ctx context.Context, name, bin string, args []string, dir string, log io.WriteCloser) (*child, string, error) {
	addr := make(chan string, 1)
	c, err := startChild(name, bin, args, dir, log, func(line string) {
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

// tailLines is how many of a child's last lines are kept for errors.
const tailLines = 40

// maxLine bounds a line kept in the ring and shown to match: a child that
// writes megabytes without a newline is cut there (its log file still
// gets every byte).
const maxLine = 64 << 10

// output is a child's standard output and error (see child). os/exec calls
// Write from one goroutine; tail may be called from any.
type output struct {
	log   io.WriteCloser // nil without -log-dir
	match func(line string)

	partial []byte // the line being written; only Write and finish use it

	mu     sync.Mutex
	logErr error    // the first failure to write or close log
	lines  []string // the last tailLines complete lines
}

// Write copies p to the log and hands its complete lines to the ring and
// to match. It never fails, so that a log that cannot be written does not
// stop the child's output (the child would then block on a full pipe);
// the failure is reported by logFailure.
func (o *output) Write(p []byte) (int, error) {
	if o.log != nil && o.logFailure() == nil {
		if _, err := o.log.Write(p); err != nil {
			o.mu.Lock()
			o.logErr = err
			o.mu.Unlock()
		}
	}
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			o.partial = append(o.partial, rest[:min(len(rest), maxLine-len(o.partial))]...)
			break
		}
		o.partial = append(o.partial, rest[:min(i, maxLine-len(o.partial))]...)
		rest = rest[i+1:]
		o.line()
	}
	return len(p), nil
}

// line ends the partial line.
func (o *output) line() {
	line := string(o.partial)
	o.partial = o.partial[:0]
	o.mu.Lock()
	o.lines = append(o.lines, line)
	if len(o.lines) > tailLines {
		o.lines = o.lines[len(o.lines)-tailLines:]
	}
	o.mu.Unlock()
	if o.match != nil {
		o.match(line)
	}
}

// finish takes the last line, unended, and closes the log. A failure to
// write the log is kept for logFailure: a log scanned for secrets must be all
// of it.
func (o *output) finish() {
	if len(o.partial) > 0 {
		o.line()
	}
	if o.log == nil {
		return
	}
	err := o.log.Close()
	o.mu.Lock()
	if o.logErr == nil {
		o.logErr = err
	}
	o.mu.Unlock()
}

// logFailure is the first failure to write or close the log, nil when it
// is complete (or there is none).
func (o *output) logFailure() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.logErr
}

// tail is the last lines, for an error message.
func (o *output) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.lines, "\n")
}
