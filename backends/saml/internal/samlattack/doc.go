// Package samlattack makes the documents of a SAML service provider's attack
// suite: from a genuine signed SAML 2.0 Response (the XML, as an IdP signed
// it) and the identity of a victim, it forges Responses that a careless SP
// would accept as the victim's login. A sound SP refuses every one of them.
//
// Every generator takes the genuine document and returns a complete XML
// document (the SAMLResponse parameter before base64), or an error when the
// input does not have what the attack needs: an input without the signature
// a variant wraps gets ErrResponseNotSigned or ErrAssertionNotSigned, never
// a document that would test nothing. [All] returns every variant an input
// allows, each a [Variant] with its name; [Attacker] says whom the forged
// documents name.
//
// The variants, and the mistake each one finds in an SP:
//
//   - [XSW1] to [XSW8], the XML Signature Wrapping attacks of Somorovsky
//     et al. (USENIX Security 2012), numbered as there and in SAML Raider:
//     the signed element moved to where its signature's Reference still
//     finds it by ID, an evil copy where the SP reads. The SP verifies one
//     element and reads another.
//   - [UnsignedAssertionInSignedResponse]: a valid signature that looks
//     like the Response's but covers a hidden Assertion; the visible one is
//     unsigned. [ReplacedAssertionInSignedResponse], the reverse: a signed
//     Response whose Assertion was swapped, its digest now wrong.
//   - [SecondAssertion]: an unsigned Assertion beside the signed one.
//   - [CommentInNameID] and [CommentInEmail]: a comment that truncates the
//     identity for a reader of the first text node, invisible to the
//     signature (CVE-2017-11427 and its family).
//   - [BillionLaughs] and [ExternalEntity]: a DOCTYPE with entity expansion
//     or an external entity; [Oversized]: a document padded to a size.
//   - [ResignedWithKey]: a forged document signed with the attacker's own
//     key and certificate, for an SP that trusts the certificate in the
//     message.
//
// The editors [SetIdentity], [SetAssertionTimes], [SetIssueInstant],
// [SetAudience], [SetRecipient], [SetDestination], [SetInResponseTo] and
// [SetStatus] change one thing each, in the Response and every Assertion
// in it, breaking the signatures that cover it (an empty value or a zero
// time removes the attribute): sent as they are, they check that the SP
// verifies before it reads; signed again with ResignedWithKey (and that key
// trusted), they test each of the SP's checks on its own.
//
// # Live against
//
// The comment of each variant says which naive readers it is live against:
// which of them read the victim from the document while a signature in it
// verifies with the IdP's certificate (the package's tests check each
// claim, with goxmldsig). "first" reads the first Assertion in document
// order (//Assertion[1]); "root" the first Assertion child of the Response
// (/Response/Assertion[1]); "last" every Assertion it meets in document
// order, each overwriting what the one before set. The comment variants
// are live against a reader of the first text node instead. A sound SP
// verifies, then reads only what the signature covers (the element
// goxmldsig's Validate returns), and no forged identity gets past it.
//
// An EncryptedAssertion is not looked into: decrypt the genuine Response
// first.
//
// Every function parses its own copy of the input, never changes the
// input's bytes, and is safe for concurrent use.
//
// The package is for tests. It uses github.com/beevik/etree to rearrange
// documents and writes its own exclusive canonicalization to sign; it
// verifies nothing. Its tests show each variant live against naive readers
// written with encoding/xml and a verifier built on
// github.com/russellhaering/goxmldsig that accepts any signature that
// verifies (the classic mistake), and show what goxmldsig says each
// signature really covers.
package samlattack
