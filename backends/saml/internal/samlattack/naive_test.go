package samlattack_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// The naive SP: readers that take "the Assertion" with encoding/xml, and a
// verifier that is satisfied when some Signature in the document verifies.
// Each is a mistake real SPs made; the attack documents are live when a
// reader gets the attacker's identity while the verifier is satisfied.

// identity is what a reader got out of a document.
type identity struct {
	NameID, Email string
}

// naiveAssertion is what the readers decode an Assertion into: paths by
// local name, as careless code writes them.
type naiveAssertion struct {
	NameID     string `xml:"Subject>NameID"`
	Attributes []struct {
		Name   string   `xml:"Name,attr"`
		Values []string `xml:"AttributeValue"`
	} `xml:"AttributeStatement>Attribute"`
}

func (a naiveAssertion) identity() identity {
	id := identity{NameID: strings.TrimSpace(a.NameID)}
	for _, attr := range a.Attributes {
		if isEmailName(attr.Name) && len(attr.Values) > 0 {
			id.Email = strings.TrimSpace(attr.Values[0])
		}
	}
	return id
}

func isEmailName(name string) bool {
	return name == "email" || strings.HasSuffix(name, "/emailaddress")
}

// reader is one naive way to get the identity out of a Response.
type reader struct {
	name string
	read func(doc []byte) (identity, error)
}

var readers = []reader{
	{"first", readFirst},
	{"root", readRoot},
	{"last", readLast},
}

// readFirst takes the first Assertion in document order, wherever it is
// (//Assertion[1]).
func readFirst(doc []byte) (identity, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			return identity{}, fmt.Errorf("no Assertion: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Assertion" {
			var a naiveAssertion
			if err := d.DecodeElement(&a, &se); err != nil {
				return identity{}, err
			}
			return a.identity(), nil
		}
	}
}

// readRoot unmarshals the Response and takes its first Assertion child
// (/Response/Assertion[1]).
func readRoot(doc []byte) (identity, error) {
	var r struct {
		Assertions []naiveAssertion `xml:"Assertion"`
	}
	if err := xml.Unmarshal(doc, &r); err != nil {
		return identity{}, err
	}
	if len(r.Assertions) == 0 {
		return identity{}, errors.New("no Assertion")
	}
	return r.Assertions[0].identity(), nil
}

// readLast reads every Assertion met in document order (an Assertion nested
// in one already read is part of that one) and lets each overwrite what the
// ones before set: the last one wins.
func readLast(doc []byte) (identity, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var id identity
	n := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return identity{}, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Assertion" {
			var a naiveAssertion
			if err := d.DecodeElement(&a, &se); err != nil {
				return identity{}, err
			}
			n++
			got := a.identity()
			if got.NameID != "" {
				id.NameID = got.NameID
			}
			if got.Email != "" {
				id.Email = got.Email
			}
		}
	}
	if n == 0 {
		return identity{}, errors.New("no Assertion")
	}
	return id, nil
}

// readFirstText reads the first Assertion's NameID and email the way
// python-saml and ruby-saml did before CVE-2017-11427/11428: the element's
// first text node, which ends at a comment.
func readFirstText(doc []byte) (identity, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var id identity
	var inAssertion, inEmail bool
	var target *string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return id, nil
		}
		if err != nil {
			return identity{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "Assertion":
				inAssertion = true
			case !inAssertion:
			case t.Name.Local == "NameID" && id.NameID == "":
				target = &id.NameID
			case t.Name.Local == "Attribute":
				for _, a := range t.Attr {
					if a.Name.Local == "Name" && isEmailName(a.Value) {
						inEmail = true
					}
				}
			case t.Name.Local == "AttributeValue" && inEmail && id.Email == "":
				target = &id.Email
			}
		case xml.CharData:
			if target != nil {
				*target = string(t)
			}
			target = nil
		case xml.EndElement:
			target = nil
			switch t.Name.Local {
			case "Attribute":
				inEmail = false
			case "Assertion":
				return id, nil
			}
		default: // a comment, a processing instruction: the first text node has ended
			target = nil
		}
	}
}

// naiveVerify is the classic mistake: the document is taken as verified
// when any Signature in it verifies against the IdP's certificate, whatever
// its Reference points at. The Reference is resolved by ID, to the first
// element in document order that carries it, as XML Security libraries
// resolve it. It returns what goxmldsig says the signature covers: the
// genuine element, canonical, its signature removed.
//
// goxmldsig verifies only signatures inside the element it is given, so a
// signature found outside the element its Reference names is copied into
// (a detached copy of) that element first: the enveloped-signature
// transform then takes the copy out again, and the digest is computed over
// the element alone, as a by-ID verifier computes it.
func naiveVerify(doc []byte, cert *x509.Certificate) (*etree.Element, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, err
	}
	var errs []error
	for _, sig := range byLocalName(d.Root(), "Signature") {
		ref := sig.FindElement("./SignedInfo/Reference")
		if ref == nil {
			continue
		}
		uri := ref.SelectAttrValue("URI", "")
		target := byID(d.Root(), strings.TrimPrefix(uri, "#"))
		if target == nil {
			errs = append(errs, fmt.Errorf("%s: no such ID", uri))
			continue
		}
		if !within(sig, target) {
			t, err := detached(target)
			if err != nil {
				return nil, err
			}
			s, err := detached(sig)
			if err != nil {
				return nil, err
			}
			t.AddChild(s)
			target = t
		}
		got, err := validate(cert, target)
		if err == nil {
			return got, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", uri, err))
	}
	if len(errs) == 0 {
		return nil, errors.New("no Signature")
	}
	return nil, errors.Join(errs...)
}

// strictRead is what a careful SP does (gosaml2's order): verify the
// Response's signature if it has one (a broken one is the end), else the
// single Assertion's, and read the identity only from the element
// goxmldsig returned.
func strictRead(doc []byte, cert *x509.Certificate) (identity, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return identity{}, err
	}
	root := d.Root()
	verified, err := validate(cert, root)
	if errors.Is(err, dsig.ErrMissingSignature) {
		as := root.SelectElements("Assertion")
		if len(as) != 1 {
			return identity{}, fmt.Errorf("%d Assertions", len(as))
		}
		if verified, err = validate(cert, as[0]); err != nil {
			return identity{}, err
		}
	}
	if err != nil {
		return identity{}, err
	}
	b, err := etree.NewDocumentWithRoot(verified).WriteToBytes()
	if err != nil {
		return identity{}, err
	}
	if verified.Tag == "Assertion" {
		return readFirst(b)
	}
	return readRoot(b)
}

// identities returns the NameIDs and email values below (or at) el.
func identities(el *etree.Element) []string {
	var out []string
	for _, n := range byLocalName(el, "NameID") {
		out = append(out, n.Text())
	}
	for _, a := range byLocalName(el, "Attribute") {
		if isEmailName(a.SelectAttrValue("Name", "")) {
			for _, v := range a.SelectElements("AttributeValue") {
				out = append(out, v.Text())
			}
		}
	}
	return out
}

// byLocalName returns el and the elements below it named local, in any
// namespace, in document order.
func byLocalName(el *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	if el.Tag == local {
		out = append(out, el)
	}
	for _, c := range el.ChildElements() {
		out = append(out, byLocalName(c, local)...)
	}
	return out
}

// byID returns the first element at or below el whose ID is id.
func byID(el *etree.Element, id string) *etree.Element {
	if el.SelectAttrValue("ID", "") == id {
		return el
	}
	for _, c := range el.ChildElements() {
		if found := byID(c, id); found != nil {
			return found
		}
	}
	return nil
}

// within reports whether el is at or below ancestor.
func within(el, ancestor *etree.Element) bool {
	for ; el != nil; el = el.Parent() {
		if el == ancestor {
			return true
		}
	}
	return false
}

// keyInfoCert returns the certificate in the first KeyInfo of doc: what a
// naive SP verifies with when it trusts the message's own certificate.
func keyInfoCert(doc []byte) (*x509.Certificate, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, err
	}
	certs := byLocalName(d.Root(), "X509Certificate")
	if len(certs) == 0 {
		return nil, errors.New("no X509Certificate")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(certs[0].Text()), ""))
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
