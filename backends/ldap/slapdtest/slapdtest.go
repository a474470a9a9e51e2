package slapdtest

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
)

// Options vary a directory. The zero value is a plain ldap:// directory
// with the fixture's entries, which never closes idle connections.
type Options struct {
	// TLS also serves ldaps:// on a second port (Directory.LDAPSURL) and
	// StartTLS on the first, with a certificate for 127.0.0.1 and
	// TLSServerName signed by Directory.CA. Clear-text binds stay allowed
	// on ldap://.
	TLS bool

	// IdleTimeout, when positive, makes slapd close connections on which
	// nothing was sent for that long (slapd's idletimeout), as Active
	// Directory does after 15 minutes: for tests of a client's pool. It is
	// rounded up to whole seconds, and slapd looks for idle connections
	// only every few seconds, so a connection may live some seconds
	// longer. Zero (the default) never closes them; negative fails the
	// test.
	IdleTimeout time.Duration

	// LDIF is entries added to the fixture's, in LDIF, separated by blank
	// lines: Person writes one. Their DNs must lie under Suffix and their
	// parents come first (or be the fixture's, such as People); slapadd
	// refuses anything else, and Start fails the test with its message.
	LDIF string

	// LogLevel is slapd's debug level (its -d flag), whose output
	// Directory.Log returns. The default, "none", is messages slapd always
	// writes: configuration errors, start and stop. "stats" adds a line
	// for every connection and operation (DNs and filters, never
	// passwords); it is kept in memory for the test's life, so leave it
	// unset in benchmarks.
	LogLevel string
}

// Directory is a running slapd, started by Start for one test (or
// benchmark) and stopped when it ends, or by Launch for a program, which
// ends it with Close.
//
// It serves any number of clients at once, so parallel subtests may share
// one. The fields are set by Start and never change, Restart included.
// Stop, Close and Log may be called from any goroutine. Restart, Pause and
// Resume report failures with Fatal on the testing.TB given to Start, so
// call them from that test's own goroutine, not from a subtest or a
// goroutine it started. A Directory from Launch has no test to fail: there
// they panic on failure, so a program should keep to the fields, Stop,
// Close and Log.
type Directory struct {
	// URL is the plain listener, ldap://127.0.0.1:port, on a port that was
	// free when Start chose it. It accepts StartTLS when Options.TLS is set.
	URL string
	// LDAPSURL is the TLS listener, ldaps://127.0.0.1:port, with
	// Options.TLS; empty without.
	LDAPSURL string
	// BaseDN is the directory's suffix, Suffix: the base of a search of
	// every entry.
	BaseDN string
	// ServiceDN and ServicePassword bind as the service account, which
	// reads every entry; they equal the constants ServiceDN and
	// ServicePassword.
	ServiceDN, ServicePassword string
	// CA signed the directory's certificate, with Options.TLS; nil without.
	CA *CA

	tb       testing.TB // nil for a Directory from Launch
	dir      string     // the configuration and database
	ownsDir  bool       // Launch made dir, and Close removes it
	slapd    string     // the binary
	conf     string     // slapd.conf
	logLevel string
	log      syncbuf.Buffer // every run's output, appended

	mu   sync.Mutex
	cmd  *exec.Cmd     // nil while stopped
	done chan struct{} // closed when cmd has exited
}

// ErrNotInstalled is the error of Launch where slapd, slapadd, OpenLDAP's
// schema or its back_mdb module is missing, wrapped with what to install.
var ErrNotInstalled = errors.New("slapdtest: OpenLDAP's slapd, slapadd, /etc/ldap/schema or /usr/lib/ldap/back_mdb.so not found")

// Start writes a configuration and a database into a temporary directory
// of tb, loads the fixture's entries and opts.LDIF with slapadd, starts
// slapd on free loopback ports and waits until it accepts connections. The
// directory is stopped, and its files removed, when tb ends; if tb failed,
// slapd's log is written to tb's log first.
//
// Where slapd is not installed Start skips tb, or fails it when the
// environment variable CI is "true" (see the package comment). It fails tb
// when opts is invalid, slapadd refuses the entries or slapd does not
// start; the failure quotes slapd's or slapadd's own words.
func Start(tb testing.TB, opts Options) *Directory {
	tb.Helper()
	slapd, slapadd := binaries(tb)
	d, err := launch(tb.TempDir(), slapd, slapadd, opts)
	if err != nil {
		tb.Fatal(err)
	}
	d.tb = tb
	tb.Cleanup(func() {
		d.Stop()
		if tb.Failed() {
			tb.Logf("slapdtest: the log of slapd at %s (-d %s):\n%s", d.URL, d.logLevel, d.Log())
		}
	})
	return d
}

// Launch is Start for a program: the same directory, fixture and options,
// with its files in a new temporary directory. The caller must call Close,
// which stops slapd and removes the files. The error wraps ErrNotInstalled
// where OpenLDAP is missing; otherwise it says what was wrong with opts or
// quotes slapadd's or slapd's own words. On an error nothing is left
// running or on disk.
func Launch(opts Options) (*Directory, error) {
	slapd, slapadd, err := findBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "slapdtest-")
	if err != nil {
		return nil, fmt.Errorf("slapdtest: %w", err)
	}
	d, err := launch(dir, slapd, slapadd, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d.ownsDir = true
	return d, nil
}

// Close stops slapd, as Stop does, and removes the files of a Directory
// from Launch; a Directory from Start keeps them until its test ends. It is
// safe to call more than once.
func (d *Directory) Close() {
	d.Stop()
	d.mu.Lock()
	owns := d.ownsDir
	d.ownsDir = false
	d.mu.Unlock()
	if owns {
		os.RemoveAll(d.dir)
	}
}

// launch writes the configuration and database into dir, loads the
// entries and starts slapd: Start and Launch without their handling of
// failures.
func launch(dir, slapd, slapadd string, opts Options) (*Directory, error) {
	if opts.IdleTimeout < 0 {
		return nil, fmt.Errorf("slapdtest: Options.IdleTimeout is %v, want 0 (never) or more", opts.IdleTimeout)
	}
	d := &Directory{
		BaseDN: Suffix, ServiceDN: ServiceDN, ServicePassword: ServicePassword,
		dir: dir, slapd: slapd, conf: filepath.Join(dir, "slapd.conf"), logLevel: opts.LogLevel,
	}
	if d.logLevel == "" {
		d.logLevel = "none"
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, fmt.Errorf("slapdtest: %w", err)
	}
	var tlsConf string
	if opts.TLS {
		var err error
		if d.CA, err = newCA(filepath.Join(dir, "ca.pem"), "slapdtest CA"); err != nil {
			return nil, err
		}
		certFile, keyFile, err := d.CA.issueServerCert(dir, TLSServerName)
		if err != nil {
			return nil, err
		}
		tlsConf = fmt.Sprintf("TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n",
			d.CA.CertFile, certFile, keyFile)
	}
	if err := writeFile(d.conf, []byte(config(dir, opts.IdleTimeout, tlsConf))); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data.ldif")
	if err := writeFile(data, []byte(fixtureLDIF()+"\n"+opts.LDIF)); err != nil {
		return nil, err
	}
	if out, err := exec.Command(slapadd, "-q", "-f", d.conf, "-l", data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapdtest: slapadd refused the entries: %v\n%s", err, out)
	}

	// A port is free when it is chosen, and another process may take it
	// before slapd binds it: try others then, and only then.
	var err error
	for range 5 {
		var ports []int
		if ports, err = freePorts(2); err != nil {
			break
		}
		d.URL = fmt.Sprintf("ldap://127.0.0.1:%d", ports[0])
		if opts.TLS {
			d.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", ports[1])
		}
		if err = d.start(); err != errAddressInUse {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("slapdtest: %w", err)
	}
	return d, nil
}

// config is slapd.conf for a directory in dir.
//
// The ACL lets only the service account read other people's entries, so a
// search on a connection still bound as a user finds nothing; a user reads
// their own entry, for clients that read it after binding with a DN
// template. "allow bind_anon_dn" is explained in the package comment.
func config(dir string, idleTimeout time.Duration, tlsConf string) string {
	idle := ""
	if idleTimeout > 0 {
		idle = fmt.Sprintf("idletimeout %d\n", int(math.Ceil(idleTimeout.Seconds())))
	}
	return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile ` + filepath.Join(dir, "slapd.pid") + `
argsfile ` + filepath.Join(dir, "slapd.args") + `
modulepath /usr/lib/ldap
moduleload back_mdb
allow bind_anon_dn
` + idle + tlsConf + `
database mdb
maxsize 16777216
suffix "` + Suffix + `"
rootdn "cn=admin,` + Suffix + `"
directory ` + filepath.Join(dir, "db") + `
access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by dn.exact="` + ServiceDN + `" read
	by self read
	by anonymous auth
	by * none
`
}

// findBinaries returns the paths of slapd and slapadd, or an error wrapping
// ErrNotInstalled where they, the schema or back_mdb are missing.
func findBinaries() (slapd, slapadd string, err error) {
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := "/usr/sbin/" + name; fileExists(p) {
			return p // sbin is often not on a user's PATH
		}
		return ""
	}
	slapd, slapadd = find("slapd"), find("slapadd")
	if slapd == "" || slapadd == "" || !fileExists("/etc/ldap/schema/inetorgperson.schema") || !fileExists("/usr/lib/ldap/back_mdb.so") {
		return "", "", fmt.Errorf("%w: no directory to test against (install Debian's slapd package: apt-get install slapd)", ErrNotInstalled)
	}
	return slapd, slapadd, nil
}

// binaries returns the paths of slapd and slapadd, or skips tb (fails it
// when CI=true) where they, the schema or back_mdb are missing.
func binaries(tb testing.TB) (slapd, slapadd string) {
	tb.Helper()
	slapd, slapadd, err := findBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err.Error() + "; CI=true, so this is a failure, not a skip")
		}
		tb.Skip(err.Error())
	}
	return slapd, slapadd
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// writeFile writes a file only the owner can read: slapd's key and
// configuration among them.
func writeFile(name string, content []byte) error {
	if err := os.WriteFile(name, content, 0o600); err != nil {
		return fmt.Errorf("slapdtest: %w", err)
	}
	return nil
}

// freePorts returns n distinct loopback ports that were free a moment ago:
// all n are held open together, so the kernel cannot hand out one twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
