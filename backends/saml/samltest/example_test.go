package samltest_test

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// A test starts its own IdP with its service provider's metadata, points
// backends/saml at the IdP's metadata, and logs iago in without a
// browser: Login returns the POST that the IdP's page sends to the
// callback, which Finish checks.
func ExampleStart() {
	_ = func(t *testing.T) { // func TestLogin(t *testing.T) {
		sp := &saml.ServiceProvider{EntityID: "http://localhost:9991/saml/metadata.xml"}
		md, err := sp.Metadata("http://localhost:9991/complete/saml/")
		if err != nil {
			t.Fatal(err)
		}
		idp := samltest.Start(t, samltest.Options{SPs: []samltest.SP{{EntityID: sp.EntityID, MetadataXML: md}}})
		p, err := saml.New(saml.Config{SP: sp, Name: "samltest", IdPMetadata: idp.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		flow := zulipauth.SSOFlow{Token: "a-random-token", CallbackURL: "http://localhost:9991/complete/saml/"}
		authURL, err := p.Start(t.Context(), &flow)
		if err != nil {
			t.Fatal(err)
		}
		answer, err := idp.Login(t.Context(), authURL, samltest.IagoUsername, samltest.IagoPassword)
		if err != nil {
			t.Fatal(err)
		}
		id, err := p.Finish(t.Context(), answer, flow)
		if err != nil || id.Email != samltest.IagoEmail {
			t.Fatalf("Finish: %+v, %v", id, err)
		}
	}
}
