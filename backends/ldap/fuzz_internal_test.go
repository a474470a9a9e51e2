package ldap

import (
	"strings"
	"testing"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// FuzzUsername feeds usernames as a client may type them (untrusted bytes)
// through the mapping and into the DN and the filter a login would send,
// and checks what injection would break:
//   - the DN parses and has exactly the template's RDNs, the first holding
//     the name as its one value (no RDN added, no subtree reached);
//   - the filter compiles to the AND of UserFilter and one equality match on
//     the attribute whose value is exactly the name (no wildcard, no second
//     clause);
//   - with an append-domain, the email is "<name>@example.org", a valid
//     email whose local part has no "@".
func FuzzUsername(f *testing.F) {
	for _, s := range []string{
		"hamlet", " hamlet@example.org ", "hamlet@zulip.com", "bot,ou=bots", "*)(uid=*", "ham*",
		"hamlet)(|(uid=*", `bot\,ou=bots`, "#x", "a+b=c", "Doe, Jane", "\x00", "ham\xfflet", `"a b"@example.org`,
	} {
		f.Add(s)
	}
	const template = "uid=%s,ou=people,dc=example,dc=org"
	templateRDNs := len(mustParseDN(f, strings.Replace(template, "%s", "x", 1)).RDNs)
	byTemplate := testAuthenticator(f, Config{UserDNTemplate: template, EmailAttr: "mail"})
	bySearch := testAuthenticator(f, Config{
		BaseDN: "dc=example,dc=org", UsernameAttr: "uid", EmailAttr: "mail", UserFilter: "(objectClass=inetOrgPerson)",
	})
	withDomain := testAuthenticator(f, Config{AppendDomain: "example.org"})
	f.Fuzz(func(t *testing.T, typed string) {
		if m, ok := withDomain.mapUsername(typed); ok {
			if m.email != m.name+"@example.org" || strings.Contains(m.name, "@") || !zulipauth.ValidEmail(m.email) {
				t.Fatalf("append-domain mapped %q to %+v", typed, m)
			}
		}
		m, ok := byTemplate.mapUsername(typed)
		if !ok {
			return
		}
		if m.name != strings.TrimSpace(m.name) || m.name == "" || !utf8.ValidString(m.name) {
			t.Fatalf("mapped %q to the name %q", typed, m.name)
		}
		dn := byTemplate.userDN(m.name)
		parsed, err := goldap.ParseDN(dn)
		if err != nil {
			t.Fatalf("the DN %q for %q does not parse: %v", dn, typed, err)
		}
		first := parsed.RDNs[0].Attributes
		if len(parsed.RDNs) != templateRDNs || len(first) != 1 || first[0].Type != "uid" || first[0].Value != m.name {
			t.Fatalf("the DN %q for %q is not the template with one value in place", dn, typed)
		}
		checkFilter(t, bySearch.filter("uid", m.name), m.name)
	})
}

// checkFilter checks that filter is (&(objectClass=inetOrgPerson)(uid=<name>)).
func checkFilter(t *testing.T, filter, name string) {
	t.Helper()
	p, err := goldap.CompileFilter(filter)
	if err != nil {
		t.Fatalf("the filter %q does not compile: %v", filter, err)
	}
	if p.Tag != goldap.FilterAnd || len(p.Children) != 2 {
		t.Fatalf("the filter %q is not an AND of two", filter)
	}
	eq := p.Children[1]
	if eq.Tag != goldap.FilterEqualityMatch || len(eq.Children) != 2 {
		t.Fatalf("the filter %q's second clause is not one equality match", filter)
	}
	if attr, value := eq.Children[0].Data.String(), eq.Children[1].Data.String(); attr != "uid" || value != name {
		t.Fatalf("the filter %q compares %q with %q, want uid with %q", filter, attr, value, name)
	}
}

func mustParseDN(tb testing.TB, s string) *goldap.DN {
	tb.Helper()
	dn, err := goldap.ParseDN(s)
	if err != nil {
		tb.Fatal(err)
	}
	return dn
}
