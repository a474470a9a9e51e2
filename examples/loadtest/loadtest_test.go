package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The harness is tested as CI runs it: built (without -race: the binaries
// are the subject, not the test) and run as a process, in its short mode,
// against examples/server started by it, real redis-server and slapd
// included where installed (required under CI=true).

// The binaries, built once by the first test that needs them (not in
// TestMain: the fuzz workers of this package's fuzz target run TestMain too).
var (
	buildOnce              sync.Once
	buildDir               string
	loadtestBin, serverBin string
	buildErr               error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds the harness and examples/server.
func binaries(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "zulipauth-loadtest-test"); buildErr != nil {
			return
		}
		loadtestBin, serverBin = filepath.Join(buildDir, "loadtest"), filepath.Join(buildDir, "server")
		for bin, pkg := range map[string]string{loadtestBin: ".", serverBin: "../server"} {
			if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// runHarness runs the harness with args and returns its output and exit
// status. If the test's deadline comes near, the harness is interrupted,
// so that it stops its servers and removes its files before the test
// binary is killed.
func runHarness(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	binaries(t)
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, loadtestBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 20 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		status = exit.ExitCode()
	case err != nil:
		t.Fatalf("running loadtest: %v", err)
	}
	return out.String(), errOut.String(), status
}

// installed reports whether binary is on PATH or in an sbin folder.
func installed(binary string) bool {
	for _, p := range []string{binary, "/usr/sbin/" + binary, "/usr/bin/" + binary} {
		if _, err := exec.LookPath(p); err == nil {
			return true
		}
	}
	return false
}

// optionalServer returns the harness flag that starts a backend's server
// when its binary is installed. Where it is not, the variant is skipped
// with a message, and under CI=true that is a failure: an integration test
// that silently skips proves nothing.
func optionalServer(t *testing.T, flag, binary, pkg string) []string {
	t.Helper()
	if installed(binary) {
		return []string{flag}
	}
	msg := binary + " not found: the variant " + flag + " enables is not run (apt-get install " + pkg + ")"
	if os.Getenv("CI") == "true" {
		t.Errorf("%s; CI=true, so this is a failure, not a skip", msg)
		return nil
	}
	t.Log("SKIP: " + msg)
	return nil
}

// report is the part of -json's document the tests read.
type report struct {
	Passed  bool `json:"passed"`
	Results []struct {
		Scenario string           `json:"scenario"`
		Variant  string           `json:"variant"`
		Part     string           `json:"part"`
		Counts   map[string]int64 `json:"counts"`
		Error    string           `json:"error"`
		Checks   []struct {
			Name   string `json:"name"`
			Hard   bool   `json:"hard"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	} `json:"results"`
}

// shortRun is the one short run of every scenario in every variant
// installed that TestShortRun and TestNoSecretsInLogs read: a minute or
// two of the package's test time, spent once.
type shortRun struct {
	args           []string
	stdout, stderr string
	status         int
	logDir         string
	redis, ldap    bool // whether the variants ran
}

var (
	shortOnce sync.Once
	short     shortRun
)

// runShort makes the short run, once, with -log-dir in the build folder
// (which TestMain removes).
func runShort(t *testing.T) *shortRun {
	t.Helper()
	binaries(t)
	redis := optionalServer(t, "-redis-server", "redis-server", "redis-server")
	ldap := optionalServer(t, "-slapd", "slapd", "slapd")
	shortOnce.Do(func() {
		short.logDir = filepath.Join(buildDir, "logs")
		short.redis, short.ldap = len(redis) > 0, len(ldap) > 0
		short.args = append([]string{"-short", "-json", "-server", serverBin, "-log-dir", short.logDir}, redis...)
		short.args = append(short.args, ldap...)
		short.stdout, short.stderr, short.status = runHarness(t, short.args...)
	})
	return &short
}

// TestShortRun runs every scenario in every variant installed, as .ci/run
// does, and requires every hard check to pass: no transport error, no 5xx,
// only Zulip's JSON and the answers each scenario allows, the RSS bounds,
// the JWT logins. Goals (ratios, timing, the spray's logins) are not
// checked: a short run on a shared machine cannot measure them.
func TestShortRun(t *testing.T) {
	run := runShort(t)
	var rep report
	if err := json.Unmarshal([]byte(run.stdout), &rep); err != nil {
		t.Fatalf("-json printed no JSON document (%v); exit %d\nstdout:\n%s\nstderr:\n%s", err, run.status, run.stdout, run.stderr)
	}

	// Every scenario reports in every variant that ran; the flood in both
	// its parts, the timing's ldap variant in both of its; the api also
	// with its 100,000 users (30,000 in a short run).
	seen := map[string]bool{}
	for _, r := range rep.Results {
		seen[strings.Join(strings.Fields(r.Scenario+" "+r.Variant+" "+r.Part), " ")] = true
	}
	want := []string{"logins", "flood one-address", "flood many-addresses", "spray", "api", "api 100k", "stampede", "timing"}
	if run.redis {
		want = append(want, "logins redis", "flood redis one-address", "flood redis many-addresses", "spray redis", "api redis", "stampede redis")
	}
	if run.ldap {
		want = append(want, "logins ldap", "stampede ldap", "timing ldap ldap,password", "timing ldap ldap-only")
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no result for %q", w)
		}
	}
	for _, r := range rep.Results {
		name := strings.Join(strings.Fields(r.Scenario+" "+r.Variant+" "+r.Part), " ")
		t.Run(name, func(t *testing.T) {
			if r.Error != "" {
				t.Fatalf("stopped: %s", r.Error)
			}
			hard := 0
			for _, c := range r.Checks {
				if !c.Hard {
					continue
				}
				hard++
				if !c.OK {
					t.Errorf("hard check %q failed: %s", c.Name, c.Detail)
				}
			}
			if hard == 0 {
				t.Error("no hard checks")
			}
			if len(r.Counts) == 0 {
				t.Error("no answers counted")
			}
			if r.Scenario == "logins" {
				jwt := 0
				for _, c := range r.Checks {
					if c.Hard && strings.HasPrefix(c.Name, "JWT logins") {
						jwt++
					}
				}
				if jwt != 2 {
					t.Errorf("%d hard checks of the JWT logins, want 2", jwt)
				}
			}
		})
	}
	if rep.Passed != (run.status == 0) {
		t.Errorf("passed = %v, but the exit status is %d", rep.Passed, run.status)
	}
	if run.status != 0 {
		t.Errorf("exit status %d; stderr:\n%s", run.status, run.stderr)
	}
}

// TestHelp: -h names every scenario and the flags CI uses, and exits 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	stdout, _, status := runHarness(t, "-h")
	if status != 0 {
		t.Fatalf("-h exited %d", status)
	}
	for _, want := range []string{"logins", "flood", "spray", "api", "100k", "stampede", "timing", "-short", "-check-ratios", "-json", "-redis-server", "-slapd", "-target", "-log-dir"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("-h does not mention %s:\n%s", want, stdout)
		}
	}
}

// TestUsageErrors: a command line that cannot work exits 2 with a message
// naming the problem, before anything starts.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown scenario", []string{"logins", "nosuch"}, `unknown scenario "nosuch"`},
		{"unknown variant", []string{"api/ldap"}, `api has no variant "ldap"`},
		{"variant not configured", []string{"logins/redis"}, "needs -redis ADDR or -redis-server"},
		{"target without its database", []string{"-target", "http://127.0.0.1:9991"}, "-target needs -target-db"},
		{"rounds too short", []string{"-duration", "100ms", "-rounds", "10"}, "too short to measure"},
		{"two redis flags", []string{"-redis", "127.0.0.1:6379", "-redis-server"}, "not both"},
		{"bad flag", []string{"-nosuch"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, status := runHarness(t, tc.args...)
			if status != 2 {
				t.Errorf("exit status %d, want 2", status)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", stderr, tc.want)
			}
		})
	}
}
