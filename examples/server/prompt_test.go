package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the controlling side the test types into
// and reads from, and the terminal side the command gets as its stdin.
func openPTY(t *testing.T) (control, terminal *os.File) {
	t.Helper()
	control, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pseudo-terminals (/dev/ptmx): %v; CI=true, so this is a failure, not a skip", err)
		}
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { control.Close() })
	fd := int(control.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	terminal, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { terminal.Close() })
	return control, terminal
}

// screen collects what the terminal shows.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// On a terminal, create-user and change-password ask for the password
// twice with echo off; on a pipe they read one line (the other tests).
func TestPasswordPromptOnATerminal(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	for _, tt := range []struct {
		name       string
		args       []string
		typed      [2]string
		wantOK     bool
		wantOutput string
	}{
		{"create-user", []string{"create-user", "-db", db, "-email", "iago@zulip.com"}, [2]string{"s3cret typed twice", "s3cret typed twice"}, true, `"email":"iago@zulip.com"`},
		{"change-password, two that differ", []string{"change-password", "-db", db, "-email", "iago@zulip.com"}, [2]string{"first new s3cret", "second new s3cret"}, false, "differ"},
		{"change-password", []string{"change-password", "-db", db, "-email", "iago@zulip.com"}, [2]string{"another s3cret", "another s3cret"}, true, `"user_id":`},
	} {
		control, terminal := openPTY(t)
		cmd := exec.Command(serverBinary, tt.args...)
		var stdout bytes.Buffer
		// The prompts go to standard error: on the terminal too, as in a
		// shell, so the screen shows them.
		cmd.Stdin, cmd.Stdout, cmd.Stderr = terminal, &stdout, terminal
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var scr screen
		go func() {
			b := make([]byte, 1024)
			for {
				n, err := control.Read(b)
				scr.mu.Lock()
				scr.buf.Write(b[:n])
				scr.mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		for i, prompt := range []string{"Password: ", "Password (again): "} {
			waitFor(t, func() bool {
				return strings.Count(scr.String(), "Password") > i && strings.Contains(scr.String(), prompt)
			})
			// Type only once echo is off, as a person would see the prompt
			// and type: the terminal's own echo is what must be off.
			waitFor(t, func() bool {
				tio, err := unix.IoctlGetTermios(int(terminal.Fd()), unix.TCGETS)
				return err == nil && tio.Lflag&unix.ECHO == 0
			})
			control.Write([]byte(tt.typed[i] + "\r"))
		}
		err := cmd.Wait()
		if (err == nil) != tt.wantOK {
			t.Errorf("%s: exit %v, want success %v; screen %q", tt.name, err, tt.wantOK, scr.String())
		}
		time.Sleep(50 * time.Millisecond) // let the reader drain the screen
		for _, typed := range tt.typed {
			if strings.Contains(scr.String(), typed) {
				t.Errorf("%s: the password was echoed: %q", tt.name, scr.String())
			}
		}
		if got := stdout.String() + scr.String(); !strings.Contains(got, tt.wantOutput) {
			t.Errorf("%s: output %q lacks %q", tt.name, got, tt.wantOutput)
		}
	}
	// The password set at the last prompt is the one that logs in.
	srv, _ := testServer(t, db)
	if code, _ := login(t, srv.URL, "iago@zulip.com", "another s3cret"); code != 200 {
		t.Errorf("login with the prompted password: %d", code)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
