package saml

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/zulipauth/zulipauth-go/backends/internal/logtext"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Provider is a SAML identity provider for the single sign-on of the
// Zulip apps: it implements zulipauth.IdentityProvider and
// zulipauth.UnsolicitedAnswers. Make one with [New]; it is safe for
// concurrent use, and holds nothing that needs closing. Printing or logging
// it shows its name and the IdP's entity ID, never the service provider's
// key.
type Provider struct {
	info             zulipauth.ProviderInfo
	realms           []string // nil: every realm
	sp               *ServiceProvider
	idp              *idp
	emailAttribute   string
	nameAttributes   []string
	allowUnsolicited bool
	maxBytes         int
	logger           *slog.Logger
	now              func() time.Time // the clock of the assertions' times; time.Now but in tests
	// uncounted skips precheck's count of assertions, in tests only: the
	// attack suite shows what verification stops on its own.
	uncounted bool
}

// leeway is how far an assertion's times may be off: a minute before its
// NotBefore, a minute past its NotOnOrAfter, it still counts, since the
// IdP's clock and ours differ.
const leeway = time.Minute

var (
	_ zulipauth.IdentityProvider   = (*Provider)(nil)
	_ zulipauth.UnsolicitedAnswers = (*Provider)(nil)
)

// New checks cfg, fills in its defaults, reads the IdP's metadata and
// returns the Provider. It makes no request.
//
// New refuses, with an error wrapping [ErrInvalidConfig], a Config that
// could not work or would be unsafe: no SP or no SP.EntityID, an SP
// certificate without its key (or the converse, or a key that is not the
// certificate's, or neither RSA nor ECDSA); a Name that does not fit in a
// path; a realm that no subdomain can be; an empty attribute name; a
// negative MaxResponseBytes. It refuses too IdP metadata that is not a
// SAML 2.0 IdP's EntityDescriptor (over MaxMetadataBytes, with a DOCTYPE,
// not XML, an EntitiesDescriptor), that has no entityID, no
// SingleSignOnService with the HTTP-Redirect binding (or one that is
// neither https nor http on a loopback address), or no signing certificate
// valid now.
func New(cfg Config) (*Provider, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	md, err := parseMetadata(cfg.IdPMetadata, time.Now())
	if err != nil {
		return nil, err
	}
	p := &Provider{
		info: zulipauth.ProviderInfo{
			Kind:         "saml",
			Name:         cfg.Name,
			LoginPath:    "saml/" + cfg.Name,
			CallbackPath: callbackPath,
			DisplayName:  cfg.DisplayName,
			DisplayIcon:  cfg.DisplayIcon,
			CreateUsers:  cfg.CreateUsers,
		},
		sp:               cfg.SP,
		idp:              md,
		emailAttribute:   cfg.EmailAttribute,
		nameAttributes:   cfg.NameAttributes,
		allowUnsolicited: cfg.AllowUnsolicited,
		maxBytes:         cfg.MaxResponseBytes,
		logger:           cfg.Logger,
		now:              time.Now,
	}
	if len(cfg.Realms) > 0 {
		p.realms = slices.Clone(cfg.Realms)
	}
	soon := time.Now().Add(30 * 24 * time.Hour)
	for _, c := range md.certs {
		if c.NotAfter.Before(soon) {
			cfg.Logger.Warn("saml: a signing certificate of the IdP expires soon; its answers stop verifying then, until its metadata is updated",
				"name", cfg.Name, "entity_id", md.entityID, "subject", c.Subject.String(), "not_after", c.NotAfter)
		}
	}
	cfg.Logger.Info("saml: identity provider configured",
		"name", cfg.Name, "entity_id", md.entityID, "sso_url", md.ssoURL, "certificates", len(md.certs),
		"sp_entity_id", cfg.SP.EntityID, "signs_requests", cfg.SP.Key != nil, "unsolicited", cfg.AllowUnsolicited)
	return p, nil
}

// Info describes the IdP to the core: Kind "saml", Name, LoginPath
// "saml/<Name>", CallbackPath "/complete/saml/" (shared by every SAML IdP,
// as Zulip's; the flow tells them apart), and the display fields and
// CreateUsers of the Config.
func (p *Provider) Info() zulipauth.ProviderInfo { return p.info }

// Enabled reports whether realm may log in with the IdP: any realm when
// Config.Realms was empty, else the realms it lists.
func (p *Provider) Enabled(realm zulipauth.Realm) bool {
	return p.realms == nil || slices.Contains(p.realms, realm.Subdomain)
}

// EntityID returns the IdP's entity ID, as its metadata names it: the
// Issuer its answers must have.
func (p *Provider) EntityID() string { return p.idp.entityID }

// Start returns the URL of the IdP's SingleSignOnService for f, with the
// HTTP-Redirect binding: an AuthnRequest with a new random ID (kept in
// f.ProviderState, which Finish compares with the answer's InResponseTo),
// Destination the service's URL, Issuer the service provider's entity ID,
// AssertionConsumerServiceURL f.CallbackURL, ProtocolBinding HTTP-POST and
// a NameIDPolicy that lets the IdP choose the format; deflated and base64
// in SAMLRequest, with f.Token as RelayState, and signed (SigAlg
// rsa-sha256, or ecdsa-sha256, and Signature) when the service provider
// has a key. It makes no request, and fails only for a flow without a
// Token or with a CallbackURL that is not an absolute URL.
func (p *Provider) Start(ctx context.Context, f *zulipauth.SSOFlow) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if f.Token == "" {
		return "", errors.New("saml: Start: the flow has no Token")
	}
	if u, err := url.Parse(f.CallbackURL); err != nil || !u.IsAbs() || u.Host == "" {
		return "", errors.New("saml: Start: the flow's CallbackURL is not an absolute URL")
	}
	sp, err := p.serviceProvider(f.CallbackURL, p.now())
	if err != nil {
		return "", err
	}
	doc, err := sp.BuildAuthRequestDocumentNoSig()
	if err != nil {
		return "", fmt.Errorf("saml: Start: building the AuthnRequest: %w", err)
	}
	id := requestID()
	doc.Root().CreateAttr("ID", id) // replaces gosaml2's, which Start would have to read back
	to, err := sp.BuildAuthURLRedirect(f.Token, doc)
	if err != nil {
		return "", fmt.Errorf("saml: Start: %w", err)
	}
	f.ProviderState = id
	return to, nil
}

// requestID is a new AuthnRequest ID: "id-" and 20 bytes from crypto/rand
// in hexadecimal (an xs:ID must not start with a digit; SAML asks for at
// least 128 random bits).
func requestID() string {
	var b [20]byte
	rand.Read(b[:])
	return "id-" + hex.EncodeToString(b[:])
}

// Signature algorithms of the HTTP-Redirect binding, by the key's type.
const (
	sigRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	sigECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
)

// serviceProvider is gosaml2's service provider for one flow, whose
// callback is acsURL, at the instant now: the IdP's metadata, the service
// provider's entity ID, its key to sign with and, when it is RSA, to
// decrypt with.
func (p *Provider) serviceProvider(acsURL string, now time.Time) (*saml2.SAMLServiceProvider, error) {
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      p.idp.ssoURL,
		IdentityProviderSSOBinding:  bindingRedirect,
		IdentityProviderIssuer:      p.idp.entityID,
		AssertionConsumerServiceURL: acsURL,
		ServiceProviderIssuer:       p.sp.EntityID,
		AudienceURI:                 p.sp.EntityID,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: p.idp.certs},
		Clock:                       dsig.NewFakeClockAt(now),
		MaximumDecompressedBodySize: int64(p.maxBytes),
	}
	if p.sp.Key == nil {
		return sp, nil
	}
	sp.SignAuthnRequests = true
	sp.SignAuthnRequestsAlgorithm = sigRSASHA256
	if _, ok := p.sp.Key.Public().(*ecdsa.PublicKey); ok {
		sp.SignAuthnRequestsAlgorithm = sigECDSASHA256
	}
	if err := sp.SetSPSigningKeyStore(&saml2.KeyStore{Signer: p.sp.Key, Cert: p.sp.Certificate.Raw}); err != nil {
		return nil, fmt.Errorf("saml: the service provider's key: %w", err)
	}
	if _, ok := p.sp.Key.(*rsa.PrivateKey); ok {
		// gosaml2 decrypts with the deprecated SPKeyStore only.
		sp.SPKeyStore = dsig.TLSCertKeyStore(tls.Certificate{
			Certificate: [][]byte{p.sp.Certificate.Raw}, PrivateKey: p.sp.Key, Leaf: p.sp.Certificate,
		})
	}
	return sp, nil
}

// FlowToken returns the RelayState of the IdP's answer, r, a form posted
// with the HTTP-POST binding: the token of the flow it answers. A
// RelayState that is Zulip's JSON, {"state_token": "..."}, gives its
// state_token. It is "" for an answer without one, for any other method
// than POST, and for a body that cannot be read within the cap (see
// Config.MaxResponseBytes): the form is read once, and kept in
// r.PostForm, for Finish.
func (p *Provider) FlowToken(r *http.Request) string {
	if p.parseForm(r) != nil {
		return ""
	}
	rs := r.PostForm.Get("RelayState")
	if strings.HasPrefix(rs, "{") {
		var z struct {
			StateToken string `json:"state_token"`
		}
		if json.Unmarshal([]byte(rs), &z) != nil {
			return ""
		}
		return z.StateToken
	}
	return rs
}

// parseForm reads r's form, once: a body over formLimit is an error. A
// form read already (by the core, under its own cap) is left as it is.
func (p *Provider) parseForm(r *http.Request) error {
	if r.Method != http.MethodPost {
		return fmt.Errorf("the answer is a %s, not a POST (the HTTP-POST binding)", logtext.Excerpt(r.Method, 20))
	}
	if r.PostForm != nil {
		return nil
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, p.formLimit())
	}
	if err := r.ParseForm(); err != nil {
		if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
			return fmt.Errorf("the answer's body is over %d bytes", mb.Limit)
		}
		return fmt.Errorf("the answer's form: %s", logtext.Clean(err.Error(), 100))
	}
	return nil
}

// formLimit bounds the body of an answer: the SAMLResponse of
// Config.MaxResponseBytes in base64, which percent-encoding may triple,
// and room for the RelayState.
func (p *Provider) formLimit() int64 {
	return 3*int64(base64.StdEncoding.EncodedLen(p.maxBytes)) + 16<<10
}

// AcceptsUnsolicited reports whether the IdP's answer r, which names no
// flow, is one to check as an IdP-initiated login: Config.AllowUnsolicited
// is set, and r is a POST whose SAMLResponse is a Response whose Issuer is
// this IdP's entity ID. It reads no more of the answer than its first
// elements, and verifies nothing: Finish does.
func (p *Provider) AcceptsUnsolicited(r *http.Request) bool {
	if !p.allowUnsolicited || p.parseForm(r) != nil {
		return false
	}
	raw, err := p.decode(r.PostForm.Get("SAMLResponse"))
	if err != nil {
		return false
	}
	issuer, ok := responseIssuer(raw)
	return ok && issuer == p.idp.entityID
}

// responseIssuer reads the Issuer of the Response raw from its first few
// tokens, without building the document: the Response must be the root
// and its Issuer its first child element.
func responseIssuer(raw []byte) (string, bool) {
	d := xml.NewDecoder(strings.NewReader(string(raw)))
	depth, inIssuer := 0, false
	var text strings.Builder
	for range 64 {
		tok, err := d.Token()
		if err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && (t.Name.Space != nsProtocol || t.Name.Local != "Response"):
				return "", false
			case depth == 2 && t.Name.Space == nsAssertion && t.Name.Local == "Issuer":
				inIssuer = true
			case depth == 2:
				return "", false // the Issuer comes first, or not at all
			}
		case xml.CharData:
			if inIssuer {
				if text.Len()+len(t) > 1024 {
					return "", false
				}
				text.Write(t)
			}
		case xml.EndElement:
			if inIssuer {
				return strings.TrimSpace(text.String()), true
			}
			depth--
		case xml.Directive:
			return "", false
		}
	}
	return "", false
}

// decode returns the XML document of a SAMLResponse: at most
// Config.MaxResponseBytes once decoded from base64, and starting with an
// element or an XML declaration (not deflated: that is the HTTP-Redirect
// binding's).
func (p *Provider) decode(samlResponse string) ([]byte, error) {
	switch {
	case samlResponse == "":
		return nil, errors.New("the answer has no SAMLResponse")
	case len(samlResponse) > 2*base64.StdEncoding.EncodedLen(p.maxBytes):
		return nil, fmt.Errorf("the SAMLResponse is over the cap of %d bytes", p.maxBytes)
	}
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	switch {
	case err != nil:
		return nil, errors.New("the SAMLResponse is not base64")
	case len(raw) > p.maxBytes:
		return nil, fmt.Errorf("the SAMLResponse has %d bytes, over the cap of %d bytes", len(raw), p.maxBytes)
	}
	if t := strings.TrimLeft(string(raw[:min(len(raw), 64)]), "\ufeff \t\r\n"); !strings.HasPrefix(t, "<") {
		return nil, errors.New("the SAMLResponse is not an XML document")
	}
	if hasDoctype(raw) {
		return nil, errors.New("the SAMLResponse has a document type declaration (DOCTYPE), which is refused")
	}
	return raw, nil
}

// String describes the provider without the service provider's key.
func (p *Provider) String() string {
	return fmt.Sprintf("saml identity provider %q (%s) for %s", p.info.Name, p.idp.entityID, p.sp.String())
}

// GoString is String, so %#v does not show the key either.
func (p *Provider) GoString() string { return p.String() }

// LogValue implements [slog.LogValuer]: the name, the IdP's entity ID and
// the service provider's.
func (p *Provider) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", p.info.Name),
		slog.String("entity_id", p.idp.entityID),
		slog.String("sp_entity_id", p.sp.EntityID),
	)
}
