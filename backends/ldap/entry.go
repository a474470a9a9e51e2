package ldap

import (
	"context"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// entry is the directory entry a login is about.
type entry struct {
	dn string
	// attrs holds the attributes a login reads (Authenticator.entryAttrs):
	// from the search that found the entry, or read after the user's bind
	// when UserDNTemplate named it. nil until then.
	attrs *goldap.Entry
	// account names the entry as the directory does, whatever spelling of
	// the username led to it, for zulipauth.Attempt.ChargeAccount: the DN
	// a search returned, or, for an entry UserDNTemplate named, the DN read
	// after the user's bind (or the bind's identity, by the Who am I?
	// operation). "" until known.
	account string
}

// findEntry names the entry of the LDAP username name, as Zulip's
// django_to_ldap_username does: by the search by email when it applies and
// finds exactly one entry, otherwise by UserDNTemplate, or by the search on
// UsernameAttr. It returns a nil entry, and no error, when the username
// search finds no entry or several: the login then fails after
// bindNoEntry.
//
// With both searches configured, the username search runs even when the
// search by email found the entry, and its result is then dropped: a known
// email would otherwise cost one search and an unknown one two, and the
// time of the answer would tell which emails the directory holds.
func (a *Authenticator) findEntry(ctx context.Context, name string) (*entry, error) {
	var byEmail *entry
	if a.reverseEmailSearch && strings.Contains(name, "@") {
		found, err := a.search(ctx, a.filter(a.cfg.EmailAttr, name))
		if err != nil {
			return nil, err
		}
		if len(found) == 1 {
			byEmail = foundEntry(found[0])
		}
		if len(found) > 1 {
			a.cfg.Logger.WarnContext(ctx, "ldap: several entries have the email a user typed; looking the username up instead",
				"attribute", a.cfg.EmailAttr, "entries", dns(found))
		}
	}
	if a.cfg.UserDNTemplate != "" {
		// No search to balance: either way one bind follows.
		if byEmail != nil {
			return byEmail, nil
		}
		return &entry{dn: a.userDN(name)}, nil
	}
	found, err := a.search(ctx, a.filter(a.cfg.UsernameAttr, name))
	if err != nil {
		return nil, err
	}
	if byEmail != nil {
		return byEmail, nil
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return foundEntry(found[0]), nil
	}
	a.cfg.Logger.WarnContext(ctx, "ldap: several entries match a username; login refused",
		"attribute", a.cfg.UsernameAttr, "entries", dns(found))
	return nil, nil
}

// foundEntry is the entry a search found.
func foundEntry(e *goldap.Entry) *entry {
	return &entry{dn: e.DN, attrs: e, account: accountOf(e.DN)}
}

// accountOf is the account zulipauth charges for the entry with this DN
// (see zulipauth.Attempt.ChargeAccount).
func accountOf(dn string) string { return "ldap:" + dn }

func dns(entries []*goldap.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.DN
	}
	return out
}

// userDN is UserDNTemplate with name, escaped, in place of "%s". The
// escaping keeps name one attribute value: "bot,ou=bots" names the entry
// `uid=bot\,ou=bots,ou=people,...`, which does not exist, and never an entry
// of the ou=bots subtree.
func (a *Authenticator) userDN(name string) string {
	return strings.Replace(a.cfg.UserDNTemplate, "%s", goldap.EscapeDN(name), 1)
}

// filter matches the entries whose attr equals value (escaped, so that
// "*)(uid=*" is a value to compare and matches nothing), and UserFilter.
func (a *Authenticator) filter(attr, value string) string {
	f := "(" + attr + "=" + goldap.EscapeFilter(value) + ")"
	if a.cfg.UserFilter != "" {
		f = "(&" + a.cfg.UserFilter + f + ")"
	}
	return f
}

// value is the first value of e's attribute attr (names compared ignoring
// case, as directories do), trimmed; "" when there is none.
func value(e *goldap.Entry, attr string) string {
	if e == nil {
		return ""
	}
	for _, v := range e.GetEqualFoldAttributeValues(attr) {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// email is the user's email: decided by the username (AppendDomain, or the
// username itself), or the entry's EmailAttr. An entry without a usable
// address is a mistake in one entry, not an outage: its owner gets
// zulipauth.ErrBadCredentials (Zulip's 401 for it), and the directory's
// administrator one warning naming the entry.
func (a *Authenticator) email(ctx context.Context, m mapped, e *entry) (string, error) {
	if m.email != "" {
		return m.email, nil
	}
	v := value(e.attrs, a.cfg.EmailAttr)
	if v == "" || !zulipauth.ValidEmail(v) {
		problem := "has no " + a.cfg.EmailAttr
		if v != "" {
			problem = "has a " + a.cfg.EmailAttr + " that is not an email address"
		}
		a.cfg.Logger.WarnContext(ctx, "ldap: login refused: the entry "+problem+", the user's email (Config.EmailAttr)",
			"entry", e.dn)
		return "", zulipauth.ErrBadCredentials
	}
	return v, nil
}

// member reports whether e may log in to the realm with this subdomain:
// always without OrgMembershipAttr; otherwise when the attribute lists the
// subdomain, or, for the root realm, one of OrgMembershipRootAliases, as
// Zulip's is_subdomain_in_allowed_subdomains_list.
func (a *Authenticator) member(e *entry, subdomain string) bool {
	if a.cfg.OrgMembershipAttr == "" {
		return true
	}
	if e.attrs == nil {
		return false
	}
	for _, v := range e.attrs.GetEqualFoldAttributeValues(a.cfg.OrgMembershipAttr) {
		v = strings.TrimSpace(v)
		if subdomain != "" && strings.EqualFold(v, subdomain) {
			return true
		}
		if subdomain == "" && slices.ContainsFunc(a.cfg.OrgMembershipRootAliases, func(alias string) bool { return strings.EqualFold(v, alias) }) {
			return true
		}
	}
	return false
}

// fullName is the display name for a new account: FullNameAttr, or by
// default displayName, then cn; the LDAP username when the entry has none.
func (a *Authenticator) fullName(e *entry, username string) string {
	attrs := []string{a.cfg.FullNameAttr}
	if a.cfg.FullNameAttr == "" {
		attrs = []string{DefaultFullNameAttr, fallbackFullNameAttr}
	}
	for _, attr := range attrs {
		if v := value(e.attrs, attr); v != "" {
			return v
		}
	}
	return username
}
