package samlattack

import (
	"errors"
	"fmt"
)

// Errors the generators return, to be compared with errors.Is. A generator
// that cannot make its document returns an error, never a document that
// would test nothing.
var (
	// ErrNotResponse: the input is not XML whose root is a SAML 2.0
	// protocol Response.
	ErrNotResponse = errors.New("samlattack: not a SAML 2.0 Response")
	// ErrNoAssertion: the Response holds no Assertion.
	ErrNoAssertion = errors.New("samlattack: the Response holds no Assertion")
	// ErrResponseNotSigned: the variant wraps the Response's signature, and
	// the Response carries none (a ds:Signature child whose Reference is
	// the Response's ID).
	ErrResponseNotSigned = errors.New("samlattack: the Response is not signed")
	// ErrAssertionNotSigned: the variant wraps the Assertion's signature,
	// and no Assertion of the Response carries one.
	ErrAssertionNotSigned = errors.New("samlattack: the Assertion is not signed")
	// ErrNoIdentity: the Assertion has neither a Subject NameID nor an
	// email attribute to replace.
	ErrNoIdentity = errors.New("samlattack: the Assertion names no one")
	// ErrNoPrefix: a comment variant needs an input whose NameID (or email)
	// is the victim's, continued (victim@zulip.com.evil.example for
	// victim@zulip.com), and the input's is not.
	ErrNoPrefix = errors.New("samlattack: the identity does not continue the victim's")
)

// Needs says which signature a variant's input must carry.
type Needs string

const (
	// NeedsSignedResponse: the Response carries an enveloped signature
	// (XSW1, XSW2, ReplacedAssertionInSignedResponse).
	NeedsSignedResponse Needs = "signed Response"
	// NeedsSignedAssertion: an Assertion carries an enveloped signature
	// (XSW3 to XSW8, UnsignedAssertionInSignedResponse, SecondAssertion).
	NeedsSignedAssertion Needs = "signed Assertion"
	// NeedsSignature: either signature, as long as it covers the NameID or
	// the email (the comment variants).
	NeedsSignature Needs = "a signature over the identity"
	// NeedsNothing: any Response (entities, size).
	NeedsNothing Needs = "any Response"
)

// Variant is one attack document.
type Variant struct {
	// Name is the name of the function that made Doc ("XSW3").
	Name string
	// Needs says which signature the input had to carry.
	Needs Needs
	// Doc is the complete XML document: the SAMLResponse before base64.
	Doc []byte
}

type generator struct {
	name  string
	needs Needs
	make  func(signed []byte, a Attacker) ([]byte, error)
}

// generators lists what All makes, in order. The size and key variants are
// left out: they need an input All does not have.
var generators = []generator{
	{"XSW1", NeedsSignedResponse, XSW1},
	{"XSW2", NeedsSignedResponse, XSW2},
	{"XSW3", NeedsSignedAssertion, XSW3},
	{"XSW4", NeedsSignedAssertion, XSW4},
	{"XSW5", NeedsSignedAssertion, XSW5},
	{"XSW6", NeedsSignedAssertion, XSW6},
	{"XSW7", NeedsSignedAssertion, XSW7},
	{"XSW8", NeedsSignedAssertion, XSW8},
	{"UnsignedAssertionInSignedResponse", NeedsSignedAssertion, UnsignedAssertionInSignedResponse},
	{"ReplacedAssertionInSignedResponse", NeedsSignedResponse, ReplacedAssertionInSignedResponse},
	{"SecondAssertion", NeedsSignedAssertion, SecondAssertion},
	{"CommentInNameID", NeedsSignature, CommentInNameID},
	{"CommentInEmail", NeedsSignature, CommentInEmail},
	{"BillionLaughs", NeedsNothing, func(b []byte, _ Attacker) ([]byte, error) { return BillionLaughs(b) }},
	{"ExternalEntity", NeedsNothing, func(b []byte, _ Attacker) ([]byte, error) { return ExternalEntity(b, "") }},
}

// skippable reports whether err only says that the input does not fit a
// variant (All leaves that variant out) rather than that something broke.
func skippable(err error) bool {
	return errors.Is(err, ErrResponseNotSigned) || errors.Is(err, ErrAssertionNotSigned) ||
		errors.Is(err, ErrNoPrefix)
}

// All returns every variant the input allows, in a fixed order: XSW1 and
// XSW2 when the Response is signed, XSW3 to XSW8 when the Assertion is,
// the swapped and second assertions, the comment variants when the input's
// identity continues a's (see CommentInNameID), and the two entity
// documents. Oversized and ResignedWithKey need more input and are not in
// the list.
//
// All fails when signed is not a SAML Response, or is one with no
// signature on the Response nor on an Assertion, or when a variant that
// fits the input cannot be made.
func All(signed []byte, a Attacker) ([]Variant, error) {
	return run(signed, a, generators)
}

func run(signed []byte, a Attacker, gens []generator) ([]Variant, error) {
	_, root, err := parseResponse(signed)
	if err != nil {
		return nil, err
	}
	if signatureOf(root) == nil {
		switch _, _, err := signedAssertion(root); {
		case errors.Is(err, ErrAssertionNotSigned):
			return nil, fmt.Errorf("%w (nor the Response)", err)
		case err != nil:
			return nil, err
		}
	}
	var out []Variant
	for _, g := range gens {
		doc, err := g.make(signed, a)
		if skippable(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.name, err)
		}
		out = append(out, Variant{Name: g.name, Needs: g.needs, Doc: doc})
	}
	return out, nil
}
