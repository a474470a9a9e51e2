package ldap

import (
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// The DN that logins without an entry bind to is one RDN under BaseDN (or
// in the template's place without one) whose value is the prefix and 26
// random characters, and a new one for every Authenticator: a fixed DN
// could be given an entry.
func TestNoEntryDN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        Config
		attr       string
		wantParent string
	}{
		{"search", Config{BaseDN: "ou=people,dc=example,dc=org", UsernameAttr: "uid"}, "cn", "ou=people,dc=example,dc=org"},
		{"template with a search base", Config{UserDNTemplate: "uid=%s,ou=people,dc=example,dc=org", BaseDN: "dc=example,dc=org", EmailAttr: "mail"},
			"cn", "dc=example,dc=org"},
		{"template alone", Config{UserDNTemplate: "uid=%s,ou=people,dc=example,dc=org"}, "uid", "ou=people,dc=example,dc=org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dn := testAuthenticator(t, tt.cfg).noEntryDN
			parsed, err := goldap.ParseDN(dn)
			if err != nil {
				t.Fatalf("%q does not parse: %v", dn, err)
			}
			parent, _ := goldap.ParseDN(tt.wantParent)
			first := parsed.RDNs[0].Attributes
			value := strings.TrimPrefix(first[0].Value, noEntryPrefix)
			if len(first) != 1 || first[0].Type != tt.attr || len(value) != 26 || strings.Trim(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" ||
				!(&goldap.DN{RDNs: parsed.RDNs[1:]}).Equal(parent) {
				t.Fatalf("%q, want %s=%s<26 base32 characters>,%s", dn, tt.attr, noEntryPrefix, tt.wantParent)
			}
			if again := testAuthenticator(t, tt.cfg).noEntryDN; again == dn {
				t.Fatalf("two Authenticators bind to %q alike", dn)
			}
		})
	}
}
