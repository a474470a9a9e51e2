package samlattack_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// The test's IdP: a key pair and a self-signed certificate, and genuine
// Responses signed with goxmldsig (exclusive c14n, rsa-sha256, enveloped),
// the way an IdP signs them.

const (
	victim       = "victim@zulip.com"
	attacker     = "attacker@evil.example"
	attackerName = "attacker-nameid"
	// extended is the address the attacker registers at the IdP for the
	// comment attacks: the victim's, continued.
	extended = victim + ".evil.example"
)

type keyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newKeyPair(cn string) (keyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return keyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return keyPair{}, err
	}
	cert, err := x509.ParseCertificate(der)
	return keyPair{key, cert}, err
}

// The IdP's and the attacker's keys, made once: an RSA key takes a while
// under -race.
var (
	idpKeys      = sync.OnceValues(func() (keyPair, error) { return newKeyPair("idp.example.com") })
	attackerKeys = sync.OnceValues(func() (keyPair, error) { return newKeyPair("evil.example") })
)

func keys(t testing.TB, f func() (keyPair, error)) keyPair {
	t.Helper()
	kp, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// signMode says what the IdP signs.
type signMode int

const (
	signAssertion signMode = iota
	signResponse
	signBoth
)

func (m signMode) String() string {
	return [...]string{"assertion", "response", "both"}[m]
}

var allModes = []signMode{signAssertion, signResponse, signBoth}

// shape is how the IdP writes its namespaces.
type shape int

const (
	// prefixed: samlp: and saml: declared once, on the Response (Shibboleth,
	// Keycloak, SimpleSAMLphp).
	prefixed shape = iota
	// defaults: the Assertion declares the assertion namespace as its
	// default, unprefixed (AD FS, Entra ID).
	defaults
)

func (s shape) String() string { return [...]string{"prefixed", "defaults"}[s] }

var allShapes = []shape{prefixed, defaults}

const prefixedTemplate = `<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r7c1d2" Version="2.0" IssueInstant="{now}" Destination="https://zulip.example.com/complete/saml/" InResponseTo="_req42">
  <saml:Issuer>https://idp.example.com/</saml:Issuer>
  <samlp:Status>
    <samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>
  </samlp:Status>
  <saml:Assertion ID="_a9f2e4" Version="2.0" IssueInstant="{now}">
    <saml:Issuer>https://idp.example.com/</saml:Issuer>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData NotOnOrAfter="{later}" Recipient="https://zulip.example.com/complete/saml/" InResponseTo="_req42"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{now}" NotOnOrAfter="{later}">
      <saml:AudienceRestriction>
        <saml:Audience>https://zulip.example.com</saml:Audience>
      </saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{now}" SessionIndex="_s1">
      <saml:AuthnContext>
        <saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>
      </saml:AuthnContext>
    </saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="email" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
        <saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">{email}</saml:AttributeValue>
      </saml:Attribute>
      <saml:Attribute Name="first_name" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
        <saml:AttributeValue>Vic &amp; Tim</saml:AttributeValue>
      </saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>
`

const defaultsTemplate = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r7c1d2" Version="2.0" IssueInstant="{now}" Destination="https://zulip.example.com/complete/saml/" InResponseTo="_req42"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">https://idp.example.com/</Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a9f2e4" IssueInstant="{now}" Version="2.0"><Issuer>https://idp.example.com/</Issuer><Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</NameID><SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData InResponseTo="_req42" NotOnOrAfter="{later}" Recipient="https://zulip.example.com/complete/saml/"/></SubjectConfirmation></Subject><Conditions NotBefore="{now}" NotOnOrAfter="{later}"><AudienceRestriction><Audience>https://zulip.example.com</Audience></AudienceRestriction></Conditions><AttributeStatement><Attribute Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"><AttributeValue>{email}</AttributeValue></Attribute></AttributeStatement><AuthnStatement AuthnInstant="{now}"><AuthnContext><AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</AuthnContextClassRef></AuthnContext></AuthnStatement></Assertion></samlp:Response>`

// genuine returns a Response for email as the IdP signs it.
func genuine(t testing.TB, email string, mode signMode, sh shape) []byte {
	t.Helper()
	tmpl := prefixedTemplate
	if sh == defaults {
		tmpl = defaultsTemplate
	}
	now := time.Now().UTC().Truncate(time.Second)
	xml := strings.NewReplacer(
		"{now}", now.Format(time.RFC3339),
		"{later}", now.Add(5*time.Minute).Format(time.RFC3339),
		"{email}", email,
	).Replace(tmpl)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		t.Fatal(err)
	}
	kp := keys(t, idpKeys)
	root := doc.Root()
	if mode == signAssertion || mode == signBoth {
		idpSign(t, kp, root.SelectElement("Assertion"))
	}
	if mode == signResponse || mode == signBoth {
		idpSign(t, kp, root)
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// idpSign signs el in place as an IdP does with goxmldsig: the signature
// computed over a detached copy that carries el's namespace context, and
// put in after el's Issuer.
func idpSign(t testing.TB, kp keyPair, el *etree.Element) {
	t.Helper()
	d, err := detached(el)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := dsig.NewSigningContext(kp.key, [][]byte{kp.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := sc.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	sig, err := sc.ConstructSignature(d, true)
	if err != nil {
		t.Fatal(err)
	}
	issuer := el.SelectElement("Issuer")
	if issuer == nil {
		t.Fatalf("%s has no Issuer", el.Tag)
	}
	el.InsertChildAt(issuer.Index()+1, sig)
}

// validate is the correct use of goxmldsig: verify el (detached with its
// namespace context, as gosaml2 does) and get back what the signature
// covers.
func validate(cert *x509.Certificate, el *etree.Element) (*etree.Element, error) {
	d, err := detached(el)
	if err != nil {
		return nil, err
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	return vc.Validate(d)
}

// detached returns a copy of el with the namespace declarations in scope
// at its place.
func detached(el *etree.Element) (*etree.Element, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	return etreeutils.NSDetatch(ctx, el)
}
