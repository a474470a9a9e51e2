package ldap_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// readOnly hides memstore's optional capabilities (UserCreator among them).
type readOnly struct{ zulipauth.UserStore }

// New refuses, before any connection, every Config that could not work or
// would be unsafe, and says which field; its errors never carry the
// service account's password.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "the-service-secret"
	valid := ldap.Config{Users: memstore.New(), URL: "ldap://127.0.0.1:389", UserDNTemplate: slapdtest.UserDNTemplate}
	tests := []struct {
		name   string
		modify func(*ldap.Config)
		field  string // named in the error
	}{
		{"no Users", func(c *ldap.Config) { c.Users = nil }, "Users"},
		{"no URL", func(c *ldap.Config) { c.URL = "" }, "URL"},
		{"other scheme", func(c *ldap.Config) { c.URL = "http://127.0.0.1" }, "scheme"},
		{"no host", func(c *ldap.Config) { c.URL = "ldap://:389" }, "host"},
		{"URL with a DN", func(c *ldap.Config) { c.URL = "ldap://127.0.0.1/dc=example,dc=org" }, "URL"},
		{"URL with a user", func(c *ldap.Config) { c.URL = "ldap://admin:pw@127.0.0.1" }, "URL"},
		{"clear text to another host", func(c *ldap.Config) { c.URL = "ldap://ldap.example.org" }, "InsecureNoTLS"},
		{"StartTLS with ldaps", func(c *ldap.Config) { c.URL, c.StartTLS = "ldaps://127.0.0.1", true }, "StartTLS"},
		{"CA without TLS", func(c *ldap.Config) { c.RootCAs = x509.NewCertPool() }, "CAFile"},
		{"CA file and pool", func(c *ldap.Config) {
			c.URL, c.CAFile, c.RootCAs = "ldaps://127.0.0.1", notPEM, x509.NewCertPool()
		}, "not both"},
		{"CA file missing", func(c *ldap.Config) { c.URL, c.CAFile = "ldaps://127.0.0.1", filepath.Join(dir, "missing.pem") }, "CAFile"},
		{"CA file without certificate", func(c *ldap.Config) { c.URL, c.CAFile = "ldaps://127.0.0.1", notPEM }, "CAFile"},
		{"no way to find entries", func(c *ldap.Config) { c.UserDNTemplate = "" }, "UserDNTemplate"},
		{"both ways to find entries", func(c *ldap.Config) { c.UsernameAttr, c.BaseDN = "uid", slapdtest.Suffix }, "not both"},
		{"username search without base", func(c *ldap.Config) { c.UserDNTemplate, c.UsernameAttr = "", "uid" }, "BaseDN"},
		{"template without %s", func(c *ldap.Config) { c.UserDNTemplate = slapdtest.People }, "%s"},
		{"template with two %s", func(c *ldap.Config) { c.UserDNTemplate = "uid=%s,ou=%s," + slapdtest.Suffix }, "%s"},
		{"template with another verb", func(c *ldap.Config) { c.UserDNTemplate = "uid=%s,ou=%d," + slapdtest.Suffix }, "%s"},
		{"template not a DN", func(c *ldap.Config) { c.UserDNTemplate = "%s" }, "UserDNTemplate"},
		{"base not a DN", func(c *ldap.Config) { c.BaseDN = "example" }, "BaseDN"},
		{"filter that does not parse", func(c *ldap.Config) { c.UserFilter = "objectClass=person" }, "UserFilter"},
		{"attribute with filter syntax", func(c *ldap.Config) {
			c.UserDNTemplate, c.BaseDN, c.UsernameAttr = "", slapdtest.Suffix, "uid=*)(cn"
		}, "UsernameAttr"},
		{"email attribute with a space", func(c *ldap.Config) { c.EmailAttr = "e mail" }, "EmailAttr"},
		{"membership attribute starting with a hyphen", func(c *ldap.Config) { c.OrgMembershipAttr = "-o" }, "OrgMembershipAttr"},
		{"bind DN without password", func(c *ldap.Config) { c.BindDN = slapdtest.ServiceDN }, "BindDN"},
		{"password without bind DN", func(c *ldap.Config) { c.BindPassword = secret }, "BindDN"},
		{"password twice", func(c *ldap.Config) {
			c.BindDN, c.BindPassword, c.BindPasswordFile = slapdtest.ServiceDN, secret, notPEM
		}, "not both"},
		{"password file missing", func(c *ldap.Config) {
			c.BindDN, c.BindPasswordFile = slapdtest.ServiceDN, filepath.Join(dir, "missing")
		}, "BindPasswordFile"},
		{"bind DN not a DN", func(c *ldap.Config) { c.BindDN, c.BindPassword = "service", secret }, "BindDN"},
		{"append-domain with @", func(c *ldap.Config) { c.AppendDomain = "@example.org" }, "AppendDomain"},
		{"append-domain not a domain", func(c *ldap.Config) { c.AppendDomain = "example" }, "AppendDomain"},
		{"create without a creator", func(c *ldap.Config) { c.CreateUsers, c.Users = true, readOnly{memstore.New()} }, "UserCreator"},
		{"negative timeout", func(c *ldap.Config) { c.Timeout = -1 }, "Timeout"},
		{"negative pool", func(c *ldap.Config) { c.MaxConns = -1 }, "MaxConns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.modify(&cfg)
			a, err := ldap.New(cfg)
			if !errors.Is(err, ldap.ErrInvalidConfig) || a != nil {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", a, err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("the error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error %q carries the password", err)
			}
		})
	}
}

// What New accepts: clear text to a loopback host, or anywhere with
// InsecureNoTLS; numeric OIDs as attribute names; TLS without a CA (the
// system's roots).
func TestNewAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  ldap.Config
	}{
		{"loopback by name", ldap.Config{URL: "ldap://localhost", UserDNTemplate: slapdtest.UserDNTemplate}},
		{"IPv6 loopback", ldap.Config{URL: "ldap://[::1]:3389", UserDNTemplate: slapdtest.UserDNTemplate}},
		{"clear text, insecure on purpose", ldap.Config{URL: "ldap://ldap.example.org", InsecureNoTLS: true, UserDNTemplate: slapdtest.UserDNTemplate}},
		{"StartTLS to another host", ldap.Config{URL: "ldap://ldap.example.org", StartTLS: true, UserDNTemplate: slapdtest.UserDNTemplate}},
		{"ldaps with a trailing slash", ldap.Config{URL: "ldaps://ldap.example.org/", UserDNTemplate: slapdtest.UserDNTemplate}},
		{"numeric OID attributes", ldap.Config{URL: "ldap://localhost", BaseDN: slapdtest.Suffix, UsernameAttr: "0.9.2342.19200300.100.1.1", EmailAttr: "0.9.2342.19200300.100.1.3"}},
		{"everything", ldap.Config{
			URL: "ldaps://ldap.example.org:10636", ServerName: "ldap.test",
			BaseDN: slapdtest.Suffix, UsernameAttr: "sAMAccountName", UserFilter: "(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
			BindDN: slapdtest.ServiceDN, BindPassword: "x", EmailAttr: "mail", FullNameAttr: "displayName",
			OrgMembershipAttr: "department", CreateUsers: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Users = memstore.New()
			a, err := ldap.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
		})
	}
}

// A Config printed or logged never shows the service account's password.
func TestConfigHidesBindPassword(t *testing.T) {
	t.Parallel()
	const secret = "the-service-secret"
	cfg := ldap.Config{URL: "ldaps://ldap.example.org", BindDN: slapdtest.ServiceDN, BindPassword: secret}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logged.String()} {
		if strings.Contains(out, secret) || !strings.Contains(out, slapdtest.ServiceDN) {
			t.Errorf("%q: want the bind DN without the password", out)
		}
	}
}
