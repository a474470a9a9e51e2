package saml_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/internal/samlattack"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The attack suite: answers forged from the IdP's genuine ones (by
// internal/samlattack, whose own tests show each forgery live against the
// careless readers it targets), posted to the assertion consumer service
// through zulipauth's handlers, as an attacker's browser would. Every one is
// a 4xx page with one log line, no login and nothing created.

// victimEmail is the account the forgeries claim: it exists, so that a
// forgery accepted logs its author in as someone else.
const victimEmail = "cordelia@zulip.com"

// newcomerEmail is an address with no account: a forgery accepted with it
// creates one (the provider creates users).
const newcomerEmail = "goneril@zulip.com"

// attackServer is two instances of an application with zulipauth's SAML
// single sign-on, behind one address (a request goes to the instance
// `instance` names), sharing one store; every log line of both goes to
// log, and every event to events.
type attackServer struct {
	url      string
	idp      *samltest.IdP
	store    *memstore.Store
	instance atomic.Int32

	mu     sync.Mutex
	log    strings.Builder
	events []zulipauth.Event
}

func (s *attackServer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// logLines are the lines logged since line from.
func (s *attackServer) logLines(from int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := strings.Split(strings.TrimSuffix(s.log.String(), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	return lines[min(from, len(lines)):]
}

// lastChange is the store's last change's number.
func (s *attackServer) lastChange() int64 {
	n, err := s.store.LastChange(context.Background())
	if err != nil {
		panic(err)
	}
	return n
}

func (s *attackServer) lastEvent() zulipauth.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events) == 0 {
		return zulipauth.Event{}
	}
	return s.events[len(s.events)-1]
}

func newAttackServer(t testing.TB, allowUnsolicited bool, tune ...func(*saml.Provider)) *attackServer {
	t.Helper()
	s := &attackServer{store: memstore.New()}
	var handlers [2]http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers[s.instance.Load()].ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	ext := "localhost:" + port
	s.url = "http://" + ext
	sp := newSP(s.url + saml.MetadataPath)
	md, err := sp.Metadata(s.url + "/complete/saml/")
	if err != nil {
		t.Fatal(err)
	}
	s.idp = samltest.Start(t, samltest.Options{SPs: []samltest.SP{{EntityID: sp.EntityID, MetadataXML: md}}})
	ctx := context.Background()
	for _, email := range []string{samltest.IagoEmail, victimEmail} {
		if _, err := s.store.CreateUser(ctx, zulipauth.NewUser{Email: email, FullName: email}); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(s, nil))
	p, err := saml.New(saml.Config{SP: sp, Name: "test-idp", IdPMetadata: s.idp.Metadata, CreateUsers: true,
		AllowUnsolicited: allowUnsolicited, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tune {
		f(p)
	}
	pw, _ := password.New(s.store)
	for i := range handlers {
		auth, err := zulipauth.New(zulipauth.Config{
			Users: s.store, Authenticator: pw, IdentityProviders: []zulipauth.IdentityProvider{p},
			Realms: zulipauth.HostRealms{Realms: s.store, ExternalHost: ext},
			Logger: logger,
			OnEvent: func(e zulipauth.Event) {
				s.mu.Lock()
				s.events = append(s.events, e)
				s.mu.Unlock()
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		auth.Mount(mux)
		handlers[i] = mux
	}
	s.log.Reset() // the provider's start-up line
	return s
}

// answer starts a mobile login in browser c and logs Iago in at the IdP:
// the IdP's genuine answer, ready to post, and its Response.
func (s *attackServer) answer(t *testing.T, c *http.Client) (*http.Request, []byte) {
	t.Helper()
	return s.answerFor(t, c, samltest.IagoUsername, samltest.IagoPassword)
}

// answerFor is answer for another person at the IdP.
func (s *attackServer) answerFor(t *testing.T, c *http.Client, username, password string) (*http.Request, []byte) {
	t.Helper()
	resp, err := c.Get(s.url + "/accounts/login/social/saml/test-idp?mobile_flow_otp=" + strings.Repeat("5a", 32))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	req, err := s.idp.Login(t.Context(), resp.Header.Get("Location"), username, password)
	if err != nil {
		t.Fatal(err)
	}
	genuine, err := samltest.ResponseXML(req)
	if err != nil {
		t.Fatal(err)
	}
	return req, genuine
}

// postAnswer sends the answer as browser c would, and returns the status, where
// it redirects and the page.
func postAnswer(t *testing.T, c *http.Client, answer *http.Request) (int, string, string) {
	t.Helper()
	resp, err := c.Do(answer)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// refused checks that the last answer was a refusal as the suite requires:
// a 4xx page (not a redirect: no login), exactly one log line since
// logFrom, a LoginFailed event, and nothing changed in the store since its
// change changes (no account made, none changed).
func (s *attackServer) refused(t *testing.T, status int, location, page string, logFrom int, changes int64) {
	t.Helper()
	if status < 400 || status >= 500 || location != "" || !strings.Contains(page, "<h1>Login failed</h1>") {
		t.Errorf("answered %d to %q; want a 4xx page\n%s", status, location, page)
	}
	if lines := s.logLines(logFrom); len(lines) != 1 {
		t.Errorf("%d log lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if ev := s.lastEvent(); ev.Kind != zulipauth.LoginFailed {
		t.Errorf("the last event is %+v, want LoginFailed", ev)
	}
	if n := s.lastChange(); n != changes {
		t.Errorf("the store changed: its last change is %d, was %d", n, changes)
	}
	if _, err := s.store.UserByEmail(context.Background(), "", newcomerEmail); err == nil {
		t.Errorf("an account was made for %s", newcomerEmail)
	}
}

// attackKey is the attacker's own RSA key.
var attackKey = sync.OnceValue(func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
})

// TestAttacks runs the suite against the provider as it is, and the
// wrappings (XSW1-8, a second or a hidden assertion) again with its count of
// assertions skipped: that count stops them first, and what goxmldsig
// verified, the only part of the answer the provider reads, stops them too.
func TestAttacks(t *testing.T) {
	t.Parallel()
	t.Run("provider", func(t *testing.T) { t.Parallel(); attackSuite(t, newAttackServer(t, false), true) })
	t.Run("verification alone", func(t *testing.T) {
		t.Parallel()
		attackSuite(t, newAttackServer(t, false, saml.SkipAssertionCount), false)
	})
}

// attackSuite posts every forgery to s; all is false to run the wrappings
// only.
func attackSuite(t *testing.T, s *attackServer, all bool) {
	mustForge := func(t *testing.T) func(doc []byte, err error) []byte {
		return func(doc []byte, err error) []byte {
			t.Helper()
			if err != nil {
				t.Fatalf("forging: %v", err)
			}
			return doc
		}
	}
	// resigned is the IdP's own signature again over doc: what the suite
	// changed is then all that is wrong with it.
	resigned := func(t *testing.T) func(doc []byte, err error) []byte {
		return func(doc []byte, err error) []byte {
			t.Helper()
			doc = mustForge(t)(doc, err)
			doc, err = s.idp.Resign(doc)
			return mustForge(t)(doc, err)
		}
	}
	type forgery func(t *testing.T, genuine []byte, a samlattack.Attacker) []byte
	// Each forgery, and the reason its refusal must give: the check that
	// stops it.
	cases := map[string]struct {
		forge forgery
		why   string
	}{
		"an assertion signed by another key": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			key := attackKey()
			doc := mustForge(t)(samlattack.SetIdentity(g, a))
			return mustForge(t)(samlattack.ResignedWithKey(doc, key, selfSigned(t, key)))
		}, "Could not verify certificate against trusted certs"},
		"the identity changed after signing": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return mustForge(t)(samlattack.SetIdentity(g, a))
		}, "Signature could not be verified"},
		"expired": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return resigned(t)(samlattack.SetAssertionTimes(g, time.Now().Add(-time.Hour), time.Now().Add(-2*time.Minute)))
		}, "expired"},
		"not yet valid": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return resigned(t)(samlattack.SetAssertionTimes(g, time.Now().Add(5*time.Minute), time.Now().Add(time.Hour)))
		}, "valid only from"},
		"another audience": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return resigned(t)(samlattack.SetAudience(g, "https://other.example/saml/metadata.xml"))
		}, "Audience"},
		"another recipient": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return resigned(t)(samlattack.SetRecipient(g, "https://other.example/complete/saml/"))
		}, "Recipient"},
		"another destination": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return resigned(t)(samlattack.SetDestination(g, "https://other.example/complete/saml/"))
		}, "Destination"},
		"an unknown InResponseTo": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return resigned(t)(samlattack.SetInResponseTo(g, "_unknown-request"))
		}, "another request"},
		"no InResponseTo": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return resigned(t)(samlattack.SetInResponseTo(g, ""))
		}, "no InResponseTo"},
		"entity expansion": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return mustForge(t)(samlattack.BillionLaughs(g))
		}, "DOCTYPE"},
		"an external entity": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return mustForge(t)(samlattack.ExternalEntity(g, "file:///etc/passwd"))
		}, "DOCTYPE"},
		"over the size cap": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return mustForge(t)(samlattack.Oversized(g, saml.DefaultMaxResponseBytes+1))
		}, "over the cap"},
		"far over the size cap": {func(t *testing.T, g []byte, a samlattack.Attacker) []byte {
			return mustForge(t)(samlattack.Oversized(g, 4<<20))
		}, "over 1048576 bytes"},
	}
	// The wrapping attacks, from an answer the IdP signed twice (Response
	// and Assertion), so that every variant applies.
	variants := func(t *testing.T, g []byte, a samlattack.Attacker) []samlattack.Variant {
		both := resigned(t)(g, nil)
		vs, err := samlattack.All(both, a)
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}

	run := func(t *testing.T, a samlattack.Attacker, why string, forge func(t *testing.T, genuine []byte) []byte) {
		c := client(t)
		answer, genuine := s.answer(t, c)
		forged, err := samltest.WithResponse(answer, forge(t, genuine))
		if err != nil {
			t.Fatal(err)
		}
		changes := s.lastChange()
		from := len(s.logLines(0))
		status, location, page := postAnswer(t, c, forged)
		s.refused(t, status, location, page, from, changes)
		if cause := s.lastEvent().Cause; cause == nil || !strings.Contains(cause.Error(), why) {
			t.Errorf("refused for %v, want: %s", cause, why)
		}
	}
	for _, a := range []samlattack.Attacker{{Email: victimEmail}, {Email: newcomerEmail}} {
		// One at a time: each case counts the log lines since it began.
		t.Run(a.Email, func(t *testing.T) {
			for name, c := range cases {
				if !all {
					break
				}
				if (name == "over the size cap" || name == "far over the size cap") && a.Email != victimEmail {
					continue
				}
				t.Run(name, func(t *testing.T) {
					run(t, a, c.why, func(t *testing.T, g []byte) []byte { return c.forge(t, g, a) })
				})
			}
			c := client(t)
			_, genuine := s.answer(t, c)
			for _, v := range variants(t, genuine, a) {
				if strings.HasPrefix(v.Name, "Comment") || v.Name == "BillionLaughs" || v.Name == "ExternalEntity" || v.Name == "Oversized" {
					continue // their own cases
				}
				// Refused before anything is read of the answer: by the
				// count of assertions, else by the signature's check.
				why := "does not verify"
				if all && v.Name != "ReplacedAssertionInSignedResponse" {
					why = "want exactly one"
				}
				t.Run(v.Name, func(t *testing.T) {
					run(t, a, why, func(t *testing.T, g []byte) []byte {
						// The variant of this flow's own genuine answer.
						for _, w := range variants(t, g, a) {
							if w.Name == v.Name {
								return w.Doc
							}
						}
						t.Fatalf("no %s for this answer", v.Name)
						return nil
					})
				})
			}
		})
	}
}

// A comment inside the signed NameID or email (CVE-2017-11427 and its
// family): the IdP signed "cordelia@zulip.com.evil.example" for an account
// of the attacker's, and the comment after "cordelia@zulip.com" does not
// change what the signature covers. The login is the whole address's (made
// on first login, as the provider allows), never the victim's.
func TestCommentInTheIdentity(t *testing.T) {
	t.Parallel()
	s := newAttackServer(t, false)
	// The attacker's own account at the IdP.
	whole := victimEmail + ".evil.example"
	if err := s.idp.AddUser(t.Context(), samltest.User{Username: "mallory", Password: "mallory's password", Email: whole}); err != nil {
		t.Fatal(err)
	}
	for _, comment := range []func([]byte, samlattack.Attacker) ([]byte, error){samlattack.CommentInNameID, samlattack.CommentInEmail} {
		c := client(t)
		answer, genuine := s.answerFor(t, c, "mallory", "mallory's password")
		a := samlattack.Attacker{Email: victimEmail}
		doc, err := comment(genuine, a)
		if err != nil {
			t.Fatal(err)
		}
		forged, err := samltest.WithResponse(answer, doc)
		if err != nil {
			t.Fatal(err)
		}
		status, location, _ := postAnswer(t, c, forged)
		loc, _ := url.Parse(location)
		if ev := s.lastEvent(); status != http.StatusFound || loc.Query().Get("email") != whole || ev.Kind != zulipauth.LoginSucceeded || ev.User.Email != whole {
			t.Errorf("%d to %q, event %+v; want the login of %s, the whole address the IdP signed", status, location, ev, whole)
		}
	}
}

// A genuine answer is accepted once: posted again, in the same browser or
// on the other instance, it is refused; so is one answer to another flow's
// request.
func TestReplayedAnswer(t *testing.T) {
	t.Parallel()
	s := newAttackServer(t, false)
	c := client(t)
	answer, genuine := s.answer(t, c)
	again, err := samltest.WithResponse(answer, genuine)
	if err != nil {
		t.Fatal(err)
	}
	if status, location, page := postAnswer(t, c, answer); status != http.StatusFound || !strings.HasPrefix(location, "zulip://login?") {
		t.Fatalf("the genuine answer: %d %q %s", status, location, page)
	}
	changes := s.lastChange()
	for i := range 2 {
		s.instance.Store(int32(i))
		replay, _ := samltest.WithResponse(again, genuine)
		from := len(s.logLines(0))
		status, location, page := postAnswer(t, c, replay)
		s.refused(t, status, location, page, from, changes)
	}
	s.instance.Store(0)

	// The answer to one flow with another flow's RelayState.
	c2 := client(t)
	_, firstXML := s.answer(t, c2)
	second, _ := s.answer(t, c2)
	swapped, err := samltest.WithResponse(second, firstXML)
	if err != nil {
		t.Fatal(err)
	}
	from := len(s.logLines(0))
	status, location, page := postAnswer(t, c2, swapped)
	s.refused(t, status, location, page, from, changes)
}

// An IdP-initiated answer, where the operator allows them, is accepted once
// on every instance: the answer's ID is kept in the shared store.
func TestReplayedUnsolicitedAnswer(t *testing.T) {
	t.Parallel()
	s := newAttackServer(t, true)
	c := client(t)
	sp := newSP(s.url + saml.MetadataPath)
	answer, err := s.idp.LoginUnsolicited(t.Context(), sp.EntityID, samltest.IagoUsername, samltest.IagoPassword)
	if err != nil {
		t.Fatal(err)
	}
	genuine, err := samltest.ResponseXML(answer)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, page := postAnswer(t, c, answer); status != http.StatusOK || !strings.Contains(page, "no web session") {
		t.Fatalf("the unsolicited answer, allowed: %d %s", status, page)
	}
	if ev := s.lastEvent(); ev.Kind != zulipauth.LoginSucceeded || ev.User.Email != samltest.IagoEmail {
		t.Fatalf("event %+v, want Iago's login", ev)
	}
	changes := s.lastChange()
	for i := range 2 {
		s.instance.Store(int32(i))
		replay, _ := samltest.WithResponse(answer, genuine)
		from := len(s.logLines(0))
		status, location, page := postAnswer(t, c, replay)
		s.refused(t, status, location, page, from, changes)
		if !strings.Contains(s.lastEvent().Cause.Error(), "used already") {
			t.Errorf("instance %d refused the replay for %v, want: used already", i, s.lastEvent().Cause)
		}
	}
}
