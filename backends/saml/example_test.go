package saml_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The Zulip apps' "Log in with Okta" for the realm zulip; the settings of
// a Zulip server's SOCIAL_AUTH_SAML_ENABLED_IDPS entry in the comments.
// The IdP must have this server's metadata registered (see
// ServiceProvider.Metadata), whose assertion consumer service is
// https://zulip.example.com/complete/saml/: the realm's URL and
// Info().CallbackPath.
func ExampleNew() {
	ctx := context.Background()
	sp, err := saml.LoadServiceProvider(
		"https://zulip.example.com/saml/metadata.xml", // SOCIAL_AUTH_SAML_SP_ENTITY_ID
		"/etc/zulipauth/saml/sp.crt",                  // SOCIAL_AUTH_SAML_SP_PUBLIC_CERT
		"/etc/zulipauth/saml/sp.key",                  // SOCIAL_AUTH_SAML_SP_PRIVATE_KEY, chmod 600
	)
	if err != nil {
		log.Fatal(err)
	}
	md, err := saml.FetchMetadata(ctx, nil, "https://example.okta.com/app/exk1/sso/saml/metadata") // entity_id, url, x509cert
	if err != nil {
		log.Fatal(err)
	}
	okta, err := saml.New(saml.Config{
		SP:          sp,
		Name:        "okta", // the key of SOCIAL_AUTH_SAML_ENABLED_IDPS
		IdPMetadata: md,
		DisplayName: "Okta",                         // display_name
		DisplayIcon: "https://example.com/okta.png", // display_icon
		CreateUsers: true,                           // auto_signup
		Realms:      []string{"zulip"},              // limit_to_subdomains
		// EmailAttribute "email", NameAttributes "first_name", "last_name":
		// attr_email, attr_first_name and attr_last_name's usual values.
	})
	if err != nil {
		log.Fatal(err) // the metadata or the Config is wrong (saml.ErrInvalidConfig)
	}

	store := memstore.New()
	local, err := password.New(store)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := zulipauth.New(zulipauth.Config{
		Users:             store, // a zulipauth.FlowStore: it keeps the flows and the answers seen
		Authenticator:     local,
		IdentityProviders: []zulipauth.IdentityProvider{okta},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	auth.Mount(mux)
	mux.HandleFunc("GET /saml/metadata.xml", func(w http.ResponseWriter, r *http.Request) {
		md, err := sp.Metadata("https://zulip.example.com" + okta.Info().CallbackPath)
		if err != nil {
			http.Error(w, "no metadata", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(md)
	})
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// The metadata of a service provider that does not sign its requests (it
// has no key), for two realms.
func ExampleServiceProvider_Metadata() {
	sp := &saml.ServiceProvider{EntityID: "https://zulip.example.com/saml/metadata.xml"}
	md, err := sp.Metadata("https://zulip.example.com/complete/saml/", "https://lear.zulip.example.com/complete/saml/")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(md))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://zulip.example.com/saml/metadata.xml">
	//   <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
	//     <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
	//     <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
	//     <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://zulip.example.com/complete/saml/" index="0" isDefault="true"/>
	//     <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://lear.zulip.example.com/complete/saml/" index="1"/>
	//     <md:AttributeConsumingService index="0" isDefault="true">
	//       <md:ServiceName xml:lang="en">https://zulip.example.com/saml/metadata.xml</md:ServiceName>
	//       <md:RequestedAttribute Name="email" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" isRequired="false"/>
	//       <md:RequestedAttribute Name="first_name" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" isRequired="false"/>
	//       <md:RequestedAttribute Name="last_name" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" isRequired="false"/>
	//     </md:AttributeConsumingService>
	//   </md:SPSSODescriptor>
	// </md:EntityDescriptor>
}
