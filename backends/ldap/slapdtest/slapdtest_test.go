package slapdtest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// hangGuard turns a hang into a failure; far above anything a passing run
// waits, it never decides one.
const hangGuard = 30 * time.Second

// Every account of the fixture binds with the password its constants name,
// and with no other: the promise other packages' tests rely on.
func TestFixtureBinds(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	tests := []struct{ name, dn, password string }{
		{"service", d.ServiceDN, d.ServicePassword},
		{"hamlet", slapdtest.HamletDN, slapdtest.HamletPassword},
		{"hamlet by template", strings.Replace(slapdtest.UserDNTemplate, "%s", slapdtest.HamletUID, 1), slapdtest.HamletPassword},
		{"othello", slapdtest.OthelloDN, slapdtest.OthelloPassword},
		{"jane", slapdtest.JaneDN, slapdtest.JanePassword},
		{"bot", slapdtest.BotDN, slapdtest.BotPassword},
		{"nomail", slapdtest.NoMailDN, slapdtest.NoMailPassword},
		{"twin1", slapdtest.Twin1DN, slapdtest.TwinPassword},
		{"twin2", slapdtest.Twin2DN, slapdtest.TwinPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, d.URL)
			if err := c.Bind(tt.dn, tt.password); err != nil {
				t.Fatalf("bind as %s with its password: %v", tt.dn, err)
			}
			for _, wrong := range []string{"wrong", slapdtest.HamletPassword + "x"} {
				if err := c.Bind(tt.dn, wrong); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
					t.Fatalf("bind as %s with %q: %v, want invalid credentials", tt.dn, wrong, err)
				}
			}
		})
	}
}

// The fixture's entries have the attributes the package comment and the
// constants promise, as the service account reads them.
func TestFixtureEntries(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	c := bound(t, d, d.ServiceDN, d.ServicePassword)
	tests := []struct {
		name, filter string
		wantDNs      []string
		attr         string
		want         []string // the first entry's values of attr, unless attr is ""
	}{
		{"hamlet's mail", "(uid=hamlet)", []string{slapdtest.HamletDN}, "mail", []string{slapdtest.HamletMail}},
		{"hamlet's displayName", "(uid=hamlet)", []string{slapdtest.HamletDN}, "displayName", []string{slapdtest.HamletDisplayName}},
		{"hamlet's cn", "(uid=hamlet)", []string{slapdtest.HamletDN}, "cn", []string{"King Hamlet"}},
		{"hamlet's organisations", "(uid=hamlet)", []string{slapdtest.HamletDN}, "o", []string{"zulip"}},
		{"othello's organisations", "(uid=othello)", []string{slapdtest.OthelloDN}, "o", []string{"lear", "WWW"}},
		{"othello has no displayName", "(uid=othello)", []string{slapdtest.OthelloDN}, "displayName", nil},
		{"othello's mail", "(uid=othello)", []string{slapdtest.OthelloDN}, "mail", []string{slapdtest.OthelloMail}},
		{"jane by her cn", "(cn=" + goldap.EscapeFilter(slapdtest.JaneCN) + ")", []string{slapdtest.JaneDN}, "mail", []string{slapdtest.JaneMail}},
		{"jane's uid", "(mail=jane@zulip.com)", []string{slapdtest.JaneDN}, "uid", []string{slapdtest.JaneUID}},
		{"bot in the subtree", "(uid=bot)", []string{slapdtest.BotDN}, "mail", []string{slapdtest.BotMail}},
		{"nomail has no mail", "(uid=nomail)", []string{slapdtest.NoMailDN}, "mail", nil},
		{"two entries with one mail", "(mail=" + slapdtest.TwinsMail + ")", []string{slapdtest.Twin1DN, slapdtest.Twin2DN}, "mail", []string{slapdtest.TwinsMail}},
		{"no one else", "(objectClass=inetOrgPerson)", []string{
			slapdtest.HamletDN, slapdtest.OthelloDN, slapdtest.JaneDN, slapdtest.BotDN,
			slapdtest.NoMailDN, slapdtest.Twin1DN, slapdtest.Twin2DN,
		}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := []string{tt.attr}
			if tt.attr == "" {
				attrs = []string{"1.1"} // RFC 4511: no attributes, the DNs only
			}
			entries, err := search(c, d.BaseDN, tt.filter, attrs...)
			if err != nil {
				t.Fatal(err)
			}
			var dns []string
			for _, e := range entries {
				dns = append(dns, e.DN)
			}
			if !sameDNs(t, dns, tt.wantDNs) {
				t.Fatalf("%s found %q, want %q", tt.filter, dns, tt.wantDNs)
			}
			if tt.attr == "" {
				return
			}
			if got := entries[0].GetAttributeValues(tt.attr); !sameSet(got, tt.want) {
				t.Fatalf("%s has %s %q, want %q", entries[0].DN, tt.attr, got, tt.want)
			}
		})
	}
}

// sameDNs reports whether a and b name the same entries: slapd writes
// jane's DN as cn=Doe\2C Jane, the constant as cn=Doe\, Jane.
func sameDNs(t *testing.T, a, b []string) bool {
	t.Helper()
	if len(a) != len(b) {
		return false
	}
	parse := func(dn string) *goldap.DN {
		p, err := goldap.ParseDN(dn)
		if err != nil {
			t.Fatalf("%q: %v", dn, err)
		}
		return p
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || parse(x).Equal(parse(y))
		}
		if !found {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]int)
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s] == 0 {
			return false
		}
		seen[s]--
	}
	return true
}

// The access rules the package comment states: a user reads only their own
// entry, anonymous clients nothing, nobody a userPassword; and a DN with an
// empty password binds, unauthenticated.
func TestAccessRules(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	t.Run("user reads own entry", func(t *testing.T) {
		t.Parallel()
		c := bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword)
		entries, err := search(c, slapdtest.HamletDN, "(objectClass=*)", "mail")
		if err != nil || len(entries) != 1 || entries[0].GetAttributeValue("mail") != slapdtest.HamletMail {
			t.Fatalf("hamlet reading his entry: %v, %v", entries, err)
		}
	})
	t.Run("user reads no one else", func(t *testing.T) {
		t.Parallel()
		c := bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword)
		entries, err := search(c, d.BaseDN, "(uid=othello)")
		if err == nil && len(entries) != 0 {
			t.Fatalf("hamlet found %d entries of othello, want none", len(entries))
		}
	})
	t.Run("anonymous reads nothing", func(t *testing.T) {
		t.Parallel()
		entries, err := search(dial(t, d.URL), d.BaseDN, "(objectClass=*)")
		if err == nil && len(entries) != 0 {
			t.Fatalf("an anonymous search found %d entries, want none", len(entries))
		}
	})
	t.Run("nobody reads userPassword", func(t *testing.T) {
		t.Parallel()
		for _, who := range []struct{ dn, password string }{
			{d.ServiceDN, d.ServicePassword}, {slapdtest.HamletDN, slapdtest.HamletPassword},
		} {
			c := bound(t, d, who.dn, who.password)
			entries, err := search(c, slapdtest.HamletDN, "(objectClass=*)", "userPassword", "uid")
			if err != nil || len(entries) != 1 {
				t.Fatalf("%s reading hamlet: %v, %v", who.dn, entries, err)
			}
			if pw := entries[0].GetAttributeValues("userPassword"); len(pw) != 0 {
				t.Fatalf("%s read hamlet's userPassword", who.dn)
			}
		}
	})
	t.Run("empty password binds unauthenticated", func(t *testing.T) {
		t.Parallel()
		c := dial(t, d.URL)
		if err := c.UnauthenticatedBind(slapdtest.HamletDN); err != nil {
			t.Fatalf("a DN with an empty password: %v, want success (allow bind_anon_dn)", err)
		}
		entries, err := search(c, slapdtest.HamletDN, "(objectClass=*)", "mail")
		if err == nil && len(entries) != 0 {
			t.Fatal("an unauthenticated bind read hamlet's entry: it is anonymous, not hamlet")
		}
	})
}

// Entries of Options.LDIF are added to the fixture's, with values Person
// encodes coming back as given.
func TestOptionsLDIF(t *testing.T) {
	t.Parallel()
	const dn, password = "uid=ophelia," + slapdtest.People, "ophelia-password"
	const cn = " Ophélie, «la belle» " // leading and trailing spaces, non-ASCII
	d := slapdtest.Start(t, slapdtest.Options{
		LDIF: slapdtest.Person(dn, "ophelia", cn, "ophelia@zulip.com", password, "title: Lady in waiting") + "\n\n" +
			slapdtest.Person("uid=yorick,"+slapdtest.People, "yorick", "Yorick", "", "alas"),
	})
	bound(t, d, dn, password)
	bound(t, d, "uid=yorick,"+slapdtest.People, "alas")
	entries, err := search(bound(t, d, d.ServiceDN, d.ServicePassword), d.BaseDN, "(uid=ophelia)", "cn", "sn", "title", "mail")
	if err != nil || len(entries) != 1 {
		t.Fatalf("searching the added entry: %v, %v", entries, err)
	}
	e := entries[0]
	for attr, want := range map[string]string{"cn": cn, "sn": cn, "title": "Lady in waiting", "mail": "ophelia@zulip.com"} {
		if got := e.GetAttributeValue(attr); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
	// The fixture is still there.
	bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword)
}

// Start fails the test, with slapadd's or its own reason, for entries
// slapd cannot hold and options that make no sense.
func TestStartFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts slapdtest.Options
		want string
	}{
		{"entry outside the suffix", slapdtest.Options{LDIF: slapdtest.Person("uid=x,dc=other,dc=org", "x", "X", "", "pw")}, "slapadd"},
		{"entry without a parent", slapdtest.Options{LDIF: slapdtest.Person("uid=x,ou=nowhere,"+slapdtest.Suffix, "x", "X", "", "pw")}, "slapadd"},
		{"entry already in the fixture", slapdtest.Options{LDIF: slapdtest.Person(slapdtest.HamletDN, "hamlet", "H", "", "pw")}, "slapadd"},
		{"not LDIF", slapdtest.Options{LDIF: "this is not LDIF"}, "slapadd"},
		{"negative idle timeout", slapdtest.Options{IdleTimeout: -time.Second}, "IdleTimeout"},
		{"unknown log level", slapdtest.Options{LogLevel: "chatty"}, "slapd exited at start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := failure(t, tt.opts)
			t.Log(msg)
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("Start failed with %q, want a message with %q", msg, tt.want)
			}
		})
	}
}

// ldaps:// and StartTLS with the directory's CA, by file or pool, for the
// IP address and TLSServerName; a client trusting another CA, or
// expecting another name, is refused.
func TestTLS(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{TLS: true})
	if d.CA == nil || !strings.HasPrefix(d.LDAPSURL, "ldaps://127.0.0.1:") {
		t.Fatalf("TLS directory: CA %v, LDAPSURL %q", d.CA, d.LDAPSURL)
	}
	pem, err := os.ReadFile(d.CA.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	fromFile := x509.NewCertPool()
	if !fromFile.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", d.CA.CertFile)
	}
	other := slapdtest.NewCA(t, "another CA")
	tests := []struct {
		name       string
		startTLS   bool
		pool       *x509.CertPool
		serverName string
		wantOK     bool
	}{
		{"ldaps, pool, IP address", false, d.CA.Pool, "", true},
		{"ldaps, CA file, server name", false, fromFile, slapdtest.TLSServerName, true},
		{"StartTLS, pool, server name", true, d.CA.Pool, slapdtest.TLSServerName, true},
		{"StartTLS, CA file, IP address", true, fromFile, "", true},
		{"ldaps, another CA", false, other.Pool, "", false},
		{"StartTLS, another CA", true, other.Pool, slapdtest.TLSServerName, false},
		{"ldaps, another name", false, d.CA.Pool, "other.test", false},
		{"ldaps, system roots", false, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := &tls.Config{RootCAs: tt.pool, ServerName: tt.serverName}
			if cfg.ServerName == "" {
				cfg.ServerName = "127.0.0.1"
			}
			var c *goldap.Conn
			var err error // each parallel subtest's own: the test's err is shared
			if tt.startTLS {
				c = dial(t, d.URL)
				err = c.StartTLS(cfg)
			} else {
				c, err = goldap.DialURL(d.LDAPSURL, goldap.DialWithTLSConfig(cfg))
				if err == nil {
					t.Cleanup(func() { c.Close() })
				}
			}
			if !tt.wantOK {
				if err == nil || !strings.Contains(err.Error(), "x509: certificate") {
					t.Fatalf("got %v, want the certificate refused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Bind(slapdtest.HamletDN, slapdtest.HamletPassword); err != nil {
				t.Fatalf("bind over TLS: %v", err)
			}
		})
	}
	t.Run("without TLS", func(t *testing.T) {
		t.Parallel()
		plain := slapdtest.Start(t, slapdtest.Options{})
		if plain.CA != nil || plain.LDAPSURL != "" {
			t.Fatalf("a directory without Options.TLS has CA %v and LDAPSURL %q", plain.CA, plain.LDAPSURL)
		}
		if err := dial(t, plain.URL).StartTLS(&tls.Config{ServerName: "127.0.0.1"}); err == nil {
			t.Fatal("StartTLS succeeded on a directory without Options.TLS")
		}
	})
}

// Stop refuses connections and closes open ones; Restart brings the same
// URL and entries back, whether or not the directory was stopped.
func TestStopRestart(t *testing.T) {
	t.Parallel()
	const dn = "uid=ophelia," + slapdtest.People
	d := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Person(dn, "ophelia", "Ophelia", "", "pw")})
	url := d.URL
	open := bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword)
	d.Stop()
	d.Stop() // a second Stop does nothing
	if c, err := goldap.DialURL(d.URL); err == nil {
		c.Close()
		t.Fatal("a stopped directory accepted a connection")
	}
	if err := open.Bind(slapdtest.HamletDN, slapdtest.HamletPassword); err == nil {
		t.Fatal("a connection opened before Stop still works")
	}
	d.Resume() // on a stopped directory: nothing
	d.Restart()
	if d.URL != url {
		t.Fatalf("URL after Restart %q, want %q", d.URL, url)
	}
	bound(t, d, dn, "pw")
	open = bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword)
	d.Restart() // while running
	if err := open.Bind(slapdtest.HamletDN, slapdtest.HamletPassword); err == nil {
		t.Fatal("a connection opened before a Restart still works")
	}
	bound(t, d, dn, "pw")
}

// A paused directory accepts connections and answers nothing; once resumed
// it answers, the requests sent meanwhile included.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	waiting := bound(t, d, d.ServiceDN, d.ServicePassword)
	probe := bound(t, d, d.ServiceDN, d.ServicePassword)
	d.Pause()
	defer d.Resume()

	// The kernel completes the handshake of a paused process's listener.
	tcp, err := net.Dial("tcp", strings.TrimPrefix(d.URL, "ldap://"))
	if err != nil {
		t.Fatalf("connecting to a paused directory: %v, want accepted", err)
	}
	tcp.Close()
	// The bound is for this test's patience only: a stopped process never
	// answers, however long the client waits.
	probe.SetTimeout(200 * time.Millisecond)
	if err := probe.Bind(slapdtest.HamletDN, slapdtest.HamletPassword); err == nil {
		t.Fatal("a paused directory answered a bind")
	}
	answered := make(chan error, 1)
	go func() {
		_, err := search(waiting, slapdtest.HamletDN, "(objectClass=*)", "mail")
		answered <- err
	}()
	d.Resume()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("a search sent while paused: %v, want its answer after Resume", err)
		}
	case <-time.After(hangGuard):
		t.Fatalf("a search sent while paused had no answer %v after Resume", hangGuard)
	}
	bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword)
}

// With IdleTimeout, slapd closes a connection on which nothing was sent.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{IdleTimeout: 500 * time.Millisecond}) // rounded up to 1 s
	c, err := net.Dial("tcp", strings.TrimPrefix(d.URL, "ldap://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(hangGuard))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("reading an idle connection: %v, want the directory to close it (EOF)", err)
	}
}

// Log holds slapd's messages at the level asked for, never a password.
func TestLog(t *testing.T) {
	t.Parallel()
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		d := slapdtest.Start(t, slapdtest.Options{})
		bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword)
		if log := d.Log(); !strings.Contains(log, "slapd starting") || strings.Contains(log, "BIND") {
			t.Fatalf("the default log should say slapd started, and nothing per operation:\n%s", log)
		}
	})
	t.Run("stats", func(t *testing.T) {
		t.Parallel()
		d := slapdtest.Start(t, slapdtest.Options{LogLevel: "stats"})
		bound(t, d, slapdtest.HamletDN, slapdtest.HamletPassword).Close()
		d.Stop() // slapd has written everything once it has exited
		log := d.Log()
		if !strings.Contains(log, `BIND dn="`+slapdtest.HamletDN+`"`) || strings.Contains(log, slapdtest.HamletPassword) {
			t.Fatalf("the stats log should name hamlet's bind and not his password:\n%s", log)
		}
		d.Restart()
		if n := strings.Count(d.Log(), "slapd starting"); n != 2 {
			t.Fatalf(`the log has %d "slapd starting", want 2: one per run`, n)
		}
	})
}
