// Package samltest starts real SAML identity providers for tests, as
// net/http/httptest starts real HTTP servers: each [Start] runs its own
// identity provider, crewjam/saml's samlidp (a different SAML library
// from the gosaml2 that backends/saml is built on, so that a passing test
// is evidence that the two interoperate), in the test's process, on a free
// port of 127.0.0.1, with its own RSA key and self-signed certificate, and
// stops it when the test ends.
//
// A test makes its service provider's metadata (backends/saml's
// ServiceProvider.Metadata), starts an IdP with it in [Options.SPs],
// configures backends/saml with [IdP.Metadata], and completes logins
// without a browser with [IdP.Login], which follows the service provider's
// redirect to the IdP, fills the IdP's login form in, and returns the
// request that the IdP's self-submitting form makes the browser send to the
// service provider's assertion consumer service (see the example of
// [Start]).
//
// # The identity provider
//
// Its URL is http://127.0.0.1:PORT; its metadata is at /metadata, whose URL
// is its entity ID ([IdP.EntityID], as samlidp names itself), and lists a
// SingleSignOnService at /sso with the HTTP-Redirect and HTTP-POST
// bindings and one signing certificate. samlidp verifies an AuthnRequest's
// signature (the HTTP-Redirect binding's SigAlg and Signature) against the
// service provider's metadata, and refuses an unsigned one from a service
// provider whose metadata says AuthnRequestsSigned; it answers only to an
// AssertionConsumerService of the metadata. Its Response is signed, and so
// is its Assertion (both rsa-sha256, exclusive canonicalization); the
// Assertion is encrypted (RSA-OAEP) when the service provider's metadata
// has a KeyDescriptor of use "encryption" (or of no use). Its Conditions'
// NotBefore is the AuthnRequest's IssueInstant (3 minutes back at most, now
// for an IdP-initiated login), and its NotOnOrAfter, as the
// SubjectConfirmationData's, 90 seconds later. Its Subject's NameID is the
// user's email, of format emailAddress (transient and empty for a user
// without an email).
//
// Its attributes: samlidp always sends uid (urn:oid:0.9.2342.19200300.100.1.1,
// the username), mail (urn:oid:0.9.2342.19200300.100.1.3, the email) and
// eduPersonPrincipalName (urn:oid:1.3.6.1.4.1.5923.1.1.1.6, the email
// too), sn, givenName and cn (urn:oid:2.5.4.4, 2.5.4.42 and 2.5.4.3) where
// the user has them, all by their URN names; and, for each attribute the
// service provider's metadata requests (RequestedAttribute) whose name,
// with its punctuation removed, is email or emailaddress, name, fullname,
// cn or commonname, givenname or firstname, surname, lastname or
// familyname, uid, user or userid, that value under the requested name
// (empty where the user has none). backends/saml's metadata requests email,
// first_name and last_name, which its Config reads by default: so no
// mapping of attributes is needed.
//
// The login page is samltest's own, a plain HTML form (username, password,
// a button) that works without JavaScript: it logs in at samlidp's /login
// and sends the browser back to the URL it came from. samlidp's own form
// would post the AuthnRequest again without the HTTP-Redirect binding's
// signature, which samlidp then refuses for a service provider that signs
// its requests. The page that carries the answer to the service provider is
// samlidp's: a form with SAMLResponse and RelayState that a script submits,
// with a Continue button where scripts do not run.
//
// A user whose [User.Denied] is set is refused after logging in: the IdP
// answers the service provider with a signed Response whose status is
// Responder with RequestDenied, and no assertion. [IdP.LoginUnsolicited]
// makes an IdP-initiated login (samlidp's shortcuts), whose Response
// answers no request.
//
// # The fixture
//
// Every IdP has the same people, who log in with the usernames and
// passwords the constants name: iago ([IagoEmail], named "Iago"), hamlet
// ([HamletEmail], "King Hamlet"), othello, who has no email, and polonius
// ([PoloniusEmail]), whom the IdP denies. [Options.Users] adds people.
//
// # Programs
//
// [Launch] starts the same IdP for a program that is not a test (a
// development server, a browser test's fixture): it returns an error
// instead of failing a test, and the program stops it with [IdP.Close].
// samltest never skips a test: the IdP is a library, built with the test.
package samltest
