// Package saml is single sign-on with a SAML 2.0 identity provider (Okta,
// Microsoft Entra ID, AD FS, Keycloak, Shibboleth, OneLogin, ...) for the
// Zulip apps' web login, as a Zulip server's SOCIAL_AUTH_SAML_ENABLED_IDPS
// offers it, on github.com/russellhaering/gosaml2 and goxmldsig.
//
// This server is one SAML service provider, a [ServiceProvider] (its
// entity ID, and the certificate and key it signs its requests with),
// shared by every identity provider; [ServiceProvider.Metadata] is the
// document to register at them. Each identity provider is a [Provider],
// made by [New] from a [Config] that holds the IdP's metadata (see
// [FetchMetadata]); it implements zulipauth.IdentityProvider and
// zulipauth.UnsolicitedAnswers, and the core's configuration takes it (see
// the package example). The core owns the login around it: it lists the
// IdP in server_settings as "saml:<Name>", starts the login at
// /accounts/login/social/saml/<Name>, checks the app's mobile_flow_otp,
// keeps the flow across the round trip (single use, bound to the browser,
// valid on every instance), matches the identity to an account, refuses an
// answer it has seen (Identity.AnswerID), and answers the app. The
// Provider does the SAML part:
//
//   - Start sends the browser to the IdP's SingleSignOnService with an
//     AuthnRequest (HTTP-Redirect binding: deflated, base64, signed with
//     rsa-sha256 or ecdsa-sha256 when the ServiceProvider has a key), whose
//     ID it keeps in the flow, whose AssertionConsumerServiceURL is the
//     flow's callback (the realm's URL and /complete/saml/), and whose
//     RelayState is the flow's token;
//   - Finish takes the IdP's answer at the callback (HTTP-POST binding: a
//     form with SAMLResponse and RelayState) and returns the identity that
//     a signed assertion of the IdP proves (see [Provider.Finish] for every
//     check).
//
// What Finish returns says whose fault a failure is, as the core's errors
// do: zulipauth.ErrSSODenied when the IdP refused the login (a status other
// than Success: AuthnFailed, RequestDenied, ...); zulipauth.ErrSSOInvalid
// when the answer proves nothing. Each names its reason; none holds the
// answer's XML or its assertion, and the values quoted in it are escaped
// and cut short.
//
// # Attributes
//
// The email is the assertion's attribute Config.EmailAttribute ("email",
// as Zulip's attr_email), or, where the assertion has none, the NameID when
// its format is emailAddress or it is an email address. The name is the
// values of Config.NameAttributes joined by a space ("first_name" and
// "last_name", as Zulip's attr_first_name and attr_last_name). These are the
// attribute names the ServiceProvider's metadata requests: an IdP that
// honours requested attributes (crewjam/saml's samlidp, which samltest
// runs, among them) sends them so; with others, map the IdP's attribute
// names in the Config, or configure the IdP to send these.
//
// Zulip trusts the email an IdP asserts: so does Finish, whose identities
// are always EmailVerified. Configure only an IdP whose people cannot
// choose their own address.
//
// # Security
//
// Every answer is hostile XML until proven otherwise: its size is capped
// before it is decoded (Config.MaxResponseBytes); a document with a DOCTYPE
// is refused outright, so no entity is ever expanded; it must survive
// encoding/xml's round trip unchanged (mattermost's xml-roundtrip-validator,
// against the parser differentials of Go's encoding/xml); it must hold
// exactly one assertion. Then gosaml2 verifies the signature, of the
// Response or of the Assertion, against the certificates of the IdP's
// metadata, and only what the signature covers is read: gosaml2 returns
// the signed element as it verified it, and nothing of the raw document is
// read again. That is what stops the signature wrapping attacks (XSW),
// which put an unsigned assertion beside a signed one. The assertion must
// then be for this service provider (Audience), for the flow's callback
// (Recipient, and the Response's Destination), in answer to the flow's
// AuthnRequest (InResponseTo), and current (NotBefore, NotOnOrAfter, with a
// minute of leeway for clocks that differ). Its issuer and ID make
// Identity.AnswerID, so that the core accepts it once, on every instance,
// until it expires.
//
// Answers that no AuthnRequest asked for (IdP-initiated login) are refused
// unless Config.AllowUnsolicited: they cannot be bound to the browser that
// receives them, so anyone who gets a person's answer logs in as them.
//
// The IdP's metadata is trusted as it is given (its own signature, if any,
// is not checked): read it from a file the operator checked, or fetch it
// with FetchMetadata over https. The ServiceProvider's key never appears in
// an error or a log: ServiceProvider and Provider print without it.
package saml
