package saml_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
)

// A whole login against a real IdP (crewjam/saml's samlidp, another SAML
// library): Start's signed AuthnRequest, which the IdP verifies; the IdP's
// login form; its signed answer, which Finish verifies. Iago's identity
// comes back with the assertion's ID and expiry, for the core to accept it
// once.
func TestLogin(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	r := answer(t, idp, p, &f, samltest.IagoUsername, samltest.IagoPassword)
	if !strings.HasPrefix(f.ProviderState, "id-") {
		t.Errorf("Start left ProviderState %q, want the AuthnRequest's ID", f.ProviderState)
	}
	if got := p.FlowToken(r); got != f.Token {
		t.Errorf("FlowToken = %q, want the flow's token %q", got, f.Token)
	}
	before := time.Now()
	id, err := p.Finish(t.Context(), r, f)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if id.Email != samltest.IagoEmail || !id.EmailVerified || id.Name != samltest.IagoName || id.Subject != samltest.IagoEmail {
		t.Errorf("Finish = %+v, want Iago's email, verified, his name, and the email as the subject (the NameID)", id)
	}
	if !strings.HasPrefix(id.AnswerID, idp.EntityID+" id-") {
		t.Errorf("AnswerID = %q, want the IdP's entity ID, a space and the assertion's ID", id.AnswerID)
	}
	// samlidp's assertions last 90 seconds; the leeway adds a minute.
	if d := id.AnswerExpires.Sub(before); d < 140*time.Second || d > 160*time.Second {
		t.Errorf("AnswerExpires is %v after the login, want about 90 s + 60 s", d)
	}
	if !strings.Contains(log.String(), "saml: identity verified") {
		t.Errorf("no line of the verified identity in the log:\n%s", log.String())
	}
	t.Logf("SAMLResponse:\n%s", responseXML(t, r))
	_ = saml.DefaultEmailAttribute
}
