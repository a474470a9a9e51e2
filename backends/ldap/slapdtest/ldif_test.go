package slapdtest_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// SSHA is base64(SHA-1(password + salt) + salt) with an 8-byte salt, a
// fresh one each call.
func TestSSHA(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"hamlet-password", "", "pässwörd"} {
		a, b := slapdtest.SSHA(pw), slapdtest.SSHA(pw)
		if a == b {
			t.Fatalf("SSHA(%q) twice gave %q: the salt is not fresh", pw, a)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "{SSHA}"))
		if !strings.HasPrefix(a, "{SSHA}") || err != nil || len(raw) != sha1.Size+8 {
			t.Fatalf("SSHA(%q) = %q: want {SSHA} and the base64 of 28 bytes (%v)", pw, a, err)
		}
		digest, salt := raw[:sha1.Size], raw[sha1.Size:]
		if sum := sha1.Sum(append([]byte(pw), salt...)); !bytes.Equal(sum[:], digest) {
			t.Fatalf("SSHA(%q): the digest is not SHA-1(password + salt)", pw)
		}
	}
}

// Person's lines, and the values it must base64-encode for LDIF to carry
// them (RFC 2849's SAFE-STRING).
func TestPerson(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, cn, mail string
		extra          []string
		want           []string // the lines, userPassword left out
	}{
		{"plain", "Ophelia", "ophelia@zulip.com", nil, []string{"cn: Ophelia", "sn: Ophelia", "mail: ophelia@zulip.com"}},
		{"no mail", "Ophelia", "", nil, []string{"cn: Ophelia", "sn: Ophelia"}},
		{"extra lines as given", "Ophelia", "", []string{"title: Lady", "o: zulip"}, []string{"cn: Ophelia", "sn: Ophelia", "title: Lady", "o: zulip"}},
		{"inner colon and comma", "Doe, Jane: Dr", "", nil, []string{"cn: Doe, Jane: Dr", "sn: Doe, Jane: Dr"}},
		{"leading space", " Ophelia", "", nil, []string{"cn:: " + b64(" Ophelia"), "sn:: " + b64(" Ophelia")}},
		{"trailing space", "Ophelia ", "", nil, []string{"cn:: " + b64("Ophelia "), "sn:: " + b64("Ophelia ")}},
		{"leading colon", ":Ophelia", "", nil, []string{"cn:: " + b64(":Ophelia"), "sn:: " + b64(":Ophelia")}},
		{"leading <", "<Ophelia", "", nil, []string{"cn:: " + b64("<Ophelia"), "sn:: " + b64("<Ophelia")}},
		{"line break", "Oph\nelia", "", nil, []string{"cn:: " + b64("Oph\nelia"), "sn:: " + b64("Oph\nelia")}},
		{"not ASCII", "Ophélie", "", nil, []string{"cn:: " + b64("Ophélie"), "sn:: " + b64("Ophélie")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entry := slapdtest.Person("uid=ophelia,"+slapdtest.People, "ophelia", tt.cn, tt.mail, "pw", tt.extra...)
			lines := strings.Split(entry, "\n")
			var pw string
			var rest []string
			for _, l := range lines {
				if v, ok := strings.CutPrefix(l, "userPassword: "); ok {
					pw = v
					continue
				}
				rest = append(rest, l)
			}
			want := append([]string{"dn: uid=ophelia," + slapdtest.People, "objectClass: inetOrgPerson", "uid: ophelia"}, tt.want...)
			if fmt.Sprint(rest) != fmt.Sprint(want) || !strings.HasPrefix(pw, "{SSHA}") {
				t.Fatalf("Person =\n%s\nwant the lines\n%s\nand an {SSHA} userPassword", entry, strings.Join(want, "\n"))
			}
		})
	}
}

// An entry for Options.LDIF; the userPassword differs each run.
func ExamplePerson() {
	entry := slapdtest.Person("uid=ophelia,"+slapdtest.People, "ophelia", "Ophelia", "ophelia@zulip.com",
		"ophelia-password", "title: Lady in waiting")
	for line := range strings.SplitSeq(entry, "\n") {
		if strings.HasPrefix(line, "userPassword: {SSHA}") {
			line = "userPassword: {SSHA}..."
		}
		fmt.Println(line)
	}
	// Output:
	// dn: uid=ophelia,ou=people,dc=example,dc=org
	// objectClass: inetOrgPerson
	// uid: ophelia
	// cn: Ophelia
	// sn: Ophelia
	// userPassword: {SSHA}...
	// mail: ophelia@zulip.com
	// title: Lady in waiting
}
