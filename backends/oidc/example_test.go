package oidc_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/oidc"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The Zulip apps' "Log in with Example SSO" for the realm zulip, with a
// Keycloak realm as the provider; the settings of a Zulip server's
// SOCIAL_AUTH_OIDC_ENABLED_IDPS entry in the comments. The provider must
// have https://zulip.example.com/complete/oidc/ registered as a redirect
// URI of the client: the realm's URL and Info().CallbackPath.
func ExampleNew() {
	ctx := context.Background()
	sso, err := oidc.New(ctx, oidc.Config{
		Issuer:       "https://keycloak.example.com/realms/example", // oidc_url
		ClientID:     "zulip",                                       // client_id
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),               // secret, kept out of the code
		DisplayName:  "Example SSO",                                 // display_name
		DisplayIcon:  "https://keycloak.example.com/logo.png",       // display_icon
		CreateUsers:  true,                                          // auto_signup
		Realms:       []string{"zulip"},                             // limit_to_subdomains
	})
	if err != nil {
		log.Fatal(err) // the provider is unreachable, or the Config is wrong (oidc.ErrInvalidConfig)
	}

	store := memstore.New()
	local, err := password.New(store)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := zulipauth.New(zulipauth.Config{
		Users:             store, // a zulipauth.FlowStore: it keeps the flows
		Authenticator:     local,
		IdentityProviders: []zulipauth.IdentityProvider{sso},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	auth.Mount(mux)
	log.Fatal(http.ListenAndServe(":8080", mux))
}
