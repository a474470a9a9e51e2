package slapdtest

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"strings"
)

// Person is an inetOrgPerson entry in LDIF, for Options.LDIF: the DN, uid,
// cn (also written as sn, which the schema requires), mail and a
// userPassword that binds with password, stored as SSHA(password).
//
// An empty mail leaves the attribute out. Values that LDIF cannot carry as
// they are (a leading space, colon or '<', a trailing space, a line break,
// anything outside printable ASCII) are written base64-encoded, so any
// string comes back from the directory as given. Each extra line is
// appended as it is, and must be LDIF already: "displayName: Prince Hamlet",
// "o: zulip". The entry ends without a newline; join entries with a blank
// line ("\n\n"). Person does not check that dn's parent exists: slapadd
// refuses the entry, and Start fails the test, when it does not.
func Person(dn, uid, cn, mail, password string, extra ...string) string {
	lines := []string{
		attr("dn", dn), "objectClass: inetOrgPerson", attr("uid", uid), attr("cn", cn), attr("sn", cn),
		"userPassword: " + SSHA(password),
	}
	if mail != "" {
		lines = append(lines, attr("mail", mail))
	}
	return strings.Join(append(lines, extra...), "\n")
}

// SSHA is password as an OpenLDAP {SSHA} userPassword value, the scheme
// slappasswd uses by default: "{SSHA}" and the base64 of
// SHA-1(password + salt) followed by the salt, 8 random bytes. Two calls
// give different values for one password; slapd accepts either.
//
// SHA-1 with a salt is a weak password hash, fit for a test directory only.
func SSHA(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt) // never fails: crypto/rand panics if the system cannot supply randomness
	sum := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

// attr is one LDIF attribute line, "name: value", or "name:: base64" where
// RFC 2849 does not allow the value as it is.
func attr(name, value string) string {
	if safeValue(value) {
		return name + ": " + value
	}
	return name + ":: " + base64.StdEncoding.EncodeToString([]byte(value))
}

// safeValue reports whether value is an RFC 2849 SAFE-STRING: printable
// ASCII without CR, LF or NUL, not starting with a space, ':' or '<'. A
// trailing space is allowed by the grammar but dropped by some readers, so
// it is encoded too.
func safeValue(value string) bool {
	if value == "" {
		return true
	}
	if c := value[0]; c == ' ' || c == ':' || c == '<' || value[len(value)-1] == ' ' {
		return false
	}
	for i := range len(value) {
		if c := value[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
