package samlattack_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/saml/internal/samlattack"
)

var evil = samlattack.Attacker{Email: attacker, NameID: attackerName}

// TestGenuine pins the test's own IdP and naive SP: a genuine Response
// verifies (naively and strictly) and every reader reads the victim.
func TestGenuine(t *testing.T) {
	t.Parallel()
	kp := keys(t, idpKeys)
	for _, sh := range allShapes {
		for _, mode := range allModes {
			t.Run(fmt.Sprintf("%v/%v", sh, mode), func(t *testing.T) {
				t.Parallel()
				doc := genuine(t, victim, mode, sh)
				for _, r := range readers {
					id, err := r.read(doc)
					if err != nil || id != (identity{victim, victim}) {
						t.Errorf("reader %s: %+v, %v", r.name, id, err)
					}
				}
				if _, err := naiveVerify(doc, kp.cert); err != nil {
					t.Errorf("naiveVerify: %v", err)
				}
				if id, err := strictRead(doc, kp.cert); err != nil || id != (identity{victim, victim}) {
					t.Errorf("strictRead: %+v, %v", id, err)
				}
			})
		}
	}
}

type wrapping struct {
	name  string
	make  func([]byte, samlattack.Attacker) ([]byte, error)
	needs samlattack.Needs
	// live names the naive readers that read the attacker.
	live []string
	// dead: no signature in the document verifies any more.
	dead bool
}

// wrappings are the variants that move or swap signed elements, and what
// each does to the naive SP.
var wrappings = []wrapping{
	{"XSW1", samlattack.XSW1, samlattack.NeedsSignedResponse, []string{"root", "last"}, false},
	{"XSW2", samlattack.XSW2, samlattack.NeedsSignedResponse, []string{"root", "last"}, false},
	{"XSW3", samlattack.XSW3, samlattack.NeedsSignedAssertion, []string{"first", "root"}, false},
	{"XSW4", samlattack.XSW4, samlattack.NeedsSignedAssertion, []string{"first", "root", "last"}, false},
	{"XSW5", samlattack.XSW5, samlattack.NeedsSignedAssertion, []string{"first", "root"}, false},
	{"XSW6", samlattack.XSW6, samlattack.NeedsSignedAssertion, []string{"first", "root", "last"}, false},
	{"XSW7", samlattack.XSW7, samlattack.NeedsSignedAssertion, []string{"first"}, false},
	{"XSW8", samlattack.XSW8, samlattack.NeedsSignedAssertion, []string{"first", "root", "last"}, false},
	{"UnsignedAssertionInSignedResponse", samlattack.UnsignedAssertionInSignedResponse, samlattack.NeedsSignedAssertion, []string{"root", "last"}, false},
	{"ReplacedAssertionInSignedResponse", samlattack.ReplacedAssertionInSignedResponse, samlattack.NeedsSignedResponse, []string{"first", "root", "last"}, true},
	{"SecondAssertion", samlattack.SecondAssertion, samlattack.NeedsSignedAssertion, []string{"last"}, false},
}

func fits(needs samlattack.Needs, mode signMode) bool {
	switch needs {
	case samlattack.NeedsSignedResponse:
		return mode != signAssertion
	case samlattack.NeedsSignedAssertion:
		return mode != signResponse
	}
	return true
}

// TestWrappingLive shows each wrapping variant live against the naive SP,
// for every input it fits: (a) the readers it is meant for read the
// attacker's identity; (b) a signature in the document still verifies with
// the IdP's certificate (the document is not merely broken); (c) what
// goxmldsig says that signature covers is the victim's genuine element; and
// (d) an SP that reads only what it verified never reads the attacker.
func TestWrappingLive(t *testing.T) {
	t.Parallel()
	kp := keys(t, idpKeys)
	for _, w := range wrappings {
		for _, sh := range allShapes {
			for _, mode := range allModes {
				if !fits(w.needs, mode) {
					continue
				}
				t.Run(fmt.Sprintf("%s/%v/%v", w.name, sh, mode), func(t *testing.T) {
					t.Parallel()
					doc, err := w.make(genuine(t, victim, mode, sh), evil)
					if err != nil {
						t.Fatal(err)
					}
					var live []string
					for _, r := range readers {
						id, err := r.read(doc)
						if err != nil {
							t.Fatalf("reader %s: %v\n%s", r.name, err, doc)
						}
						switch id {
						case identity{attackerName, attacker}:
							live = append(live, r.name)
						case identity{victim, victim}:
						default:
							t.Errorf("reader %s read a mix: %+v", r.name, id)
						}
					}
					if !slices.Equal(live, w.live) {
						t.Errorf("(a) the attacker is read by %v, want %v\n%s", live, w.live, doc)
					}

					covered, err := naiveVerify(doc, kp.cert)
					if w.dead {
						if err == nil {
							t.Errorf("(b) a signature still verifies")
						}
					} else {
						if err != nil {
							t.Fatalf("(b) no signature verifies: %v\n%s", err, doc)
						}
						got := identities(covered)
						if len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return s != victim }) {
							t.Errorf("(c) the signature covers %v, want only %s", got, victim)
						}
					}

					if id, err := strictRead(doc, kp.cert); err == nil && id != (identity{victim, victim}) {
						t.Errorf("(d) a strict SP read %+v", id)
					}
				})
			}
		}
	}
}

// TestWrappingNeeds: a variant whose signature the input lacks refuses,
// rather than make a document that would test nothing.
func TestWrappingNeeds(t *testing.T) {
	t.Parallel()
	for _, w := range wrappings {
		for _, mode := range allModes {
			if fits(w.needs, mode) {
				continue
			}
			t.Run(fmt.Sprintf("%s/%v", w.name, mode), func(t *testing.T) {
				t.Parallel()
				want := samlattack.ErrResponseNotSigned
				if w.needs == samlattack.NeedsSignedAssertion {
					want = samlattack.ErrAssertionNotSigned
				}
				doc, err := w.make(genuine(t, victim, mode, prefixed), evil)
				if !errors.Is(err, want) || doc != nil {
					t.Errorf("got %d bytes, %v; want %v", len(doc), err, want)
				}
			})
		}
	}
}

func TestAll(t *testing.T) {
	t.Parallel()
	names := func(vs []samlattack.Variant) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	xswA := []string{"XSW3", "XSW4", "XSW5", "XSW6", "XSW7", "XSW8"}
	tests := []struct {
		name  string
		email string
		mode  signMode
		want  []string
	}{
		{"assertion", victim, signAssertion, slices.Concat(xswA, []string{"UnsignedAssertionInSignedResponse", "SecondAssertion", "BillionLaughs", "ExternalEntity"})},
		{"response", victim, signResponse, []string{"XSW1", "XSW2", "ReplacedAssertionInSignedResponse", "BillionLaughs", "ExternalEntity"}},
		{"both", victim, signBoth, slices.Concat([]string{"XSW1", "XSW2"}, xswA, []string{"UnsignedAssertionInSignedResponse", "ReplacedAssertionInSignedResponse", "SecondAssertion", "BillionLaughs", "ExternalEntity"})},
		{"comments", extended, signAssertion, slices.Concat(xswA, []string{"UnsignedAssertionInSignedResponse", "SecondAssertion", "CommentInNameID", "CommentInEmail", "BillionLaughs", "ExternalEntity"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vs, err := samlattack.All(genuine(t, tt.email, tt.mode, prefixed), samlattack.Attacker{Email: victim})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(vs); !slices.Equal(got, tt.want) {
				t.Errorf("All: %v\nwant %v", got, tt.want)
			}
			for _, v := range vs {
				if len(v.Doc) == 0 || v.Needs == "" {
					t.Errorf("%s: %d bytes, needs %q", v.Name, len(v.Doc), v.Needs)
				}
			}
			xsw, err := samlattack.XSW(genuine(t, tt.email, tt.mode, prefixed), samlattack.Attacker{Email: victim})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, n := range tt.want {
				if len(n) == 4 && n[:3] == "XSW" {
					want = append(want, n)
				}
			}
			if got := names(xsw); !slices.Equal(got, want) {
				t.Errorf("XSW: %v, want %v", got, want)
			}
		})
	}
}

func TestAllRefuses(t *testing.T) {
	t.Parallel()
	unsigned := []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a"/></samlp:Response>`)
	tests := []struct {
		name string
		doc  []byte
		want error
	}{
		{"unsigned", unsigned, samlattack.ErrAssertionNotSigned},
		{"not XML", []byte("<samlp:Response"), samlattack.ErrNotResponse},
		{"not a Response", []byte(`<AuthnRequest xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>`), samlattack.ErrNotResponse},
		{"no Assertion", []byte(`<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>`), samlattack.ErrNoAssertion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if vs, err := samlattack.All(tt.doc, evil); !errors.Is(err, tt.want) {
				t.Errorf("All: %d variants, %v; want %v", len(vs), err, tt.want)
			}
		})
	}
}
