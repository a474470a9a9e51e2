package oidctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
)

// Options vary a provider. The zero value is a provider with the fixture's
// people and DefaultRedirectURI.
type Options struct {
	// RedirectURIs are the callbacks registered for every client, which
	// the provider compares exactly with an authorization request's
	// redirect_uri: a relying party's CallbackURL. Default:
	// DefaultRedirectURI. An URI must be absolute and hold no comma (the
	// program reads them comma-separated).
	RedirectURIs []string

	// Users are people added to the fixture's. Usernames and subjects must
	// differ from each other and from the fixture's.
	Users []User
}

// User is a person at the provider.
type User struct {
	// Username is what the provider's login form takes. Default: Email.
	Username string
	// Password is what it takes with Username. Required.
	Password string
	// Email and EmailVerified are the email and email_verified claims.
	Email         string
	EmailVerified bool
	// GivenName and FamilyName are the given_name and family_name claims;
	// the name claim is both joined by a space.
	GivenName, FamilyName string
	// Subject is the sub claim, the provider's identifier of the person.
	// Default: Username.
	Subject string
}

// Provider is a running OpenID provider, started by Start for one test (or
// benchmark) and killed when it ends, or by Launch for a program, which ends
// it with Close.
//
// It serves any number of relying parties and logins at once, so parallel
// subtests may share one. The fields are set by Start and never change.
// Its methods may be called from any goroutine.
type Provider struct {
	// Issuer is the provider's issuer, "http://localhost:PORT/" with the
	// trailing slash, on a port that was free when Start chose it: the URL
	// discovery starts from, and the iss of its ID tokens.
	Issuer string
	// ClientID and ClientSecret are those of the relying party tests log
	// in to: the constants ClientID and ClientSecret.
	ClientID, ClientSecret string
	// OtherClientID and OtherClientSecret are a second relying party's:
	// the constants OtherClientID and OtherClientSecret.
	OtherClientID, OtherClientSecret string
	// RedirectURIs are the callbacks registered for every client:
	// Options.RedirectURIs, or DefaultRedirectURI.
	RedirectURIs []string

	dir     string // the users file
	ownsDir bool   // Launch made dir, and Close removes it
	log     syncbuf.Buffer

	mu   sync.Mutex
	proc *process // nil once closed
}

// ErrNotBuilt is the error of Launch where the provider's program cannot be
// built: no go command, or the go command failed (its words follow).
var ErrNotBuilt = errors.New("oidctest: the example OpenID provider (github.com/zitadel/oidc/v3/example/server) could not be built")

// Start writes the provider's users into a temporary directory of tb,
// builds the provider's program (once per test process), starts it on a
// free port and waits until it answers discovery. The provider is killed
// when tb ends; if tb failed, its log is written to tb's log first.
//
// Where the program cannot be built Start skips tb, or fails it when the
// environment variable CI is "true" (see the package comment). It fails tb
// when opts is invalid or the provider does not start, quoting the
// provider's own words.
func Start(tb testing.TB, opts Options) *Provider {
	tb.Helper()
	bin, err := binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err.Error() + "\nCI=true, so this is a failure, not a skip")
		}
		tb.Skip(err.Error())
	}
	p, err := launch(tb.TempDir(), bin, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.Close()
		if tb.Failed() {
			tb.Logf("oidctest: the log of the provider at %s:\n%s", p.Issuer, p.Log())
		}
	})
	return p
}

// Launch is Start for a program: the same provider, fixture and options,
// with its users file in a new temporary directory. The caller must call
// Close, which kills the provider and removes the file. The error wraps
// ErrNotBuilt where the program cannot be built; otherwise it says what was
// wrong with opts or quotes the provider's own words. On an error nothing
// is left running or on disk.
func Launch(opts Options) (*Provider, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "oidctest-")
	if err != nil {
		return nil, fmt.Errorf("oidctest: %w", err)
	}
	p, err := launch(dir, bin, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p.ownsDir = true
	return p, nil
}

// Close kills the provider and waits until it has exited, and removes the
// users file of a Provider from Launch. It is safe to call more than once;
// it is called when the test of Start ends, so a test need not call it.
func (p *Provider) Close() {
	p.mu.Lock()
	proc, owns := p.proc, p.ownsDir
	p.proc, p.ownsDir = nil, false
	p.mu.Unlock()
	if proc != nil {
		proc.kill()
	}
	if owns {
		os.RemoveAll(p.dir)
	}
}

// Log is what the provider has written so far: a line for each request
// (method and path) and its errors. Start writes it to the test's log when
// the test failed, so most tests need not call it.
func (p *Provider) Log() string { return p.log.String() }

// launch writes the users file into dir and starts the provider: Start and
// Launch without their handling of failures.
func launch(dir, bin string, opts Options) (*Provider, error) {
	redirects := opts.RedirectURIs
	if len(redirects) == 0 {
		redirects = []string{DefaultRedirectURI}
	}
	for _, r := range redirects {
		if u, err := url.Parse(r); err != nil || !u.IsAbs() || strings.Contains(r, ",") {
			return nil, fmt.Errorf("oidctest: Options.RedirectURIs: %q is not an absolute URL without a comma", r)
		}
	}
	users, err := usersFile(append(fixture(), opts.Users...))
	if err != nil {
		return nil, err
	}
	p := &Provider{
		ClientID: ClientID, ClientSecret: ClientSecret,
		OtherClientID: OtherClientID, OtherClientSecret: OtherClientSecret,
		RedirectURIs: append([]string(nil), redirects...),
		dir:          dir,
	}
	file := filepath.Join(dir, "users.json")
	if err := os.WriteFile(file, users, 0o600); err != nil {
		return nil, fmt.Errorf("oidctest: %w", err)
	}
	env := []string{"USERS_FILE=" + file, "REDIRECT_URI=" + strings.Join(redirects, ",")}
	// A port is free when it is chosen, and another process may take it
	// before the provider binds it: try others then, and only then.
	for range 5 {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		p.Issuer = fmt.Sprintf("http://localhost:%d/", port)
		var proc *process
		proc, err = startProcess(bin, append(env, fmt.Sprint("PORT=", port)), p.Issuer, &p.log)
		if err == nil {
			p.proc = proc
			return p, nil
		}
		if err != errAddressInUse {
			break
		}
	}
	return nil, fmt.Errorf("oidctest: %w", err)
}

// opUser is a user as the program's USERS_FILE holds it (the fields of
// zitadel's storage.User).
type opUser struct {
	ID, Username, Password, FirstName, LastName, Email string
	EmailVerified                                      bool
}

// usersFile is the program's USERS_FILE for users: a JSON object of users
// by ID.
func usersFile(users []User) ([]byte, error) {
	byID := map[string]opUser{}
	usernames := map[string]bool{}
	for _, u := range users {
		if u.Username == "" {
			u.Username = u.Email
		}
		if u.Subject == "" {
			u.Subject = u.Username
		}
		_, subjectTaken := byID[u.Subject]
		switch {
		case u.Username == "":
			return nil, fmt.Errorf("oidctest: a user has neither a Username nor an Email")
		case u.Password == "":
			return nil, fmt.Errorf("oidctest: user %q has no Password", u.Username)
		case usernames[u.Username]:
			return nil, fmt.Errorf("oidctest: two users have the username %q", u.Username)
		case subjectTaken:
			return nil, fmt.Errorf("oidctest: two users have the subject %q", u.Subject)
		}
		usernames[u.Username] = true
		byID[u.Subject] = opUser{ID: u.Subject, Username: u.Username, Password: u.Password,
			FirstName: u.GivenName, LastName: u.FamilyName, Email: u.Email, EmailVerified: u.EmailVerified}
	}
	b, err := json.Marshal(byID)
	if err != nil {
		return nil, fmt.Errorf("oidctest: %w", err)
	}
	return b, nil
}
