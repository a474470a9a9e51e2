package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// The ldap variant's directory: an OpenLDAP slapd started with slapdtest
// (its fixture, its service account slapdtest.ServiceDN, which searches),
// holding the scenarios' people uid=ldapN in slapdtest.People, every one
// with userPassword.

// ldapDomain is -ldap-append-domain: uid=ldapN is ldapN@zulip.test.
const ldapDomain = "zulip.test"

// ldapEmail is the account of the directory's n-th person.
func ldapEmail(n int) string { return fmt.Sprintf("ldap%d@%s", n, ldapDomain) }

// ldapUID is the directory's n-th person's uid.
func ldapUID(n int) string { return fmt.Sprintf("ldap%d", n) }

// ldapPeople is how many people the directory needs for the planned runs:
// the logins' 2 x workers (people 0..), the stampede's (0..) and, after
// those, the timing's known users.
func ldapPeople(o options) int {
	return max(2*o.workers, stampedeLogins+timingKnownUsers(o.samples))
}

// ldapUsers are the store accounts of the directory's people first to
// first+n-1, without local passwords, as Zulip keeps LDAP users.
func ldapUsers(first, n int) []seedUser {
	out := make([]seedUser, n)
	for i := range out {
		out[i] = seedUser{email: ldapEmail(first + i)}
	}
	return out
}

// startDirectory starts slapd with people entries besides slapdtest's
// fixture.
func startDirectory(people int) (*slapdtest.Directory, error) {
	entries := make([]string, people)
	for i := range entries {
		// One password for all, userPassword's: a bind costs the same
		// whatever the salt.
		entries[i] = slapdtest.Person("uid="+ldapUID(i)+","+slapdtest.People, ldapUID(i), fmt.Sprintf("LDAP User %d", i), ldapEmail(i), userPassword)
	}
	d, err := slapdtest.Launch(slapdtest.Options{LDIF: strings.Join(entries, "\n\n")})
	if errors.Is(err, slapdtest.ErrNotInstalled) {
		return nil, fmt.Errorf("-slapd: %w", err)
	}
	return d, err
}
