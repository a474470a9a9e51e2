package samltest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	"golang.org/x/crypto/bcrypt"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
)

// Options vary an IdP. The zero value is an IdP with the fixture's people
// and no service provider.
type Options struct {
	// SPs are the service providers the IdP answers, by their metadata.
	SPs []SP
	// Users are people added to the fixture's. Usernames must differ
	// from each other and from the fixture's.
	Users []User
}

// SP is a service provider the IdP answers.
type SP struct {
	// EntityID is the service provider's entity ID, which MetadataXML
	// must have too: the IdP keeps the metadata under it.
	EntityID string
	// MetadataXML is the service provider's metadata, an
	// EntityDescriptor with an SPSSODescriptor (backends/saml's
	// ServiceProvider.Metadata).
	MetadataXML []byte
}

// User is a person at the IdP.
type User struct {
	// Username and Password are what the IdP's login form takes.
	// Required: Username is 1 to 64 characters of [A-Za-z0-9._@-].
	Username, Password string
	// Email is the NameID (of format emailAddress) and the email
	// attributes; "" for none (the NameID is then transient and empty).
	Email string
	// FirstName and LastName are the first_name and last_name attributes
	// (samlidp's given name and surname); cn is both joined by a space.
	FirstName, LastName string
	// Denied makes the IdP refuse the login once the password is checked:
	// its Response has the status Responder with RequestDenied, and no
	// assertion.
	Denied bool
}

// IdP is a running identity provider, started by Start for one test (or
// benchmark) and stopped when it ends, or by Launch for a program, which
// stops it with Close.
//
// It serves any number of service providers and logins at once, so
// parallel subtests may share one. Its fields are set by Start and never
// change. Its methods may be called from any goroutine.
type IdP struct {
	// URL is the IdP's base URL, "http://127.0.0.1:PORT", on a port that
	// the system chose.
	URL string
	// MetadataURL is the URL of the IdP's metadata, URL + "/metadata".
	MetadataURL string
	// EntityID is the IdP's entity ID: MetadataURL, as samlidp names
	// itself. The Issuer of its Responses and Assertions.
	EntityID string
	// Metadata is the IdP's metadata, as /metadata serves it: for
	// backends/saml's Config.IdPMetadata.
	Metadata []byte
	// Certificate is the IdP's signing certificate (self-signed, valid
	// from a day ago for a year), the one its metadata lists.
	Certificate *x509.Certificate
	// Key is Certificate's private key, which signs the IdP's Responses
	// and Assertions: for tests that sign what the IdP would not (see
	// IdP.Resign).
	Key *rsa.PrivateKey

	srv    *samlidp.Server
	http   *http.Server
	admin  *http.Client
	log    syncbuf.Buffer
	denied sync.Map // username → true: users the IdP refuses

	mu        sync.Mutex
	closed    bool
	shortcuts map[string]string // service provider's entity ID → shortcut name
}

// Start starts an IdP with opts for tb, which it stops when tb ends; if tb
// failed, its log is written to tb's log first. It fails tb when opts is
// invalid or the IdP does not start.
func Start(tb testing.TB, opts Options) *IdP {
	tb.Helper()
	idp, err := Launch(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		idp.Close()
		if tb.Failed() {
			tb.Logf("samltest: the log of the IdP at %s:\n%s", idp.URL, idp.Log())
		}
	})
	return idp
}

// Launch is Start for a program: the same IdP, fixture and options. The
// caller must call Close. The error says what was wrong with opts or why
// the IdP did not start; on an error nothing is left running.
func Launch(opts Options) (*IdP, error) {
	users := append(fixture(), opts.Users...)
	names := map[string]bool{}
	for _, u := range users {
		switch {
		case !validUsername(u.Username):
			return nil, fmt.Errorf("samltest: the username %q is not 1 to 64 characters of [A-Za-z0-9._@-]", u.Username)
		case u.Password == "":
			return nil, fmt.Errorf("samltest: user %q has no Password", u.Username)
		case names[u.Username]:
			return nil, fmt.Errorf("samltest: two users have the username %q", u.Username)
		}
		names[u.Username] = true
	}
	key, cert, err := newKey()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("samltest: %w", err)
	}
	base := url.URL{Scheme: "http", Host: ln.Addr().String()}
	idp := &IdP{
		URL:         base.String(),
		MetadataURL: base.String() + "/metadata",
		EntityID:    base.String() + "/metadata",
		Certificate: cert,
		Key:         key,
		admin:       &http.Client{Timeout: 10 * time.Second},
		shortcuts:   map[string]string{},
	}
	idp.srv, err = samlidp.New(samlidp.Options{
		URL:         base,
		Key:         key,
		Certificate: cert,
		Store:       &samlidp.MemoryStore{},
		Logger:      log.New(&idp.log, "samlidp: ", log.Ltime|log.Lmicroseconds),
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("samltest: samlidp: %w", err)
	}
	idp.srv.IDP.SessionProvider = &sessions{idp: idp}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+loginPath, idp.handleLogin)
	mux.Handle("/", idp.srv)
	idp.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(&idp.log, "samltest: http: ", log.Ltime|log.Lmicroseconds),
	}
	go idp.http.Serve(ln)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = idp.setUp(ctx, users, opts.SPs)
	if err != nil {
		idp.Close()
		return nil, err
	}
	return idp, nil
}

// setUp fetches the IdP's metadata, and registers users and sps through
// samlidp's administrative API, as an administrator would.
func (i *IdP) setUp(ctx context.Context, users []User, sps []SP) error {
	md, err := i.do(ctx, http.MethodGet, "/metadata", nil, http.StatusOK)
	if err != nil {
		return err
	}
	i.Metadata = md
	for _, u := range users {
		if err := i.AddUser(ctx, u); err != nil {
			return err
		}
	}
	for _, sp := range sps {
		if err := i.AddSP(ctx, sp); err != nil {
			return err
		}
	}
	return nil
}

// AddUser adds (or replaces) the person u at the IdP, with samlidp's
// PUT /users/<username>, its password hashed with bcrypt at the least cost
// (samlidp's own cost takes a second per password under the race
// detector).
func (i *IdP) AddUser(ctx context.Context, u User) error {
	if !validUsername(u.Username) || u.Password == "" {
		return fmt.Errorf("samltest: AddUser: user %q needs a username of [A-Za-z0-9._@-] and a password", u.Username)
	}
	// The password goes hashed at bcrypt's least cost, not in clear text
	// for samlidp to hash at its cost of 10: a second under the race
	// detector, for each user of each IdP. samlidp keeps a hash it is
	// given for a new user only, so a user replaced is deleted first.
	hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.MinCost)
	if err != nil {
		return fmt.Errorf("samltest: AddUser: %w", err)
	}
	if _, err := i.do(ctx, http.MethodDelete, "/users/"+u.Username, nil, http.StatusNoContent); err != nil && !strings.Contains(err.Error(), "404") {
		return fmt.Errorf("samltest: AddUser %q: %w", u.Username, err)
	}
	body, err := json.Marshal(map[string]any{
		"name":            u.Username,
		"hashed_password": hash,
		"email":           u.Email,
		"given_name":      u.FirstName,
		"surname":         u.LastName,
		"common_name":     strings.TrimSpace(u.FirstName + " " + u.LastName),
	})
	if err != nil {
		return fmt.Errorf("samltest: AddUser: %w", err)
	}
	if _, err := i.do(ctx, http.MethodPut, "/users/"+u.Username, body, http.StatusNoContent); err != nil {
		return fmt.Errorf("samltest: AddUser %q: %w", u.Username, err)
	}
	if u.Denied {
		i.denied.Store(u.Username, true)
	} else {
		i.denied.Delete(u.Username)
	}
	return nil
}

// AddSP registers (or replaces) the service provider sp at the IdP, with
// samlidp's PUT /services/<id>. samlidp refuses metadata it cannot read
// (400), and the error says so.
func (i *IdP) AddSP(ctx context.Context, sp SP) error {
	if sp.EntityID == "" || len(sp.MetadataXML) == 0 {
		return errors.New("samltest: AddSP: an SP needs an EntityID and its MetadataXML")
	}
	if _, err := i.do(ctx, http.MethodPut, "/services/"+serviceID(sp.EntityID), sp.MetadataXML, http.StatusNoContent); err != nil {
		return fmt.Errorf("samltest: AddSP %q: %w", sp.EntityID, err)
	}
	return nil
}

// serviceID is the name samlidp keeps a service provider's metadata
// under: a hash of its entity ID, which fits in a path.
func serviceID(entityID string) string {
	sum := sha256.Sum256([]byte(entityID))
	return "sp-" + hex.EncodeToString(sum[:8])
}

// do sends a request to the IdP and returns the answer's body, or an error
// when its status is not want.
func (i *IdP) do(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, i.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := i.admin.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: the IdP answered %s: %s", method, path, resp.Status, excerpt(data))
	}
	return data, nil
}

// Close stops the IdP: it closes its listener and its connections. It is
// safe to call more than once; it is called when the test of Start ends,
// so a test need not call it.
func (i *IdP) Close() {
	i.mu.Lock()
	closed := i.closed
	i.closed = true
	i.mu.Unlock()
	if !closed {
		i.http.Close()
	}
}

// Log is what the IdP has logged so far: samlidp's lines (each login, each
// refusal with its reason) and the HTTP server's errors. Start writes it
// to the test's log when the test failed.
func (i *IdP) Log() string { return i.log.String() }

// newKey makes the IdP's signing key, an RSA key of 2048 bits, and a
// self-signed certificate for it, valid from a day ago for a year.
func newKey() (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("samltest: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, fmt.Errorf("samltest: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "samltest identity provider"},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("samltest: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("samltest: %w", err)
	}
	return key, cert, nil
}

// validUsername reports whether s can be a username: it goes in samlidp's
// paths (/users/<username>) as it is.
func validUsername(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("._@-", c)) {
			return false
		}
	}
	return true
}

// excerpt is the start of a body, for an error.
func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return fmt.Sprintf("%q", s)
}
