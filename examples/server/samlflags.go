package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// samlFlags are the -saml-* flags: SAML identity providers for the mobile
// apps' single sign-on (backends/saml), as many as -saml-idp names, each
// for every realm or for those -saml-idp-subdomains lists. This server is
// one service provider that they share: one entity ID, one certificate and
// key, and one assertion consumer service per realm, /complete/saml/ on the
// realm's host.
type samlFlags struct {
	idps              namedValues // -saml-idp NAME=METADATA, in the command line's order
	subdomains        namedValues // -saml-idp-subdomains NAME=S1,S2, the list as given
	spCert, spKey     string
	entityID          string // "" until serve knows the external host: http://EXTERNAL_HOST
	emailAttr         string
	allowIdPInitiated bool
	createUsers       bool
}

// rootRealmName names the root realm in -saml-idp-subdomains, as
// -ldap-org-membership-attr does: its subdomain is "", and www is no
// realm's subdomain (www.EXTERNAL_HOST is the root realm's host).
const rootRealmName = "www"

func (s *samlFlags) register(fs *flag.FlagSet) {
	s.idps = namedValues{form: "NAME=METADATA", check: checkIdPMetadataArg}
	s.subdomains = namedValues{form: "NAME=S1,S2", check: checkSubdomainsArg}
	fs.Var(&s.idps, "saml-idp", "single sign-on: a SAML identity provider, `NAME=METADATA` (repeatable): NAME (1 to 40 of a-z, 0-9, -) goes in URLs (/accounts/login/social/saml/NAME) and server_settings (saml:NAME); METADATA is the IdP's metadata, a file or an https URL (http only on a loopback address), read at start")
	fs.StringVar(&s.spCert, "saml-sp-cert", "", "single sign-on: the PEM `FILE` of this service provider's certificate, published in its metadata, whose key signs the AuthnRequests (needs -saml-sp-key; without both, requests are not signed)")
	fs.StringVar(&s.spKey, "saml-sp-key", "", "single sign-on: the PEM `FILE` of the certificate's private key, RSA or ECDSA (never logged); it must not be readable by others (chmod 600)")
	fs.StringVar(&s.entityID, "saml-entity-id", "", "single sign-on: this service provider's entity `ID` at the IdPs, the Audience their assertions name (default http://EXTERNAL_HOST, the root realm's URL, as Zulip's SOCIAL_AUTH_SAML_SP_ENTITY_ID)")
	fs.Var(&s.subdomains, "saml-idp-subdomains", "single sign-on: `NAME=S1,S2` limits the IdP NAME to the realms of these subdomains, "+rootRealmName+" for the root realm (repeatable, once per IdP; default: every realm), as Zulip's limit_to_subdomains")
	fs.StringVar(&s.emailAttr, "saml-email-attr", saml.DefaultEmailAttribute, "single sign-on: the assertion's attribute `NAME` that holds the person's email, for every IdP (without it, an email NameID)")
	fs.BoolVar(&s.allowIdPInitiated, "saml-allow-idp-initiated", false, "single sign-on: accept IdP-initiated logins, answers that no login of this server asked for: they cannot be bound to a browser, so whoever gets hold of one logs in with it; they start a host's web session, never the apps' (this server has none, and shows a page)")
	fs.BoolVar(&s.createUsers, "saml-create-users", false, "single sign-on: give an identity without an account in the realm one on its first login (its name from the IdP's first_name and last_name)")
}

// check refuses what the -saml-* flags cannot make: a flag without an IdP,
// a certificate without its key or the converse, limits for an IdP that
// -saml-idp does not name, an empty entity ID. Each value was checked
// when it was set.
func (s *samlFlags) check(fs *flag.FlagSet) error {
	var given []string
	entitySet := false
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "saml-") {
			given = append(given, "-"+f.Name)
		}
		entitySet = entitySet || f.Name == "saml-entity-id"
	})
	switch {
	case len(given) == 0:
		return nil
	case len(s.idps.list) == 0:
		return fmt.Errorf("%w: serve: %s given without -saml-idp NAME=METADATA, the identity provider they configure", errUsage, strings.Join(sortedStrings(given), ", "))
	case s.spCert != "" && s.spKey == "":
		return fmt.Errorf("%w: serve: -saml-sp-cert needs -saml-sp-key, its private key (or give neither: the AuthnRequests are then not signed)", errUsage)
	case s.spKey != "" && s.spCert == "":
		return fmt.Errorf("%w: serve: -saml-sp-key needs -saml-sp-cert, its certificate (or give neither: the AuthnRequests are then not signed)", errUsage)
	case entitySet && strings.TrimSpace(s.entityID) == "":
		return fmt.Errorf("%w: serve: -saml-entity-id is empty: give the service provider's entity ID, or leave the flag out for http://EXTERNAL_HOST", errUsage)
	case s.emailAttr == "":
		return fmt.Errorf("%w: serve: -saml-email-attr is empty: give the attribute's name, or leave the flag out for %q", errUsage, saml.DefaultEmailAttribute)
	}
	for _, nv := range s.subdomains.list {
		if _, ok := s.idps.get(nv.name); !ok {
			return fmt.Errorf("%w: serve: -saml-idp-subdomains names the IdP %q, which no -saml-idp NAME=METADATA configures (IdPs: %s)", errUsage, nv.name, strings.Join(s.idps.names(), ", "))
		}
	}
	return nil
}

// serviceProvider is this server as a service provider: the entity ID
// (http://externalHost unless -saml-entity-id says otherwise), with the
// certificate and key of -saml-sp-cert and -saml-sp-key when given. Its
// errors name the files, never the key.
func (s *samlFlags) serviceProvider(externalHost string) (*saml.ServiceProvider, error) {
	id := s.entityID
	if id == "" {
		id = "http://" + externalHost
	}
	if s.spCert == "" {
		return &saml.ServiceProvider{EntityID: id}, nil
	}
	sp, err := saml.LoadServiceProvider(id, s.spCert, s.spKey)
	if err != nil {
		return nil, fmt.Errorf("-saml-sp-cert and -saml-sp-key: %w", err)
	}
	return sp, nil
}

// providers builds the service provider and an identity provider for each
// -saml-idp, in the command line's order; none without -saml-idp. It reads
// each IdP's metadata (a file, or its URL), so an IdP whose metadata is
// missing, unreachable or unusable stops the server at start, with the
// reason.
func (s *samlFlags) providers(ctx context.Context, externalHost string, log *slog.Logger) ([]zulipauth.IdentityProvider, *saml.ServiceProvider, error) {
	if len(s.idps.list) == 0 {
		return nil, nil, nil
	}
	sp, err := s.serviceProvider(externalHost)
	if err != nil {
		return nil, nil, err
	}
	var out []zulipauth.IdentityProvider
	for _, idp := range s.idps.list {
		md, err := readIdPMetadata(ctx, idp.value)
		if err != nil {
			return nil, nil, fmt.Errorf("-saml-idp %s: %w", idp.name, err)
		}
		realms, _ := s.realms(idp.name)
		p, err := saml.New(saml.Config{
			SP:               sp,
			Name:             idp.name,
			IdPMetadata:      md,
			Realms:           realms,
			EmailAttribute:   s.emailAttr,
			CreateUsers:      s.createUsers,
			AllowUnsolicited: s.allowIdPInitiated,
			Logger:           log,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("-saml-idp %s=%s: %w", idp.name, idp.value, err)
		}
		out = append(out, p)
	}
	return out, sp, nil
}

// realms are the subdomains -saml-idp-subdomains gives the IdP name
// ("" for the root realm); limited is false where it gives none: every
// realm.
func (s *samlFlags) realms(name string) (subdomains []string, limited bool) {
	list, ok := s.subdomains.get(name)
	if !ok {
		return nil, false
	}
	for _, item := range strings.Split(list, ",") {
		if item == rootRealmName {
			item = ""
		}
		subdomains = append(subdomains, item)
	}
	return subdomains, true
}

// announce logs, for each IdP, what to register at it: the service
// provider's entity ID, the assertion consumer service of each realm the
// IdP serves (where it posts its answers) and the realm's metadata URL,
// with http://, as the server serves them itself.
func (s *samlFlags) announce(log *slog.Logger, externalHost string, sp *saml.ServiceProvider) {
	for _, idp := range s.idps.list {
		hosts := []string{externalHost, "SUB." + externalHost}
		if realms, limited := s.realms(idp.name); limited {
			hosts = hosts[:0]
			for _, r := range realms {
				if r == "" {
					hosts = append(hosts, externalHost)
				} else {
					hosts = append(hosts, r+"."+externalHost)
				}
			}
		}
		var acs, md []string
		for _, h := range hosts {
			acs = append(acs, "http://"+h+"/complete/saml/")
			md = append(md, "http://"+h+saml.MetadataPath)
		}
		log.Info("single sign-on: register this service provider at the SAML identity provider, with the assertion consumer service of each realm (https:// behind a TLS proxy)",
			"provider", "saml:"+idp.name, "sp_entity_id", sp.EntityID, "acs", strings.Join(acs, " "), "metadata", strings.Join(md, " "))
	}
}

// readIdPMetadata reads an IdP's metadata from where -saml-idp says: an
// http(s) URL, fetched with saml.FetchMetadata (https, or http on a
// loopback address), else a file, at most saml.MaxMetadataBytes of it.
func readIdPMetadata(ctx context.Context, where string) ([]byte, error) {
	if isURL(where) {
		return saml.FetchMetadata(ctx, nil, where)
	}
	f, err := os.Open(where)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	md, err := io.ReadAll(io.LimitReader(f, saml.MaxMetadataBytes+1))
	if err != nil {
		return nil, err
	}
	if len(md) > saml.MaxMetadataBytes {
		return nil, fmt.Errorf("%s has more than %d bytes: one IdP's metadata is a few kilobytes", where, saml.MaxMetadataBytes)
	}
	return md, nil
}

// isURL reports whether -saml-idp's METADATA is a URL rather than a file.
func isURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

// checkIdPMetadataArg checks -saml-idp's METADATA: a file, or an http(s)
// URL (FetchMetadata refuses http off the loopback, with its reason).
func checkIdPMetadataArg(v string) error {
	if !isURL(v) && strings.Contains(v, "://") {
		return fmt.Errorf("METADATA %q is neither a file nor an https URL", v)
	}
	return nil
}

// checkSubdomainsArg checks -saml-idp-subdomains' list: subdomains, www
// for the root realm, each once.
func checkSubdomainsArg(v string) error {
	seen := map[string]bool{}
	for _, item := range strings.Split(v, ",") {
		switch {
		case item == "":
			return fmt.Errorf("an empty subdomain in %q: list subdomains separated by commas, %s for the root realm", v, rootRealmName)
		case item != rootRealmName && !zulipauth.ValidSubdomain(item):
			return fmt.Errorf("%q is not a realm's subdomain (a to z, 0 to 9 and inner hyphens; %s for the root realm)", item, rootRealmName)
		case seen[item]:
			return fmt.Errorf("%q listed twice", item)
		}
		seen[item] = true
	}
	return nil
}

// namedValues is a repeatable flag of NAME=VALUE, each NAME once: NAME is
// an IdP's name, as backends/saml takes it; check vets VALUE. form is the
// flag's NAME=VALUE as its errors name it.
type namedValues struct {
	form  string
	check func(value string) error
	list  []namedValue
}

type namedValue struct{ name, value string }

func (n *namedValues) String() string {
	if n == nil {
		return ""
	}
	var s []string
	for _, nv := range n.list {
		s = append(s, nv.name+"="+nv.value)
	}
	return strings.Join(s, " ")
}

func (n *namedValues) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	switch {
	case !ok || name == "" || value == "":
		return fmt.Errorf("want %s, both sides non-empty", n.form)
	case !validIdPName(name):
		return fmt.Errorf("the IdP's name %q: want 1 to 40 characters of a-z, 0-9 and -", name)
	}
	if _, dup := n.get(name); dup {
		return fmt.Errorf("the IdP %q is given twice", name)
	}
	if err := n.check(value); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	n.list = append(n.list, namedValue{name, value})
	return nil
}

func (n *namedValues) get(name string) (string, bool) {
	for _, nv := range n.list {
		if nv.name == name {
			return nv.value, true
		}
	}
	return "", false
}

func (n *namedValues) names() []string {
	var out []string
	for _, nv := range n.list {
		out = append(out, nv.name)
	}
	return out
}

// validIdPName is backends/saml's rule for Config.Name, checked here so
// that a bad name is a usage error: 1 to 40 characters of [a-z0-9-], which
// go in paths as they are.
func validIdPName(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
