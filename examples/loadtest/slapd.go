package main

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The ldap variant's directory: OpenLDAP's slapd (Debian's slapd package),
// started by the harness on a free loopback port with its configuration and
// database in a folder of its own, holding ldapEntries people uid=ldapN with
// userPassword, and a service account that searches.
const (
	ldapSuffix          = "dc=zulipauth,dc=test"
	ldapPeople          = "ou=people," + ldapSuffix
	ldapServiceDN       = "cn=service," + ldapSuffix
	ldapServicePassword = "service-password" // a test directory's, never a real one
	// ldapDomain is -ldap-append-domain: uid=ldapN is ldapN@zulip.test.
	ldapDomain = "zulip.test"
)

// ldapEmail is the account of the directory's n-th person.
func ldapEmail(n int) string { return fmt.Sprintf("ldap%d@%s", n, ldapDomain) }

// ldapEntries is how many people the directory needs for the planned runs:
// the stampede's 1,000 and the timing's known users, with room to spare.
func ldapEntries(o options) int { return 1000 + o.samples + 4*o.workers }

// ldapUsers are the store accounts of the directory's first n people,
// without local passwords, as Zulip keeps LDAP users.
func ldapUsers(n int) []seedUser {
	out := make([]seedUser, n)
	for i := range out {
		out[i] = seedUser{email: ldapEmail(i)}
	}
	return out
}

// directory is the slapd the harness started.
type directory struct {
	url  string // ldap://127.0.0.1:PORT
	addr string
	proc *child
}

func (d *directory) stop() { d.proc.stop() }

// startDirectory writes slapd's configuration and people entries into dir,
// loads them with slapadd and starts slapd.
func startDirectory(ctx context.Context, dir string, people int) (*directory, error) {
	slapd, err := findBinary("slapd")
	if err != nil {
		return nil, fmt.Errorf("-slapd: %w (apt-get install slapd ldap-utils)", err)
	}
	slapadd, err := findBinary("slapadd")
	if err != nil {
		return nil, fmt.Errorf("-slapd: %w (apt-get install slapd)", err)
	}
	if _, err := os.Stat("/etc/ldap/schema/inetorgperson.schema"); err != nil {
		return nil, fmt.Errorf("-slapd: OpenLDAP's schema files: %w (apt-get install slapd)", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(slapdConf(dir)), 0o600); err != nil {
		return nil, err
	}
	ldif := filepath.Join(dir, "people.ldif")
	if err := os.WriteFile(ldif, []byte(peopleLDIF(people)), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, slapadd, "-q", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapadd: %v\n%s", err, out)
	}
	var last error
	for range 5 { // a free port can be taken before slapd binds it
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		d := &directory{addr: fmt.Sprintf("127.0.0.1:%d", port)}
		d.url = "ldap://" + d.addr
		// -d 0 keeps slapd in the foreground, where stop can end it.
		if d.proc, err = startChild("slapd", slapd, []string{"-f", conf, "-h", d.url + "/", "-d", "0"}, dir, nil); err != nil {
			return nil, err
		}
		if last = waitDial(ctx, d.proc, d.addr, 15*time.Second); last == nil {
			return d, nil
		}
		d.proc.stop()
	}
	return nil, last
}

// slapdConf lets the service account read the people, and people bind.
func slapdConf(dir string) string {
	return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile ` + filepath.Join(dir, "slapd.pid") + `
argsfile ` + filepath.Join(dir, "slapd.args") + `
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 67108864
suffix "` + ldapSuffix + `"
rootdn "cn=admin,` + ldapSuffix + `"
directory ` + filepath.Join(dir, "db") + `
access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by dn.exact="` + ldapServiceDN + `" read
	by self read
	by anonymous auth
	by * none
`
}

// peopleLDIF is the directory's content: the suffix, ou=people, the
// service account and n people.
func peopleLDIF(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: zulipauth\no: zulipauth\n\n", ldapSuffix)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n", ldapPeople)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: service\nuserPassword: %s\n\n",
		ldapServiceDN, ssha(ldapServicePassword))
	hash := ssha(userPassword) // one for all: a bind costs the same whatever the salt
	for i := range n {
		fmt.Fprintf(&b, "dn: uid=ldap%d,%s\nobjectClass: inetOrgPerson\nuid: ldap%d\ncn: LDAP User %d\nsn: User\nmail: %s\nuserPassword: %s\n\n",
			i, ldapPeople, i, i, ldapEmail(i), hash)
	}
	return b.String()
}

// ssha is pw as an OpenLDAP {SSHA} userPassword: base64(sha1(pw+salt)+salt).
func ssha(pw string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	sum := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}
