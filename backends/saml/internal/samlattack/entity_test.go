package samlattack_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/saml/internal/samlattack"
)

// tokens reads doc with encoding/xml as a naive SP does, and returns the
// DOCTYPE it passed (encoding/xml hands it over as a Directive, no error)
// and the error that stopped it, if any.
func tokens(doc []byte, strict bool) (doctype string, err error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = strict
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return doctype, nil
		}
		if err != nil {
			return doctype, err
		}
		if dir, ok := tok.(xml.Directive); ok && strings.HasPrefix(string(dir), "DOCTYPE") {
			doctype = string(dir)
		}
	}
}

// TestEntities: the entity documents carry their DOCTYPE before the
// genuine Response, and reference the entity from the NameID. Go's
// encoding/xml accepts the DOCTYPE without a word, expands nothing, and
// stops at the reference in strict mode (passes it through otherwise): an
// SP must refuse the Directive itself, before a parser that honours DTDs
// sees it.
func TestEntities(t *testing.T) {
	t.Parallel()
	in := genuine(t, victim, signBoth, prefixed)
	laughs, err := samlattack.BillionLaughs(in)
	if err != nil {
		t.Fatal(err)
	}
	xxe, err := samlattack.ExternalEntity(in, "")
	if err != nil {
		t.Fatal(err)
	}
	local, err := samlattack.ExternalEntity(in, "http://127.0.0.1:9/xxe")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		doc      []byte
		contains []string
		ref      string
	}{
		{"BillionLaughs", laughs, []string{`<!ENTITY lol "lol">`, `<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">`}, "&lol9;"},
		{"ExternalEntity", xxe, []string{`<!ENTITY xxe SYSTEM "file:///etc/passwd">`}, "&xxe;"},
		{"ExternalEntity/url", local, []string{`<!ENTITY xxe SYSTEM "http://127.0.0.1:9/xxe">`}, "&xxe;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range append(tt.contains, "<!DOCTYPE samlp:Response [", victim+tt.ref+"</saml:NameID>") {
				if !bytes.Contains(tt.doc, []byte(s)) {
					t.Errorf("no %q in\n%.600s", s, tt.doc)
				}
			}
			if i, j := bytes.Index(tt.doc, []byte("<!DOCTYPE")), bytes.Index(tt.doc, []byte("<samlp:Response")); i < 0 || i > j {
				t.Errorf("the DOCTYPE is not before the root")
			}
			doctype, err := tokens(tt.doc, true)
			if !strings.Contains(doctype, "<!ENTITY") {
				t.Errorf("encoding/xml did not hand over the DOCTYPE: %q", doctype)
			}
			if err == nil || !strings.Contains(err.Error(), tt.ref) {
				t.Errorf("strict encoding/xml: %v, want a stop at %s", err, tt.ref)
			}
			if _, err := tokens(tt.doc, false); err != nil {
				t.Errorf("lax encoding/xml: %v", err)
			}
			if id, err := readFirst(tt.doc); err == nil {
				t.Errorf("readFirst read %+v past an undefined entity", id)
			}
		})
	}
	if _, err := samlattack.ExternalEntity(in, `x" y`); err == nil {
		t.Errorf("ExternalEntity took a quote in the system ID")
	}
}

// TestOversized: the padded document is exactly the size asked for, and
// still the genuine, verifying Response.
func TestOversized(t *testing.T) {
	t.Parallel()
	kp := keys(t, idpKeys)
	in := genuine(t, victim, signBoth, prefixed)
	for _, size := range []int{len(in) + 200, 1 << 20, 1<<20 + 1} {
		doc, err := samlattack.Oversized(in, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(doc) != size {
			t.Errorf("Oversized(%d): %d bytes", size, len(doc))
		}
		if id, err := strictRead(doc, kp.cert); err != nil || id != (identity{victim, victim}) {
			t.Errorf("Oversized(%d): strictRead %+v, %v", size, id, err)
		}
	}
	if _, err := samlattack.Oversized(in, 10); !errors.Is(err, samlattack.ErrTooSmall) {
		t.Errorf("Oversized(10): %v, want ErrTooSmall", err)
	}
}
