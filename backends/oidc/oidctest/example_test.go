package oidctest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/zulipauth/zulipauth-go/backends/oidc"
	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// A test starts its own provider, points backends/oidc at it, and logs
// iago in without a browser: Login returns the provider's redirect to the
// callback, which Finish checks.
func ExampleStart() {
	_ = func(t *testing.T) { // func TestLogin(t *testing.T) {
		op := oidctest.Start(t, oidctest.Options{})
		sso, err := oidc.New(t.Context(), oidc.Config{Issuer: op.Issuer, ClientID: op.ClientID, ClientSecret: op.ClientSecret})
		if err != nil {
			t.Fatal(err)
		}
		flow := zulipauth.SSOFlow{
			Token:        oauth2.GenerateVerifier(),
			Nonce:        oauth2.GenerateVerifier(),
			CodeVerifier: oauth2.GenerateVerifier(),
			CallbackURL:  oidctest.DefaultRedirectURI,
		}
		authURL, err := sso.Start(t.Context(), &flow)
		if err != nil {
			t.Fatal(err)
		}
		callback, err := op.Login(t.Context(), authURL, oidctest.IagoEmail, oidctest.IagoPassword)
		if err != nil {
			t.Fatal(err)
		}
		id, err := sso.Finish(t.Context(), httptest.NewRequest(http.MethodGet, callback.String(), nil), flow)
		if err != nil || id.Email != oidctest.IagoEmail || !id.EmailVerified {
			t.Fatalf("Finish: %+v, %v", id, err)
		}
	}
}
