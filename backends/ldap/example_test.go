package ldap_test

import (
	"log"
	"net/http"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Logins checked against a directory, by search-then-bind as a service
// account, with accounts created on first login; the settings a Zulip
// server's /etc/zulip/settings.py would carry.
func ExampleNew() {
	store := memstore.New()
	auth, err := ldap.New(ldap.Config{
		Users:            store,
		URL:              "ldaps://ldap.example.org",           // AUTH_LDAP_SERVER_URI
		CAFile:           "/etc/ssl/certs/example-ldap-ca.pem", // optional: the system's roots by default
		BindDN:           "cn=zulip,ou=services,dc=example,dc=org",
		BindPasswordFile: "/etc/zulip/ldap-bind-password", // AUTH_LDAP_BIND_PASSWORD, kept out of flags
		BaseDN:           "ou=people,dc=example,dc=org",   // AUTH_LDAP_USER_SEARCH
		UsernameAttr:     "uid",                           // AUTH_LDAP_USERNAME_ATTR
		UserFilter:       "(objectClass=inetOrgPerson)",
		EmailAttr:        "mail", // LDAP_EMAIL_ATTR
		CreateUsers:      true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	z, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: auth})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	z.Mount(mux)
}

// LDAP first, then passwords kept by the application (backends/password),
// as Zulip tries ZulipLDAPAuthBackend and EmailAuthBackend: a local account
// without a directory entry logs in with its local password.
func ExampleNew_chain() {
	store := memstore.New()
	directory, err := ldap.New(ldap.Config{
		Users:          store,
		URL:            "ldap://ldap.example.org",
		StartTLS:       true,
		UserDNTemplate: "uid=%s,ou=people,dc=example,dc=org", // AUTH_LDAP_USER_DN_TEMPLATE
		AppendDomain:   "example.org",                        // LDAP_APPEND_DOMAIN
	})
	if err != nil {
		log.Fatal(err)
	}
	local, err := password.New(store)
	if err != nil {
		log.Fatal(err)
	}
	z, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: zulipauth.Chain(directory, local)})
	if err != nil {
		log.Fatal(err)
	}
	z.Mount(http.NewServeMux())
}
