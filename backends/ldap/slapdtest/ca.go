package slapdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority made for one test, valid from an hour ago
// for a day, with an ECDSA P-256 key that never leaves memory. No system
// trusts it: a client must be given CertFile or Pool to accept the
// certificates it signs.
//
// A Directory started with Options.TLS has one (Directory.CA); NewCA makes
// another, for tests of a client given the wrong CA. Its fields are
// read-only.
type CA struct {
	// CertFile is the path of the CA's certificate, PEM-encoded, in a
	// temporary directory of the test: what a client reads from a CA file
	// option (an LDAP client's CAFile, OpenLDAP's TLS_CACERT).
	CertFile string
	// Pool holds the CA's certificate and nothing else, for a
	// tls.Config's RootCAs.
	Pool *x509.CertPool

	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a certificate authority whose certificate's subject is
// name, and writes its certificate to a file that is removed when the
// test ends. It fails the test if a key or certificate cannot be made.
func NewCA(tb testing.TB, name string) *CA {
	tb.Helper()
	ca, err := newCA(filepath.Join(tb.TempDir(), "ca.pem"), name)
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

// newCA is NewCA writing the certificate to certFile.
func newCA(certFile, name string) (*CA, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("slapdtest: making the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("slapdtest: parsing the CA certificate: %w", err)
	}
	ca := &CA{CertFile: certFile, Pool: x509.NewCertPool(), cert: cert, key: key}
	ca.Pool.AddCert(cert)
	if err := writeFile(ca.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return nil, err
	}
	return ca, nil
}

// issueServerCert writes a server certificate for dnsName and 127.0.0.1,
// signed by ca, and its private key, into dir; slapd reads both at start.
func (ca *CA) issueServerCert(dir, dnsName string) (certFile, keyFile string, err error) {
	key, err := newKey()
	if err != nil {
		return "", "", err
	}
	sn, err := serial()
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return "", "", fmt.Errorf("slapdtest: making the server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("slapdtest: encoding the server key: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	if err := writeFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return "", "", err
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("slapdtest: generating a key: %w", err)
	}
	return key, nil
}

// serial is a random certificate serial number: two certificates of one CA
// must not share one.
func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("slapdtest: a serial number: %w", err)
	}
	return n, nil
}
