//go:build !linux

package main

import "os/exec"

// setParentDeath does nothing where the kernel cannot kill a child with its
// parent; the harness stops its children itself when it exits normally.
func setParentDeath(*exec.Cmd) {}
