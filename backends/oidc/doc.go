// Package oidc is single sign-on with an OpenID Connect provider (Google,
// Microsoft Entra ID, Okta, Keycloak, Authentik, Dex, ...) for the Zulip
// apps' web login, as a Zulip server's SOCIAL_AUTH_OIDC_ENABLED_IDPS
// offers it, on github.com/coreos/go-oidc/v3 and golang.org/x/oauth2.
//
// A [Provider] implements zulipauth.IdentityProvider: [New] reads the
// provider's discovery document, and the core's configuration takes the
// Provider (see the package example). The core owns the login around it:
// it lists the provider in server_settings, checks the app's
// mobile_flow_otp, keeps the flow (its token, nonce and PKCE verifier)
// across the round trip, single use and bound to the browser, matches the
// identity to an account, and answers the app. The Provider does the
// OpenID Connect part:
//
//   - Start sends the browser to the provider's authorization endpoint
//     with an authorization code request: the flow's token as state, its
//     nonce, PKCE's S256 challenge of its verifier, and its callback URL
//     (the realm's URL and /complete/<Name>/) as redirect_uri, which must
//     be registered at the provider exactly so, for every realm;
//   - Finish takes the provider's answer at the callback, redeems the code
//     with the verifier and the client secret, verifies the ID token
//     (signature with the provider's published keys, issuer, audience,
//     expiry, nonce) and returns the person's email, whether the provider
//     verified it, their name and their subject.
//
// What Finish returns says whose fault a failure is, as the core's
// errors do: zulipauth.ErrSSODenied when the provider or the person
// refused (an error parameter in the answer); zulipauth.ErrSSOInvalid when
// the answer proves nothing (no code, a code the provider refuses, an ID
// token that does not verify, a nonce of another login); any other error
// when the provider cannot be reached or misbehaves. Each names its reason;
// none holds a code, a token or the client secret, and the provider's own
// words in it are quoted and cut short.
//
// # Security
//
// The provider's URLs must be https, except on a loopback address or
// localhost (a provider on the same machine, RFC 8252 §8.3). Every login
// uses PKCE (RFC 7636, S256) and a nonce, as RFC 9700 asks; the state is
// the core's single-use flow token; an iss parameter in the answer (RFC
// 9207) must be the issuer. The key set is cached, and fetched again when
// a token names a key ID not in the cache (go-oidc's RemoteKeySet), so a
// provider's key rotation needs no restart. Answers of discovery, the key
// set and userinfo are capped at 1 MiB. The client secret is never
// logged: Config and Provider print without it.
//
// An email the provider does not say it verified (email_verified absent
// or false) is returned with EmailVerified false, and logs nobody in.
// Some providers never send email_verified (Microsoft Entra ID among
// them): with those, no one can log in unless Config.InsecureTrustEmail
// says that every address the provider gives is the person's.
package oidc
