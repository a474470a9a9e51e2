package samlattack

import (
	"fmt"

	"github.com/beevik/etree"
)

// The namespaces the package looks elements up in. Elements are matched by
// namespace URI and local name, never by prefix: an IdP may use any prefix,
// or none.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXML       = "http://www.w3.org/XML/1998/namespace"
)

// parseResponse reads a document whose root is a SAML 2.0 protocol Response.
func parseResponse(b []byte) (*etree.Document, *etree.Element, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotResponse, err)
	}
	root := doc.Root()
	if root == nil || !is(root, nsProtocol, "Response") {
		return nil, nil, ErrNotResponse
	}
	return doc, root, nil
}

// write serializes doc; etree writes what it read (declarations as
// attributes, comments, the XML declaration), so a signature the edit did not
// touch still verifies.
func write(doc *etree.Document) ([]byte, error) {
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("samlattack: write: %w", err)
	}
	return b, nil
}

// is reports whether el is the element {ns}local. el must be in its tree
// (or self-contained, see detach): the prefix is resolved through el's
// ancestors.
func is(el *etree.Element, ns, local string) bool {
	return el.Tag == local && el.NamespaceURI() == ns
}

// children returns el's child elements named {ns}local, in document order.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// child returns el's first child element named {ns}local, or nil.
func child(el *etree.Element, ns, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			return c
		}
	}
	return nil
}

// descendants returns the elements named {ns}local below el (el itself
// excluded), in document order, nested ones included.
func descendants(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
		out = append(out, descendants(c, ns, local)...)
	}
	return out
}

// assertions returns every saml:Assertion in the document below root.
func assertions(root *etree.Element) []*etree.Element {
	return descendants(root, nsAssertion, "Assertion")
}

// referenceURI returns the URI of the first Reference in sig's SignedInfo,
// or "".
func referenceURI(sig *etree.Element) string {
	si := child(sig, nsDSig, "SignedInfo")
	if si == nil {
		return ""
	}
	ref := child(si, nsDSig, "Reference")
	if ref == nil {
		return ""
	}
	return ref.SelectAttrValue("URI", "")
}

// signatureOf returns el's enveloped signature: a ds:Signature child of el
// whose Reference points at el's ID. It is a look at the structure, not a
// verification: the package has no IdP certificate to verify with.
func signatureOf(el *etree.Element) *etree.Element {
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return nil
	}
	for _, s := range children(el, nsDSig, "Signature") {
		if referenceURI(s) == "#"+id {
			return s
		}
	}
	return nil
}

// removeSignatures removes every ds:Signature child of el.
func removeSignatures(el *etree.Element) {
	for _, s := range children(el, nsDSig, "Signature") {
		el.RemoveChild(s)
	}
}

// signedAssertion returns the first Assertion child of the Response that
// carries its own enveloped signature, and that signature.
func signedAssertion(root *etree.Element) (assertion, sig *etree.Element, err error) {
	as := children(root, nsAssertion, "Assertion")
	if len(as) == 0 {
		return nil, nil, ErrNoAssertion
	}
	for _, a := range as {
		if s := signatureOf(a); s != nil {
			return a, s, nil
		}
	}
	return nil, nil, ErrAssertionNotSigned
}

// detach returns a deep copy of el that can live anywhere: every namespace
// declaration in scope at el's place (declared on an ancestor) is repeated
// on the copy, and an inherited empty default namespace is made explicit
// (xmlns="") when the copy has unprefixed elements. Exclusive
// canonicalization renders only the namespaces an element visibly uses,
// wherever they were declared, so the copy canonicalizes exactly as el did,
// in any new parent.
func detach(el *etree.Element) *etree.Element {
	c := el.Copy()
	declared := map[string]bool{}
	for _, a := range c.Attr {
		if p, ok := nsDecl(a); ok {
			declared[p] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			prefix, ok := nsDecl(a)
			if !ok || declared[prefix] {
				continue
			}
			declared[prefix] = true
			c.CreateAttr(a.FullKey(), a.Value)
		}
	}
	if !declared[""] && hasUnprefixed(c) {
		c.CreateAttr("xmlns", "")
	}
	return c
}

// nsDecl reports whether a declares a namespace, and the prefix it
// declares ("" for the default namespace).
func nsDecl(a etree.Attr) (prefix string, ok bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

func hasUnprefixed(el *etree.Element) bool {
	if el.Space == "" {
		return true
	}
	for _, c := range el.ChildElements() {
		if hasUnprefixed(c) {
			return true
		}
	}
	return false
}

// newLike makes an element named local in like's namespace, with the prefix
// like uses for it (etree resolves it once the element is in like's tree).
func newLike(like *etree.Element, local string) *etree.Element {
	tag := local
	if like.Space != "" {
		tag = like.Space + ":" + local
	}
	return etree.NewElement(tag)
}

// qname is an element's expanded name.
type qname struct{ ns, local string }

// The names insertAfter places elements after.
var (
	issuerName     = qname{nsAssertion, "Issuer"}
	signatureName  = qname{nsDSig, "Signature"}
	subjectName    = qname{nsAssertion, "Subject"}
	extensionsName = qname{nsProtocol, "Extensions"}
)

// insertAfter inserts el into parent right after the last child element
// that has one of the names before (those the schema puts before el), or
// first if there is none.
func insertAfter(parent, el *etree.Element, before ...qname) {
	at := 0
	for _, c := range parent.ChildElements() {
		for _, b := range before {
			if is(c, b.ns, b.local) {
				at = c.Index() + 1
			}
		}
	}
	parent.InsertChildAt(at, el)
}

// replace puts repl where old is in old's parent, and takes old out.
func replace(old, repl *etree.Element) {
	parent := old.Parent()
	parent.InsertChildAt(old.Index(), repl)
	parent.RemoveChild(old)
}
