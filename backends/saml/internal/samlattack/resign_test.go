package samlattack_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/beevik/etree"
	"github.com/zulipauth/zulipauth-go/backends/saml/internal/samlattack"
)

// TestResignedWithKey: the forged Response signed with the attacker's key
// verifies with goxmldsig against the attacker's certificate (so the
// signatures are well made), not against the IdP's; and an SP that trusts
// the certificate in KeyInfo reads the attacker's identity.
func TestResignedWithKey(t *testing.T) {
	t.Parallel()
	idp, evilKeys := keys(t, idpKeys), keys(t, attackerKeys)
	for _, sh := range allShapes {
		for _, mode := range allModes {
			t.Run(fmt.Sprintf("%v/%v", sh, mode), func(t *testing.T) {
				t.Parallel()
				forged, err := samlattack.SetIdentity(genuine(t, victim, mode, sh), evil)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := samlattack.ResignedWithKey(forged, evilKeys.key, evilKeys.cert)
				if err != nil {
					t.Fatal(err)
				}

				d := etree.NewDocument()
				if err := d.ReadFromBytes(doc); err != nil {
					t.Fatal(err)
				}
				root := d.Root()
				assertion := root.SelectElement("Assertion")
				if _, err := validate(evilKeys.cert, assertion); err != nil {
					t.Errorf("the Assertion's signature does not verify with the attacker's certificate: %v\n%s", err, doc)
				}
				_, err = validate(evilKeys.cert, root)
				if signed := mode != signAssertion; signed != (err == nil) {
					t.Errorf("Response signed %v, its signature verifies: %v", signed, err)
				}
				if id, err := strictRead(doc, evilKeys.cert); err != nil || id != (identity{attackerName, attacker}) {
					t.Errorf("strictRead with the attacker's certificate: %+v, %v", id, err)
				}

				if _, err := naiveVerify(doc, idp.cert); err == nil {
					t.Errorf("a signature verifies with the IdP's certificate")
				}
				if _, err := strictRead(doc, idp.cert); err == nil {
					t.Errorf("strictRead with the IdP's certificate accepted the forgery")
				}

				trusted, err := keyInfoCert(doc)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := naiveVerify(doc, trusted); err != nil {
					t.Errorf("the KeyInfo-trusting SP refused: %v", err)
				}
				for _, r := range readers {
					if id, err := r.read(doc); err != nil || id != (identity{attackerName, attacker}) {
						t.Errorf("reader %s: %+v, %v", r.name, id, err)
					}
				}
			})
		}
	}
}

// TestResignedWithKeyAfterWrapping: signing again works on a document
// this package rearranged (every Assertion child of the Response signed).
func TestResignedWithKeyAfterWrapping(t *testing.T) {
	t.Parallel()
	evilKeys := keys(t, attackerKeys)
	for _, w := range wrappings {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			doc, err := w.make(genuine(t, victim, signBoth, defaults), evil)
			if err != nil {
				t.Fatal(err)
			}
			doc, err = samlattack.ResignedWithKey(doc, evilKeys.key, evilKeys.cert)
			if err != nil {
				t.Fatal(err)
			}
			d := etree.NewDocument()
			if err := d.ReadFromBytes(doc); err != nil {
				t.Fatal(err)
			}
			for _, as := range d.Root().SelectElements("Assertion") {
				if _, err := validate(evilKeys.cert, as); err != nil {
					t.Errorf("%s: %v", as.SelectAttrValue("ID", ""), err)
				}
			}
		})
	}
}

func TestResignedWithKeyRefuses(t *testing.T) {
	t.Parallel()
	idp, evilKeys := keys(t, idpKeys), keys(t, attackerKeys)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	doc := genuine(t, victim, signAssertion, prefixed)
	if _, err := samlattack.ResignedWithKey(doc, ec, nil); !errors.Is(err, samlattack.ErrKey) {
		t.Errorf("ECDSA key: %v, want ErrKey", err)
	}
	if _, err := samlattack.ResignedWithKey(doc, evilKeys.key, idp.cert); !errors.Is(err, samlattack.ErrKey) {
		t.Errorf("another key's certificate: %v, want ErrKey", err)
	}
	if _, err := samlattack.ResignedWithKey(doc, nil, nil); !errors.Is(err, samlattack.ErrKey) {
		t.Errorf("no key: %v, want ErrKey", err)
	}
	if _, err := samlattack.ResignedWithKey(doc, evilKeys.key, nil); err != nil {
		t.Errorf("no certificate: %v", err)
	}
}
