package samlattack

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// Exclusive XML Canonicalization 1.0 without comments
// (http://www.w3.org/2001/10/xml-exc-c14n#) with an empty InclusiveNamespaces
// PrefixList: what the signatures ResignedWithKey makes digest and sign.
//
// Each element is written as a start and an end tag, its namespace
// declarations first (the default namespace, then by prefix), then its
// attributes (by namespace URI, then local name; unqualified ones first). An
// element declares only the namespaces it visibly uses (its own prefix and
// its attributes'), and only where the nearest output ancestor has not
// already declared the same. Comments are dropped; text and attribute values
// are escaped as the recommendation says.

// canonical returns the exclusive canonical form of el as it stands in its
// document (namespaces declared on its ancestors are in scope), without skip
// and its subtree (the enveloped-signature transform), if skip is not nil.
func canonical(el, skip *etree.Element) ([]byte, error) {
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	scope := map[string]string{}
	for i := len(chain) - 1; i >= 0; i-- {
		declareInto(scope, chain[i])
	}
	var b bytes.Buffer
	if err := canonicalElement(&b, el, skip, scope, map[string]string{}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// declareInto records el's namespace declarations in scope.
func declareInto(scope map[string]string, el *etree.Element) {
	for _, a := range el.Attr {
		if prefix, ok := nsDecl(a); ok {
			scope[prefix] = a.Value
		}
	}
}

type c14nAttr struct {
	uri, local, name, value string
}

func canonicalElement(b *bytes.Buffer, el, skip *etree.Element, parentScope, parentRendered map[string]string) error {
	scope := maps.Clone(parentScope)
	declareInto(scope, el)

	used := []string{el.Space}
	var attrs []c14nAttr
	for _, a := range el.Attr {
		if _, ok := nsDecl(a); ok {
			continue
		}
		uri := ""
		switch a.Space {
		case "":
		case "xml":
			uri = nsXML
		default:
			var ok bool
			if uri, ok = scope[a.Space]; !ok {
				return fmt.Errorf("samlattack: canonicalize: undeclared prefix %q", a.Space)
			}
			used = append(used, a.Space)
		}
		attrs = append(attrs, c14nAttr{uri, a.Key, a.FullKey(), a.Value})
	}

	rendered := maps.Clone(parentRendered)
	var decls []string
	slices.Sort(used)
	for _, prefix := range slices.Compact(used) {
		uri, ok := scope[prefix]
		if prefix != "" && !ok {
			return fmt.Errorf("samlattack: canonicalize: undeclared prefix %q", prefix)
		}
		if prev, ok := rendered[prefix]; prev == uri && (ok || prefix == "") {
			continue // the nearest output ancestor declared the same
		}
		rendered[prefix] = uri
		decls = append(decls, prefix)
	}
	slices.SortFunc(attrs, func(x, y c14nAttr) int {
		return cmp.Or(strings.Compare(x.uri, y.uri), strings.Compare(x.local, y.local))
	})

	name := el.FullTag()
	b.WriteString("<" + name)
	for _, prefix := range decls { // sorted, the default ("") first
		if prefix == "" {
			b.WriteString(` xmlns="`)
		} else {
			b.WriteString(" xmlns:" + prefix + `="`)
		}
		b.WriteString(escapeAttr(rendered[prefix]) + `"`)
	}
	for _, a := range attrs {
		b.WriteString(" " + a.name + `="` + escapeAttr(a.value) + `"`)
	}
	b.WriteString(">")
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if t == skip {
				continue
			}
			if err := canonicalElement(b, t, skip, scope, rendered); err != nil {
				return err
			}
		case *etree.CharData:
			b.WriteString(escapeText(t.Data))
		case *etree.ProcInst:
			b.WriteString("<?" + t.Target)
			if t.Inst != "" {
				b.WriteString(" " + t.Inst)
			}
			b.WriteString("?>")
		}
		// Comments are dropped; a Directive cannot be inside an element.
	}
	b.WriteString("</" + name + ">")
	return nil
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)

func escapeText(s string) string { return textEscaper.Replace(s) }
func escapeAttr(s string) string { return attrEscaper.Replace(s) }
