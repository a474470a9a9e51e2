package saml_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Answers that are not a SAML Response, or that are hostile before any
// signature is looked at, are refused as invalid, each for its reason, and
// nothing of them is parsed beyond what the reason needs.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	f.ProviderState = "id-0"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	// The billion laughs: entities that expand a thousand times, nine deep.
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
		`<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>` +
		`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol2;</samlp:Response>`
	xxe := `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>`
	deep := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</samlp:Response>`
	wide := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` + strings.Repeat("<a/>", 20000) + `</samlp:Response>`
	for _, tt := range []struct {
		name, body, want string
	}{
		{"no body", "", "no SAMLResponse"},
		{"no SAMLResponse", "RelayState=" + f.Token, "no SAMLResponse"},
		{"not base64", "SAMLResponse=%25%25%25", "not base64"},
		{"not XML", "SAMLResponse=" + url.QueryEscape(b64("hello")), "not an XML document"},
		{"deflated", "SAMLResponse=" + url.QueryEscape(b64("\x8b\x00\x01hello")), "not an XML document"},
		{"broken XML", "SAMLResponse=" + url.QueryEscape(b64("<samlp:Response")), "not XML"},
		{"the billion laughs", "SAMLResponse=" + url.QueryEscape(b64(laughs)), "DOCTYPE"},
		{"an external entity", "SAMLResponse=" + url.QueryEscape(b64(xxe)), "DOCTYPE"},
		{"a lowercase doctype", "SAMLResponse=" + url.QueryEscape(b64("<!doctype x><x/>")), "DOCTYPE"},
		{"deep", "SAMLResponse=" + url.QueryEscape(b64(deep)), "more than 48 deep"},
		{"wide", "SAMLResponse=" + url.QueryEscape(b64(wide)), "more than 16000 elements"},
		{"over the cap", "SAMLResponse=" + url.QueryEscape(b64("<x>"+strings.Repeat(" ", saml.DefaultMaxResponseBytes)+"</x>")), "over the cap of 262144 bytes"},
		{"far over the cap", "SAMLResponse=" + strings.Repeat("A", 3*saml.DefaultMaxResponseBytes), "over the cap"},
		{"over the body's cap", "RelayState=" + strings.Repeat("x", 2<<20), "body is over"},
		{"not a Response", "SAMLResponse=" + url.QueryEscape(b64(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)), "not a SAML protocol Response"},
		{"no Issuer", "SAMLResponse=" + url.QueryEscape(b64(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)), "no Issuer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Finish(t.Context(), post(t, tt.body), f)
			wantInvalid(t, err, tt.want)
			if len(err.Error()) > 400 {
				t.Errorf("the error has %d bytes, want a short reason: %.500s", len(err.Error()), err)
			}
		})
	}

	// The answer is a POST; a GET (the HTTP-Redirect binding) is not.
	_, err := p.Finish(t.Context(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, acsURL+"?SAMLResponse=x&RelayState="+f.Token, nil), f)
	wantInvalid(t, err, "not a POST")

	// A cap of its own: the IdP's real answer is over 1,000 bytes.
	cfg := config(idp, sp, &log)
	cfg.MaxResponseBytes = 1000
	small := newProvider(t, cfg)
	f2 := newFlow()
	_, err = small.Finish(t.Context(), answer(t, idp, small, &f2, samltest.IagoUsername, samltest.IagoPassword), f2)
	wantInvalid(t, err, "over the cap of 1000 bytes")
}

// FlowToken reads the RelayState of a POST, as it is or in Zulip's JSON,
// and never beyond the body's cap.
func TestFlowToken(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	for _, tt := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"the token", post(t, "RelayState=tok-1&SAMLResponse=x"), "tok-1"},
		{"Zulip's JSON", post(t, "RelayState="+url.QueryEscape(`{"state_token": "tok-2"}`)), "tok-2"},
		{"broken JSON", post(t, "RelayState="+url.QueryEscape(`{"state_token": `)), ""},
		{"none", post(t, "SAMLResponse=x"), ""},
		{"in the query only", httptest.NewRequestWithContext(t.Context(), http.MethodPost, acsURL+"?RelayState=tok-3", nil), ""},
		{"a GET", httptest.NewRequestWithContext(t.Context(), http.MethodGet, acsURL+"?RelayState=tok-4", nil), ""},
		{"over the body's cap", post(t, "RelayState=tok-5&x="+strings.Repeat("y", 2<<20)), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.FlowToken(tt.r); got != tt.want {
				t.Errorf("FlowToken = %q, want %q", got, tt.want)
			}
		})
	}
	// A form the core parsed already is read as it is.
	r := post(t, "RelayState=tok-6")
	r.ParseForm()
	if got := p.FlowToken(r); got != "tok-6" {
		t.Errorf("FlowToken of a parsed form = %q", got)
	}
}

// Info and Enabled say what the core needs: Zulip's names and paths, and
// the realms.
func TestInfo(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t)
	var log logBuffer
	cfg := config(idp, sp, &log)
	p := newProvider(t, cfg)
	want := zulipauth.ProviderInfo{Kind: "saml", Name: "test-idp", LoginPath: "saml/test-idp", CallbackPath: "/complete/saml/", DisplayName: "test-idp"}
	if got := p.Info(); got != want {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
	if p.EntityID() != idp.EntityID {
		t.Errorf("EntityID = %q, want %q", p.EntityID(), idp.EntityID)
	}
	cfg.DisplayName, cfg.DisplayIcon, cfg.CreateUsers, cfg.Realms = "Example SSO", "https://example.com/icon.png", true, []string{"", "lear"}
	p = newProvider(t, cfg)
	want.DisplayName, want.DisplayIcon, want.CreateUsers = "Example SSO", "https://example.com/icon.png", true
	if got := p.Info(); got != want {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
	for realm, ok := range map[string]bool{"": true, "lear": true, "zulip": false} {
		if p.Enabled(zulipauth.Realm{Subdomain: realm}) != ok {
			t.Errorf("Enabled(%q) = %v", realm, !ok)
		}
	}
}
