package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// The README's LDAP section starts a directory with
// go run ./backends/ldap/slapdtest/cmd/slapd-demo: each of the serve
// command lines it prints, run as printed, logs hamlet in through it; and
// on Ctrl-C it stops, leaving no listener and no password file.
func TestSlapdDemo(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "slapd-demo")
	if out, err := exec.Command("go", "build", "-o", bin, "../../backends/ldap/slapdtest/cmd/slapd-demo").CombinedOutput(); err != nil {
		t.Fatalf("building slapd-demo: %v\n%s", err, out)
	}
	demo := exec.Command(bin)
	stdout, _ := demo.StdoutPipe()
	var stderr strings.Builder
	demo.Stderr = &stderr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { demo.Process.Kill(); demo.Wait() })
	var serveLines []string
	var url string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if after, ok := strings.CutPrefix(line, "  go run ./examples/server "); ok {
			serveLines = append(serveLines, after)
		}
		if i := strings.Index(line, "listens on ldap://"); i >= 0 {
			url = strings.Fields(line[i+len("listens on "):])[0]
		}
		if strings.HasPrefix(line, "People") {
			break
		}
	}
	if len(serveLines) != 2 || url == "" {
		demo.Wait()
		if strings.Contains(stderr.String(), "apt-get install slapd") && os.Getenv("CI") != "true" {
			t.Skip(stderr.String())
		}
		t.Fatalf("slapd-demo printed %d serve command lines and URL %q; its stderr: %s", len(serveLines), url, stderr.String())
	}
	for i, email := range []string{"hamlet@example.org", slapdtest.HamletMail} {
		// The flags as a shell would split them: single quotes around the
		// DN template, nothing else quoted.
		args := []string{"-db", tempDB(t)}
		for _, f := range strings.Fields(serveLines[i]) {
			args = append(args, strings.Trim(f, "'"))
		}
		p := startServer(t, args...)
		code, body := login(t, p.base, slapdtest.HamletUID, slapdtest.HamletPassword)
		if code != 200 || body["email"] != email {
			t.Errorf("serve %s: hamlet's login: %d %v, want 200 as %s", serveLines[i], code, body, email)
		}
	}
	pwFile := ""
	for _, f := range strings.Fields(serveLines[1]) {
		if strings.HasSuffix(f, "ldap-password") {
			pwFile = f
		}
	}

	demo.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- demo.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("slapd-demo after Ctrl-C: %v, want exit status 0; stderr: %s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("slapd-demo did not stop on SIGINT")
	}
	if _, err := os.Stat(pwFile); pwFile == "" || !os.IsNotExist(err) {
		t.Errorf("the password file %q is left behind (%v)", pwFile, err)
	}
	if c, err := net.Dial("tcp", strings.TrimPrefix(url, "ldap://")); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Ctrl-C", url)
	}
}
