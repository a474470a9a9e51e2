package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	rtvalidator "github.com/mattermost/xml-roundtrip-validator"

	"github.com/zulipauth/zulipauth-go/backends/internal/logtext"
)

// MaxMetadataBytes bounds the IdP metadata that [New] takes and
// [FetchMetadata] reads: one IdP's EntityDescriptor is a few kilobytes; a
// federation's aggregate of thousands is not what Config.IdPMetadata
// holds.
const MaxMetadataBytes = 1 << 20

// FetchMetadata returns the IdP metadata at url (an IdP's metadata URL,
// such as Okta's .../sso/saml/metadata or AD FS's
// /FederationMetadata/2007-06/FederationMetadata.xml), for
// Config.IdPMetadata. The URL must be https, or http on a loopback address
// or localhost (an IdP on this machine); so must every redirect the client
// follows. An answer other than 200 is an error naming its status; a body
// over [MaxMetadataBytes] is an error. client nil is a client with a
// 30-second timeout; ctx bounds the request too.
//
// The metadata is trusted as fetched: https is what authenticates it, so
// fetch it from the IdP's own host.
func FetchMetadata(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	if err := checkURL("the metadata URL", url); err != nil {
		return nil, fmt.Errorf("saml: FetchMetadata: %w", err)
	}
	c := http.Client{Timeout: 30 * time.Second}
	if client != nil {
		c = *client
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkURL("a redirect of the metadata URL", req.URL.String()); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("saml: FetchMetadata: %w", err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("saml: FetchMetadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("saml: FetchMetadata: %s answered %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("saml: FetchMetadata: reading %s: %w", url, err)
	}
	if len(data) > MaxMetadataBytes {
		return nil, fmt.Errorf("saml: FetchMetadata: %s sent more than %d bytes", url, MaxMetadataBytes)
	}
	return data, nil
}

// checkURL refuses a URL (of the IdP's metadata or its SingleSignOnService)
// that is not https, or http on a loopback host.
func checkURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%s %s is not an absolute URL", what, logtext.Excerpt(s, 200))
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%s %s: http is allowed only on a loopback address or localhost; use https", what, logtext.Excerpt(s, 200))
	}
	return fmt.Errorf("%s %s: want an https URL", what, logtext.Excerpt(s, 200))
}

// loopback reports whether host is "localhost" or a loopback address
// (127.0.0.0/8, ::1). Other names are not resolved.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// idp is what a Provider reads of the IdP's metadata.
type idp struct {
	entityID string
	ssoURL   string // the SingleSignOnService with the HTTP-Redirect binding
	certs    []*x509.Certificate
}

// The parts of the metadata that parseMetadata reads.
type (
	mdEntity struct {
		XMLName  xml.Name
		EntityID string     `xml:"entityID,attr"`
		IdPSSO   []mdIdPSSO `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
	}
	mdIdPSSO struct {
		Protocols string       `xml:"protocolSupportEnumeration,attr"`
		Keys      []mdKey      `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
		SSO       []mdEndpoint `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleSignOnService"`
	}
	mdKey struct {
		Use     string    `xml:"use,attr"`
		KeyInfo mdKeyInfo `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo"`
	}
	mdKeyInfo struct {
		X509Data []mdX509Data `xml:"http://www.w3.org/2000/09/xmldsig# X509Data"`
	}
	mdX509Data struct {
		Certificates []string `xml:"http://www.w3.org/2000/09/xmldsig# X509Certificate"`
	}
	mdEndpoint struct {
		Binding  string `xml:"Binding,attr"`
		Location string `xml:"Location,attr"`
	}
)

// parseMetadata reads the IdP's entity ID, its SingleSignOnService of the
// HTTP-Redirect binding, and its signing certificates from its metadata,
// and refuses metadata without them. now is for the certificates' validity.
func parseMetadata(data []byte, now time.Time) (*idp, error) {
	if len(data) > MaxMetadataBytes {
		return nil, configError("IdPMetadata has %d bytes, more than the %d an IdP's metadata may have", len(data), MaxMetadataBytes)
	}
	if err := safeXML(data); err != nil {
		return nil, configError("IdPMetadata: %v", err)
	}
	var ed mdEntity
	if err := xml.Unmarshal(data, &ed); err != nil {
		return nil, configError("IdPMetadata is not XML: %s", logtext.Clean(err.Error(), 200))
	}
	switch {
	case ed.XMLName.Space == nsMetadata && ed.XMLName.Local == "EntitiesDescriptor":
		return nil, configError("IdPMetadata is an EntitiesDescriptor (a federation's aggregate): give the IdP's own EntityDescriptor")
	case ed.XMLName.Space != nsMetadata || ed.XMLName.Local != "EntityDescriptor":
		return nil, configError("IdPMetadata's root is %s, want a SAML metadata EntityDescriptor", logtext.Excerpt(ed.XMLName.Local, 60))
	case strings.TrimSpace(ed.EntityID) == "":
		return nil, configError("IdPMetadata's EntityDescriptor has no entityID")
	}
	var d *mdIdPSSO
	for i := range ed.IdPSSO {
		if strings.Contains(ed.IdPSSO[i].Protocols, nsProtocol) {
			d = &ed.IdPSSO[i]
			break
		}
	}
	if d == nil {
		return nil, configError("IdPMetadata of %s has no IDPSSODescriptor for SAML 2.0: it does not describe a SAML 2.0 identity provider", logtext.Excerpt(ed.EntityID, 200))
	}
	p := &idp{entityID: strings.TrimSpace(ed.EntityID)}
	var bindings []string
	for _, s := range d.SSO {
		if s.Binding == bindingRedirect && p.ssoURL == "" {
			p.ssoURL = strings.TrimSpace(s.Location)
		}
		bindings = append(bindings, strings.TrimPrefix(s.Binding, "urn:oasis:names:tc:SAML:2.0:bindings:"))
	}
	if p.ssoURL == "" {
		return nil, configError("IdPMetadata of %s has no SingleSignOnService with the HTTP-Redirect binding (it lists %q), which the login uses", logtext.Excerpt(p.entityID, 200), bindings)
	}
	if err := checkURL("IdPMetadata's SingleSignOnService", p.ssoURL); err != nil {
		return nil, configError("%v", err)
	}
	valid := false
	for _, k := range d.Keys {
		if k.Use != "" && k.Use != "signing" {
			continue
		}
		for _, x := range k.KeyInfo.X509Data {
			for _, c := range x.Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c), ""))
				if err != nil {
					return nil, configError("IdPMetadata of %s: a signing certificate is not base64", logtext.Excerpt(p.entityID, 200))
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, configError("IdPMetadata of %s: a signing certificate does not parse: %s", logtext.Excerpt(p.entityID, 200), logtext.Clean(err.Error(), 200))
				}
				p.certs = append(p.certs, cert)
				valid = valid || !now.Before(cert.NotBefore) && !now.After(cert.NotAfter)
			}
		}
	}
	switch {
	case len(p.certs) == 0:
		return nil, configError("IdPMetadata of %s has no signing certificate (a KeyDescriptor of use \"signing\" with an X509Certificate): its answers could not be verified", logtext.Excerpt(p.entityID, 200))
	case !valid:
		return nil, configError("IdPMetadata of %s: none of its %d signing certificates is valid now (the first is valid from %s to %s), and a signature by an expired certificate does not verify",
			logtext.Excerpt(p.entityID, 200), len(p.certs), p.certs[0].NotBefore.UTC().Format(time.RFC3339), p.certs[0].NotAfter.UTC().Format(time.RFC3339))
	}
	return p, nil
}

// safeXML refuses a document that could be unsafe to parse: one with a
// document type declaration (a DOCTYPE: entities, and their expansion, are
// never wanted in SAML), or one that does not survive encoding/xml's round
// trip unchanged (mattermost's xml-roundtrip-validator: namespace and
// directive tricks that make Go's parser read another document than a
// signature covers).
func safeXML(data []byte) error {
	if hasDoctype(data) {
		return errors.New("a document type declaration (DOCTYPE) is refused")
	}
	if err := rtvalidator.Validate(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("the XML does not round-trip: %s", logtext.Clean(err.Error(), 120))
	}
	return nil
}

// hasDoctype reports whether data has a DOCTYPE or an ENTITY declaration,
// in any letter case, anywhere: a parser could see one where the byte scan
// of a stricter rule would not.
func hasDoctype(data []byte) bool {
	for i := bytes.Index(data, []byte("<!")); i >= 0; {
		rest := data[i+2:]
		for _, w := range []string{"DOCTYPE", "ENTITY"} {
			if len(rest) >= len(w) && strings.EqualFold(string(rest[:len(w)]), w) {
				return true
			}
		}
		j := bytes.Index(rest, []byte("<!"))
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return false
}
