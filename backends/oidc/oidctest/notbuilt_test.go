package oidctest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Where the provider cannot be built (here: no go command on PATH), Start
// skips the test, saying what is missing; under CI=true it fails it, since
// in CI an integration test that silently skips proves nothing. This test
// runs TestFixtureLogsIn in a child process of its own binary with an
// empty PATH, as the build happens once per process.
func TestNotBuilt(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, ci string
		wantFail bool
		want     string
	}{
		{"skips", "", false, "--- SKIP: TestFixtureLogsIn"},
		{"fails under CI", "true", true, "CI=true, so this is a failure, not a skip"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFixtureLogsIn$", "-test.v")
			cmd.Env = append(os.Environ(), "PATH=", "CI="+tt.ci)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.wantFail {
				t.Fatalf("the child failed: %v, want %v; its output:\n%s", failed, tt.wantFail, out)
			}
			for _, want := range []string{tt.want, "the go command is not on PATH (install Go"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("the child's output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
