package slapdtest

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"
)

// startTimeout bounds how long slapd may take to listen, and to stop
// before it is killed: seconds on a loaded machine, never a minute.
const startTimeout = 15 * time.Second

// errAddressInUse is a start that failed because another process took one
// of the ports: Start tries others.
var errAddressInUse = errors.New("slapd: address already in use")

// start runs slapd in the foreground (-d keeps it from detaching, and
// sends its log to stderr) and waits until it accepts connections.
func (d *Directory) start() error {
	urls := d.URL + "/"
	if d.LDAPSURL != "" {
		urls += " " + d.LDAPSURL + "/"
	}
	cmd := exec.Command(d.slapd, "-f", d.conf, "-h", urls, "-d", d.logLevel)
	cmd.Stdout, cmd.Stderr = &d.log, &d.log
	from := d.log.Len()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting slapd: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	d.mu.Lock()
	d.cmd, d.done = cmd, done
	d.mu.Unlock()
	addr := hostPort(d.URL)
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-done:
			d.mu.Lock()
			d.cmd = nil
			d.mu.Unlock()
			out := d.log.Since(from)
			if strings.Contains(out, "Address already in use") {
				return errAddressInUse
			}
			return fmt.Errorf("slapd exited at start:\n%s", out)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	d.Stop()
	return fmt.Errorf("slapd did not listen on %s within %v:\n%s", addr, startTimeout, d.log.Since(from))
}

// Stop stops slapd and waits until it has exited: its connections are
// closed and new ones refused, as when a directory goes down. A paused
// directory is resumed first, so that it can exit. The database is kept
// for Restart. Stop on a stopped directory does nothing; it is called when
// the test ends, so a test need not call it.
func (d *Directory) Stop() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.cmd = nil
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	terminate(cmd.Process)
	select {
	case <-done:
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		<-done
	}
}

// Restart stops slapd if it runs and starts it again on the same ports,
// with the same configuration and database: the entries, and every field
// of d, stay as they were; connections do not. It fails the test if slapd
// does not start, for instance because another process took its port
// while it was stopped.
func (d *Directory) Restart() {
	d.helper()
	d.Stop()
	if err := d.start(); err != nil {
		d.fatalf("slapdtest: restarting: %v", err)
	}
}

// Pause stops slapd's process (SIGSTOP) and returns once every thread of
// it has stopped: the kernel still accepts connections and buffers
// requests, and nothing answers them, as with a directory that hangs.
// Resume continues it; Stop and the end of the test do too. It fails the
// test if slapd is not running, or where signals or /proc are missing.
func (d *Directory) Pause() {
	d.helper()
	d.mu.Lock()
	cmd := d.cmd
	d.mu.Unlock()
	if cmd == nil {
		d.fatalf("slapdtest: Pause: slapd is not running")
	}
	if err := pause(cmd.Process, startTimeout); err != nil {
		d.fatalf("slapdtest: Pause: %v", err)
	}
}

// Resume continues a paused slapd (SIGCONT), which answers the requests
// that arrived meanwhile. Resume on a directory that is running does
// nothing, and so does Resume on a stopped one, so that a deferred Resume
// is always safe.
func (d *Directory) Resume() {
	d.helper()
	d.mu.Lock()
	cmd := d.cmd
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	if err := resume(cmd.Process); err != nil {
		d.fatalf("slapdtest: Resume: %v", err)
	}
}

// helper marks the caller as a test helper, when there is a test.
func (d *Directory) helper() {
	if d.tb != nil {
		d.tb.Helper()
	}
}

// fatalf fails the test, or panics for a Directory from Launch (see
// Directory).
func (d *Directory) fatalf(format string, args ...any) {
	if d.tb != nil {
		d.tb.Helper()
		d.tb.Fatalf(format, args...)
	}
	panic(fmt.Sprintf(format, args...))
}

// Log is what slapd has written so far, every run since Start, at the
// level of Options.LogLevel: for a failure message. Start writes it to the
// test's log when the test failed, so most tests need not call it.
func (d *Directory) Log() string { return d.log.String() }

// hostPort is the host:port of an ldap:// or ldaps:// URL of this package.
func hostPort(url string) string {
	_, hp, _ := strings.Cut(url, "://")
	return hp
}
