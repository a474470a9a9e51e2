package ldap_test

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// ldaps:// and StartTLS against a slapd whose certificate a CA made by the
// test signed, for 127.0.0.1 and ldap.test; the CA from a PEM file or a
// pool; and the failures a wrong CA or name must be: faults, never bad
// credentials, and no password sent.
func TestTLS(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{TLS: true})
	otherCA := slapdtest.NewCA(t, "another CA")
	users := storeWith(t, "hamlet@example.org")
	tests := []struct {
		name       string
		url        string
		startTLS   bool
		caFile     string
		pool       *x509.CertPool
		serverName string
		want       error
	}{
		{"ldaps, CA file", d.LDAPSURL, false, d.CA.CertFile, nil, "", nil},
		{"ldaps, CA pool", d.LDAPSURL, false, "", d.CA.Pool, "", nil},
		{"ldaps, server name", d.LDAPSURL, false, d.CA.CertFile, nil, slapdtest.TLSServerName, nil},
		{"StartTLS, CA file", d.URL, true, d.CA.CertFile, nil, "", nil},
		{"StartTLS, CA pool, server name", d.URL, true, "", d.CA.Pool, slapdtest.TLSServerName, nil},
		{"ldaps, another CA", d.LDAPSURL, false, otherCA.CertFile, nil, "", errFault},
		{"StartTLS, another CA", d.URL, true, "", otherCA.Pool, "", errFault},
		{"ldaps, name not in the certificate", d.LDAPSURL, false, d.CA.CertFile, nil, "other.test", errFault},
		{"StartTLS, name not in the certificate", d.URL, true, d.CA.CertFile, nil, "other.test", errFault},
		// The system's roots do not know the test CA.
		{"ldaps, system roots", d.LDAPSURL, false, "", nil, "", errFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := templateConfig(d, users)
			cfg.URL, cfg.StartTLS, cfg.CAFile, cfg.RootCAs, cfg.ServerName = tt.url, tt.startTLS, tt.caFile, tt.pool, tt.serverName
			a := newAuth(t, cfg)
			_, err := a.Authenticate(t.Context(), attempt("hamlet", slapdtest.HamletPassword))
			if !checkErr(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				// go-ldap's StartTLS keeps only the text of the handshake's
				// error, so look at the text.
				if !strings.Contains(err.Error(), "x509: certificate") {
					t.Fatalf("the failure does not say the certificate was refused: %v", err)
				}
				return
			}
			// The TLS connection is kept: a second login opens nothing.
			if _, err := a.Authenticate(t.Context(), attempt("hamlet", "wrong")); err == nil {
				t.Fatal("a wrong password logged in over TLS")
			}
			if n := ldap.Dials(a); n != 1 {
				t.Fatalf("%d connections opened for two logins, want 1", n)
			}
		})
	}
}
