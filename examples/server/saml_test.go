package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/saml"
	"github.com/zulipauth/zulipauth-go/backends/saml/samltest"
	"github.com/zulipauth/zulipauth-go/examples/internal/browsertest"
)

// samlIdPName is the IdP's NAME in the tests' -saml-idp: its method is
// saml:corp, its login /accounts/login/social/saml/corp.
const samlIdPName = "corp"

// spFiles writes a service provider's RSA key (mode 0600) and self-signed
// certificate as PEM files, as an operator makes them with openssl.
func spFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "zulipauth test service provider"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "sp.crt"), filepath.Join(dir, "sp.key")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// samlSetup is a database with Iago in the root realm and Hamlet in "lear",
// a SAML IdP that knows both and this server (entity ID http://host, its
// signing certificate, the assertion consumer services of host and
// lear.host), and the -saml-* flags that name them: the IdP's metadata as
// a file, the service provider's certificate and key.
func samlSetup(t *testing.T, host string) (db string, idp *samltest.IdP, flags []string) {
	t.Helper()
	db = tempDB(t)
	mustAdmin(t, db, "", "create-realm", "-subdomain", "lear", "-name", "Lear")
	mustAdmin(t, db, "iago's long password\n", "create-user", "-email", samltest.IagoEmail)
	mustAdmin(t, db, "hamlet's long password\n", "create-user", "-realm", "lear", "-email", samltest.HamletEmail)
	mustAdmin(t, db, "polonius's long password\n", "create-user", "-email", samltest.PoloniusEmail)
	certFile, keyFile := spFiles(t)
	idp = samltest.Start(t, samltest.Options{})
	// The IdP keeps one metadata per entity ID, so it gets one that lists
	// both realms' assertion consumer services; each realm's own
	// /saml/metadata.xml lists its own (TestServeAnnouncesSAML).
	sp, err := saml.LoadServiceProvider("http://"+host, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	md, err := sp.Metadata("http://"+host+"/complete/saml/", "http://lear."+host+"/complete/saml/")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.AddSP(t.Context(), samltest.SP{EntityID: sp.EntityID, MetadataXML: md}); err != nil {
		t.Fatal(err)
	}
	idpFile := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(idpFile, idp.Metadata, 0o644); err != nil {
		t.Fatal(err)
	}
	return db, idp, []string{"-external-host", host, "-saml-idp", samlIdPName + "=" + idpFile,
		"-saml-sp-cert", certFile, "-saml-sp-key", keyFile}
}

// samlPerson is a person of samltest's fixture, whose login form names the
// username "user".
func samlPerson(username, password, email string) person {
	return person{"user", username, password, email}
}

// The mobile apps' single sign-on through SAML, in Chromium, against a
// real IdP (crewjam/saml's, another library than the server's gosaml2),
// for two realms. The IdP's page posts the answer to the server from
// another site (127.0.0.1, not localhost), so the browser sends no flow
// cookie with it (SameSite=Lax): the server checks the answer, then sends
// the browser back to itself with sso_continue, where the cookie binds the
// login to the browser that started it. The redirect passes
// zulip-flutter's checks and its key authenticates users/me. A person the
// IdP refuses ends on a page that says so, without a zulip:// redirect.
func TestMobileSAMLInABrowser(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	host := "localhost:" + port
	db, _, flags := samlSetup(t, host)
	startServer(t, append([]string{"-db", db, "-addr", "127.0.0.1:" + port}, flags...)...)
	for _, tc := range []struct {
		realmURL string
		who      person
	}{
		{"http://" + host, samlPerson(samltest.IagoUsername, samltest.IagoPassword, samltest.IagoEmail)},
		{"http://lear." + host, samlPerson(samltest.HamletUsername, samltest.HamletPassword, samltest.HamletEmail)},
	} {
		b := browsertest.Start(t)
		key := mobileSSO(t, b, tc.realmURL, "saml:"+samlIdPName, tc.who)
		usersMe(t, tc.realmURL, tc.who.email, key)
		continued := false
		for _, r := range b.Redirects() {
			continued = continued || strings.HasPrefix(r.From, tc.realmURL+"/complete/saml/") && strings.Contains(r.Location, "sso_continue=")
		}
		if !continued {
			t.Errorf("%s: the posted answer was not continued in the browser (sso_continue): redirects %+v", tc.realmURL, b.Redirects())
		}
	}

	refusedSSO(t, "http://"+host+"/accounts/login/social/saml/"+samlIdPName,
		samlPerson(samltest.PoloniusUsername, samltest.PoloniusPassword, samltest.PoloniusEmail),
		"http://"+host+"/complete/saml/", "refused at the identity provider")
}

// No sticky sessions with SAML either: the login starts on one instance;
// the IdP's answer, and the browser's return with sso_continue, land on
// the other (both share the database, where the flow and the checked
// answer wait); it works.
func TestSAMLAcrossInstances(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	host := "localhost:" + port
	db, _, flags := samlSetup(t, host)
	first := startServer(t, append([]string{"-db", db}, flags...)...)
	second := startServer(t, append([]string{"-db", db}, flags...)...)
	starts, answers := balance(t, port, first, second)

	b := browsertest.Start(t)
	iago := samlPerson(samltest.IagoUsername, samltest.IagoPassword, samltest.IagoEmail)
	key := mobileSSO(t, b, "http://"+host, "saml:"+samlIdPName, iago)
	usersMe(t, "http://"+host, iago.email, key)
	if starts.Load() != 1 || answers.Load() != 2 {
		t.Errorf("the balancer sent %d starts to the first instance and %d requests to /complete/ to the second, want 1 and 2 (the answer, then sso_continue)", starts.Load(), answers.Load())
	}
	if !strings.Contains(second.stderr.String(), `msg="login succeeded"`) {
		t.Errorf("the second instance did not log the login:\n%s", second.stderr.String())
	}
}

// With an IdP, serve says at start what to register at it (the entity ID,
// each realm's assertion consumer service and metadata URL); each realm
// the IdP serves lists it in server_settings and serves its own metadata,
// naming its own assertion consumer service; a realm it does not serve
// does neither. The IdP's metadata comes from its URL here.
func TestServeAnnouncesSAML(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	host := "localhost:" + port
	db, idp, _ := samlSetup(t, host)
	mustAdmin(t, db, "", "create-realm", "-subdomain", "york", "-name", "York")
	certFile, keyFile := spFiles(t)
	p := startServer(t, "-db", db, "-addr", "127.0.0.1:"+port, "-external-host", host,
		"-saml-idp", samlIdPName+"="+idp.MetadataURL, "-saml-sp-cert", certFile, "-saml-sp-key", keyFile,
		"-saml-idp-subdomains", samlIdPName+"=www,lear", "-saml-entity-id", "https://sp.example/zulip")
	waitFor(t, func() bool { return strings.Contains(p.stderr.String(), "register this service provider") })
	log := p.stderr.String()
	for _, want := range []string{"provider=saml:corp", "sp_entity_id=https://sp.example/zulip",
		"http://" + host + "/complete/saml/", "http://lear." + host + "/complete/saml/",
		"http://" + host + "/saml/metadata.xml", "http://lear." + host + "/saml/metadata.xml"} {
		if !strings.Contains(log, want) {
			t.Errorf("the start-up log does not say %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "york."+host) || strings.Contains(log, "PRIVATE KEY") {
		t.Errorf("the start-up log names a realm the IdP does not serve, or the key:\n%s", log)
	}

	for _, realm := range []string{host, "lear." + host} {
		code, body := get(t, "http://"+realm+"/api/v1/server_settings", nil)
		if code != 200 || !strings.Contains(string(body), `"name":"saml:corp"`) ||
			!strings.Contains(string(body), `"login_url":"/accounts/login/social/saml/corp"`) || !strings.Contains(string(body), `"saml":true`) {
			t.Errorf("server_settings at %s: %d %s", realm, code, body)
		}
		code, body = get(t, "http://"+realm+saml.MetadataPath, nil)
		if code != 200 || !strings.Contains(string(body), `entityID="https://sp.example/zulip"`) ||
			!strings.Contains(string(body), `Location="http://`+realm+`/complete/saml/"`) || strings.Count(string(body), "AssertionConsumerService ") != 1 {
			t.Errorf("the metadata at %s: %d %s", realm, code, body)
		}
	}
	code, body := get(t, "http://york."+host+"/api/v1/server_settings", nil)
	if code != 200 || strings.Contains(string(body), "saml:corp") {
		t.Errorf("server_settings of a realm the IdP does not serve: %d %s", code, body)
	}
	if code, _ := get(t, "http://nosuchrealm."+host+saml.MetadataPath, nil); code != 404 {
		t.Errorf("the metadata of a host no realm answers at: %d, want 404", code)
	}
}

// What the -saml-* flags cannot make is refused at start, saying what to
// do; a usage error where the flags alone show it. The key never appears
// in what the server says.
func TestServeRefusesHalfConfiguredSAML(t *testing.T) {
	t.Parallel()
	certFile, keyFile := spFiles(t)
	keyPEM, _ := os.ReadFile(keyFile)
	openKey := filepath.Join(t.TempDir(), "open.key")
	os.WriteFile(openKey, keyPEM, 0o644)
	idp := samltest.Start(t, samltest.Options{})
	idpFile := filepath.Join(t.TempDir(), "idp.xml")
	os.WriteFile(idpFile, idp.Metadata, 0o644)
	notXML := filepath.Join(t.TempDir(), "notxml")
	os.WriteFile(notXML, []byte("hello"), 0o644)
	named := samlIdPName + "=" + idpFile
	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"a certificate without an IdP", []string{"-saml-sp-cert", certFile, "-saml-sp-key", keyFile}, "without -saml-idp NAME=METADATA", true},
		{"a certificate without its key", []string{"-saml-idp", named, "-saml-sp-cert", certFile}, "-saml-sp-cert needs -saml-sp-key", true},
		{"a key without its certificate", []string{"-saml-idp", named, "-saml-sp-key", keyFile}, "-saml-sp-key needs -saml-sp-cert", true},
		{"limits for an unknown IdP", []string{"-saml-idp", named, "-saml-idp-subdomains", "other=www"}, `names the IdP "other"`, true},
		{"a bad subdomain", []string{"-saml-idp", named, "-saml-idp-subdomains", samlIdPName + "=Not_One"}, "is not a realm's subdomain", true},
		{"a bad name", []string{"-saml-idp", "Corp!=" + idpFile}, "want 1 to 40 characters", true},
		{"no value", []string{"-saml-idp", samlIdPName}, "NAME=METADATA", true},
		{"an IdP twice", []string{"-saml-idp", named, "-saml-idp", named}, "given twice", true},
		{"another scheme", []string{"-saml-idp", samlIdPName + "=ftp://idp.example/md"}, "neither a file nor an https URL", true},
		{"an empty entity ID", []string{"-saml-idp", named, "-saml-entity-id", " "}, "-saml-entity-id is empty", true},
		{"an empty email attribute", []string{"-saml-idp", named, "-saml-email-attr", ""}, "-saml-email-attr is empty", true},
		{"a readable key", []string{"-saml-idp", named, "-saml-sp-cert", certFile, "-saml-sp-key", openKey}, "chmod 600", false},
		{"a missing metadata file", []string{"-saml-idp", samlIdPName + "=/nonexistent/idp.xml"}, "/nonexistent/idp.xml", false},
		{"metadata that is not XML", []string{"-saml-idp", samlIdPName + "=" + notXML}, "-saml-idp " + samlIdPName, false},
		{"http, not loopback", []string{"-saml-idp", samlIdPName + "=http://idp.example/metadata"}, "https", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			args := append([]string{"serve", "-db", tempDB(t), "-addr", "127.0.0.1:0"}, tc.args...)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := run(ctx, args, strings.NewReader(""), io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve %v = %v, want a refusal saying %q", tc.args, err, tc.want)
			}
			if errors.Is(err, errUsage) != tc.usage {
				t.Errorf("usage error = %v, want %v: %v", errors.Is(err, errUsage), tc.usage, err)
			}
			if strings.Contains(err.Error()+stderr.String(), "PRIVATE KEY") || strings.Contains(err.Error()+stderr.String(), string(keyPEM[40:80])) {
				t.Errorf("the key was shown: %v %s", err, stderr.String())
			}
		})
	}
}

// A login started at the IdP answers no request of the server: refused by
// default, a page that says so; with -saml-allow-idp-initiated (and the
// warning at start) accepted once, ending on the page that says the login
// worked, since the reference server has no web session for it.
func TestServeIdPInitiatedSAML(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		port := freePort(t)
		host := "localhost:" + port
		db, idp, flags := samlSetup(t, host)
		if allow {
			flags = append(flags, "-saml-allow-idp-initiated")
		}
		p := startServer(t, append([]string{"-db", db, "-addr", "127.0.0.1:" + port}, flags...)...)
		answer, err := idp.LoginUnsolicited(t.Context(), "http://"+host, samltest.IagoUsername, samltest.IagoPassword)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(answer.Body)
		post := func() (int, string) {
			req := answer.Clone(t.Context())
			req.Body, req.RequestURI = io.NopCloser(strings.NewReader(string(body))), ""
			resp, err := loopbackClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			page, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(page)
		}
		code, page := post()
		warned := func() bool { return strings.Contains(p.stderr.String(), "-saml-allow-idp-initiated accepts answers") }
		if allow {
			waitFor(t, warned)
		}
		switch {
		case !allow && (code < 400 || code >= 500 || warned()):
			t.Errorf("without -saml-allow-idp-initiated: %d %q (warned: %v)", code, page, warned())
		case allow && (code != 200 || !strings.Contains(page, "no web session")):
			t.Errorf("with -saml-allow-idp-initiated: %d %q\n%s", code, page, p.stderr.String())
		}
		if code, _ := post(); allow && code < 400 {
			t.Errorf("an IdP-initiated answer accepted twice: %d", code)
		}
	}
}
