//go:build !unix

package slapdtest

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Without Unix signals slapd can be killed, not asked to exit, and not
// paused.

func terminate(p *os.Process) { p.Kill() }

func pause(*os.Process, time.Duration) error {
	return fmt.Errorf("pausing slapd needs Unix signals: %w", errors.ErrUnsupported)
}

func resume(*os.Process) error { return nil }
