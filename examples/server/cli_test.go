package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every way of asking for help prints the commands or the command's flags
// with their meaning and defaults, on standard output, and succeeds. Each
// -h once printed "flag: help requested" and failed.
func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"Commands:", "create-user", "regenerate-api-key", "help [COMMAND]", "-external-host", "-db string"}},
		{[]string{"--help"}, []string{"Commands:"}},
		{[]string{"help"}, []string{"Commands:", "deactivate-realm"}},
		{[]string{"help", "create-user"}, []string{"Usage: server create-user -email E", "without echo", "-email string", "-db string", `(default "zulipauth.db")`, "-postgres string"}},
		{[]string{"create-user", "-h"}, []string{"Usage: server create-user", "-full-name string"}},
		{[]string{"set-realm", "-help"}, []string{"-password-auth", "(default true)"}},
		{[]string{"serve", "-h"}, []string{"-addr string", `(default "127.0.0.1:9991")`, "-external-host", "realm_url", "holds the terminal"}},
		{[]string{"help", "serve"}, []string{"-api-key-cache duration", `(default 10s)`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var out, errs bytes.Buffer
			if err := run(context.Background(), tt.args, strings.NewReader(""), &out, &errs); err != nil {
				t.Fatalf("run = %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	for _, args := range [][]string{{"help", "nope"}, {"help", "a", "b"}} {
		if err := run(context.Background(), args, strings.NewReader(""), io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	// The binary exits 0 and prints to standard output.
	out, err := exec.Command(serverBinary, "-h").Output()
	if err != nil || !bytes.Contains(out, []byte("Commands:")) {
		t.Errorf("server -h: %v\n%s", err, out)
	}
	out, err = exec.Command(serverBinary, "deactivate-user", "-h").Output()
	if err != nil || !bytes.Contains(out, []byte("-email string")) {
		t.Errorf("server deactivate-user -h: %v\n%s", err, out)
	}
}

// Mistakes in where the database is get a plain answer and change nothing.
func TestDatabaseFlagsRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missingDB := filepath.Join(dir, "none.db")
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
		usage bool
	}{
		{"both databases", []string{"deactivate-user", "-db", missingDB, "-postgres", "postgres://x@127.0.0.1/x", "-email", "a@b.co"}, "", "not both", true},
		{"both databases to serve", []string{"serve", "-db", missingDB, "-postgres", "postgres://x@127.0.0.1/x"}, "", "not both", true},
		{"a folder that does not exist", []string{"create-user", "-db", filepath.Join(dir, "no", "such", "x.db"), "-email", "a@b.co"}, "a long password\n", "does not exist: create it", false},
		{"a folder as the database", []string{"deactivate-user", "-db", dir, "-email", "a@b.co"}, "", "is a folder", false},
		{"no database for a command that changes one", []string{"deactivate-user", "-db", missingDB, "-email", "a@b.co"}, "", "there is no database there", false},
		{"no database for regenerate-api-key", []string{"regenerate-api-key", "-db", missingDB, "-email", "a@b.co"}, "", "there is no database there", false},
		{"a client-IP header without a proxy", []string{"serve", "-db", missingDB, "-client-ip-header", "X-Real-IP"}, "", "-trusted-proxy", true},
		{"an unknown authenticator", []string{"serve", "-db", missingDB, "-auth", "ldap,kerberos"}, "", "unknown authenticator", true},
		{"an authenticator twice", []string{"serve", "-db", missingDB, "-auth", "password,password"}, "", "listed twice", true},
		{"ldap without its URL", []string{"serve", "-db", missingDB, "-auth", "ldap,password"}, "", "needs -ldap-url", true},
		{"an ldap flag without ldap", []string{"serve", "-db", missingDB, "-ldap-url", "ldap://127.0.0.1:1"}, "", "-auth does not list ldap", true},
		{"-redis-fail-closed without -redis", []string{"serve", "-db", missingDB, "-redis-fail-closed"}, "", "needs -redis", true},
		{"an external host with a scheme", []string{"serve", "-db", missingDB, "-addr", "127.0.0.1:0", "-external-host", "https://chat.example.com"}, "", "without a scheme", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, strings.NewReader(tt.stdin), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if got := errors.Is(err, errUsage); got != tt.usage {
				t.Errorf("usage error = %v, want %v", got, tt.usage)
			}
		})
	}
	if _, err := os.Stat(missingDB); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command created %s: %v", missingDB, err)
	}
	// The commands that create things create the database too.
	mustAdmin(t, missingDB, "", "create-realm", "-subdomain", "lear")
	mustAdmin(t, missingDB, "", "deactivate-realm", "-subdomain", "lear")
}

// server_settings never reflects a request's Host header into realm_url:
// the server announces its configured host, by default the one address it
// listens on, and refuses to guess one behind a wildcard address.
func TestServeAnnouncesItsOwnHost(t *testing.T) {
	t.Parallel()
	p := startServer(t, "-db", tempDB(t))
	req, _ := http.NewRequest("GET", p.base+"/api/v1/server_settings", nil)
	req.Host = "evil.example:9991"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	code := resp.StatusCode
	var s struct {
		RealmURL string `json:"realm_url"`
		RealmURI string `json:"realm_uri"`
	}
	if err := json.Unmarshal(body, &s); err != nil || code != 200 {
		t.Fatalf("server_settings: %d %s", code, body)
	}
	if s.RealmURL != p.base || s.RealmURI != p.base {
		t.Errorf("realm_url %q, realm_uri %q with Host evil.example: want the server's own %q", s.RealmURL, s.RealmURI, p.base)
	}

	err = run(context.Background(), []string{"serve", "-db", tempDB(t), "-addr", ":0"}, strings.NewReader(""), io.Discard, io.Discard)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-external-host") {
		t.Errorf("wildcard -addr without -external-host: %v, want a usage error naming -external-host", err)
	}
}

// One client's failed logins cannot fill the disk: past a bound per minute
// the server's log counts refusals instead of writing each.
func TestServeLogsRefusalsInAggregate(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	p := startServer(t, "-db", db)
	const attempts = 150 // over the per-minute bound, within the client's budget of 100 plus refusals
	// Sixteen at a time, so that all fall in one minute although each
	// failure waits out the password backend's failure time.
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				resp, err := http.PostForm(p.base+"/api/v1/fetch_api_key", url.Values{"username": {"spray" + string(rune('a'+i%26)) + "@zulip.com"}, "password": {"wrong"}})
				if err != nil {
					t.Errorf("attempt %d: %v", i, err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 401 && resp.StatusCode != 429 {
					t.Errorf("attempt %d: %d", i, resp.StatusCode)
				}
			}
		})
	}
	for i := range attempts {
		next <- i
	}
	close(next)
	wg.Wait()
	log := p.stderr.String()
	refusals := strings.Count(log, `msg="login failed"`) + strings.Count(log, `msg="login rate limited"`)
	if refusals != 60 {
		t.Errorf("%d of %d refusals logged one by one, want the bound of 60 a minute:\n%s", refusals, attempts, log)
	}
}

// Pins an attack on serve: -external-host 'chat.example.test"><script>' was
// accepted and announced as server_settings' realm_url, the URL clients send
// passwords to and show as a link. An external host is a host name or an IP
// literal with an optional port, nothing else: anything more is refused when
// serve starts, as a usage error (exit 2), before the database is opened.
func TestServeRefusesAnExternalHostThatIsNotAHost(t *testing.T) {
	t.Parallel()
	for _, good := range []string{
		"chat.example.com", "CHAT.Example.COM", "localhost", "localhost:9991", "chat-1.example.com:443",
		"xn--bcher-kva.example", "127.0.0.1", "127.0.0.1:9991", "[::1]", "[::1]:9991", "[2001:db8::1]:8443",
	} {
		if _, _, err := parseServeFlags([]string{"-external-host", good}, io.Discard); err != nil {
			t.Errorf("-external-host %q: %v", good, err)
		}
	}
	for _, bad := range []string{
		`chat.example.test"><script>`,
		"chat.example.com/path", "chat.example.com?x=1", "chat.example.com#x", "user@chat.example.com",
		"chat example.com", "chat.example.com ", "chat.example.com\r\nX: y",
		"-chat.example.com", "chat-.example.com", "chat..example.com", ".example.com", "chat.example.com.",
		"chat_1.example.com", "bücher.example", strings.Repeat("a", 64) + ".example.com",
		"1.2.3.4.5", "999.1.1.1", "::1", "[::1", "[chat.example.com]", "[::1]x",
		"chat.example.com:", "chat.example.com:0", "chat.example.com:65536", "chat.example.com:80:80", "chat.example.com:http",
	} {
		_, _, err := parseServeFlags([]string{"-external-host", bad}, io.Discard)
		if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-external-host") ||
			!strings.Contains(err.Error(), "a host name") {
			t.Errorf("-external-host %q: %v, want a usage error that says what an external host is", bad, err)
		}
	}
	// Through the command line: nothing is opened or written. (A serve
	// that accepted the host would serve until the timeout.)
	db := tempDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "-db", db, "-addr", "127.0.0.1:0", "-external-host", `chat.example.test"><script>`}, strings.NewReader(""), io.Discard, io.Discard)
	if !errors.Is(err, errUsage) {
		t.Errorf("serve: %v, want a usage error", err)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused serve created the database: %v", err)
	}
}
