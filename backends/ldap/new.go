package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// New checks cfg, fills in its defaults and returns the Authenticator it
// describes. It opens no connection: a directory that is down is reported by
// the first login, as a fault, so that an application can start while its
// directory is away.
//
// New refuses (with an error wrapping [ErrInvalidConfig]) a Config that
// could not work or would be unsafe: no Users or URL; a URL that is not
// ldap:// or ldaps://; StartTLS with ldaps://; a CA file that cannot be read
// or holds no certificate, or both CAFile and RootCAs; ldap:// without
// StartTLS to a host that is not a loopback address, unless InsecureNoTLS;
// neither or both of UserDNTemplate and UsernameAttr; a template without
// exactly one "%s" or that is not a DN; UsernameAttr without BaseDN; a
// UserFilter that does not parse; an attribute name that is not one; BindDN
// without a password, a password without BindDN, or a password both given
// and in a file; an AppendDomain that makes no email address; CreateUsers
// with a store that cannot create users; negative timeouts or sizes.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Users == nil {
		return nil, configError("Users is required")
	}
	a := &Authenticator{cfg: cfg}
	steps := []func(*Config) error{
		a.checkServer,
		a.checkLookup,
		a.checkServiceAccount,
		a.checkMapping,
		a.checkLimits,
	}
	for _, step := range steps {
		if err := step(&a.cfg); err != nil {
			return nil, err
		}
	}
	if a.cfg.Logger == nil {
		a.cfg.Logger = slog.Default()
	}
	a.noEntryDN = newNoEntryDN(a.cfg)
	a.searches = newPool(a.cfg.MaxConns, a.cfg.IdleTimeout, a.dialSearch)
	a.binds = newPool(a.cfg.MaxConns, a.cfg.IdleTimeout, a.dialBind)
	a.searches.stats, a.binds.stats = &a.stats, &a.stats
	return a, nil
}

// checkServer parses URL and builds the TLS configuration.
func (a *Authenticator) checkServer(cfg *Config) error {
	if cfg.URL == "" {
		return configError("URL is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return configError("URL: %v", err)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return configError("URL %q: only a scheme, a host and a port are allowed", cfg.URL)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return configError("URL %q has no host", cfg.URL)
	}
	switch u.Scheme {
	case "ldap":
		if port == "" {
			port = goldap.DefaultLdapPort
		}
	case "ldaps":
		if port == "" {
			port = goldap.DefaultLdapsPort
		}
		if cfg.StartTLS {
			return configError("StartTLS is for ldap:// URLs; ldaps:// is TLS already")
		}
		a.implicitTLS = true
	default:
		return configError("URL %q: the scheme must be ldap or ldaps", cfg.URL)
	}
	a.addr = net.JoinHostPort(host, port)
	if !a.implicitTLS && !cfg.StartTLS {
		if cfg.CAFile != "" || cfg.RootCAs != nil || cfg.ServerName != "" {
			return configError("CAFile, RootCAs and ServerName need ldaps:// or StartTLS")
		}
		if !cfg.InsecureNoTLS && !isLoopback(host) {
			return configError("URL %q without StartTLS would send passwords in clear text; use ldaps://, StartTLS, or set InsecureNoTLS", cfg.URL)
		}
		return nil
	}
	roots := cfg.RootCAs
	if cfg.CAFile != "" {
		if roots != nil {
			return configError("set CAFile or RootCAs, not both")
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return configError("CAFile: %v", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return configError("CAFile %s holds no PEM certificate", cfg.CAFile)
		}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	// RootCAs nil means the system's roots.
	a.tls = &tls.Config{ServerName: cfg.ServerName, RootCAs: roots, MinVersion: tls.VersionTLS12}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkLookup validates the way entries are found and precomputes the
// username filter's fixed parts.
func (a *Authenticator) checkLookup(cfg *Config) error {
	switch {
	case cfg.UserDNTemplate == "" && cfg.UsernameAttr == "":
		return configError("set UserDNTemplate or UsernameAttr (with BaseDN) to say how entries are found")
	case cfg.UserDNTemplate != "" && cfg.UsernameAttr != "":
		return configError("set UserDNTemplate or UsernameAttr, not both")
	case cfg.UsernameAttr != "" && cfg.BaseDN == "":
		return configError("UsernameAttr needs BaseDN, where the search starts")
	}
	if t := cfg.UserDNTemplate; t != "" {
		if strings.Count(t, "%s") != 1 || strings.Count(t, "%") != 1 {
			return configError("UserDNTemplate %q must hold exactly one %%s and no other %%", t)
		}
		if _, err := goldap.ParseDN(strings.Replace(t, "%s", "x", 1)); err != nil {
			return configError("UserDNTemplate %q is not a DN: %v", t, err)
		}
	}
	if cfg.BaseDN != "" {
		if _, err := goldap.ParseDN(cfg.BaseDN); err != nil {
			return configError("BaseDN %q is not a DN: %v", cfg.BaseDN, err)
		}
	}
	if f := cfg.UserFilter; f != "" {
		if _, err := goldap.CompileFilter(f); err != nil {
			return configError("UserFilter %q: %v", f, err)
		}
	}
	for _, attr := range []struct{ name, value string }{
		{"UsernameAttr", cfg.UsernameAttr},
		{"EmailAttr", cfg.EmailAttr},
		{"FullNameAttr", cfg.FullNameAttr},
		{"OrgMembershipAttr", cfg.OrgMembershipAttr},
	} {
		if attr.value != "" && !validAttributeName(attr.value) {
			return configError("%s %q is not an attribute name", attr.name, attr.value)
		}
	}
	return nil
}

// validAttributeName reports whether s is an LDAP attribute description
// without options (RFC 4512: a keystring such as "mail", or a numeric OID).
// Attribute names are spliced into filters, so this is what keeps
// configuration from injecting filter syntax.
func validAttributeName(s string) bool {
	if s == "" {
		return false
	}
	if '0' <= s[0] && s[0] <= '9' { // numericoid: number *( "." number )
		for _, part := range strings.Split(s, ".") {
			if part == "" || strings.Trim(part, "0123456789") != "" {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c != '-' && (c < '0' || c > '9')) {
			return false
		}
	}
	return true
}

// checkServiceAccount reads the service account's password.
func (a *Authenticator) checkServiceAccount(cfg *Config) error {
	if cfg.BindPassword != "" && cfg.BindPasswordFile != "" {
		return configError("set BindPassword or BindPasswordFile, not both")
	}
	if cfg.BindPasswordFile != "" {
		b, err := os.ReadFile(cfg.BindPasswordFile)
		if err != nil {
			// The *PathError names the file, never its content.
			return configError("BindPasswordFile: %v", err)
		}
		s := string(b)
		s = strings.TrimSuffix(s, "\n")
		s = strings.TrimSuffix(s, "\r")
		cfg.BindPassword = s
	}
	switch {
	case cfg.BindDN != "" && cfg.BindPassword == "":
		return configError("BindDN %q needs a password (BindPassword or BindPasswordFile): a bind without one is unauthenticated", cfg.BindDN)
	case cfg.BindDN == "" && cfg.BindPassword != "":
		return configError("a bind password is set without BindDN")
	}
	if cfg.BindDN != "" {
		if _, err := goldap.ParseDN(cfg.BindDN); err != nil {
			return configError("BindDN %q is not a DN: %v", cfg.BindDN, err)
		}
	}
	return nil
}

// checkMapping validates the username-to-email mapping and the store's
// capabilities, and lists the attributes read from each entry.
func (a *Authenticator) checkMapping(cfg *Config) error {
	if d := cfg.AppendDomain; d != "" {
		if strings.Contains(d, "@") || !zulipauth.ValidEmail("user@"+d) {
			return configError("AppendDomain %q is not an email domain", d)
		}
		cfg.EmailAttr = "" // Zulip ignores LDAP_EMAIL_ATTR with LDAP_APPEND_DOMAIN
	}
	a.reverseEmailSearch = cfg.EmailAttr != "" && cfg.BaseDN != ""
	if cfg.CreateUsers {
		c, ok := cfg.Users.(zulipauth.UserCreator)
		if !ok {
			return configError("CreateUsers needs a Users store that is a zulipauth.UserCreator")
		}
		a.creator = c
	}
	if cfg.OrgMembershipRootAliases == nil {
		cfg.OrgMembershipRootAliases = []string{"www"}
	}
	if cfg.EmailAttr != "" {
		a.entryAttrs = append(a.entryAttrs, cfg.EmailAttr)
	}
	if cfg.OrgMembershipAttr != "" {
		a.entryAttrs = append(a.entryAttrs, cfg.OrgMembershipAttr)
	}
	if cfg.CreateUsers {
		if cfg.FullNameAttr == "" {
			a.entryAttrs = append(a.entryAttrs, DefaultFullNameAttr, fallbackFullNameAttr)
		} else {
			a.entryAttrs = append(a.entryAttrs, cfg.FullNameAttr)
		}
	}
	return nil
}

// checkLimits fills in the timeouts and the pool size.
func (a *Authenticator) checkLimits(cfg *Config) error {
	if cfg.DialTimeout < 0 || cfg.Timeout < 0 || cfg.IdleTimeout < 0 || cfg.MaxConns < 0 {
		return configError("DialTimeout, Timeout, IdleTimeout and MaxConns must not be negative")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	return nil
}
