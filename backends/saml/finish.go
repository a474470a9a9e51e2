package saml

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"

	"github.com/zulipauth/zulipauth-go/backends/internal/logtext"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Finish checks the IdP's answer, r, to the flow f, and returns the
// identity it proves. The answer is a form posted with the HTTP-POST
// binding; its SAMLResponse must be, in this order:
//
//   - at most Config.MaxResponseBytes once decoded from base64, an XML
//     document (not deflated) without a DOCTYPE, that survives
//     encoding/xml's round trip unchanged, at most 48 elements deep;
//   - a Response whose Issuer is the IdP's entity ID, and whose status is
//     Success: any other status (Responder with AuthnFailed, Requester
//     with RequestDenied, ...) is zulipauth.ErrSSODenied, wrapped with the
//     status codes and message;
//   - with exactly one assertion, Assertion or EncryptedAssertion (which
//     the service provider's RSA key decrypts, unless its key is
//     transported with RSA PKCS #1 v1.5, which is refused);
//   - signed, the Response or the Assertion (or both, each verifying), by
//     a certificate of the IdP's metadata; from here on only what the
//     signature covers is read, as gosaml2 returns it;
//   - its Response's Destination, when present, and its bearer
//     SubjectConfirmationData's Recipient are f.CallbackURL; its Issuers
//     the IdP's entity ID; its AudienceRestrictions (one at least) each
//     include the service provider's entity ID;
//   - current: the SubjectConfirmationData's and the Conditions'
//     NotOnOrAfter (both required) not more than a minute past, the
//     Conditions' NotBefore not more than a minute ahead;
//   - in answer to f's AuthnRequest: the SubjectConfirmationData's
//     InResponseTo is f.ProviderState (or, without one, that of a signed
//     Response), and so is the Response's, when present. For an
//     unsolicited flow (f.Token is ""), allowed only by
//     Config.AllowUnsolicited, neither has one.
//
// Every other refusal is zulipauth.ErrSSOInvalid, wrapped with the reason,
// which never holds the XML nor the assertion, and quotes values escaped
// and cut short. Finish makes no request, so it has no faults but ctx's
// error.
//
// The identity's Email is the attribute Config.EmailAttribute or the NameID
// (see the package comment), which must be an email address (else
// ErrSSOInvalid); EmailVerified is always true, as Zulip trusts the IdP's
// email; Name is the values of Config.NameAttributes joined by a space;
// Subject is the NameID. AnswerID is the IdP's entity ID, a space and the
// assertion's ID, and AnswerExpires the earlier of its two NotOnOrAfter
// plus the minute of leeway: the core accepts the assertion once, on every
// instance, until then.
func (p *Provider) Finish(ctx context.Context, r *http.Request, f zulipauth.SSOFlow) (zulipauth.Identity, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.Identity{}, err
	}
	if f.Token == "" && !p.allowUnsolicited {
		return zulipauth.Identity{}, invalid("an unsolicited answer (an IdP-initiated login), which Config.AllowUnsolicited does not allow")
	}
	if err := p.parseForm(r); err != nil {
		return zulipauth.Identity{}, invalid(err.Error())
	}
	raw, err := p.decode(r.PostForm.Get("SAMLResponse"))
	if err != nil {
		return zulipauth.Identity{}, invalid(err.Error())
	}
	if err := p.precheck(raw); err != nil {
		return zulipauth.Identity{}, err
	}
	now := p.now()
	// gosaml2's clock is a minute behind, so that its own checks of
	// NotOnOrAfter (and of the certificates' validity) have the leeway;
	// the times are checked again below, at now, leeway on both sides.
	sp, err := p.serviceProvider(f.CallbackURL, now.Add(-leeway))
	if err != nil {
		return zulipauth.Identity{}, err
	}
	resp, err := sp.ValidateEncodedResponse(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		return zulipauth.Identity{}, invalid(validationReason(err))
	}
	a, expires, err := p.check(resp, f, now)
	if err != nil {
		return zulipauth.Identity{}, err
	}
	id, err := p.identity(a)
	if err != nil {
		return zulipauth.Identity{}, err
	}
	id.AnswerID = p.idp.entityID + " " + a.ID
	id.AnswerExpires = expires
	p.logger.DebugContext(ctx, "saml: identity verified", "provider", p.info.Name, "entity_id", p.idp.entityID,
		"assertion_id", a.ID, "subject", id.Subject, "email", id.Email, "unsolicited", f.Token == "")
	return id, nil
}

// invalid is ErrSSOInvalid with a reason.
func invalid(reason string) error {
	return fmt.Errorf("saml: %s: %w", reason, zulipauth.ErrSSOInvalid)
}

// Bounds of the answer's shape: a SAML Response is about a dozen elements
// deep, and gosaml2 refuses more than 50,000 tokens (three per element).
const (
	maxDepth    = 48
	maxElements = 16000
)

// Names of SAML's status codes and algorithms that Finish reads.
const (
	statusPrefix   = "urn:oasis:names:tc:SAML:2.0:status:"
	statusSuccess  = statusPrefix + "Success"
	keyTransportV1 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
)

// precheck checks the shape of the answer raw before any signature is
// verified: safe XML within the bounds, a Response from the IdP, its
// status (a refusal is ErrSSODenied), and exactly one assertion. What it
// reads is not trusted further: Finish reads the identity only from what
// gosaml2 verified.
func (p *Provider) precheck(raw []byte) error {
	if err := shape(raw); err != nil {
		return invalid(err.Error())
	}
	if err := safeXML(raw); err != nil {
		return invalid("the SAMLResponse: " + err.Error())
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return invalid("the SAMLResponse is not XML")
	}
	root := doc.Root()
	if root.Tag != "Response" || root.NamespaceURI() != nsProtocol {
		return invalid(fmt.Sprintf("the SAMLResponse is a %s, not a SAML protocol Response", logtext.Excerpt(root.Tag, 40)))
	}
	issuer := child(root, nsAssertion, "Issuer")
	switch {
	case issuer == nil:
		return invalid("the response has no Issuer")
	case strings.TrimSpace(issuer.Text()) != p.idp.entityID:
		return invalid(fmt.Sprintf("the response's Issuer %s is not the IdP's entity ID %s", logtext.Excerpt(strings.TrimSpace(issuer.Text()), 120), logtext.Excerpt(p.idp.entityID, 120)))
	}
	if err := status(root); err != nil {
		return err
	}
	assertions, encrypted := 0, 0
	var insecure bool
	walk(root, func(e *etree.Element) {
		switch e.Tag {
		case "Assertion", "EncryptedAssertion":
			if e.NamespaceURI() == nsAssertion {
				assertions++
				if e.Tag == "EncryptedAssertion" {
					encrypted++
				}
			}
		case "EncryptionMethod":
			insecure = insecure || e.SelectAttrValue("Algorithm", "") == keyTransportV1
		}
	})
	switch {
	case assertions != 1 && !p.uncounted:
		return invalid(fmt.Sprintf("the response has %d assertions, want exactly one", assertions))
	case encrypted > 0 && insecure:
		return invalid("the assertion's key is encrypted with RSA PKCS #1 v1.5, which is refused (padding oracles); have the IdP use RSA-OAEP")
	case encrypted > 0:
		if _, ok := p.sp.Key.(*rsa.PrivateKey); !ok {
			return invalid("the assertion is encrypted, and the service provider has no RSA key to decrypt it")
		}
	}
	return nil
}

// shape checks that raw, an XML document, has at most maxElements
// elements nested at most maxDepth deep: the cost of everything after
// (round trip, tree, canonicalization) grows with both.
func shape(raw []byte) error {
	d := xml.NewDecoder(bytes.NewReader(raw))
	depth, elements := 0, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errors.New("the SAMLResponse is not XML")
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			elements++
			if depth > maxDepth {
				return fmt.Errorf("the SAMLResponse nests elements more than %d deep", maxDepth)
			}
			if elements > maxElements {
				return fmt.Errorf("the SAMLResponse has more than %d elements", maxElements)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// status returns nil for a Response whose status is Success, and
// ErrSSODenied, wrapped with the codes (top-level first) and the message,
// for any other.
func status(root *etree.Element) error {
	st := child(root, nsProtocol, "Status")
	if st == nil {
		return invalid("the response has no Status")
	}
	var codes []string
	for c := child(st, nsProtocol, "StatusCode"); c != nil && len(codes) < 4; c = child(c, nsProtocol, "StatusCode") {
		codes = append(codes, c.SelectAttrValue("Value", ""))
	}
	if len(codes) == 0 {
		return invalid("the response's Status has no StatusCode")
	}
	if codes[0] == statusSuccess {
		return nil
	}
	for i, c := range codes {
		codes[i] = statusName(c)
	}
	msg := "saml: the IdP refused the login: status " + strings.Join(codes, "/")
	if m := child(st, nsProtocol, "StatusMessage"); m != nil && strings.TrimSpace(m.Text()) != "" {
		msg += " (" + logtext.Excerpt(strings.TrimSpace(m.Text()), 200) + ")"
	}
	return fmt.Errorf("%s: %w", msg, zulipauth.ErrSSODenied)
}

// statusName is a status code as an error names it: SAML's without their
// prefix ("Responder", "AuthnFailed"), any other quoted and cut short.
func statusName(code string) string {
	name := strings.TrimPrefix(code, statusPrefix)
	if name == "" || len(name) > 40 || len(name) == len(code) {
		return logtext.Excerpt(code, 80)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return logtext.Excerpt(code, 80)
		}
	}
	return name
}

// child is e's first child element space:tag (a namespace URI and a local
// name), or nil.
func child(e *etree.Element, space, tag string) *etree.Element {
	for _, c := range e.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == space {
			return c
		}
	}
	return nil
}

// walk calls fn for e and every element below it, in document order.
func walk(e *etree.Element, fn func(*etree.Element)) {
	stack := []*etree.Element{e}
	for len(stack) > 0 {
		e, stack = stack[len(stack)-1], stack[:len(stack)-1]
		fn(e)
		kids := e.ChildElements()
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
}

// validationReason is the reason of gosaml2's refusal err, in words that
// quote the answer's values escaped and cut short.
func validationReason(err error) string {
	var iv saml2.ErrInvalidValue
	if errors.As(err, &iv) {
		actual := logtext.Excerpt(iv.Actual, 120)
		switch iv.Key {
		case saml2.DestinationAttr:
			return fmt.Sprintf("the response's Destination %s is not the flow's callback URL %s", actual, logtext.Excerpt(iv.Expected, 120))
		case saml2.RecipientAttr:
			return fmt.Sprintf("the assertion's Recipient %s is not the flow's callback URL %s", actual, logtext.Excerpt(iv.Expected, 120))
		case saml2.IssuerTag:
			return fmt.Sprintf("the assertion's Issuer %s is not the IdP's entity ID %s", actual, logtext.Excerpt(iv.Expected, 120))
		case saml2.NotOnOrAfterAttr:
			return fmt.Sprintf("the assertion expired: its subject confirmation's NotOnOrAfter is %s, more than a minute ago", actual)
		case saml2.StatusCodeTag:
			return fmt.Sprintf("the response's status is %s, not Success", actual)
		case saml2.SubjectConfirmationTag:
			return fmt.Sprintf("the assertion's subject confirmation method is %s, not bearer", actual)
		}
		return fmt.Sprintf("the response's %s is %s, want %s", logtext.Excerpt(iv.Key, 40), actual, logtext.Excerpt(iv.Expected, 120))
	}
	var me saml2.ErrMissingElement
	if errors.As(err, &me) {
		return "the response does not verify: " + logtext.Clean(me.Error(), 120)
	}
	return "the response does not verify: " + logtext.Clean(err.Error(), 200)
}

// check checks what gosaml2 verified of the response against f at now:
// one signed assertion, for this service provider and f's callback,
// current, in answer to f's request. It returns the assertion and when the
// core may forget it.
func (p *Provider) check(resp *types.Response, f zulipauth.SSOFlow, now time.Time) (*types.Assertion, time.Time, error) {
	var never time.Time
	if len(resp.Assertions) != 1 {
		return nil, never, invalid(fmt.Sprintf("the verified response has %d assertions, want exactly one", len(resp.Assertions)))
	}
	a := &resp.Assertions[0]
	switch {
	case !resp.SignatureValidated && !a.SignatureValidated:
		return nil, never, invalid("neither the response nor the assertion is signed")
	case a.ID == "":
		return nil, never, invalid("the assertion has no ID")
	case a.Issuer == nil || strings.TrimSpace(a.Issuer.Value) != p.idp.entityID:
		return nil, never, invalid("the assertion's Issuer is not the IdP's entity ID")
	case resp.Destination != "" && resp.Destination != f.CallbackURL:
		return nil, never, invalid(fmt.Sprintf("the response's Destination %s is not the flow's callback URL %s", logtext.Excerpt(resp.Destination, 120), logtext.Excerpt(f.CallbackURL, 120)))
	case a.Subject == nil || a.Subject.SubjectConfirmation == nil || a.Subject.SubjectConfirmation.SubjectConfirmationData == nil:
		return nil, never, invalid("the assertion has no subject confirmation")
	case a.Subject.SubjectConfirmation.Method != saml2.SubjMethodBearer:
		return nil, never, invalid("the assertion's subject confirmation is not bearer")
	case a.Conditions == nil:
		return nil, never, invalid("the assertion has no Conditions")
	}
	sc := a.Subject.SubjectConfirmation.SubjectConfirmationData
	if sc.Recipient != f.CallbackURL {
		return nil, never, invalid(fmt.Sprintf("the assertion's Recipient %s is not the flow's callback URL %s", logtext.Excerpt(sc.Recipient, 120), logtext.Excerpt(f.CallbackURL, 120)))
	}

	// Times.
	scEnd, err := parseTime("the subject confirmation's NotOnOrAfter", sc.NotOnOrAfter)
	if err != nil {
		return nil, never, err
	}
	end, err := parseTime("the Conditions' NotOnOrAfter", a.Conditions.NotOnOrAfter)
	if err != nil {
		return nil, never, err
	}
	if scEnd.Before(end) {
		end = scEnd
	}
	if !now.Before(end.Add(leeway)) {
		return nil, never, invalid(fmt.Sprintf("the assertion expired at %s, more than a minute ago", end.UTC().Format(time.RFC3339)))
	}
	if a.Conditions.NotBefore != "" {
		start, err := parseTime("the Conditions' NotBefore", a.Conditions.NotBefore)
		if err != nil {
			return nil, never, err
		}
		if now.Add(leeway).Before(start) {
			return nil, never, invalid(fmt.Sprintf("the assertion is valid only from %s, more than a minute from now", start.UTC().Format(time.RFC3339)))
		}
	}

	// Audience.
	if len(a.Conditions.AudienceRestrictions) == 0 {
		return nil, never, invalid("the assertion has no AudienceRestriction: it could be for any service provider")
	}
	for _, ar := range a.Conditions.AudienceRestrictions {
		ok := false
		for _, au := range ar.Audiences {
			ok = ok || strings.TrimSpace(au.Value) == p.sp.EntityID
		}
		if !ok {
			var got []string
			for _, au := range ar.Audiences {
				got = append(got, logtext.Excerpt(au.Value, 120))
			}
			return nil, never, invalid(fmt.Sprintf("the assertion's Audience (%s) is not this service provider (%s)", strings.Join(got, ", "), logtext.Excerpt(p.sp.EntityID, 120)))
		}
	}

	// The request it answers.
	if f.Token == "" {
		if sc.InResponseTo != "" || resp.InResponseTo != "" {
			return nil, never, invalid("an unsolicited answer names a request (InResponseTo), which this flow did not send")
		}
		return a, end.Add(leeway), nil
	}
	answers := sc.InResponseTo
	if answers == "" && resp.SignatureValidated {
		answers = resp.InResponseTo
	}
	switch {
	case f.ProviderState == "":
		return nil, never, invalid("the flow has no AuthnRequest ID to compare the answer's InResponseTo with")
	case answers == "":
		return nil, never, invalid("the answer names no request (no InResponseTo): an unsolicited answer to a flow that sent one")
	case answers != f.ProviderState || resp.InResponseTo != "" && resp.InResponseTo != f.ProviderState:
		return nil, never, invalid(fmt.Sprintf("the answer is to another request (InResponseTo %s)", logtext.Excerpt(answers, 80)))
	}
	return a, end.Add(leeway), nil
}

// parseTime parses an xs:dateTime of the assertion; what names it.
func parseTime(what, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, invalid("the assertion has no " + strings.TrimPrefix(what, "the "))
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, invalid(fmt.Sprintf("%s %s is not a time", what, logtext.Excerpt(s, 40)))
	}
	return t, nil
}

// identity is the person the assertion a names.
func (p *Provider) identity(a *types.Assertion) (zulipauth.Identity, error) {
	values := map[string][]string{}
	if a.AttributeStatement != nil {
		for _, at := range a.AttributeStatement.Attributes {
			for _, v := range at.Values {
				s := v.Value
				if v.NameID != nil {
					s = v.NameID.Value
				}
				if s = strings.TrimSpace(s); s != "" {
					values[at.Name] = append(values[at.Name], s)
				}
			}
		}
	}
	first := func(name string) string {
		if v := values[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var nameID, format string
	if a.Subject.NameID != nil {
		nameID, format = strings.TrimSpace(a.Subject.NameID.Value), a.Subject.NameID.Format
	}
	email := first(p.emailAttribute)
	if email == "" && nameID != "" && (format == nameIDEmail || zulipauth.ValidEmail(nameID)) {
		email = nameID
	}
	switch {
	case email == "":
		return zulipauth.Identity{}, invalid(fmt.Sprintf("the assertion gives no email: no attribute %s, and its NameID is not an email address (format %s)",
			logtext.Excerpt(p.emailAttribute, 60), logtext.Excerpt(strings.TrimPrefix(format, "urn:oasis:names:tc:SAML:"), 60)))
	case !zulipauth.ValidEmail(email):
		return zulipauth.Identity{}, invalid(fmt.Sprintf("the assertion's email %s is not an email address", logtext.Excerpt(email, 120)))
	}
	var name []string
	for _, n := range p.nameAttributes {
		if v := first(n); v != "" {
			name = append(name, v)
		}
	}
	return zulipauth.Identity{
		Email:         email,
		EmailVerified: true, // Zulip trusts the IdP's email (see the package comment)
		Name:          strings.Join(name, " "),
		Subject:       nameID,
	}, nil
}
