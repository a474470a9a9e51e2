package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"

	"github.com/beevik/etree"

	"github.com/zulipauth/zulipauth-go/backends/internal/logtext"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// ServiceProvider is this server as a SAML service provider, shared by
// every identity provider it trusts: its entity ID, and the certificate
// and key it signs its AuthnRequests with (and decrypts encrypted
// assertions with). Register its [ServiceProvider.Metadata] at each IdP.
//
// Certificate and Key go together: both set, or neither (the requests are
// then not signed, which most IdPs accept). The Key must be an RSA or
// ECDSA key whose public key is the Certificate's; only an RSA key
// decrypts assertions. A self-signed certificate is usual: IdPs trust it
// because it is in the metadata registered with them.
//
// A ServiceProvider must not change once a [Provider] uses it. Printing or
// logging one (String, GoString, LogValue) shows its entity ID and its
// certificate's subject and expiry, never the key.
type ServiceProvider struct {
	// EntityID names this service provider at the IdPs, usually the URL
	// of its metadata ("https://zulip.example.com/saml/metadata.xml", as
	// Zulip's SOCIAL_AUTH_SAML_SP_ENTITY_ID): the Issuer of its
	// AuthnRequests and the Audience its assertions must name. Required.
	EntityID string
	// Certificate is the certificate the metadata publishes for the
	// signatures of the AuthnRequests (Zulip's SOCIAL_AUTH_SAML_SP_PUBLIC_CERT).
	Certificate *x509.Certificate
	// Key is the Certificate's private key (Zulip's
	// SOCIAL_AUTH_SAML_SP_PRIVATE_KEY).
	Key crypto.Signer
}

// LoadServiceProvider returns the ServiceProvider entityID with the
// certificate of the PEM file certFile (its first CERTIFICATE block) and
// the private key of the PEM file keyFile (PKCS #8 "PRIVATE KEY", PKCS #1
// "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"), which must be the
// certificate's. The key file must be a regular file that only its owner
// may read or write: a mode with any group or other bit (mode&0o077 != 0,
// such as 0644) is refused, and the error says to chmod 600 it (on
// Windows, where Go reports no such bits, that check is skipped). Errors
// name the files and never quote the key.
func LoadServiceProvider(entityID, certFile, keyFile string) (*ServiceProvider, error) {
	certPEM, err := readFile(certFile, false)
	if err != nil {
		return nil, err
	}
	cert, err := parseCertificatePEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("saml: the certificate file %s: %w", certFile, err)
	}
	keyPEM, err := readFile(keyFile, true)
	if err != nil {
		return nil, err
	}
	key, err := parseKeyPEM(keyPEM)
	clear(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("saml: the key file %s: %w", keyFile, err)
	}
	sp := &ServiceProvider{EntityID: entityID, Certificate: cert, Key: key}
	if err := sp.check(); err != nil {
		return nil, fmt.Errorf("%w (files %s and %s)", err, certFile, keyFile)
	}
	return sp, nil
}

// maxPEMFile bounds what LoadServiceProvider reads of a file: a
// certificate chain or a key fits many times over.
const maxPEMFile = 1 << 20

// readFile reads a PEM file of at most maxPEMFile bytes; secret, it must
// be a regular file that only its owner may read or write.
func readFile(path string, secret bool) ([]byte, error) {
	what := "certificate"
	if secret {
		what = "key"
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("saml: the %s file: %w", what, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("saml: the %s file: %w", what, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("saml: the %s file %s is not a regular file (%v)", what, path, info.Mode().Type())
	}
	if perm := info.Mode().Perm(); secret && perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("saml: the key file %s has mode %#o, so other users may read the key: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("saml: reading the %s file %s: %w", what, path, err)
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("saml: the %s file %s has more than %d bytes", what, path, maxPEMFile)
	}
	return data, nil
}

// parseCertificatePEM returns the first certificate of a PEM document.
func parseCertificatePEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// parseKeyPEM returns the first private key of a PEM document. Its errors
// name the block's type, never its bytes.
func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New(`no PEM "PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY" block`)
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		clear(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the %s block does not parse", block.Type)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("a %T cannot sign", key)
		}
		return signer, nil
	}
}

// check validates sp: an entity ID, and a certificate and key that go
// together.
func (sp *ServiceProvider) check() error {
	switch {
	case sp == nil:
		return configError("SP is required: this server as a service provider")
	case sp.EntityID == "":
		return configError("SP.EntityID is required")
	case len(sp.EntityID) > 1024:
		return configError("SP.EntityID has %d characters; SAML allows 1024", len(sp.EntityID))
	case sp.Key == nil && sp.Certificate == nil:
		return nil
	case sp.Key == nil:
		return configError("SP.Certificate is set without SP.Key: set both (signed AuthnRequests) or neither")
	case sp.Certificate == nil:
		return configError("SP.Key is set without SP.Certificate: set both (signed AuthnRequests) or neither")
	}
	switch sp.Key.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return configError("SP.Key is a %T key; XML signatures take an RSA or ECDSA key", sp.Key.Public())
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := sp.Key.Public().(equaler); !ok || !pub.Equal(sp.Certificate.PublicKey) {
		return configError("SP.Key is not the private key of SP.Certificate (%s)", sp.Certificate.Subject)
	}
	return nil
}

// SAML's names, which the metadata and the messages use.
const (
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"

	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

	nameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	nameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// Metadata returns the service provider's SAML metadata, the XML document
// to register at each IdP: an EntityDescriptor with sp.EntityID and an
// SPSSODescriptor that says WantAssertionsSigned, and, when sp has a key,
// AuthnRequestsSigned with the certificate in a KeyDescriptor of use
// "signing"; the NameID formats emailAddress and unspecified; an
// AssertionConsumerService with the HTTP-POST binding at acsURL (index 0,
// the default) and at each of otherACSURLs (index 1, 2, ...); and an
// AttributeConsumingService that requests the attributes email,
// first_name and last_name, the names Config's defaults read.
//
// The callback of a realm is its URL and "/complete/saml/"
// (Info().CallbackPath), so a service provider that serves several realms
// lists each realm's callback, since an IdP sends its answer only to an
// assertion consumer service of the metadata. Every URL must be absolute.
func (sp *ServiceProvider) Metadata(acsURL string, otherACSURLs ...string) ([]byte, error) {
	if err := sp.check(); err != nil {
		return nil, err
	}
	acs := append([]string{acsURL}, otherACSURLs...)
	for _, a := range acs {
		if u, err := url.Parse(a); err != nil || !u.IsAbs() || u.Host == "" {
			return nil, fmt.Errorf("saml: Metadata: the assertion consumer service URL %s is not an absolute URL", logtext.Excerpt(a, 200))
		}
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("entityID", sp.EntityID)
	d := ed.CreateElement("md:SPSSODescriptor")
	d.CreateAttr("AuthnRequestsSigned", fmt.Sprint(sp.Key != nil))
	d.CreateAttr("WantAssertionsSigned", "true")
	d.CreateAttr("protocolSupportEnumeration", nsProtocol)
	if sp.Certificate != nil {
		kd := d.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", "signing")
		ki := kd.CreateElement("ds:KeyInfo")
		ki.CreateAttr("xmlns:ds", nsDSig)
		ki.CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(sp.Certificate.Raw))
	}
	d.CreateElement("md:NameIDFormat").SetText(nameIDEmail)
	d.CreateElement("md:NameIDFormat").SetText(nameIDUnspecified)
	for i, a := range acs {
		e := d.CreateElement("md:AssertionConsumerService")
		e.CreateAttr("Binding", bindingPOST)
		e.CreateAttr("Location", a)
		e.CreateAttr("index", fmt.Sprint(i))
		if i == 0 {
			e.CreateAttr("isDefault", "true")
		}
	}
	as := d.CreateElement("md:AttributeConsumingService")
	as.CreateAttr("index", "0")
	as.CreateAttr("isDefault", "true")
	name := as.CreateElement("md:ServiceName")
	name.CreateAttr("xml:lang", "en")
	name.SetText(sp.EntityID)
	for _, a := range []string{DefaultEmailAttribute, "first_name", "last_name"} {
		ra := as.CreateElement("md:RequestedAttribute")
		ra.CreateAttr("Name", a)
		ra.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:basic")
		ra.CreateAttr("isRequired", "false") // the email may be the NameID
	}
	doc.Indent(2)
	return doc.WriteToBytes()
}

// String describes sp without its key: its entity ID, and its
// certificate's subject and expiry.
func (sp ServiceProvider) String() string {
	s := fmt.Sprintf("saml service provider %q", sp.EntityID)
	if sp.Certificate != nil {
		s += fmt.Sprintf(" (certificate %q, until %s)", sp.Certificate.Subject.String(), sp.Certificate.NotAfter.UTC().Format("2006-01-02"))
	}
	if sp.Key != nil {
		s += " [key redacted]"
	}
	return s
}

// GoString is String, so that %#v does not show the key either.
func (sp ServiceProvider) GoString() string { return sp.String() }

// LogValue implements [slog.LogValuer]: the entity ID, and whether
// AuthnRequests are signed; never the key.
func (sp ServiceProvider) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("entity_id", sp.EntityID),
		slog.Bool("signs_requests", sp.Key != nil),
	)
}

// MetadataPath is where Zulip serves its service provider's metadata, on
// every realm's host, and where IdPs that read metadata from a URL look.
const MetadataPath = "/saml/metadata.xml"

// callbackPath is Zulip's assertion consumer service, on every realm's
// host, shared by every IdP.
const callbackPath = "/complete/saml/"

// MetadataHandler serves sp's metadata (see Metadata) at MetadataPath for
// the realm the request is for: its assertion consumer service is the
// realm's URL and "/complete/saml/", the URL realmURL gives, which should
// be zulipauth's Auth.RealmURL (the realm's configured host, not the Host
// header as sent: metadata names where IdPs post assertions). A host no
// realm answers at gets 404, a method other than GET and HEAD 405.
func (sp *ServiceProvider) MetadataHandler(realmURL func(*http.Request) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		base, err := realmURL(r)
		if errors.Is(err, zulipauth.ErrRealmNotFound) {
			http.Error(w, "There is no organization at this address.", http.StatusNotFound)
			return
		}
		var md []byte
		if err == nil {
			md, err = sp.Metadata(base + callbackPath)
		}
		if err != nil {
			http.Error(w, "The service provider's metadata is not available.", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(md) //nolint:errcheck // the client is gone
	})
}
