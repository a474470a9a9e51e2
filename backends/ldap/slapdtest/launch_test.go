package slapdtest_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// launch is Launch for a test: it skips (fails under CI=true) where
// OpenLDAP is not installed, as Start does.
func launch(t *testing.T, opts slapdtest.Options) (*slapdtest.Directory, error) {
	t.Helper()
	d, err := slapdtest.Launch(opts)
	if errors.Is(err, slapdtest.ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI=true, so this is a failure, not a skip", err)
		}
		t.Skip(err)
	}
	return d, err
}

// Launch, for programs: the fixture and the program's own people (as the
// load harness adds them, many sharing one password), the service account
// reading them; after Close, no listener and no files left. TMPDIR points
// at the test's own folder, so that what Launch leaves on disk can be seen.
func TestLaunchAndClose(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	const people = 50
	entries := make([]string, people)
	for i := range entries {
		entries[i] = slapdtest.Person(fmt.Sprintf("uid=p%d,%s", i, slapdtest.People), fmt.Sprintf("p%d", i), fmt.Sprintf("P %d", i), "", "shared-password")
	}
	d, err := launch(t, slapdtest.Options{LDIF: strings.Join(entries, "\n\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	bound(t, d, "uid=p49,"+slapdtest.People, "shared-password")
	bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword)
	found, err := search(bound(t, d, d.ServiceDN, d.ServicePassword), slapdtest.People, "(uid=p*)", "uid")
	if err != nil || len(found) != people {
		t.Fatalf("the service account found %d of the %d people (%v)", len(found), people, err)
	}
	if !strings.Contains(d.Log(), "slapd starting") {
		t.Errorf("the log lacks slapd's start:\n%s", d.Log())
	}

	addr := strings.TrimPrefix(d.URL, "ldap://")
	d.Close()
	d.Close() // a second Close does nothing
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Close", addr)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %d entries in TMPDIR, the first %s", len(left), left[0].Name())
	}
}

// A directory that cannot start is an error with slapadd's or Launch's own
// reason, never ErrNotInstalled, and leaves nothing behind.
func TestLaunchErrors(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, tt := range []struct {
		name string
		opts slapdtest.Options
		want string
	}{
		{"not LDIF", slapdtest.Options{LDIF: "this is not LDIF"}, "slapadd"},
		{"unknown log level", slapdtest.Options{LogLevel: "chatty"}, "slapd exited at start"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := launch(t, tt.opts)
			if err == nil {
				d.Close()
				t.Fatal("Launch succeeded")
			}
			if errors.Is(err, slapdtest.ErrNotInstalled) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one with %q", err, tt.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("a failed Launch left %d entries in TMPDIR", len(left))
			}
		})
	}
}
