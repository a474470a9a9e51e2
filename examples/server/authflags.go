package main

import (
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/examples/internal/refserver"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// authMethods are the values -auth accepts, each an authenticator.
var authMethods = []string{"ldap", "password"}

// authFlags say which authenticators the server tries, in order, and how to
// reach the directory.
type authFlags struct {
	methods []string // from -auth, in order
	ldap    ldapFlags
	jwtKeys string                    // -jwt-keys: Zulip's JWT_AUTH_KEYS as a JSON file
	built   []zulipauth.Authenticator // what authenticator built, in order
}

// ldapFlags are the -ldap-* flags, one per field of ldap.Config they fill.
type ldapFlags struct {
	url, userDNTemplate, bindDN, bindPasswordFile, searchBase, usernameAttr string
	appendDomain, emailAttr, orgMembershipAttr, caFile                      string
	createUsers, startTLS                                                   bool
	timeout                                                                 time.Duration
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.Func("auth", "the authenticators to try, in order, comma-separated, of: ldap, password (default password)", func(v string) error {
		a.methods = nil
		for _, m := range strings.Split(v, ",") {
			m = strings.TrimSpace(m)
			switch {
			case !slices.Contains(authMethods, m):
				return fmt.Errorf("unknown authenticator %q (use ldap, password)", m)
			case slices.Contains(a.methods, m):
				return fmt.Errorf("%s listed twice", m)
			}
			a.methods = append(a.methods, m)
		}
		return nil
	})
	fs.StringVar(&a.jwtKeys, "jwt-keys", "", `enable the JWT login with the keys per realm in this JSON file, as Zulip's JWT_AUTH_KEYS: {"": {"key": "...", "algorithms": ["HS256"]}} ("" is the root realm); it must not be readable by others (chmod 600)`)
	l := &a.ldap
	fs.StringVar(&l.url, "ldap-url", "", "the directory: ldap://HOST[:PORT] or ldaps://HOST[:PORT] (with -auth ldap)")
	fs.StringVar(&l.userDNTemplate, "ldap-user-dn-template", "", "find a user's entry by DN, the username in place of %s: uid=%s,ou=people,dc=example,dc=org")
	fs.StringVar(&l.bindDN, "ldap-bind-dn", "", "the service account that searches run as (with -ldap-search-base)")
	fs.StringVar(&l.bindPasswordFile, "ldap-bind-password-file", "", "a file holding the service account's password (never logged)")
	fs.StringVar(&l.searchBase, "ldap-search-base", "", "find a user's entry by searching below this DN for -ldap-username-attr")
	fs.StringVar(&l.usernameAttr, "ldap-username-attr", "", "the attribute a search matches the username to, e.g. uid or sAMAccountName")
	fs.StringVar(&l.appendDomain, "ldap-append-domain", "", "usernames are NAME or NAME@DOMAIN, and the user's email is NAME@DOMAIN (Zulip's LDAP_APPEND_DOMAIN)")
	fs.StringVar(&l.emailAttr, "ldap-email-attr", "", "the attribute holding the user's email, e.g. mail (Zulip's LDAP_EMAIL_ATTR)")
	fs.StringVar(&l.orgMembershipAttr, "ldap-org-membership-attr", "", "an attribute that must list the realm's subdomain (www for the root realm), else the login fails")
	fs.BoolVar(&l.createUsers, "ldap-create-users", false, "create the account of an entry on its first login, with a fresh API key")
	fs.StringVar(&l.caFile, "ldap-ca-file", "", "PEM file of the CAs that sign the directory's certificate (default: the system's)")
	fs.BoolVar(&l.startTLS, "ldap-start-tls", false, "upgrade ldap:// connections with StartTLS")
	fs.DurationVar(&l.timeout, "ldap-timeout", ldap.DefaultTimeout, "bound on each directory operation; a directory slower than this is a fault (500)")
}

// check refuses -ldap-* flags that would be ignored, and ldap without its URL.
func (a *authFlags) check(fs *flag.FlagSet) error {
	if a.methods == nil {
		a.methods = []string{"password"}
	}
	usesLDAP := slices.Contains(a.methods, "ldap")
	var stray []string
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "ldap-") && !usesLDAP {
			stray = append(stray, "-"+f.Name)
		}
	})
	switch {
	case len(stray) > 0:
		return fmt.Errorf("%w: serve: %s given, but -auth does not list ldap", errUsage, strings.Join(stray, ", "))
	case usesLDAP && a.ldap.url == "":
		return fmt.Errorf("%w: serve: -auth ldap needs -ldap-url", errUsage)
	}
	return nil
}

// authenticator builds the authenticators -auth lists, in order; closeAll
// closes the directory's connections.
func (a *authFlags) authenticator(st *sqlstore.Store, log *slog.Logger) (auth zulipauth.Authenticator, closeAll func(), err error) {
	var auths []zulipauth.Authenticator
	var dirs []*ldap.Authenticator
	closeAll = func() {
		for _, d := range dirs {
			d.Close()
		}
	}
	for _, m := range a.methods {
		switch m {
		case "password":
			pw, err := refserver.PasswordAuthenticator(st, log)
			if err != nil {
				return nil, nil, err
			}
			auths = append(auths, pw)
		case "ldap":
			l := a.ldap
			dir, err := ldap.New(ldap.Config{
				Users:             st,
				URL:               l.url,
				StartTLS:          l.startTLS,
				CAFile:            l.caFile,
				UserDNTemplate:    l.userDNTemplate,
				BaseDN:            l.searchBase,
				UsernameAttr:      l.usernameAttr,
				BindDN:            l.bindDN,
				BindPasswordFile:  l.bindPasswordFile,
				AppendDomain:      l.appendDomain,
				EmailAttr:         l.emailAttr,
				OrgMembershipAttr: l.orgMembershipAttr,
				CreateUsers:       l.createUsers,
				Timeout:           l.timeout,
				Logger:            log,
			})
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("%w: serve: %v", errUsage, err)
			}
			auths = append(auths, dir)
			dirs = append(dirs, dir)
			checkDirectory(l, log)
		}
	}
	a.built = auths // for serve's metrics and health checks
	if len(auths) == 1 {
		return auths[0], closeAll, nil
	}
	return zulipauth.Chain(auths...), closeAll, nil
}

// tokenVerifier reads -jwt-keys; nil without it, and the JWT login then
// answers that it is not enabled.
func (a *authFlags) tokenVerifier() (zulipauth.TokenVerifier, error) {
	if a.jwtKeys == "" {
		return nil, nil
	}
	keys, err := jwt.LoadKeysFile(a.jwtKeys)
	if err != nil {
		return nil, fmt.Errorf("-jwt-keys: %w", err)
	}
	v, err := jwt.New(keys)
	if err != nil {
		return nil, fmt.Errorf("-jwt-keys %s: %w", a.jwtKeys, err)
	}
	return v, nil
}
