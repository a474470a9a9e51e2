package ldap

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Config configures an [Authenticator]. Users and URL are required, and so is
// one way of finding a user's entry: UserDNTemplate, or BaseDN with
// UsernameAttr. Every other field has the default its comment states, filled
// in by [New], which refuses a Config that could not work (see New).
//
// The comments name the Zulip setting each field stands for, so a Zulip
// server's LDAP configuration carries over field by field.
type Config struct {
	// Users is the store whose accounts the directory's entries map to, by
	// email. Required. With CreateUsers it must also be a
	// zulipauth.UserCreator.
	Users zulipauth.UserStore

	// URL is the directory: "ldap://host[:port]" (port 389 by default) or
	// "ldaps://host[:port]" (TLS from the first byte, port 636 by default).
	// Zulip's AUTH_LDAP_SERVER_URI. Required; a path, query or user part is
	// refused.
	URL string
	// StartTLS upgrades each ldap:// connection to TLS with the StartTLS
	// operation before anything else is sent on it (Zulip's
	// AUTH_LDAP_START_TLS). Not allowed with ldaps://.
	StartTLS bool
	// CAFile is a PEM file of the certificate authorities that may sign the
	// directory's certificate, read once by New. Default: the system's
	// roots. At most one of CAFile and RootCAs.
	CAFile string
	// RootCAs is CAFile as a pool, for a CA the application holds in memory.
	RootCAs *x509.CertPool
	// ServerName is the name the directory's certificate must carry.
	// Default: the host of URL (an IP address is then checked against the
	// certificate's IP addresses).
	ServerName string
	// InsecureNoTLS allows ldap:// without StartTLS to a host that is not a
	// loopback address. Every password then crosses the network in clear
	// text, so New refuses that configuration unless this is set. Default:
	// false.
	InsecureNoTLS bool

	// UserDNTemplate finds the entry without a search: the username, escaped
	// with ldap.EscapeDN, replaces the template's one "%s", as in
	// "uid=%s,ou=people,dc=example,dc=org" (Zulip's
	// AUTH_LDAP_USER_DN_TEMPLATE). The user then binds to that DN directly.
	// Set either this or UsernameAttr.
	UserDNTemplate string
	// BaseDN is where searches start (the whole subtree below it is
	// searched): the username search, and the search by email. Required
	// with UsernameAttr; with UserDNTemplate it enables the search by email
	// (see EmailAttr).
	BaseDN string
	// UsernameAttr finds the entry by search-then-bind: the entry under
	// BaseDN whose attribute UsernameAttr equals the username (escaped with
	// ldap.EscapeFilter), as with Zulip's AUTH_LDAP_USER_SEARCH and
	// AUTH_LDAP_USERNAME_ATTR, e.g. "uid" or "sAMAccountName". No entry, or
	// several, fail like a wrong password, and as slowly: after a bind to a
	// DN that no entry has (see the package documentation). Set either this
	// or UserDNTemplate.
	UsernameAttr string
	// UserFilter, when set, is a filter every entry found by a search must
	// also match, such as "(objectClass=inetOrgPerson)" or
	// "(!(userAccountControl:1.2.840.113556.1.4.803:=2))" (not disabled, in
	// Active Directory). It is written by the administrator and used as it
	// is; New checks that it parses.
	UserFilter string
	// BindDN is the service account that searches run as (Zulip's
	// AUTH_LDAP_BIND_DN). Default: "", anonymous searches. Each search
	// connection binds once, when it is opened; a directory that refuses
	// the account is a fault of the directory, never a wrong password.
	BindDN string
	// BindPassword is BindDN's password (Zulip's AUTH_LDAP_BIND_PASSWORD).
	// It is never logged nor put in an error. Required with BindDN, as
	// BindPasswordFile or here, not both: an LDAP bind without a password is
	// an unauthenticated bind, which succeeds without proving anything.
	BindPassword string
	// BindPasswordFile is a file holding BindPassword, read once by New; one
	// trailing newline ("\n" or "\r\n") is removed.
	BindPasswordFile string

	// AppendDomain maps usernames to emails as Zulip's LDAP_APPEND_DOMAIN
	// does: an email in this domain is reduced to its local part, which is
	// the LDAP username; a plain username is the LDAP username as it is; an
	// email in another domain fails like a wrong password. The user's email
	// is then "<username>@<AppendDomain>". Default: "", the email comes from
	// EmailAttr, or is the username itself.
	AppendDomain string
	// EmailAttr is the entry's attribute that holds the user's email
	// (Zulip's LDAP_EMAIL_ATTR), such as "mail"; the first value is used,
	// and an entry without one is a fault of the directory's data. Ignored
	// with AppendDomain. With BaseDN set, a username that contains "@" is
	// first searched for in this attribute, as Zulip's
	// AUTH_LDAP_REVERSE_EMAIL_SEARCH: exactly one match is the entry,
	// otherwise the username is looked up as usual. With UsernameAttr, that
	// search by username runs in either case, so that an email with an
	// entry takes as long as one without. Default: "", the username is the
	// email (and must be one).
	EmailAttr string
	// FullNameAttr is the entry's attribute that holds the display name of
	// a user created on first login (Zulip's AUTH_LDAP_USER_ATTR_MAP
	// "full_name"). Default: "displayName", falling back to "cn", falling
	// back to the username.
	FullNameAttr string
	// OrgMembershipAttr, when set, restricts each realm to the entries whose
	// attribute OrgMembershipAttr lists the realm's subdomain (compared
	// ignoring letter case), as Zulip's AUTH_LDAP_USER_ATTR_MAP
	// "org_membership". Any other entry fails like a wrong password
	// (zulipauth.ErrBadCredentials). Default: "", no restriction.
	OrgMembershipAttr string
	// OrgMembershipRootAliases are the values of OrgMembershipAttr that
	// grant the root realm (subdomain ""), which an attribute value cannot
	// name, as Zulip's ROOT_SUBDOMAIN_ALIASES. Default: "www".
	OrgMembershipRootAliases []string

	// CreateUsers creates the account in Users, on the first login of an
	// entry that has none: its email, the entry's full name, a fresh API
	// key (the store's), and no password hash (the password stays in the
	// directory). Default: false, an entry without an account fails like a
	// wrong password, so that zulipauth.Chain can try the next
	// authenticator.
	CreateUsers bool

	// DialTimeout bounds opening a connection: TCP, TLS and StartTLS, and
	// the service account's bind. Default: 5 s.
	DialTimeout time.Duration
	// Timeout bounds each operation on an open connection (a bind, a
	// search), and the wait for a free connection when MaxConns are busy.
	// A directory that does not answer in time is a fault; the connection
	// is closed. The request's context may cut either bound shorter.
	// Default: 10 s.
	Timeout time.Duration
	// MaxConns bounds the connections in use at once in each of the two
	// pools: searches as the service account, and users' binds (kept apart
	// so that no search ever runs on a connection bound as a user). As many
	// are kept open while idle. A login that finds all busy waits up to
	// Timeout, then fails with zulipauth.ErrBusy (429). Default: 8.
	MaxConns int
	// IdleTimeout closes connections idle for longer, before the directory
	// or a firewall drops them unannounced (Active Directory closes
	// connections idle for 15 minutes by default). A connection the
	// directory closed is dropped when it is next taken, whatever its age,
	// and a request that fails on a reused connection before the directory
	// answered is retried once on a new one. Default: 1 minute.
	IdleTimeout time.Duration

	// Logger receives what an administrator should see: ambiguous entries,
	// connections dropped and retried. Never a password. Default:
	// slog.Default().
	Logger *slog.Logger
}

// Defaults of [Config] fields, filled in by [New].
const (
	// DefaultDialTimeout is Config.DialTimeout's default.
	DefaultDialTimeout = 5 * time.Second
	// DefaultTimeout is Config.Timeout's default.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxConns is Config.MaxConns's default, per pool.
	DefaultMaxConns = 8
	// DefaultIdleTimeout is Config.IdleTimeout's default.
	DefaultIdleTimeout = time.Minute
	// DefaultFullNameAttr is the attribute read for a new account's full
	// name when Config.FullNameAttr is empty; "cn" is read when the entry
	// has none.
	DefaultFullNameAttr = "displayName"
)

// fallbackFullNameAttr is read when the default FullNameAttr is absent.
const fallbackFullNameAttr = "cn"

// ErrInvalidConfig is wrapped by every error [New] returns for a Config
// that could not work; the message says which field and why.
var ErrInvalidConfig = errors.New("ldap: invalid Config")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// String describes c with BindPassword redacted, so that printing or
// logging a Config never shows the service account's password.
func (c Config) String() string {
	type fields Config // the same fields, without this method
	if c.BindPassword != "" {
		c.BindPassword = "[redacted]"
	}
	return fmt.Sprintf("ldap.Config%+v", fields(c))
}

// GoString is String, so %#v does not show the password either.
func (c Config) GoString() string { return c.String() }

// LogValue implements [slog.LogValuer]: String's text.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
