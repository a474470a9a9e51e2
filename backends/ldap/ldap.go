// Package ldap is a zulipauth.Authenticator that checks passwords against an
// LDAP directory (OpenLDAP, Active Directory, ...) with
// github.com/go-ldap/ldap/v3, and maps the directory's entry to an account
// of a zulipauth.UserStore by email: Zulip's ZulipLDAPAuthBackend.
//
// A login, in order (every failure that is not a fault is
// zulipauth.ErrBadCredentials, Zulip's generic AUTHENTICATION_FAILED, as
// Zulip's LDAP backend answers):
//
//  1. the realm does not allow password login: zulipauth.ErrPasswordAuthDisabled;
//  2. an empty password fails before anything is sent (an LDAP bind with a
//     DN and no password is an "unauthenticated bind", which succeeds);
//  3. a deactivated realm fails;
//  4. the username is trimmed of surrounding white space (so " hamlet" is
//     hamlet's account, never a second one) and mapped as Zulip maps it
//     (Config.AppendDomain, Config.EmailAttr): an email outside AppendDomain
//     fails, and so does a username that cannot make a valid email where
//     the email is built from it;
//  5. the entry is found: named by Config.UserDNTemplate, or searched for
//     under Config.BaseDN by Config.UsernameAttr (for an email with
//     Config.EmailAttr, by email first), as the service account. An entry
//     a search found is charged to its own login budget
//     (zulipauth.Attempt.ChargeAccount, keyed by its DN), whose refusal is
//     the answer;
//  6. the user binds as the entry with the password: "invalid credentials"
//     fails. Where step 5 found no entry, or several, the bind is made all
//     the same, with the password, to a DN that no entry has, and fails.
//     An entry the template named is charged now that the bind names it
//     (its DN as read, or the directory's answer to Who am I?);
//  7. Config.OrgMembershipAttr, when set, must list the realm's subdomain;
//  8. the email is the username's or the entry's Config.EmailAttr: an entry
//     without a usable one fails, with a warning naming the entry;
//  9. the account with that email is looked up in the store, or created
//     (Config.CreateUsers); none, or a deactivated one, fails.
//
// # Budgets
//
// zulipauth's per-username budget is keyed by the username as the
// directory compares it ([Authenticator.PrepareUsername]: RFC 4518's
// preparation for caseIgnoreMatch, so "ｈamlet" and "hamlet" are one
// budget), and the entry's own budget is charged besides (steps 5 and 6),
// so that no spelling the directory takes for an entry escapes its budget.
//
// # Timing
//
// The time of a failed login must not tell which usernames the directory
// holds, so a username without an entry costs what a wrong password
// costs: the same searches (the search by email is followed by the
// username search even when it found the entry) and then one bind, as
// cn=zulipauth-no-entry-<random>,<BaseDN> when there is no entry to bind
// as. The random part is chosen by New, from crypto/rand; a directory's log
// shows these failed binds under that DN. Steps 1 to 4 answer sooner, and
// may: they depend only on the realm and on the username as typed, never on
// the directory. Steps 7 to 9 come after a bind that succeeded, which
// only the right password passes.
//
// Two differences remain, both in what the directory does, which no bind
// makes up for exactly. A search that finds the entry sends it, one message
// more than a search that finds none: against a slapd on the same machine,
// some 10 µs of slapd's time and 30 to 60 µs of a login's, as this
// package's benchmarks measure it. And a wrong password costs the
// directory the check of the entry's password hash, which a DN without an
// entry skips: a few microseconds for OpenLDAP's default {SSHA}, more for a
// deliberately slow scheme ({ARGON2}, {CRYPT} with many rounds).
//
// Every value put into a DN is escaped with ldap.EscapeDN and every value
// put into a filter with ldap.EscapeFilter, so no username can reach an
// entry but its own.
//
// A directory that is down, refuses the service account, answers with an
// unexpected error or does not answer within Config.Timeout is a fault: an
// error that is none of zulipauth's sentinels, which the login handler logs
// and answers with 500, never with "Your username or password is
// incorrect". The request's context bounds every step.
//
// Connections are kept in two small pools, one for the service account's
// searches and one for users' binds, so that a login costs no TCP or TLS
// handshake and no search runs on a connection bound as a user. Connections
// the directory closed are dropped and replaced; see Config.IdleTimeout.
package ldap

import (
	"context"
	"crypto/tls"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Authenticator checks passwords against an LDAP directory. Create it with
// [New] and release its connections with [Authenticator.Close]. It is safe
// for concurrent use.
//
// Besides zulipauth.Authenticator it implements zulipauth.MethodNamer
// ("ldap") and zulipauth.UsernameComparer, which tell server_settings and
// the login handler what Zulip's LDAP settings would, and key the
// username's budget as the directory compares usernames.
type Authenticator struct {
	cfg Config // with New's defaults

	addr        string      // host:port
	tls         *tls.Config // nil without TLS
	implicitTLS bool        // ldaps://

	// entryAttrs are the attributes a login reads from the entry: EmailAttr,
	// OrgMembershipAttr and, with CreateUsers, the full name's.
	entryAttrs []string
	// reverseEmailSearch: a username with "@" is first searched for by
	// EmailAttr under BaseDN (Zulip's AUTH_LDAP_REVERSE_EMAIL_SEARCH).
	reverseEmailSearch bool
	creator            zulipauth.UserCreator // nil unless CreateUsers
	// noEntryDN names no entry: the DN bindNoEntry binds to when a login
	// finds none. Random, chosen by New.
	noEntryDN string

	searches *pool // bound as the service account
	binds    *pool // each use starts with a user's bind
	stats    dirStats
}

// AuthMethod implements zulipauth.MethodNamer: "ldap", so server_settings
// reports authentication_methods.ldap, which the mobile apps read to show
// the password form.
func (a *Authenticator) AuthMethod() string { return "ldap" }

// AcceptsNonEmailUsernames implements zulipauth.UsernameComparer: true when a
// username that is not an email can still name an account, which is when
// the email comes from Config.AppendDomain or from Config.EmailAttr. Zulip's
// require_email_format_usernames is its negation: false iff LDAP is enabled
// with LDAP_EMAIL_ATTR or LDAP_APPEND_DOMAIN. Without either, the username is
// the email, and the login handler checks its format. The answer is the same
// for every realm.
func (a *Authenticator) AcceptsNonEmailUsernames(zulipauth.Realm) bool {
	return a.cfg.AppendDomain != "" || a.cfg.EmailAttr != ""
}

// Authenticate implements zulipauth.Authenticator; the package
// documentation lists the steps. The attempt's Username is as the client
// typed it. Failures are zulipauth.ErrPasswordAuthDisabled or
// zulipauth.ErrBadCredentials; zulipauth.ErrBusy when every connection of a
// pool stayed busy for Config.Timeout; ctx's error (possibly wrapped) when
// ctx ends; anything else is a fault of the directory, its data or the
// store. Safe for concurrent use.
func (a *Authenticator) Authenticate(ctx context.Context, at zulipauth.Attempt) (zulipauth.User, error) {
	if at.Realm.PasswordAuthDisabled {
		return zulipauth.User{}, zulipauth.ErrPasswordAuthDisabled
	}
	if at.Password == "" {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	// Zulip's LDAP backend answers a deactivated realm like a wrong
	// password; the realm is known from the request, so answering before
	// the directory is asked reveals nothing about accounts.
	if at.Realm.Deactivated {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	if err := ctx.Err(); err != nil {
		return zulipauth.User{}, err
	}
	m, ok := a.mapUsername(at.Username)
	if !ok {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	e, err := a.findEntry(ctx, m.name)
	if err != nil {
		return zulipauth.User{}, err
	}
	if e == nil {
		// No entry, or several: still a bind, so that this answer takes as
		// long as a wrong password's.
		return zulipauth.User{}, a.bindNoEntry(ctx, at.Password)
	}
	// The entry's budget, before the password is tried where a search
	// named the entry; after the bind, which names it, where the template
	// did (a spelling the username's key missed then gets no login, though
	// its wrong guesses were only the username's to spend).
	charged := e.account != ""
	if charged {
		if err := at.ChargeAccount(ctx, e.account); err != nil {
			return zulipauth.User{}, err
		}
	}
	if err := a.bind(ctx, e, at.Password); err != nil {
		return zulipauth.User{}, err
	}
	if !charged {
		if err := at.ChargeAccount(ctx, e.account); err != nil {
			return zulipauth.User{}, err
		}
	}
	if !a.member(e, at.Realm.Subdomain) {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	email, err := a.email(ctx, m, e)
	if err != nil {
		return zulipauth.User{}, err
	}
	return a.account(ctx, at.Realm.Subdomain, email, m.name, e)
}

// Close closes the idle connections; those in use are closed as their
// logins end. Logins after Close fail with a fault. Close is safe to call
// more than once and always returns nil.
func (a *Authenticator) Close() error {
	a.searches.close()
	a.binds.close()
	return nil
}
