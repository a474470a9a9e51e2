package saml_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// New refuses a Config that could not work, or would be unsafe, with
// ErrInvalidConfig and a message that says which field and why.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	sp := newSP(spEntityID)
	key, cert := spKey()
	otherKey, _ := newKeyPair("another")
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		name   string
		change func(*saml.Config)
		want   string
	}{
		{"no SP", func(c *saml.Config) { c.SP = nil }, "SP is required"},
		{"no entity ID", func(c *saml.Config) { c.SP = &saml.ServiceProvider{} }, "SP.EntityID is required"},
		{"a certificate without its key", func(c *saml.Config) { c.SP = &saml.ServiceProvider{EntityID: "sp", Certificate: cert} }, "SP.Certificate is set without SP.Key"},
		{"a key without its certificate", func(c *saml.Config) { c.SP = &saml.ServiceProvider{EntityID: "sp", Key: key} }, "SP.Key is set without SP.Certificate"},
		{"another certificate's key", func(c *saml.Config) { c.SP = &saml.ServiceProvider{EntityID: "sp", Certificate: cert, Key: otherKey} }, "SP.Key is not the private key of SP.Certificate"},
		{"an Ed25519 key", func(c *saml.Config) { c.SP = &saml.ServiceProvider{EntityID: "sp", Certificate: cert, Key: edKey} }, "take an RSA or ECDSA key"},
		{"no name", func(c *saml.Config) { c.Name = "" }, "Name is required"},
		{"a name with a slash", func(c *saml.Config) { c.Name = "a/b" }, `Name "a/b": want 1 to 40 characters of [a-z0-9-]`},
		{"a name in capitals", func(c *saml.Config) { c.Name = "Okta" }, "want 1 to 40 characters"},
		{"a name with an underscore", func(c *saml.Config) { c.Name = "my_idp" }, "want 1 to 40 characters"},
		{"a long name", func(c *saml.Config) { c.Name = strings.Repeat("a", 41) }, "want 1 to 40 characters"},
		{"no metadata", func(c *saml.Config) { c.IdPMetadata = nil }, "IdPMetadata is required"},
		{"a bad realm", func(c *saml.Config) { c.Realms = []string{"Not A Subdomain"} }, `Realms: "Not A Subdomain" is not a realm's subdomain`},
		{"an empty name attribute", func(c *saml.Config) { c.NameAttributes = []string{"first_name", ""} }, "NameAttributes: an attribute's name is empty"},
		{"a negative cap", func(c *saml.Config) { c.MaxResponseBytes = -1 }, "MaxResponseBytes is -1"},
		{"a huge cap", func(c *saml.Config) { c.MaxResponseBytes = 1 << 30 }, "MaxResponseBytes is 1073741824, more than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log logBuffer
			cfg := config(idp, sp, &log)
			tt.change(&cfg)
			_, err := saml.New(cfg)
			if !errors.Is(err, saml.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want ErrInvalidConfig with %q", err, tt.want)
			}
		})
	}
}

// An ECDSA key signs AuthnRequests with ecdsa-sha256, which the IdP
// verifies; the login works.
func TestECDSAKey(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t, key)
	sp := &saml.ServiceProvider{EntityID: spEntityID, Certificate: cert, Key: key}
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	authURL, err := p.Start(t.Context(), &f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(authURL, "ecdsa-sha256") {
		t.Errorf("the AuthnRequest is not signed with ecdsa-sha256: %s", authURL)
	}
	r, err := idp.Login(t.Context(), authURL, samltest.IagoUsername, samltest.IagoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := p.Finish(t.Context(), r, f); err != nil || id.Email != samltest.IagoEmail {
		t.Fatalf("Finish = %+v, %v", id, err)
	}
}

// New reads the IdP's entity ID, its HTTP-Redirect SingleSignOnService and
// its signing certificates from its metadata, and refuses metadata without
// them, or that is not safe to read, saying what is missing.
func TestMetadataErrors(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	sp := newSP(spEntityID)
	good := idp.Metadata
	change := func(f func(root *etree.Element)) []byte { return edit(t, good, f) }
	_, expired := newKeyPairAt(t, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	for _, tt := range []struct {
		name string
		md   []byte
		want string
	}{
		{"not XML", []byte("hello"), "not XML"},
		{"a DOCTYPE", []byte(`<!DOCTYPE x [<!ENTITY a "b">]>` + string(good)), "DOCTYPE"},
		{"too large", []byte("<x>" + strings.Repeat(" ", saml.MaxMetadataBytes) + "</x>"), "more than the 1048576"},
		{"not metadata", []byte(`<x xmlns="urn:example"/>`), `root is "x", want a SAML metadata EntityDescriptor`},
		{"an aggregate", []byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + string(good) + `</md:EntitiesDescriptor>`), "EntitiesDescriptor"},
		{"no entity ID", change(func(root *etree.Element) { root.RemoveAttr("entityID") }), "has no entityID"},
		{"a service provider's", registered(t, sp).MetadataXML, "no IDPSSODescriptor for SAML 2.0"},
		{"no redirect binding", change(func(root *etree.Element) {
			for _, s := range root.FindElements("//SingleSignOnService") {
				if strings.HasSuffix(s.SelectAttrValue("Binding", ""), "HTTP-Redirect") {
					s.Parent().RemoveChild(s)
				}
			}
		}), `no SingleSignOnService with the HTTP-Redirect binding (it lists ["HTTP-POST"])`},
		{"an http SSO URL", change(func(root *etree.Element) {
			for _, s := range root.FindElements("//SingleSignOnService") {
				s.CreateAttr("Location", "http://idp.example.com/sso")
			}
		}), "http is allowed only on a loopback address"},
		{"no signing certificate", change(func(root *etree.Element) {
			for _, k := range root.FindElements("//KeyDescriptor") {
				if k.SelectAttrValue("use", "") == "signing" {
					k.Parent().RemoveChild(k)
				}
			}
		}), "has no signing certificate"},
		{"a certificate that does not parse", change(func(root *etree.Element) {
			for _, c := range root.FindElements("//X509Certificate") {
				c.SetText("AAAA")
			}
		}), "a signing certificate does not parse"},
		{"an expired certificate", change(func(root *etree.Element) {
			for _, c := range root.FindElements("//X509Certificate") {
				c.SetText(base64Cert(expired))
			}
		}), "none of its 1 signing certificates is valid now"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log logBuffer
			cfg := config(idp, sp, &log)
			cfg.IdPMetadata = tt.md
			_, err := saml.New(cfg)
			if !errors.Is(err, saml.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want ErrInvalidConfig with %q", err, tt.want)
			}
		})
	}
	// A KeyDescriptor without use is for signing too; certificates may be
	// wrapped, as many IdPs write them.
	var log logBuffer
	cfg := config(idp, sp, &log)
	cfg.IdPMetadata = change(func(root *etree.Element) {
		for _, k := range root.FindElements("//KeyDescriptor") {
			k.RemoveAttr("use")
		}
		for _, c := range root.FindElements("//X509Certificate") {
			s := c.Text()
			c.SetText("\n  " + s[:64] + "\n  " + s[64:] + "\n")
		}
	})
	p := newProvider(t, cfg)
	f := newFlow()
	if _, err := p.Finish(t.Context(), answerFor(t, idp, sp, p, &f), f); err != nil {
		t.Fatalf("Finish with the metadata's certificates wrapped and without use: %v", err)
	}
}

// answerFor registers sp at idp and logs iago in for f.
func answerFor(t *testing.T, idp *samltest.IdP, sp *saml.ServiceProvider, p *saml.Provider, f *zulipauth.SSOFlow) *http.Request {
	t.Helper()
	if err := idp.AddSP(t.Context(), registered(t, sp)); err != nil {
		t.Fatal(err)
	}
	return answer(t, idp, p, f, samltest.IagoUsername, samltest.IagoPassword)
}

// FetchMetadata reads an IdP's metadata over https, or http on a loopback
// address, within its cap; it refuses anything else before sending a
// request, and names the status of a failed answer.
func TestFetchMetadata(t *testing.T) {
	t.Parallel()
	idp := startIdP(t)
	ctx := t.Context()
	// The IdP's metadata, whose validUntil moves on with each fetch.
	theIdPs := func(md []byte) bool { return strings.Contains(string(md), `entityID="`+idp.EntityID+`"`) }
	md, err := saml.FetchMetadata(ctx, nil, idp.MetadataURL)
	if err != nil || !theIdPs(md) {
		t.Fatalf("FetchMetadata of the IdP: %d bytes, %v", len(md), err)
	}

	var requests atomic.Int32
	offline := &http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) {
		requests.Add(1)
		return nil, errors.New("offline")
	})}
	for _, u := range []string{"http://idp.example.com/metadata", "http://10.0.0.1/md", "ftp://idp.example.com/md", "idp.example.com/md", "https://"} {
		if _, err := saml.FetchMetadata(ctx, offline, u); err == nil || requests.Load() != 0 {
			t.Errorf("FetchMetadata(%q): %v after %d requests, want a refusal before any", u, err, requests.Load())
		}
	}
	if _, err := saml.FetchMetadata(ctx, offline, "https://idp.example.com/metadata"); err == nil || requests.Load() != 1 {
		t.Errorf("FetchMetadata of an https URL: %v after %d requests, want the one request", err, requests.Load())
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/huge":
			w.Write([]byte(strings.Repeat(" ", saml.MaxMetadataBytes+1)))
		case "/away":
			http.Redirect(w, r, "http://idp.example.com/metadata", http.StatusFound)
		case "/here":
			http.Redirect(w, r, idp.MetadataURL, http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tt := range []struct{ path, want string }{
		{"/missing", "answered 404 Not Found"},
		{"/huge", "more than 1048576 bytes"},
		{"/away", "a redirect of the metadata URL"},
	} {
		if _, err := saml.FetchMetadata(ctx, nil, srv.URL+tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FetchMetadata(%s): %v, want %q", tt.path, err, tt.want)
		}
	}
	if md, err := saml.FetchMetadata(ctx, nil, srv.URL+"/here"); err != nil || !theIdPs(md) {
		t.Errorf("FetchMetadata through a redirect on loopback: %v", err)
	}

	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(idp.Metadata) }))
	t.Cleanup(tls.Close)
	if md, err := saml.FetchMetadata(ctx, tls.Client(), tls.URL+"/metadata"); err != nil || !theIdPs(md) {
		t.Errorf("FetchMetadata over https: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := saml.FetchMetadata(cctx, nil, idp.MetadataURL); !errors.Is(err, context.Canceled) {
		t.Errorf("FetchMetadata with a cancelled context: %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
