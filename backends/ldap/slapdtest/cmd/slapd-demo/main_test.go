package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// -h says what the command does and what it needs, and starts nothing; a
// flag it does not take is a usage error (exit 2) that says where to look.
// The command itself, started and logged in through, is tested with the
// reference server (examples/server's TestSlapdDemo).
func TestCommandLine(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-h"}, &out); err != nil {
		t.Fatalf("-h: %v", err)
	}
	if !strings.Contains(out.String(), "Usage: slapd-demo") || !strings.Contains(out.String(), "apt-get install slapd") {
		t.Errorf("-h does not say what it does and needs:\n%s", out.String())
	}
	for _, args := range [][]string{{"-port", "389"}, {"now"}} {
		err := run(context.Background(), args, &out)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "slapd-demo") {
			t.Errorf("%v: %v, want a usage error naming the command", args, err)
		}
	}
}
