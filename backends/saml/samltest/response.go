package samltest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// ResponseXML returns the decoded SAMLResponse of r, a request that Login
// returned (or any POST of a SAMLResponse form): the IdP's Response, as it
// signed it. It reads r's body and puts it back, so r can still be sent.
func ResponseXML(r *http.Request) ([]byte, error) {
	form, err := readForm(r)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	if err != nil || len(raw) == 0 {
		return nil, errors.New("samltest: the request has no base64 SAMLResponse")
	}
	return raw, nil
}

// WithResponse returns a copy of r, a request that Login returned, whose
// SAMLResponse is responseXML (base64-encoded), and whose other fields
// (RelayState) are r's. It reads r's body and puts it back.
func WithResponse(r *http.Request, responseXML []byte) (*http.Request, error) {
	form, err := readForm(r)
	if err != nil {
		return nil, err
	}
	form.Set("SAMLResponse", base64.StdEncoding.EncodeToString(responseXML))
	return postForm(r.Context(), r.URL.String(), form)
}

// NewAnswer returns the request a browser sends to the assertion consumer
// service acsURL with the HTTP-POST binding: SAMLResponse (responseXML,
// base64-encoded) and, when it is not "", RelayState.
func NewAnswer(ctx context.Context, acsURL string, responseXML []byte, relayState string) (*http.Request, error) {
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(responseXML)}}
	if relayState != "" {
		form.Set("RelayState", relayState)
	}
	return postForm(ctx, acsURL, form)
}

// readForm parses the urlencoded body of r, and puts the body back; a
// form parsed already (by a service provider's Finish) is r.PostForm.
func readForm(r *http.Request) (url.Values, error) {
	if r.PostForm != nil {
		form := url.Values{}
		for k, v := range r.PostForm {
			form[k] = append([]string(nil), v...)
		}
		return form, nil
	}
	if r.Body == nil {
		return nil, errors.New("samltest: the request has no body")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("samltest: %w", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("samltest: the request's body is not a form: %w", err)
	}
	return form, nil
}

// Resign signs again, with the IdP's key, the Response responseXML (one the
// IdP made, changed by a test): each Assertion that is a child of the
// Response, then the Response, each replacing its old signature, as the IdP
// signs them (enveloped, exclusive canonicalization, rsa-sha256, the
// signature after the Issuer). The answer a test makes so is signed as the
// IdP would sign it, and the service provider must refuse it for what the
// test changed, not for its signature. An EncryptedAssertion is left as
// it is.
func (i *IdP) Resign(responseXML []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(responseXML); err != nil || doc.Root() == nil {
		return nil, fmt.Errorf("samltest: Resign: the Response is not XML: %v", err)
	}
	root := doc.Root()
	for _, a := range root.ChildElements() {
		if a.Tag != "Assertion" {
			continue
		}
		signed, err := i.Sign(a)
		if err != nil {
			return nil, err
		}
		root.InsertChildAt(a.Index(), signed)
		root.RemoveChild(a)
	}
	signed, err := i.Sign(root)
	if err != nil {
		return nil, err
	}
	doc.SetRoot(signed)
	return doc.WriteToBytes()
}

// Sign returns a copy of el (a Response or an Assertion, which need not be
// the root of its document) signed with the IdP's key as Resign signs it:
// el's own signature, if it has one, removed, and the new one inserted
// after its Issuer. The copy declares the namespaces el uses, so it can
// take el's place in its document.
func (i *IdP) Sign(el *etree.Element) (*etree.Element, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, fmt.Errorf("samltest: Sign: %w", err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, fmt.Errorf("samltest: Sign: %w", err)
	}
	for _, c := range detached.ChildElements() {
		if c.Tag == "Signature" {
			detached.RemoveChild(c)
		}
	}
	sc, err := dsig.NewSigningContext(i.Key, [][]byte{i.Certificate.Raw})
	if err != nil {
		return nil, fmt.Errorf("samltest: Sign: %w", err)
	}
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := sc.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, fmt.Errorf("samltest: Sign: %w", err)
	}
	signed, err := sc.SignEnveloped(detached)
	if err != nil {
		return nil, fmt.Errorf("samltest: Sign: %w", err)
	}
	// SignEnveloped appends the signature; SAML's schema puts it after
	// the Issuer, where the enveloped transform removes it from the
	// digest all the same.
	sig := signed.Child[len(signed.Child)-1]
	signed.Child = signed.Child[:len(signed.Child)-1]
	at := 0
	for j, c := range signed.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			at = j + 1
			break
		}
	}
	signed.InsertChildAt(at, sig)
	return signed, nil
}
