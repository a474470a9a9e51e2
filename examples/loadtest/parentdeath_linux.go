package main

import (
	"os/exec"
	"syscall"
)

// setParentDeath has Linux kill the child when the harness dies, so that a
// harness killed by a test's timeout leaves no server behind.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
