package ldap_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test directory: a real OpenLDAP slapd (Debian's slapd package) that
// each test starts with its own configuration, database and loopback port
// in t.TempDir(), and stops in t.Cleanup.

const (
	suffix    = "dc=example,dc=org"
	people    = "ou=people," + suffix
	serviceDN = "cn=service," + suffix
	servicePW = "service-secret"
	// uidTemplate is the DN template of most tests.
	uidTemplate = "uid=%s," + people
)

// Accounts in the test directory, with their passwords.
const (
	hamletPW  = "hamlet-password"
	othelloPW = "othello-password"
	janePW    = "jane-password"
	botPW     = "bot-password"
	nomailPW  = "nomail-password"
	twinPW    = "twin-password"
)

// baseLDIF is every test directory's content:
//   - hamlet and othello, with mail in zulip.com, different org membership
//     ("o") and only hamlet with a displayName;
//   - jane, whose cn needs DN escaping ("Doe, Jane");
//   - bot, in the ou=bots subtree under ou=people: the target of DN injection
//     (uid=%s,ou=people with the username "bot,ou=bots" is bot's DN unless
//     the value is escaped);
//   - nomail, an entry without mail;
//   - twin1 and twin2, two entries with one mail.
func baseLDIF() string {
	entries := []string{
		"dn: " + suffix + "\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
		"dn: " + people + "\nobjectClass: organizationalUnit\nou: people",
		"dn: ou=bots," + people + "\nobjectClass: organizationalUnit\nou: bots",
		"dn: " + serviceDN + "\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: service\nuserPassword: " + ssha(servicePW),
		person("uid=hamlet,"+people, "hamlet", "King Hamlet", "hamlet@zulip.com", hamletPW, "displayName: Prince Hamlet", "o: zulip"),
		person("uid=othello,"+people, "othello", "Othello", "othello@zulip.com", othelloPW, "o: lear", "o: WWW"),
		person(`cn=Doe\, Jane,`+people, "jane", "Doe, Jane", "jane@zulip.com", janePW),
		person("uid=bot,ou=bots,"+people, "bot", "Bot", "bot@zulip.com", botPW),
		person("uid=nomail,"+people, "nomail", "No Mail", "", nomailPW),
		person("uid=twin1,"+people, "twin1", "Twin One", "twins@zulip.com", twinPW),
		person("uid=twin2,"+people, "twin2", "Twin Two", "twins@zulip.com", twinPW),
	}
	return strings.Join(entries, "\n\n") + "\n"
}

// person is an inetOrgPerson entry; extra lines are appended as they are.
func person(dn, uid, cn, mail, pw string, extra ...string) string {
	lines := []string{
		"dn: " + dn, "objectClass: inetOrgPerson", "uid: " + uid, "cn: " + cn,
		"sn: " + cn, "userPassword: " + ssha(pw),
	}
	if mail != "" {
		lines = append(lines, "mail: "+mail)
	}
	return strings.Join(append(lines, extra...), "\n")
}

// ssha is pw as an OpenLDAP {SSHA} userPassword: base64(sha1(pw+salt)+salt).
func ssha(pw string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	sum := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

// directoryOptions vary a test directory.
type directoryOptions struct {
	tls         bool   // also serve ldaps:// and StartTLS, with a certificate of a test CA
	idleTimeout int    // seconds after which slapd closes idle connections; 0: never
	ldif        string // entries added to baseLDIF
}

// directory is a running slapd of a test.
type directory struct {
	t        testing.TB
	slapd    string
	conf     string
	dir      string
	URL      string // ldap://127.0.0.1:port
	LDAPSURL string // ldaps://127.0.0.1:port, with tls
	CA       *testCA

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *bytes.Buffer
}

// slapdBinaries returns the paths of slapd and slapadd. Where they are
// missing the test is skipped, and fails when CI=true: an integration test
// that silently skips proves nothing.
func slapdBinaries(tb testing.TB) (slapd, slapadd string) {
	tb.Helper()
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
	if slapd == "" || slapadd == "" || !fileExists("/etc/ldap/schema/inetorgperson.schema") {
		msg := "OpenLDAP's slapd, slapadd or /etc/ldap/schema not found: no directory to test against " +
			"(apt-get install slapd ldap-utils)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + "; CI=true, so this is a failure, not a skip")
		}
		tb.Skip(msg)
	}
	return slapd, slapadd
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// startDirectory writes a configuration and the database into a temporary
// directory, loads baseLDIF and opt.ldif with slapadd, and starts slapd on
// free loopback ports. It is stopped when the test ends.
func startDirectory(tb testing.TB, opt directoryOptions) *directory {
	tb.Helper()
	slapd, slapadd := slapdBinaries(tb)
	dir := tb.TempDir()
	d := &directory{t: tb, slapd: slapd, dir: dir, conf: filepath.Join(dir, "slapd.conf")}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		tb.Fatal(err)
	}
	var tlsConf string
	if opt.tls {
		d.CA = newTestCA(tb, "zulipauth test CA")
		certFile, keyFile := d.CA.issueServerCert(tb, dir, "ldap.test")
		tlsConf = fmt.Sprintf("TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n", d.CA.File, certFile, keyFile)
	}
	idle := ""
	if opt.idleTimeout > 0 {
		idle = fmt.Sprintf("idletimeout %d\n", opt.idleTimeout)
	}
	// allow bind_anon_dn makes slapd answer a bind with a DN and an empty
	// password with success, as Active Directory and others do: the
	// authenticator must refuse empty passwords itself.
	//
	// The ACL lets only the service account read other people's entries, so
	// a search that ran as the previous user of a connection would find
	// nothing; users may read their own entry (for UserDNTemplate logins).
	conf := `include /etc/ldap/schema/core.schema
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
suffix "` + suffix + `"
rootdn "cn=admin,` + suffix + `"
directory ` + filepath.Join(dir, "db") + `
access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by dn.exact="` + serviceDN + `" read
	by self read
	by anonymous auth
	by * none
`
	writeFile(tb, d.conf, conf)
	ldif := filepath.Join(dir, "data.ldif")
	writeFile(tb, ldif, baseLDIF()+"\n"+opt.ldif)
	if out, err := exec.Command(slapadd, "-q", "-f", d.conf, "-l", ldif).CombinedOutput(); err != nil {
		tb.Fatalf("slapadd: %v\n%s", err, out)
	}
	// A port is free when we look; slapd may still lose it to another
	// process before it binds, so try a few.
	var err error
	for range 5 {
		port, tlsPort := freePort(tb), 0
		d.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
		if opt.tls {
			tlsPort = freePort(tb)
			d.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)
		}
		if err = d.start(); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.Stop)
	return d
}

func writeFile(tb testing.TB, name, content string) {
	tb.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs slapd in the foreground (-d 0 keeps it from detaching) and
// waits until it accepts connections.
func (d *directory) start() error {
	urls := d.URL + "/"
	if d.LDAPSURL != "" {
		urls += " " + d.LDAPSURL + "/"
	}
	cmd := exec.Command(d.slapd, "-f", d.conf, "-h", urls, "-d", "0")
	log := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting slapd: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	d.mu.Lock()
	d.cmd, d.done, d.log = cmd, done, log
	d.mu.Unlock()
	addr := strings.TrimPrefix(d.URL, "ldap://")
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		select {
		case <-done:
			return fmt.Errorf("slapd exited at start:\n%s", log)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.Stop()
	return fmt.Errorf("slapd did not listen on %s within 15 s:\n%s", addr, log)
}

// Stop stops slapd (resuming it first if it is paused) and waits for it.
func (d *directory) Stop() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.cmd = nil
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Restart starts slapd again, on the same ports and database, after Stop.
func (d *directory) Restart() {
	d.t.Helper()
	if err := d.start(); err != nil {
		d.t.Fatal(err)
	}
}

// Pause stops slapd's process (SIGSTOP): connections are still accepted by
// the kernel, and nothing answers. It returns once every thread of slapd is
// stopped: the signal is delivered asynchronously, and a request sent just
// after kill(2) could otherwise still be answered. Resume continues it.
func (d *directory) Pause() {
	d.t.Helper()
	pid := d.signal(syscall.SIGSTOP)
	for deadline := time.Now().Add(15 * time.Second); !allThreadsStopped(pid); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			d.t.Fatal("slapd did not stop within 15 s of SIGSTOP")
		}
	}
}

func (d *directory) Resume() { d.signal(syscall.SIGCONT) }

func (d *directory) signal(s os.Signal) int {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		d.t.Fatal("slapd is not running")
	}
	if err := d.cmd.Process.Signal(s); err != nil {
		d.t.Fatal(err)
	}
	return d.cmd.Process.Pid
}

// allThreadsStopped reports whether every thread of pid is in state T
// (stopped), from /proc; true where /proc cannot tell.
func allThreadsStopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return true
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(task)
		if err != nil {
			continue // the thread has exited
		}
		// "pid (comm) S ...": the state follows the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
			return false
		}
	}
	return true
}
