package samlattack_test

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/zulipauth/zulipauth-go/backends/saml/internal/samlattack"
)

// A failed login, as an IdP answers it: the editors change one thing in a
// Response (here an unsigned one, to keep the example short).
func ExampleSetStatus() {
	doc := []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:Response>`)
	doc, err := samlattack.SetStatus(doc, samlattack.StatusResponder, samlattack.StatusAuthnFailed)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(doc))
	// Output:
	// <samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode></samlp:Status></samlp:Response>
}

// The SP's attack suite: every variant a signed Response allows, each a
// document the SP must refuse. Here the "IdP" is a key made on the spot
// and ResignedWithKey signs its Assertion; a test uses the IdP the SP
// trusts.
func ExampleAll() {
	idpKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fmt.Println(err)
		return
	}
	signed, err := samlattack.ResignedWithKey([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0">
  <saml:Issuer>https://idp.example.com/</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion ID="_a1" Version="2.0">
    <saml:Issuer>https://idp.example.com/</saml:Issuer>
    <saml:Subject><saml:NameID>victim@zulip.com.evil.example</saml:NameID></saml:Subject>
    <saml:AttributeStatement>
      <saml:Attribute Name="email"><saml:AttributeValue>victim@zulip.com.evil.example</saml:AttributeValue></saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>`), idpKey, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	variants, err := samlattack.All(signed, samlattack.Attacker{Email: "victim@zulip.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range variants {
		fmt.Printf("%s (needs %s)\n", v.Name, v.Needs)
	}
	// Output:
	// XSW3 (needs signed Assertion)
	// XSW4 (needs signed Assertion)
	// XSW5 (needs signed Assertion)
	// XSW6 (needs signed Assertion)
	// XSW7 (needs signed Assertion)
	// XSW8 (needs signed Assertion)
	// UnsignedAssertionInSignedResponse (needs signed Assertion)
	// SecondAssertion (needs signed Assertion)
	// CommentInNameID (needs a signature over the identity)
	// CommentInEmail (needs a signature over the identity)
	// BillionLaughs (needs any Response)
	// ExternalEntity (needs any Response)
}
