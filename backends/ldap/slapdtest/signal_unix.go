//go:build unix

package slapdtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// terminate asks slapd to exit (SIGTERM: it closes its database cleanly),
// continuing it first in case it is paused: a stopped process does not act
// on SIGTERM until it is continued.
func terminate(p *os.Process) {
	p.Signal(syscall.SIGCONT)
	p.Signal(syscall.SIGTERM)
}

// pause sends SIGSTOP and waits, at most timeout, until every thread of p
// is stopped: the signal is delivered asynchronously, and a request sent
// just after kill(2) could otherwise still be answered.
func pause(p *os.Process, timeout time.Duration) error {
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Millisecond) {
		stopped, err := allThreadsStopped(p.Pid)
		if err != nil || stopped {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd did not stop within %v of SIGSTOP", timeout)
		}
	}
}

func resume(p *os.Process) error { return p.Signal(syscall.SIGCONT) }

// allThreadsStopped reports whether every thread of pid is in state T
// (stopped) or t (traced), from /proc. Without /proc (a Unix other than
// Linux) it cannot tell, and says so rather than let a test believe the
// directory hangs when it may still answer.
func allThreadsStopped(pid int) (bool, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return false, fmt.Errorf("no /proc/%d/task: cannot tell whether slapd has stopped", pid)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(task)
		if err != nil {
			continue // the thread has exited
		}
		// "pid (comm) S ...": the state follows the last ')', as comm
		// may itself contain parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
			return false, nil
		}
	}
	return true, nil
}
