package saml_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// spMetadata is what a test reads back of a service provider's metadata.
type spMetadata struct {
	XMLName  xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID string   `xml:"entityID,attr"`
	SP       struct {
		AuthnRequestsSigned  string `xml:"AuthnRequestsSigned,attr"`
		WantAssertionsSigned string `xml:"WantAssertionsSigned,attr"`
		Protocols            string `xml:"protocolSupportEnumeration,attr"`
		Keys                 []struct {
			Use  string `xml:"use,attr"`
			Cert string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
		NameIDFormats []string `xml:"urn:oasis:names:tc:SAML:2.0:metadata NameIDFormat"`
		ACS           []struct {
			Binding   string `xml:"Binding,attr"`
			Location  string `xml:"Location,attr"`
			Index     string `xml:"index,attr"`
			IsDefault string `xml:"isDefault,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata AssertionConsumerService"`
		Requested []struct {
			Name string `xml:"Name,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata AttributeConsumingService>RequestedAttribute"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
}

// The metadata, parsed back, says what the IdP needs: the entity ID, the
// signing certificate and that requests are signed (when there is a key),
// that assertions must be signed, the NameID formats, each callback as an
// HTTP-POST assertion consumer service (the first the default), and the
// attributes the Config reads by default. (samlidp reading it is
// TestLogin's.)
func TestSPMetadata(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	md, err := sp.Metadata(acsURL, "http://lear.localhost:9991/complete/saml/")
	if err != nil {
		t.Fatal(err)
	}
	var got spMetadata
	if err := xml.Unmarshal(md, &got); err != nil {
		t.Fatalf("the metadata does not parse: %v\n%s", err, md)
	}
	d := got.SP
	if got.EntityID != spEntityID || d.AuthnRequestsSigned != "true" || d.WantAssertionsSigned != "true" || d.Protocols != "urn:oasis:names:tc:SAML:2.0:protocol" {
		t.Errorf("metadata: %+v", got)
	}
	if len(d.Keys) != 1 || d.Keys[0].Use != "signing" || d.Keys[0].Cert != base64Cert(sp.Certificate) {
		t.Errorf("KeyDescriptors: %+v, want the certificate for signing", d.Keys)
	}
	if want := []string{"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"}; fmt.Sprint(d.NameIDFormats) != fmt.Sprint(want) {
		t.Errorf("NameIDFormats: %q, want %q", d.NameIDFormats, want)
	}
	if len(d.ACS) != 2 || d.ACS[0].Location != acsURL || d.ACS[0].Binding != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" || d.ACS[0].IsDefault != "true" ||
		d.ACS[1].Location != "http://lear.localhost:9991/complete/saml/" || d.ACS[1].Index != "1" {
		t.Errorf("AssertionConsumerServices: %+v", d.ACS)
	}
	if fmt.Sprint(d.Requested) != "[{email} {first_name} {last_name}]" {
		t.Errorf("RequestedAttributes: %v", d.Requested)
	}

	bare := &saml.ServiceProvider{EntityID: spEntityID}
	md, err = bare.Metadata(acsURL)
	if err != nil {
		t.Fatal(err)
	}
	got = spMetadata{}
	if err := xml.Unmarshal(md, &got); err != nil {
		t.Fatal(err)
	}
	if got.SP.AuthnRequestsSigned != "false" || got.SP.WantAssertionsSigned != "true" || len(got.SP.Keys) != 0 {
		t.Errorf("the metadata of a service provider without a key: %+v", got.SP)
	}
	for _, bad := range []string{"", "/complete/saml/", "localhost:9991/complete/saml/"} {
		if _, err := sp.Metadata(bad); err == nil {
			t.Errorf("Metadata(%q) took a URL that is not absolute", bad)
		}
	}
	if _, err := (&saml.ServiceProvider{}).Metadata(acsURL); err == nil {
		t.Error("Metadata of a service provider without an entity ID")
	}
}

// MetadataHandler serves each realm's metadata, whose callback is the
// realm's URL as zulipauth gives it, not the Host header as sent; an
// unknown host is 404, a POST 405.
func TestMetadataHandler(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	store.CreateRealm(t.Context(), zulipauth.Realm{Subdomain: "lear", Name: "Lear"})
	pw, _ := password.New(store)
	auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw,
		Realms: zulipauth.HostRealms{Realms: store, ExternalHost: "chat.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	h := newSP(spEntityID).MetadataHandler(auth.RealmURL)
	for _, tc := range []struct {
		method, host string
		status       int
		acs          string
	}{
		{"GET", "chat.example.com", 200, "http://chat.example.com/complete/saml/"},
		{"GET", "www.chat.example.com", 200, "http://chat.example.com/complete/saml/"},
		{"GET", "LEAR.chat.example.com", 200, "http://lear.chat.example.com/complete/saml/"},
		{"HEAD", "lear.chat.example.com", 200, ""},
		{"GET", "evil.chat.example.com", 404, ""},
		{"POST", "chat.example.com", 405, ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, "http://"+tc.host+saml.MetadataPath, nil))
		if w.Code != tc.status {
			t.Errorf("%s at %s: %d, want %d", tc.method, tc.host, w.Code, tc.status)
			continue
		}
		if tc.acs == "" {
			continue
		}
		var got spMetadata
		if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Header().Get("Content-Type") != "application/samlmetadata+xml" {
			t.Fatalf("%s: %v, Content-Type %q", tc.host, err, w.Header().Get("Content-Type"))
		}
		if len(got.SP.ACS) != 1 || got.SP.ACS[0].Location != tc.acs {
			t.Errorf("%s: AssertionConsumerServices %+v, want %s", tc.host, got.SP.ACS, tc.acs)
		}
	}
}

// writePEM writes the PEM blocks to a file of mode in dir.
func writePEM(t *testing.T, dir, name string, mode os.FileMode, blocks ...*pem.Block) string {
	t.Helper()
	var b bytes.Buffer
	for _, block := range blocks {
		pem.Encode(&b, block)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

// LoadServiceProvider reads the certificate and the key from PEM files, in
// each of the key's usual encodings, and refuses a key file others may
// read, a key of another certificate, and files that hold no such block,
// without quoting the key.
func TestLoadServiceProvider(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, cert := spKey()
	certFile := writePEM(t, dir, "sp.crt", 0o644, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	for _, tt := range []struct {
		name  string
		block *pem.Block
	}{
		{"PKCS #8", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}},
		{"PKCS #1", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}},
	} {
		keyFile := writePEM(t, dir, tt.name+".key", 0o600, tt.block)
		sp, err := saml.LoadServiceProvider(spEntityID, certFile, keyFile)
		if err != nil || sp.EntityID != spEntityID || !sp.Certificate.Equal(cert) || !sp.Key.(*rsa.PrivateKey).Equal(key) {
			t.Errorf("LoadServiceProvider with a %s key: %v, %v", tt.name, sp, err)
		}
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ecCert := writePEM(t, dir, "ec.crt", 0o644, &pem.Block{Type: "CERTIFICATE", Bytes: selfSigned(t, ec).Raw})
	ecKey := writePEM(t, dir, "ec.key", 0o600, &pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	if _, err := saml.LoadServiceProvider(spEntityID, ecCert, ecKey); err != nil {
		t.Errorf("LoadServiceProvider with an EC key: %v", err)
	}

	readable := writePEM(t, dir, "readable.key", 0o644, &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	other, _ := newKeyPair("other")
	otherKey := writePEM(t, dir, "other.key", 0o600, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
	broken := writePEM(t, dir, "broken.key", 0o600, &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8[:40]})
	noKey := writePEM(t, dir, "nokey.key", 0o600, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	cases := []struct {
		name, certFile, keyFile, want string
	}{
		{"a missing key file", certFile, filepath.Join(dir, "missing.key"), "no such file"},
		{"a missing certificate file", filepath.Join(dir, "missing.crt"), otherKey, "no such file"},
		{"a certificate file without a certificate", otherKey, otherKey, "no PEM CERTIFICATE block"},
		{"another certificate's key", certFile, otherKey, "SP.Key is not the private key of SP.Certificate"},
		{"a broken key", certFile, broken, "the PRIVATE KEY block does not parse"},
		{"no key", certFile, noKey, `no PEM "PRIVATE KEY"`},
		{"a directory", certFile, dir, "not a regular file"},
	}
	if runtime.GOOS != "windows" {
		cases = append(cases, struct{ name, certFile, keyFile, want string }{
			"a key others may read", certFile, readable, "has mode 0644, so other users may read the key: chmod 600 " + readable})
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := saml.LoadServiceProvider(spEntityID, tt.certFile, tt.keyFile)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadServiceProvider: %v, want %q", err, tt.want)
			}
			leaks(t, "the error", err.Error(), key)
		})
	}
}

// leaks fails the test if s shows anything of key: its private exponent, a
// prime, or its encodings.
func leaks(t *testing.T, what, s string, key *rsa.PrivateKey) {
	t.Helper()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	for _, secret := range []string{
		key.D.String(), key.D.Text(16), key.Primes[0].String(), key.Primes[0].Text(16),
		base64.StdEncoding.EncodeToString(pkcs8)[40:80],
		base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(key))[40:80],
	} {
		if strings.Contains(s, secret) {
			t.Fatalf("%s shows the key: %.300s", what, s)
		}
	}
}

// Printing or logging a ServiceProvider, a Config or a Provider, in any
// verb, never shows the key; New's and Finish's log lines neither.
func TestKeyNeverShown(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	key := sp.Key.(*rsa.PrivateKey)
	idp := startIdP(t, sp)
	var log logBuffer
	cfg := config(idp, sp, &log)
	p := newProvider(t, cfg)
	f := newFlow()
	if _, err := p.Finish(t.Context(), answer(t, idp, p, &f, "iago", "iago-password"), f); err != nil {
		t.Fatal(err)
	}
	slog.New(slog.NewTextHandler(&log, nil)).Info("values", "sp", sp, "sp_value", *sp, "provider", p, "config", cfg)
	slog.New(slog.NewJSONHandler(&log, nil)).Info("values", "sp", sp, "sp_value", *sp, "provider", p)
	leaks(t, "the log", log.String(), key)
	for _, v := range []any{sp, *sp, p, *p, cfg, &cfg, []any{sp}, map[string]any{"p": p}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			leaks(t, fmt.Sprintf("%s of a %T", verb, v), fmt.Sprintf(verb, v), key)
		}
	}
	if s := fmt.Sprint(p); !strings.Contains(s, idp.EntityID) || !strings.Contains(s, spEntityID) || !strings.Contains(s, "[key redacted]") {
		t.Errorf("a Provider prints as %q, want its IdP's and service provider's entity IDs, and the key redacted", s)
	}
}
