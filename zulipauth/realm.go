package zulipauth

import (
	"net/http"
	"strings"
)

// RealmResolver tells which organization a request is for. An unknown
// organization is [ErrRealmNotFound] (404 NONEXISTENT_SUBDOMAIN on the login);
// any other error is a fault. A deactivated realm is still returned, with
// Deactivated set: the login then answers REALM_DEACTIVATED.
type RealmResolver interface {
	ResolveRealm(r *http.Request) (Realm, error)
}

// RealmResolverFunc adapts a function to the [RealmResolver] interface.
type RealmResolverFunc func(r *http.Request) (Realm, error)

// ResolveRealm calls f(r).
func (f RealmResolverFunc) ResolveRealm(r *http.Request) (Realm, error) { return f(r) }

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

// SubdomainResolver is implemented by resolvers that can name a request's
// subdomain without a lookup. The API-key middleware uses it, with a store
// that is a [UserWithRealmFinder], to authenticate a request with one store
// lookup; other resolvers are asked for the whole realm.
type SubdomainResolver interface {
	RequestSubdomain(r *http.Request) string
}

// RequestSubdomain implements [SubdomainResolver].
func (h HostRealms) RequestSubdomain(r *http.Request) string { return h.Subdomain(r.Host) }

// RequestSubdomain implements [SubdomainResolver]: the one realm's.
func (s singleRealm) RequestSubdomain(*http.Request) string { return s.realm.Subdomain }

// RealmHostNamer is implemented by resolvers that know each realm's host
// name from configuration. server_settings builds realm_url from it instead
// of echoing the request's Host header. An empty answer means "not known".
type RealmHostNamer interface {
	RealmHost(realm Realm) string
}

// RealmHost implements [RealmHostNamer]: "sub.ExternalHost" for realm
// "sub", ExternalHost for the root realm, and "" without an ExternalHost.
func (h HostRealms) RealmHost(realm Realm) string {
	if h.ExternalHost == "" {
		return ""
	}
	if realm.Subdomain == "" {
		return h.ExternalHost
	}
	return realm.Subdomain + "." + h.ExternalHost
}
