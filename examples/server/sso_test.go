package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
)

// A single sign-on provider configured by halves is refused at start,
// naming what is missing; so is a secret file others can read, and the
// secret never appears in what the server says.
func TestServeRefusesHalfConfiguredSSO(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("s3cr3t-value-never-shown\n"), 0o600)
	open := filepath.Join(t.TempDir(), "open-secret")
	os.WriteFile(open, []byte("s3cr3t-value-never-shown\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"issuer alone", []string{"-oidc-issuer", "https://idp.example"}, "missing: -oidc-client-id, -oidc-client-secret-file"},
		{"no issuer", []string{"-oidc-client-id", "zulip", "-oidc-client-secret-file", secret}, "missing: -oidc-issuer"},
		{"a display name alone", []string{"-oidc-display-name", "SSO"}, "-oidc-issuer, -oidc-client-id and -oidc-client-secret-file together"},
		{"a readable secret", []string{"-oidc-issuer", "https://idp.example", "-oidc-client-id", "zulip", "-oidc-client-secret-file", open}, "chmod 600"},
		{"http, not loopback", []string{"-oidc-issuer", "http://idp.example", "-oidc-client-id", "zulip", "-oidc-client-secret-file", secret}, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			args := append([]string{"serve", "-db", tempDB(t), "-addr", "127.0.0.1:0"}, tc.args...)
			err := run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve %v = %v, want a refusal saying %q", tc.args, err, tc.want)
			}
			if tc.name != "a readable secret" && tc.name != "http, not loopback" && !errors.Is(err, errUsage) {
				t.Errorf("a flag misuse is a usage error (exit 2): %v", err)
			}
			if strings.Contains(err.Error()+stderr.String(), "s3cr3t") {
				t.Errorf("the secret was shown: %v %s", err, stderr.String())
			}
		})
	}
}

// With a provider, serve says at start which redirect URIs to register with
// it, and server_settings lists it.
func TestServeAnnouncesSSO(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	host := "localhost:" + port
	op := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{"http://" + host + "/complete/oidc/"}})
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte(op.ClientSecret+"\n"), 0o600)
	p := startServer(t, "-db", tempDB(t), "-addr", "127.0.0.1:"+port, "-external-host", host,
		"-oidc-issuer", op.Issuer, "-oidc-client-id", op.ClientID, "-oidc-client-secret-file", secret, "-oidc-display-name", "Test SSO")
	waitFor(t, func() bool { return strings.Contains(p.stderr.String(), "register these redirect URIs") })
	log := p.stderr.String()
	if !strings.Contains(log, "http://"+host+"/complete/oidc/") || !strings.Contains(log, "http://SUB."+host+"/complete/oidc/") {
		t.Errorf("the start-up log does not name the redirect URIs:\n%s", log)
	}
	code, body := do(t, "GET", "http://"+host+"/api/v1/server_settings", nil, nil)
	if code != 200 || !strings.Contains(string(body), `"name":"oidc:oidc","display_name":"Test SSO"`) ||
		!strings.Contains(string(body), `"login_url":"/accounts/login/social/oidc"`) || !strings.Contains(string(body), `"openid connect":true`) {
		t.Errorf("server_settings: %d %s", code, body)
	}
}

// freePort is a loopback port nothing listens on, for a server whose URL a
// provider must know before it starts.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
