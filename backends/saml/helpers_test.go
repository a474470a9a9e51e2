package saml_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The service provider of the tests, and its callback: a Zulip development
// server's.
const (
	spEntityID = "http://localhost:9991/saml/metadata.xml"
	acsURL     = "http://localhost:9991/complete/saml/"
)

// spKey is the service provider's RSA key and certificate, made once: a
// key of 2048 bits takes a while.
var spKey = sync.OnceValues(func() (*rsa.PrivateKey, *x509.Certificate) {
	return newKeyPair("zulipauth service provider")
})

// newKeyPair is an RSA key of 2048 bits and a self-signed certificate for
// it, named cn, valid from a day ago for a year.
func newKeyPair(cn string) (*rsa.PrivateKey, *x509.Certificate) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	cert, err := certify(key, cn, time.Now().Add(-24*time.Hour), time.Now().Add(365*24*time.Hour))
	if err != nil {
		panic(err)
	}
	return key, cert
}

// newKeyPairAt is newKeyPair with a certificate valid from notBefore to
// notAfter.
func newKeyPairAt(t testing.TB, notBefore, notAfter time.Time) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, _ := spKey()
	cert, err := certify(key, "dated", notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// selfSigned is a certificate for key, valid from a day ago for a year.
func selfSigned(t testing.TB, key crypto.Signer) *x509.Certificate {
	t.Helper()
	cert, err := certify(key, "self-signed", time.Now().Add(-24*time.Hour), time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// certify is a self-signed certificate of key.
func certify(key crypto.Signer, cn string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// base64Cert is cert as metadata holds it.
func base64Cert(cert *x509.Certificate) string {
	return base64.StdEncoding.EncodeToString(cert.Raw)
}

// newSP is the tests' service provider, entityID, signing with spKey.
func newSP(entityID string) *saml.ServiceProvider {
	key, cert := spKey()
	return &saml.ServiceProvider{EntityID: entityID, Certificate: cert, Key: key}
}

// registered is sp as the IdP registers it: its metadata, for acsURL.
func registered(t testing.TB, sp *saml.ServiceProvider) samltest.SP {
	t.Helper()
	md, err := sp.Metadata(acsURL)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	return samltest.SP{EntityID: sp.EntityID, MetadataXML: md}
}

// startIdP starts an IdP that answers the service providers sps.
func startIdP(t testing.TB, sps ...*saml.ServiceProvider) *samltest.IdP {
	t.Helper()
	var opts samltest.Options
	for _, sp := range sps {
		opts.SPs = append(opts.SPs, registered(t, sp))
	}
	return samltest.Start(t, opts)
}

// config is a Config of idp for sp, logging everything (Debug included)
// into log.
func config(idp *samltest.IdP, sp *saml.ServiceProvider, log *logBuffer) saml.Config {
	return saml.Config{
		SP:          sp,
		Name:        "test-idp",
		IdPMetadata: idp.Metadata,
		Logger:      slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// newProvider is New(cfg), failing the test on an error.
func newProvider(t testing.TB, cfg saml.Config) *saml.Provider {
	t.Helper()
	p, err := saml.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// newFlow is a flow as the core makes one: a random token, and the
// callback.
func newFlow() zulipauth.SSOFlow {
	var b [32]byte
	rand.Read(b[:])
	return zulipauth.SSOFlow{
		Token:       base64.RawURLEncoding.EncodeToString(b[:]),
		CallbackURL: acsURL,
		Expires:     time.Now().Add(10 * time.Minute),
	}
}

// answer starts f at p, logs username in at idp, and returns the request
// that the IdP's page makes the browser send to the callback.
func answer(t testing.TB, idp *samltest.IdP, p *saml.Provider, f *zulipauth.SSOFlow, username, password string) *http.Request {
	t.Helper()
	authURL, err := p.Start(t.Context(), f)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	r, err := idp.Login(t.Context(), authURL, username, password)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// responseXML is the decoded SAMLResponse of r.
func responseXML(t testing.TB, r *http.Request) []byte {
	t.Helper()
	x, err := samltest.ResponseXML(r)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// edit parses the Response x, lets change edit it, and returns it.
func edit(t testing.TB, x []byte, change func(root *etree.Element)) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(x); err != nil {
		t.Fatal(err)
	}
	change(doc.Root())
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// find is the first element below (or at) root with the local name tag.
func find(root *etree.Element, tag string) *etree.Element {
	if root.Tag == tag {
		return root
	}
	return root.FindElement(".//" + tag)
}

// resigned is x changed by change and signed again by idp, as a
// Response the IdP made so.
func resigned(t testing.TB, idp *samltest.IdP, x []byte, change func(root *etree.Element)) []byte {
	t.Helper()
	out, err := idp.Resign(edit(t, x, change))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// with is r with the SAMLResponse x.
func with(t testing.TB, r *http.Request, x []byte) *http.Request {
	t.Helper()
	r2, err := samltest.WithResponse(r, x)
	if err != nil {
		t.Fatal(err)
	}
	return r2
}

// wantInvalid fails the test unless err is ErrSSOInvalid (and not
// ErrSSODenied) with a message holding want.
func wantInvalid(t testing.TB, err error, want string) {
	t.Helper()
	if !errors.Is(err, zulipauth.ErrSSOInvalid) || errors.Is(err, zulipauth.ErrSSODenied) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Finish: %v, want ErrSSOInvalid with %q", err, want)
	}
}

// logBuffer is a log that goroutines write while the test reads it.
type logBuffer = syncbuf.Buffer
