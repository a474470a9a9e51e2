package saml_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
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
}

// An IdP that logs people in without signing requests: a service provider
// without a key sends its AuthnRequests unsigned, and its metadata says
// so, which the IdP checks.
func TestLoginUnsignedRequests(t *testing.T) {
	t.Parallel()
	sp := &saml.ServiceProvider{EntityID: spEntityID}
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	authURL, err := p.Start(t.Context(), &f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(authURL, "Signature=") || strings.Contains(authURL, "SigAlg=") {
		t.Errorf("an AuthnRequest of a service provider without a key is signed: %s", authURL)
	}
	r, err := idp.Login(t.Context(), authURL, samltest.HamletUsername, samltest.HamletPassword)
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.Finish(t.Context(), r, f)
	if err != nil || id.Email != samltest.HamletEmail || id.Name != samltest.HamletName {
		t.Fatalf("Finish = %+v, %v; want Hamlet's email and name", id, err)
	}
}

// The signature of an AuthnRequest is the IdP's to check: one that does
// not verify (here, by another key than the metadata's) is refused at the
// IdP, and no answer comes.
func TestSignedRequestVerified(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	key, cert := newKeyPair("an impostor")
	impostor := &saml.ServiceProvider{EntityID: spEntityID, Certificate: cert, Key: key}
	var log logBuffer
	p := newProvider(t, config(idp, impostor, &log))
	f := newFlow()
	authURL, err := p.Start(t.Context(), &f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(authURL, "SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256") {
		t.Errorf("the AuthnRequest is not signed with rsa-sha256: %s", authURL)
	}
	if _, err := idp.Login(t.Context(), authURL, samltest.IagoUsername, samltest.IagoPassword); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("Login with a request signed by another key: %v, want the IdP's 400", err)
	}
	if !strings.Contains(idp.Log(), "signature") {
		t.Errorf("the IdP's log does not say why:\n%s", idp.Log())
	}
}

// An assertion for another service provider (its Audience) proves nothing
// here: an answer one service provider got must not log in at another
// trusting the same IdP.
func TestWrongAudience(t *testing.T) {
	t.Parallel()
	other := newSP("https://other.example.com/saml/metadata")
	sp := newSP(spEntityID)
	idp := startIdP(t, sp, other)
	var log logBuffer
	pOther := newProvider(t, config(idp, other, &log))
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	r := answer(t, idp, pOther, &f, samltest.IagoUsername, samltest.IagoPassword)
	_, err := p.Finish(t.Context(), r, f)
	wantInvalid(t, err, `Audience ("https://other.example.com/saml/metadata") is not this service provider`)
}

// An answer for another callback (another realm's, say) is refused: the
// Response's Destination, and the assertion's Recipient where the Response
// has no Destination.
func TestWrongCallback(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	r := answer(t, idp, p, &f, samltest.IagoUsername, samltest.IagoPassword)
	x := responseXML(t, r)
	elsewhere := f
	elsewhere.CallbackURL = "http://lear.localhost:9991/complete/saml/"
	_, err := p.Finish(t.Context(), with(t, r, x), elsewhere)
	wantInvalid(t, err, `Destination "http://localhost:9991/complete/saml/" is not the flow's callback URL "http://lear.localhost:9991/complete/saml/"`)

	noDestination := resigned(t, idp, x, func(root *etree.Element) { root.RemoveAttr("Destination") })
	if _, err := p.Finish(t.Context(), with(t, r, noDestination), f); err != nil {
		t.Fatalf("Finish without a Destination (it is optional): %v", err)
	}
	_, err = p.Finish(t.Context(), with(t, r, noDestination), elsewhere)
	wantInvalid(t, err, `Recipient "http://localhost:9991/complete/saml/" is not the flow's callback URL`)
}

// An answer to another AuthnRequest, another flow's, is refused: its
// InResponseTo is not the flow's request ID. So is any answer to a flow
// without a request ID.
func TestOtherRequest(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f1, f2 := newFlow(), newFlow()
	r := answer(t, idp, p, &f1, samltest.IagoUsername, samltest.IagoPassword)
	if _, err := p.Start(t.Context(), &f2); err != nil {
		t.Fatal(err)
	}
	x := responseXML(t, r)
	_, err := p.Finish(t.Context(), with(t, r, x), f2)
	wantInvalid(t, err, "the answer is to another request (InResponseTo \""+f1.ProviderState+"\")")

	none := f1
	none.ProviderState = ""
	_, err = p.Finish(t.Context(), with(t, r, x), none)
	wantInvalid(t, err, "the flow has no AuthnRequest ID")

	// The assertion's InResponseTo is the one that counts; a Response's
	// that differs from it is refused too.
	mixed := resigned(t, idp, x, func(root *etree.Element) { root.CreateAttr("InResponseTo", f2.ProviderState) })
	_, err = p.Finish(t.Context(), with(t, r, mixed), f1)
	wantInvalid(t, err, "another request")
}

// IdP-initiated login: refused unless Config.AllowUnsolicited, and then an
// answer without InResponseTo logs in a flow without a token; a solicited
// answer cannot pass for an unsolicited one, nor the converse.
func TestUnsolicited(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	strict := newProvider(t, config(idp, sp, &log))
	cfg := config(idp, sp, &log)
	cfg.AllowUnsolicited = true
	lax := newProvider(t, cfg)

	r, err := idp.LoginUnsolicited(t.Context(), spEntityID, samltest.IagoUsername, samltest.IagoPassword)
	if err != nil {
		t.Fatal(err)
	}
	x := responseXML(t, r)
	if strings.Contains(string(x), "InResponseTo") {
		t.Fatalf("the IdP's unsolicited answer names a request:\n%s", x)
	}
	unsolicited := zulipauth.SSOFlow{CallbackURL: acsURL}
	if strict.AcceptsUnsolicited(with(t, r, x)) {
		t.Error("AcceptsUnsolicited without Config.AllowUnsolicited")
	}
	_, err = strict.Finish(t.Context(), with(t, r, x), unsolicited)
	wantInvalid(t, err, "Config.AllowUnsolicited does not allow")

	if !lax.AcceptsUnsolicited(with(t, r, x)) {
		t.Error("AcceptsUnsolicited refused the IdP's answer with Config.AllowUnsolicited")
	}
	if got := lax.FlowToken(with(t, r, x)); got != "" {
		t.Errorf("FlowToken of an unsolicited answer = %q, want none", got)
	}
	id, err := lax.Finish(t.Context(), with(t, r, x), unsolicited)
	if err != nil || id.Email != samltest.IagoEmail {
		t.Fatalf("Finish of an unsolicited answer with AllowUnsolicited = %+v, %v", id, err)
	}

	// The unsolicited answer given to a flow that sent a request.
	f := newFlow()
	if _, err := lax.Start(t.Context(), &f); err != nil {
		t.Fatal(err)
	}
	_, err = lax.Finish(t.Context(), with(t, r, x), f)
	wantInvalid(t, err, "names no request")

	// A solicited answer given as unsolicited (its RelayState dropped).
	solicited := responseXML(t, answer(t, idp, lax, &f, samltest.IagoUsername, samltest.IagoPassword))
	rs, err := samltest.NewAnswer(t.Context(), acsURL, solicited, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = lax.Finish(t.Context(), rs, unsolicited)
	wantInvalid(t, err, "an unsolicited answer names a request")

	// Another IdP's answer, or no answer, is not this IdP's to take.
	other := startIdP(t, sp)
	r2, err := other.LoginUnsolicited(t.Context(), spEntityID, samltest.IagoUsername, samltest.IagoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if lax.AcceptsUnsolicited(r2) {
		t.Error("AcceptsUnsolicited took another IdP's answer")
	}
	for _, body := range []string{"", "SAMLResponse=", "SAMLResponse=PHg%2B", "SAMLResponse=%%%"} {
		if lax.AcceptsUnsolicited(post(t, body)) {
			t.Errorf("AcceptsUnsolicited(%q)", body)
		}
	}
}

// post is a POST to the callback with the urlencoded body.
func post(t testing.TB, body string) *http.Request {
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, acsURL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// times reads the assertion's Conditions' NotBefore and the earlier of its
// NotOnOrAfter.
func times(t testing.TB, x []byte) (notBefore, notOnOrAfter time.Time) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(x); err != nil {
		t.Fatal(err)
	}
	parse := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	c := find(doc.Root(), "Conditions")
	sc := find(doc.Root(), "SubjectConfirmationData")
	notBefore = parse(c.SelectAttrValue("NotBefore", ""))
	notOnOrAfter = parse(c.SelectAttrValue("NotOnOrAfter", ""))
	if e := parse(sc.SelectAttrValue("NotOnOrAfter", "")); e.Before(notOnOrAfter) {
		notOnOrAfter = e
	}
	return notBefore, notOnOrAfter
}

// An assertion counts from a minute before its NotBefore to a minute after
// its NotOnOrAfter (clocks differ), and not beyond: the edges, at the
// IdP's own times.
func TestExpiry(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	r := answer(t, idp, p, &f, samltest.IagoUsername, samltest.IagoPassword)
	x := responseXML(t, r)
	start, end := times(t, x)
	for _, tt := range []struct {
		name string
		at   time.Time
		want string // "" for a login
	}{
		{"at NotBefore", start, ""},
		{"59 s before NotBefore", start.Add(-59 * time.Second), ""},
		{"61 s before NotBefore", start.Add(-61 * time.Second), "is valid only from"},
		{"30 s past NotOnOrAfter", end.Add(30 * time.Second), ""},
		{"59 s past NotOnOrAfter", end.Add(59 * time.Second), ""},
		{"60 s past NotOnOrAfter", end.Add(60 * time.Second), "expired"},
		{"an hour past NotOnOrAfter", end.Add(time.Hour), "expired"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, config(idp, sp, &log))
			saml.SetClock(p, func() time.Time { return tt.at })
			id, err := p.Finish(t.Context(), with(t, r, x), f)
			switch {
			case tt.want != "":
				wantInvalid(t, err, tt.want)
			case err != nil:
				t.Fatalf("Finish: %v", err)
			case !id.AnswerExpires.Equal(end.Add(time.Minute)):
				t.Errorf("AnswerExpires = %v, want NotOnOrAfter + 1 min = %v", id.AnswerExpires, end.Add(time.Minute))
			}
		})
	}
}

// Only the IdP of the metadata signs answers: another IdP's answer is
// refused for its Issuer, and, when its Issuer is made this IdP's (and it
// is signed again by the other IdP's key), for its signature.
func TestOtherIdP(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp, other := startIdP(t, sp), startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	pOther := newProvider(t, config(other, sp, &log))
	f := newFlow()
	r := answer(t, other, pOther, &f, samltest.IagoUsername, samltest.IagoPassword)
	x := responseXML(t, r)
	_, err := p.Finish(t.Context(), with(t, r, x), f)
	wantInvalid(t, err, "the response's Issuer \""+other.EntityID+"\" is not the IdP's entity ID")

	forged := resigned(t, other, x, func(root *etree.Element) {
		for _, e := range root.FindElements("//Issuer") {
			e.SetText(idp.EntityID)
		}
	})
	_, err = p.Finish(t.Context(), with(t, r, forged), f)
	wantInvalid(t, err, "does not verify")
	// The same answer signed by the right key passes: the refusal was the
	// signature's.
	genuine, err := idp.Resign(forged)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Finish(t.Context(), with(t, r, genuine), f); err != nil {
		t.Fatalf("Finish of the answer signed by the IdP's key: %v", err)
	}
}

// What the signature covers cannot change: a changed NameID, or an
// unsigned answer, is refused; and so is an answer with two assertions,
// even both signed.
func TestTampered(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	r := answer(t, idp, p, &f, samltest.IagoUsername, samltest.IagoPassword)
	x := responseXML(t, r)
	for _, tt := range []struct {
		name   string
		answer []byte
		want   string
	}{
		{"a changed email", edit(t, x, func(root *etree.Element) {
			for _, v := range root.FindElements("//AttributeValue") {
				if v.Text() == samltest.IagoEmail {
					v.SetText(samltest.HamletEmail)
				}
			}
		}), "does not verify"},
		{"no signature", edit(t, x, func(root *etree.Element) {
			for _, s := range root.FindElements("//Signature") {
				s.Parent().RemoveChild(s)
			}
		}), "does not verify"},
		{"two assertions", resigned(t, idp, x, func(root *etree.Element) {
			a := find(root, "Assertion")
			b := a.Copy()
			b.CreateAttr("ID", "id-second")
			root.AddChild(b)
		}), "has 2 assertions, want exactly one"},
		{"no assertion", resigned(t, idp, x, func(root *etree.Element) {
			root.RemoveChild(find(root, "Assertion"))
		}), "has 0 assertions"},
		{"no Audience", resigned(t, idp, x, func(root *etree.Element) {
			c := find(root, "Conditions")
			c.RemoveChild(find(c, "AudienceRestriction"))
		}), "no AudienceRestriction"},
		{"an Audience added", resigned(t, idp, x, func(root *etree.Element) {
			c := find(root, "Conditions")
			c.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText("https://other.example.com/")
		}), "is not this service provider"},
		{"no NotOnOrAfter", resigned(t, idp, x, func(root *etree.Element) {
			find(root, "Conditions").RemoveAttr("NotOnOrAfter")
		}), "no Conditions' NotOnOrAfter"},
		{"not a Response", resigned(t, idp, x, func(root *etree.Element) { root.Tag = "LogoutResponse" }), "not a SAML protocol Response"},
		{"a bad email", resigned(t, idp, x, func(root *etree.Element) {
			for _, v := range root.FindElements("//AttributeValue") {
				if v.Text() == samltest.IagoEmail {
					v.SetText("iago at zulip")
				}
			}
		}), `email "iago at zulip" is not an email address`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Finish(t.Context(), with(t, r, tt.answer), f)
			wantInvalid(t, err, tt.want)
		})
	}
}

// The IdP's refusal is ErrSSODenied, with its status codes: a denied user
// at the IdP itself (a signed Response of status Responder/RequestDenied),
// and Responder/AuthnFailed.
func TestDenied(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	r := answer(t, idp, p, &f, samltest.PoloniusUsername, samltest.PoloniusPassword)
	_, err := p.Finish(t.Context(), r, f)
	if !errors.Is(err, zulipauth.ErrSSODenied) || errors.Is(err, zulipauth.ErrSSOInvalid) || !strings.Contains(err.Error(), "status Responder/RequestDenied") {
		t.Fatalf("Finish of a denied user: %v, want ErrSSODenied with Responder/RequestDenied", err)
	}
	f2 := newFlow()
	r2 := answer(t, idp, p, &f2, samltest.IagoUsername, samltest.IagoPassword)
	failed := resigned(t, idp, responseXML(t, r2), func(root *etree.Element) {
		st := find(root, "StatusCode")
		st.CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
		st.CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed")
		find(root, "Status").CreateElement("samlp:StatusMessage").SetText("wrong\npassword")
	})
	_, err = p.Finish(t.Context(), with(t, r2, failed), f2)
	if !errors.Is(err, zulipauth.ErrSSODenied) || !strings.Contains(err.Error(), `status Responder/AuthnFailed ("wrong\npassword")`) {
		t.Fatalf("Finish of an AuthnFailed status: %v, want ErrSSODenied with the status and its message, escaped", err)
	}
}

// A person the IdP gives no email for is refused; the email comes from the
// attribute the Config names, or else from an emailAddress NameID; the name
// from the attributes the Config names.
func TestAttributes(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	idp := startIdP(t, sp)
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	_, err := p.Finish(t.Context(), answer(t, idp, p, &f, samltest.OthelloUsername, samltest.OthelloPassword), f)
	wantInvalid(t, err, `the assertion gives no email: no attribute "email"`)

	for _, tt := range []struct {
		name           string
		emailAttribute string
		nameAttributes []string
		wantName       string
	}{
		{"the NameID, without the attribute", "no-such-attribute", nil, samltest.HamletName},
		{"samlidp's mail", "urn:oid:0.9.2342.19200300.100.1.3", []string{"urn:oid:2.5.4.3"}, samltest.HamletName},
		{"a name attribute missing", "", []string{"first_name", "middle_name", "last_name"}, samltest.HamletName},
		{"no name", "", []string{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(idp, sp, &log)
			cfg.EmailAttribute, cfg.NameAttributes = tt.emailAttribute, tt.nameAttributes
			p := newProvider(t, cfg)
			f := newFlow()
			id, err := p.Finish(t.Context(), answer(t, idp, p, &f, samltest.HamletUsername, samltest.HamletPassword), f)
			if err != nil || id.Email != samltest.HamletEmail || id.Name != tt.wantName || !id.EmailVerified {
				t.Fatalf("Finish = %+v, %v; want %s, verified, named %q", id, err, samltest.HamletEmail, tt.wantName)
			}
		})
	}
}

// An encrypted assertion (the IdP encrypts for a service provider whose
// metadata has an encryption key) is decrypted with the service
// provider's key; without a key, or with a key transport open to padding
// oracles, it is refused.
func TestEncryptedAssertion(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	md := registered(t, sp)
	md.MetadataXML = edit(t, md.MetadataXML, func(root *etree.Element) {
		kd := find(root, "KeyDescriptor").Copy()
		kd.CreateAttr("use", "encryption")
		find(root, "SPSSODescriptor").InsertChildAt(0, kd)
	})
	idp := samltest.Start(t, samltest.Options{SPs: []samltest.SP{md}})
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	r := answer(t, idp, p, &f, samltest.IagoUsername, samltest.IagoPassword)
	x := responseXML(t, r)
	if !strings.Contains(string(x), "EncryptedAssertion") || strings.Contains(string(x), samltest.IagoEmail) {
		t.Fatalf("the IdP did not encrypt the assertion:\n%s", x)
	}
	id, err := p.Finish(t.Context(), with(t, r, x), f)
	if err != nil || id.Email != samltest.IagoEmail {
		t.Fatalf("Finish of an encrypted assertion = %+v, %v", id, err)
	}

	noKey := config(idp, &saml.ServiceProvider{EntityID: spEntityID}, &log)
	_, err = newProvider(t, noKey).Finish(t.Context(), with(t, r, x), f)
	wantInvalid(t, err, "no RSA key to decrypt it")

	v15 := edit(t, x, func(root *etree.Element) {
		for _, m := range root.FindElements("//EncryptedKey/EncryptionMethod") {
			m.CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#rsa-1_5")
		}
	})
	_, err = p.Finish(t.Context(), with(t, r, v15), f)
	wantInvalid(t, err, "PKCS #1 v1.5")
}

// A comment in a signed value does not cut it (the comment injection of
// CVE-2017-11427 and its kin): canonicalization drops comments, so the
// signature still verifies, and a service provider that read only the
// first text node would take "hamlet@zulip.com" from the answer of a
// person whose address is "hamlet@zulip.com.evil.example".
func TestCommentInjection(t *testing.T) {
	t.Parallel()
	sp := newSP(spEntityID)
	const evil = "hamlet@zulip.com.evil.example"
	idp := samltest.Start(t, samltest.Options{
		SPs:   []samltest.SP{registered(t, sp)},
		Users: []samltest.User{{Username: "mallory", Password: "pw", Email: evil}},
	})
	var log logBuffer
	p := newProvider(t, config(idp, sp, &log))
	f := newFlow()
	r := answer(t, idp, p, &f, "mallory", "pw")
	x := strings.ReplaceAll(string(responseXML(t, r)), ">"+evil+"<", ">hamlet@zulip.com<!---->.evil.example<")
	if !strings.Contains(x, "<!---->") {
		t.Fatal("no value to put a comment in")
	}
	id, err := p.Finish(t.Context(), with(t, r, []byte(x)), f)
	if err == nil && id.Email != evil || err != nil && !errors.Is(err, zulipauth.ErrSSOInvalid) {
		t.Fatalf("Finish = %+v, %v; want %s or a refusal", id, err, evil)
	}
	if err == nil && id.Subject != evil {
		t.Errorf("Subject = %q, want %q", id.Subject, evil)
	}
	t.Logf("Finish = %q, %v", id.Email, err)
}
