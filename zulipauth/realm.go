package zulipauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Realm is an organization, Zulip's realm. The zero value is an active root
// realm that allows password login.
type Realm struct {
	// Subdomain identifies the realm; "" is the root domain's realm.
	Subdomain string
	// Name is shown by clients (server_settings' realm_name).
	Name string
	// Deactivated realms refuse every login and every API request.
	Deactivated bool
	// PasswordAuthDisabled realms refuse password login (PASSWORD_AUTH_DISABLED).
	PasswordAuthDisabled bool
	// Description is the realm's description as HTML (server_settings'
	// realm_description). It is sent as it is: store only trusted HTML.
	Description string
	// IconURL is the realm's icon (server_settings' realm_icon).
	IconURL string
}

// ValidSubdomain reports whether s can be a realm's subdomain, one that a
// request can reach: "" (the root realm), or 1 to 40 characters of
// [a-z0-9-] that neither start nor end with a hyphen, as Zulip's
// string_id, and not "www", which [HostRealms] takes for the root realm.
// [HostRealms] lowercases hosts, so a realm "Sales" could never be reached:
// a [RealmStore]'s CreateRealm refuses what this refuses, with
// [ErrInvalidSubdomain].
func ValidSubdomain(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > 40 || s[0] == '-' || s[len(s)-1] == '-' || s == "www" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// RealmResolver tells which organization a request is for. An unknown
// organization is [ErrRealmNotFound] (404 NONEXISTENT_SUBDOMAIN on the login);
// any other error is a fault. A deactivated realm is still returned, with
// Deactivated set: the login then answers REALM_DEACTIVATED.
type RealmResolver interface {
	ResolveRealm(r *http.Request) (Realm, error)
}

// SingleRealm resolves every request to realm: an application with one
// organization whose settings do not change at run time.
func SingleRealm(realm Realm) RealmResolver { return singleRealm{realm} }

type singleRealm struct{ realm Realm }

func (s singleRealm) ResolveRealm(*http.Request) (Realm, error) { return s.realm, nil }

// HostRealms resolves realms from the request's Host header, as Zulip does,
// and looks them up in a [RealmStore] on every request, so that changes in the
// store (a deactivation, say) take effect at once.
//
// With ExternalHost empty, every request is for the root realm (subdomain "").
// With ExternalHost "example.com" (a port may follow, "localhost:9991"),
// "sub.example.com" is realm "sub"; "example.com", the aliases in RootAliases
// ("www.example.com") and any host that is not under ExternalHost are the root
// realm. Matching ignores letter case and a port after the host.
type HostRealms struct {
	// Realms holds the realms. Required.
	Realms RealmStore
	// ExternalHost is the server's host name as clients reach it, with the
	// port when it is not the scheme's default ("chat.example.com",
	// "localhost:9991"). server_settings builds realm URLs from it.
	ExternalHost string
	// RootAliases are subdomains that mean the root realm. Default: "www".
	RootAliases []string
}

// ResolveRealm implements [RealmResolver].
func (h HostRealms) ResolveRealm(r *http.Request) (Realm, error) {
	return h.Realms.RealmBySubdomain(r.Context(), h.Subdomain(r.Host))
}

// Subdomain returns the realm subdomain that host names.
func (h HostRealms) Subdomain(host string) string {
	if h.ExternalHost == "" {
		return ""
	}
	host = strings.ToLower(host)
	ext := strings.ToLower(h.ExternalHost)
	// Accept "sub.ext" and "sub.ext:port", and, when ext has no port,
	// also "sub.ext:port" for any port, as Zulip's \.EXTERNAL_HOST(:\d+)?$.
	trimmed := host
	if !strings.HasSuffix(trimmed, "."+ext) {
		if i := strings.LastIndexByte(trimmed, ':'); i >= 0 && isDigits(trimmed[i+1:]) {
			trimmed = trimmed[:i]
		}
	}
	sub, ok := strings.CutSuffix(trimmed, "."+ext)
	if !ok || sub == "" {
		return ""
	}
	aliases := h.RootAliases
	if aliases == nil {
		aliases = []string{"www"}
	}
	for _, a := range aliases {
		if sub == a {
			return ""
		}
	}
	return sub
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// subdomainResolver is a resolver that names a request's subdomain without
// a lookup: HostRealms and SingleRealm's. The API-key middleware
// authenticates a request with one store lookup through it (with a store
// that is a [UserWithRealmFinder]), and the realm cache and the remembered
// refusals of spent usernames key by it; other resolvers are asked for the
// whole realm.
type subdomainResolver interface {
	requestSubdomain(r *http.Request) string
}

func (h HostRealms) requestSubdomain(r *http.Request) string { return h.Subdomain(r.Host) }

func (s singleRealm) requestSubdomain(*http.Request) string { return s.realm.Subdomain }

// realmHost is the host name of realm's URL as HostRealms knows it from
// configuration, which server_settings prefers to echoing the request's
// Host: "sub.ExternalHost" for realm "sub", ExternalHost for the root
// realm, and "" without an ExternalHost.
func (h HostRealms) realmHost(realm Realm) string {
	if h.ExternalHost == "" {
		return ""
	}
	if realm.Subdomain == "" {
		return h.ExternalHost
	}
	return realm.Subdomain + "." + h.ExternalHost
}

// check reports what would make h fail on every request, or build wrong
// realm URLs.
func (h HostRealms) check() error {
	if isNil(h.Realms) {
		return errors.New("zulipauth: Config.Realms is a HostRealms without Realms: give it the RealmStore that holds the realms")
	}
	if eh := h.ExternalHost; eh != "" {
		if strings.Contains(eh, "://") {
			return fmt.Errorf("zulipauth: HostRealms.ExternalHost %q is a URL: give the host alone, HOST or HOST:PORT", eh)
		}
		host := eh
		if hp, err := netip.ParseAddrPort(eh); err == nil {
			host = hp.Addr().String()
		} else if i := strings.LastIndexByte(eh, ':'); i >= 0 && !strings.Contains(eh[:i], ":") {
			if !isDigits(eh[i+1:]) {
				return fmt.Errorf("zulipauth: HostRealms.ExternalHost %q: the port is not a number", eh)
			}
			host = eh[:i]
		}
		// A host name, or an IP address, holds nothing else: realm URLs
		// are built from it and served, so a quote or a bracket in it is
		// markup in a client's page, never a host.
		if host == "" || strings.ContainsFunc(host, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == ':')
		}) {
			return fmt.Errorf("zulipauth: HostRealms.ExternalHost %q is not HOST or HOST:PORT: a host name (letters, digits, dots and hyphens; an internationalized one in its xn-- form) or an IP address", eh)
		}
	}
	for _, alias := range h.RootAliases {
		if alias == "" || strings.Contains(alias, ".") {
			return fmt.Errorf("zulipauth: HostRealms.RootAliases holds %q: an alias is one subdomain label, such as \"www\"", alias)
		}
	}
	return nil
}

// RealmURL is the URL of the request's realm as server_settings gives it
// (realm_url): the realm's configured host ([HostRealms]), else the
// request's, and https when the request came over TLS or through a trusted
// proxy that says so. A host's own pages that name the realm's URLs (a
// SAML service provider's metadata, say) take them from here, not from
// the Host header. The error is the realm's resolution's: [ErrRealmNotFound]
// for a host no realm answers at.
func (a *Auth) RealmURL(r *http.Request) (string, error) {
	realm, err := a.resolveRealm(r, a.cfg.Now())
	if err != nil {
		return "", err
	}
	return a.realmURL(r, realm), nil
}

// realmURL is the realm's URL as server_settings gives it: the host the
// resolver knows from configuration, else the request's.
func (a *Auth) realmURL(r *http.Request, realm Realm) string {
	host := r.Host
	if hr, ok := hostRealms(a.cfg.Realms); ok {
		if h := hr.realmHost(realm); h != "" {
			host = h
		}
	}
	return a.requestScheme(r) + "://" + host
}

// resolveRealm is Config.Realms.ResolveRealm(r), through the realm cache
// when it is on: the resolver then names the subdomain (it is a
// subdomainResolver, which New checks) and only a miss asks the store.
// A realm whose subdomain is not the one the request names (a resolver
// that maps hosts its own way) is not cached.
func (a *Auth) resolveRealm(r *http.Request, now time.Time) (Realm, error) {
	if a.realms == nil {
		return a.cfg.Realms.ResolveRealm(r)
	}
	sub := a.subdomains.requestSubdomain(r)
	if realm, ok := a.realms.get(sub, now); ok {
		return realm, nil
	}
	gen := a.realms.generation()
	realm, err := a.cfg.Realms.ResolveRealm(r)
	if err == nil && realm.Subdomain == sub {
		a.realms.put(gen, realm, now)
	}
	return realm, err
}

// hostRealms returns rr as a HostRealms, if it is one (or a pointer to one).
func hostRealms(rr RealmResolver) (HostRealms, bool) {
	switch v := rr.(type) {
	case HostRealms:
		return v, true
	case *HostRealms:
		return *v, v != nil
	}
	return HostRealms{}, false
}
