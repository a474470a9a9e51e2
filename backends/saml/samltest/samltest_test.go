package samltest_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

const (
	spEntityID = "http://localhost:9991/saml/metadata.xml"
	acsURL     = "http://localhost:9991/complete/saml/"
)

// setUp starts an IdP for a service provider without a key, and returns
// both.
func setUp(t *testing.T, opts samltest.Options) (*samltest.IdP, *saml.Provider) {
	t.Helper()
	sp := &saml.ServiceProvider{EntityID: spEntityID}
	md, err := sp.Metadata(acsURL)
	if err != nil {
		t.Fatal(err)
	}
	opts.SPs = append(opts.SPs, samltest.SP{EntityID: spEntityID, MetadataXML: md})
	idp := samltest.Start(t, opts)
	p, err := saml.New(saml.Config{SP: sp, Name: "samltest", IdPMetadata: idp.Metadata})
	if err != nil {
		t.Fatal(err)
	}
	return idp, p
}

func newFlow() zulipauth.SSOFlow {
	b := make([]byte, 32)
	rand.Read(b)
	return zulipauth.SSOFlow{Token: base64.RawURLEncoding.EncodeToString(b), CallbackURL: acsURL}
}

// The IdP's URLs and fields are as documented; its metadata names it.
func TestIdP(t *testing.T) {
	t.Parallel()
	idp, _ := setUp(t, samltest.Options{})
	if !strings.HasPrefix(idp.URL, "http://127.0.0.1:") || idp.MetadataURL != idp.URL+"/metadata" || idp.EntityID != idp.MetadataURL {
		t.Errorf("URL %q, MetadataURL %q, EntityID %q", idp.URL, idp.MetadataURL, idp.EntityID)
	}
	if !strings.Contains(string(idp.Metadata), `entityID="`+idp.EntityID+`"`) || !strings.Contains(string(idp.Metadata), idp.URL+"/sso") {
		t.Errorf("the metadata does not name the IdP and its /sso:\n%s", idp.Metadata)
	}
	if idp.Key == nil || idp.Certificate == nil || !idp.Key.PublicKey.Equal(idp.Certificate.PublicKey) {
		t.Error("Key is not the Certificate's")
	}
}

// Login returns the answer's POST to the callback, with the flow's token as
// RelayState; a wrong password, an unknown user, an AuthnRequest from an
// unknown service provider or for a callback its metadata does not list
// are errors that say so.
func TestLogin(t *testing.T) {
	t.Parallel()
	idp, p := setUp(t, samltest.Options{Users: []samltest.User{{Username: "ophelia", Password: "pw", Email: "ophelia@zulip.com", FirstName: "Ophelia"}}})
	f := newFlow()
	authURL, err := p.Start(t.Context(), &f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := idp.Login(t.Context(), authURL, "ophelia", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != http.MethodPost || r.URL.String() != acsURL || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("Login returned %s %s (%s)", r.Method, r.URL, r.Header.Get("Content-Type"))
	}
	x, err := samltest.ResponseXML(r)
	if err != nil || !strings.Contains(string(x), "ophelia@zulip.com") {
		t.Fatalf("ResponseXML: %v\n%s", err, x)
	}
	if p.FlowToken(r) != f.Token {
		t.Errorf("the answer's RelayState is not the flow's token")
	}
	if id, err := p.Finish(t.Context(), r, f); err != nil || id.Email != "ophelia@zulip.com" || id.Name != "Ophelia" {
		t.Errorf("Finish = %+v, %v", id, err)
	}

	for _, tt := range []struct {
		name, username, password, want string
	}{
		{"a wrong password", samltest.IagoUsername, "wrong", `the IdP refused the login of "iago": Invalid username or password`},
		{"an unknown user", "nobody", "pw", "Invalid username or password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow()
			authURL, _ := p.Start(t.Context(), &f)
			if _, err := idp.Login(t.Context(), authURL, tt.username, tt.password); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Login: %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("another callback", func(t *testing.T) {
		f := newFlow()
		f.CallbackURL = "http://localhost:9991/elsewhere/"
		authURL, _ := p.Start(t.Context(), &f)
		if _, err := idp.Login(t.Context(), authURL, samltest.IagoUsername, samltest.IagoPassword); err == nil || !strings.Contains(err.Error(), "400 Bad Request") {
			t.Fatalf("Login: %v, want the IdP's 400", err)
		}
	})
	t.Run("an unknown service provider", func(t *testing.T) {
		stranger, err := saml.New(saml.Config{SP: &saml.ServiceProvider{EntityID: "https://stranger.example.com/"}, Name: "x", IdPMetadata: idp.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		f := newFlow()
		authURL, _ := stranger.Start(t.Context(), &f)
		if _, err := idp.Login(t.Context(), authURL, samltest.IagoUsername, samltest.IagoPassword); err == nil || !strings.Contains(err.Error(), "400 Bad Request") {
			t.Fatalf("Login: %v, want the IdP's 400", err)
		}
	})
	if _, err := idp.Login(t.Context(), "https://elsewhere.example.com/sso", "a", "b"); err == nil {
		t.Error("Login of another host's URL")
	}
}

// The login page is a plain form, and a browser that keeps the IdP's
// cookie logs in once: its next login is answered at once, without the
// form (samlidp's session).
func TestSession(t *testing.T) {
	t.Parallel()
	idp, p := setUp(t, samltest.Options{})
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	f := newFlow()
	authURL, _ := p.Start(t.Context(), &f)
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	for _, want := range []string{`<form method="post" action="/samltest/login" id="login-form">`, `name="user" id="username"`, `name="password" id="password"`, `<button type="submit" id="login">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the login page lacks %s:\n%s", want, page)
		}
	}
	back := page[strings.Index(page, `name="return" value="`)+len(`name="return" value="`):]
	back = back[:strings.Index(back, `"`)]
	resp, err = client.PostForm(idp.URL+"/samltest/login", url.Values{"user": {samltest.IagoUsername}, "password": {samltest.IagoPassword}, "return": {unescape(back)}})
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(t, resp); !strings.Contains(page, `id="SAMLResponseForm"`) {
		t.Fatalf("after the login, no answer:\n%s", page)
	}
	f2 := newFlow()
	authURL, _ = p.Start(t.Context(), &f2)
	resp, err = client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(t, resp); !strings.Contains(page, `id="SAMLResponseForm"`) {
		t.Fatalf("a second login with the IdP's cookie shows no answer:\n%s", page)
	}
	// The login page returns only to the IdP's own login URLs.
	for _, bad := range []string{"https://evil.example.com/", "//evil.example.com/sso", "/services/x"} {
		resp, err := client.PostForm(idp.URL+"/samltest/login", url.Values{"user": {samltest.IagoUsername}, "password": {samltest.IagoPassword}, "return": {bad}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("return %q: %s, want 400", bad, resp.Status)
		}
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#61;", "=", "&quot;", `"`).Replace(s)
}

// Launch and Close, for programs: the IdP stops answering once closed,
// and Close may be called twice. Options are checked.
func TestLaunch(t *testing.T) {
	t.Parallel()
	idp, err := samltest.Launch(samltest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(idp.MetadataURL); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metadata: %v", err)
	} else {
		resp.Body.Close()
	}
	idp.Close()
	idp.Close()
	if resp, err := http.Get(idp.MetadataURL); err == nil {
		resp.Body.Close()
		t.Error("the IdP answers after Close")
	}
	for _, opts := range []samltest.Options{
		{Users: []samltest.User{{Username: samltest.IagoUsername, Password: "x"}}},
		{Users: []samltest.User{{Username: "a/b", Password: "x"}}},
		{Users: []samltest.User{{Username: "nopassword"}}},
		{SPs: []samltest.SP{{EntityID: "x", MetadataXML: []byte("not metadata")}}},
		{SPs: []samltest.SP{{EntityID: "x"}}},
	} {
		if idp, err := samltest.Launch(opts); err == nil {
			idp.Close()
			t.Errorf("Launch(%+v) took invalid options", opts)
		}
	}
}

// Resign signs a changed answer as the IdP would: the service provider
// takes it (and refuses it for what changed, not for its signature).
func TestResign(t *testing.T) {
	t.Parallel()
	idp, p := setUp(t, samltest.Options{})
	f := newFlow()
	authURL, _ := p.Start(t.Context(), &f)
	r, err := idp.Login(t.Context(), authURL, samltest.HamletUsername, samltest.HamletPassword)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := samltest.ResponseXML(r)
	changed := strings.ReplaceAll(string(x), samltest.HamletEmail, "claudius@zulip.com")
	if _, err := p.Finish(t.Context(), mustWith(t, r, []byte(changed)), f); err == nil {
		t.Fatal("Finish took a changed answer without a new signature")
	}
	resigned, err := idp.Resign([]byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := p.Finish(t.Context(), mustWith(t, r, resigned), f); err != nil || id.Email != "claudius@zulip.com" {
		t.Fatalf("Finish of the answer signed again = %+v, %v", id, err)
	}
}

func mustWith(t *testing.T, r *http.Request, x []byte) *http.Request {
	t.Helper()
	r2, err := samltest.WithResponse(r, x)
	if err != nil {
		t.Fatal(err)
	}
	return r2
}

// AddUser replaces a person: the new password logs in, the old one no
// longer; a user made Denied is refused by the IdP.
func TestAddUser(t *testing.T) {
	t.Parallel()
	idp, p := setUp(t, samltest.Options{})
	if err := idp.AddUser(t.Context(), samltest.User{Username: samltest.IagoUsername, Password: "new-password", Email: samltest.IagoEmail}); err != nil {
		t.Fatal(err)
	}
	login := func(password string) error {
		f := newFlow()
		authURL, _ := p.Start(t.Context(), &f)
		r, err := idp.Login(t.Context(), authURL, samltest.IagoUsername, password)
		if err != nil {
			return err
		}
		_, err = p.Finish(t.Context(), r, f)
		return err
	}
	if err := login(samltest.IagoPassword); err == nil || !strings.Contains(err.Error(), "Invalid username or password") {
		t.Errorf("the old password: %v", err)
	}
	if err := login("new-password"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if err := idp.AddUser(t.Context(), samltest.User{Username: samltest.IagoUsername, Password: "new-password", Email: samltest.IagoEmail, Denied: true}); err != nil {
		t.Fatal(err)
	}
	if err := login("new-password"); !errors.Is(err, zulipauth.ErrSSODenied) {
		t.Errorf("a denied user: %v, want ErrSSODenied", err)
	}
}
