package ldap

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// maxUsernameBytes bounds the username a login sends to the directory; a
// longer one fails like a wrong password before any directory work. It is
// above the longest email address (320) and any directory's naming limits.
const maxUsernameBytes = 512

// mapped is a typed username turned into what the directory and the store
// know.
type mapped struct {
	// name is the LDAP username: the value put into UserDNTemplate or
	// compared with UsernameAttr (or EmailAttr, by the search by email).
	name string
	// email is the account's email when the username decides it
	// (AppendDomain, or no EmailAttr); "" when it comes from the entry.
	email string
}

// mapUsername applies Zulip's username mapping (django_to_ldap_username and
// user_email_from_ldapuser) to a username as typed. It reports false for a
// username that cannot be anyone's, which fails like a wrong password before
// any directory work.
//
// Surrounding white space is trimmed first (Zulip's lookup strips it too),
// so " hamlet" is the account of "hamlet", never a second one. Where the
// email is built from the username (AppendDomain, or the username is the
// email), the result must pass zulipauth.ValidEmail and may hold no white
// space or quote: a directory compares names loosely (case, runs of spaces,
// Unicode compatibility forms), and two spellings the directory takes for
// one entry must not become two accounts in the store, which only folds
// case. Where the email comes from the entry (EmailAttr), the entry decides
// the account, and the name may be anything the directory accepts ("Jane
// Doe" in a cn= template), except control characters or invalid UTF-8.
func (a *Authenticator) mapUsername(typed string) (mapped, bool) {
	name := strings.TrimSpace(typed)
	if name == "" || len(name) > maxUsernameBytes || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return mapped{}, false
	}
	if domain := a.cfg.AppendDomain; domain != "" {
		if at := strings.LastIndexByte(name, '@'); at >= 0 {
			// An email: in AppendDomain, or nobody's (Zulip's
			// OutsideLDAPDomainError).
			if !strings.EqualFold(name[at+1:], domain) {
				return mapped{}, false
			}
			name = name[:at]
		}
		email := name + "@" + domain
		if !strictName(name) || !zulipauth.ValidEmail(email) {
			return mapped{}, false
		}
		return mapped{name: name, email: email}, true
	}
	if a.cfg.EmailAttr != "" {
		return mapped{name: name}, true
	}
	// No EmailAttr: the username is the email (require_email_format_usernames).
	if !strictName(name) || !zulipauth.ValidEmail(name) {
		return mapped{}, false
	}
	return mapped{name: name, email: name}, true
}

// strictName reports whether name holds no white space and no quote, the
// characters of the spellings a directory folds together that an email's
// local part can carry (a quoted local part may hold spaces).
func strictName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '"' })
}
