// Package oidctest starts real OpenID providers for tests, as
// net/http/httptest starts real HTTP servers: each [Start] runs its own
// provider, zitadel/oidc's example OpenID provider (the program
// github.com/zitadel/oidc/v3/example/server, on zitadel's certified
// implementation), with its own users, on a free port of this machine, and
// kills it when the test ends.
//
// A test starts one, points a relying party at [Provider.Issuer] with
// [Provider.ClientID] and [Provider.ClientSecret], and completes logins
// without a browser with [Provider.Login], which posts the provider's login
// form and returns the provider's redirect back to the relying party's
// callback (see the example of [Start]).
//
// # The provider
//
// The issuer is http://localhost:PORT/ (http on a loopback host, which
// OpenID relying parties allow for tests). Discovery, the authorization
// endpoint (/auth), the token endpoint, the key set and the userinfo
// endpoint are zitadel's, unchanged. Three clients are registered, each
// with every URI of [Options.RedirectURIs]: [ClientID] with
// [ClientSecret] (HTTP Basic authentication at the token endpoint), and
// [OtherClientID] with [OtherClientSecret], a second relying party for
// tests of audiences; and "native", a public client. The provider honours
// PKCE (S256) and the nonce, refuses a code used twice (invalid_grant) and
// a wrong code_verifier (invalid_grant), and redirects an authorization
// request with prompt=none back with error=login_required, since nobody is
// logged in to it.
//
// Its ID tokens carry sub, the nonce and the usual times but not the
// person's email or name: zitadel puts those in the ID token only when no
// access token is issued. A relying party reads them from the userinfo
// endpoint, with the access token: email, email_verified (true, or absent
// for an email not verified: zitadel leaves a false one out), name (the
// user's GivenName and FamilyName joined by a space), given_name,
// family_name and preferred_username (the Username).
//
// # The fixture
//
// Every provider has the same people, who log in with their email as the
// username and the password the constants name:
//
//   - iago: [IagoEmail], verified, [IagoPassword], given name "Iago" and
//     no family name, so the provider's name claim is "Iago " (with the
//     space zitadel adds);
//   - hamlet: [HamletEmail], verified, [HamletPassword], named "King
//     Hamlet";
//   - cordelia: [CordeliaEmail], not verified, [CordeliaPassword], named
//     "Cordelia Lear".
//
// [Options.Users] adds people.
//
// # Requirements
//
// The provider is a Go program, built once by the go command (go tool -n,
// which keeps the binary in Go's build cache, so later runs reuse it) from
// the module the test runs in. That module must require
// github.com/zitadel/oidc/v3 and name its example server as a tool, as this
// module's go.mod does:
//
//	tool github.com/zitadel/oidc/v3/example/server
//
// Where the go command is missing, or the program cannot be built (the
// module not downloaded and no network, say), Start skips the test with
// the go command's words. When the environment variable CI is "true" it
// fails the test instead: in CI an integration test that silently skips
// proves nothing.
//
// The program listens on every interface of the machine, not only on the
// loopback one (its address is ":PORT" and cannot be configured): its
// users and passwords are the test's, and it lives as long as the test.
//
// # Programs
//
// [Launch] starts the same provider for a program that is not a test: it
// returns an error instead of failing a test, [ErrNotBuilt] where the
// provider cannot be built, and the program ends the provider with
// [Provider.Close].
package oidctest
