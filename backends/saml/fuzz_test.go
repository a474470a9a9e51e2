package saml_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// FuzzFinish feeds Finish (and FlowToken and AcceptsUnsolicited) answers
// made from the IdP's own, signed ones: whatever the SAMLResponse's XML and
// the RelayState, nothing panics, every refusal is ErrSSOInvalid or
// ErrSSODenied with a short message, and what passes is a person of the
// IdP. The clock stays at the time of the seeds' logins, so that mutations
// of a valid answer go as deep as they can.
//
// Run: go test -run '^$' -fuzz FuzzFinish -fuzztime 60s -fuzzminimizetime 5s ./backends/saml
// (the seeds are whole signed answers, of kilobytes: minimizing a new
// input at the default 60 s holds the fuzzer up, and its count of
// executions with it)
func FuzzFinish(f *testing.F) {
	sp := newSP(spEntityID)
	idp := startIdP(f, sp)
	var log logBuffer
	cfg := config(idp, sp, &log)
	strict := newProvider(f, cfg)
	cfg.AllowUnsolicited = true
	lax := newProvider(f, cfg)
	now := time.Now()
	for _, p := range []*saml.Provider{strict, lax} {
		saml.SetClock(p, func() time.Time { return now })
	}
	flow := newFlow()
	r := answer(f, idp, strict, &flow, samltest.IagoUsername, samltest.IagoPassword)
	f.Add(string(responseXML(f, r)), flow.Token)
	denied := flow
	f.Add(string(responseXML(f, answer(f, idp, strict, &denied, samltest.PoloniusUsername, samltest.PoloniusPassword))), flow.Token)
	unsolicited, err := idp.LoginUnsolicited(f.Context(), spEntityID, samltest.HamletUsername, samltest.HamletPassword)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(responseXML(f, unsolicited)), "")
	f.Add(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`, `{"state_token": "x"}`)
	f.Add(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">`+idp.EntityID+`</saml:Issuer></samlp:Response>`, "")
	f.Add("", "")

	f.Fuzz(func(t *testing.T, response, relayState string) {
		req := func() *http.Request {
			r, err := samltest.NewAnswer(t.Context(), acsURL, []byte(response), relayState)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		strict.FlowToken(req())
		lax.AcceptsUnsolicited(req())
		for _, c := range []struct {
			p    *saml.Provider
			flow zulipauth.SSOFlow
		}{
			{strict, flow},
			{lax, zulipauth.SSOFlow{CallbackURL: acsURL}},
		} {
			id, err := c.p.Finish(t.Context(), req(), c.flow)
			switch {
			case err == nil:
				if id.Email != samltest.IagoEmail && id.Email != samltest.HamletEmail || id.AnswerID == "" {
					t.Fatalf("Finish passed %+v", id)
				}
			case !errors.Is(err, zulipauth.ErrSSOInvalid) && !errors.Is(err, zulipauth.ErrSSODenied):
				t.Fatalf("Finish: %v, neither ErrSSOInvalid nor ErrSSODenied", err)
			case len(err.Error()) > 600 || !utf8.ValidString(err.Error()) || strings.ContainsAny(err.Error(), "\n\r"):
				t.Fatalf("Finish: an error that is long, not UTF-8 or on several lines: %q", err)
			}
		}
	})
}
