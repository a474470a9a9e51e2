package oidc_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/oidc"
	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// secret is a client secret that no message has by chance, so that a test
// can tell it leaked. (The test provider's own is "secret".)
const secret = "Zq7-client-secret-never-printed-3vX9"

// offline is an HTTP client that sends nothing: it counts the requests it
// is asked to send and fails them.
func offline(requests *atomic.Int32, urls chan<- string) *http.Client {
	return &http.Client{Transport: &transport{request: func(req *http.Request) (*http.Response, error) {
		requests.Add(1)
		if urls != nil {
			select {
			case urls <- req.URL.String():
			default:
			}
		}
		return nil, errors.New("offline")
	}}}
}

// New refuses an issuer that would carry codes, tokens and the secret in
// clear text before it sends anything: http is for a loopback address or
// localhost only (RFC 8252). An https issuer, or http on loopback, passes
// the check and goes on to discovery (which fails here: no network).
func TestIssuerScheme(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		issuer string
		ok     bool
	}{
		{"http://login.example.com/", false},
		{"http://10.0.0.1/", false},
		{"http://192.168.1.1:8080/", false},
		{"http://localhost.example.com/", false},
		{"http://127.0.0.1.nip.io/", false},
		{"http://[::ffff:10.0.0.1]/", false},
		{"ftp://login.example.com/", false},
		{"login.example.com", false},
		{"https://", false},
		{"https://login.example.com/?tenant=1", false},
		{"https://login.example.com/#x", false},
		{"https://user@login.example.com/", false},
		{"https://login.example.com", true},
		{"https://login.example.com/realms/zulip/", true},
		{"http://localhost:8080/", true},
		{"http://LocalHost:8080", true},
		{"http://127.0.0.1:5556/dex", true},
		{"http://127.9.9.9/", true},
		{"http://[::1]:8080/", true},
	} {
		t.Run(tt.issuer, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int32
			urls := make(chan string, 1)
			_, err := oidc.New(t.Context(), oidc.Config{Issuer: tt.issuer, ClientID: "zulip", ClientSecret: secret, HTTPClient: offline(&requests, urls)})
			switch {
			case err == nil:
				t.Fatal("New succeeded without a provider")
			case !tt.ok && (!errors.Is(err, oidc.ErrInvalidConfig) || requests.Load() != 0):
				t.Errorf("New: %v after %d requests, want ErrInvalidConfig before any", err, requests.Load())
			case tt.ok && errors.Is(err, oidc.ErrInvalidConfig):
				t.Errorf("New refused the issuer: %v", err)
			case tt.ok:
				if got, want := <-urls, strings.TrimSuffix(tt.issuer, "/")+"/.well-known/openid-configuration"; got != want {
					t.Errorf("discovery asked %s, want %s", got, want)
				}
				if !strings.Contains(err.Error(), "offline") || !strings.Contains(err.Error(), "discovery") {
					t.Errorf("the error %q does not say discovery failed, and why", err)
				}
			}
			if strings.Contains(fmt.Sprint(err), secret) {
				t.Errorf("the error holds the secret: %v", err)
			}
		})
	}
}

// A Config that could not work is refused before any request, with a
// message naming the field.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := oidc.Config{Issuer: "https://login.example.com", ClientID: "zulip", ClientSecret: secret}
	for _, tt := range []struct {
		name   string
		change func(*oidc.Config)
		want   string
	}{
		{"no issuer", func(c *oidc.Config) { c.Issuer = "" }, "Issuer"},
		{"no client ID", func(c *oidc.Config) { c.ClientID = "" }, "ClientID is required"},
		{"no secret", func(c *oidc.Config) { c.ClientSecret = "" }, "ClientSecret is required"},
		{"name with a slash", func(c *oidc.Config) { c.Name = "oidc/x" }, "Name"},
		{"name in capitals", func(c *oidc.Config) { c.Name = "OIDC" }, "Name"},
		{"name too long", func(c *oidc.Config) { c.Name = strings.Repeat("a", 41) }, "Name"},
		{"realm no host can name", func(c *oidc.Config) { c.Realms = []string{"zulip", "Sales"} }, `"Sales"`},
		{"scopes without openid", func(c *oidc.Config) { c.Scopes = []string{"email", "profile"} }, "openid"},
		{"a scope with a space", func(c *oidc.Config) { c.Scopes = []string{"openid", "email profile"} }, "Scopes"},
		{"an empty scope", func(c *oidc.Config) { c.Scopes = []string{"openid", ""} }, "Scopes"},
		{"negative timeout", func(c *oidc.Config) { c.Timeout = -time.Second }, "Timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.change(&cfg)
			var requests atomic.Int32
			cfg.HTTPClient = offline(&requests, nil)
			_, err := oidc.New(t.Context(), cfg)
			if !errors.Is(err, oidc.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) || requests.Load() != 0 {
				t.Errorf("New: %v after %d requests, want ErrInvalidConfig with %q before any", err, requests.Load(), tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error holds the secret: %v", err)
			}
		})
	}
}

// Discovery against the real provider: the issuer must be the one its
// document names, exactly (the trailing slash, and localhost not
// 127.0.0.1); a provider that is not there is an error that is not
// ErrInvalidConfig, so that an application may try again.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	for _, tt := range []struct{ name, issuer string }{
		{"no trailing slash", strings.TrimSuffix(op.Issuer, "/")},
		{"an address for the name", strings.Replace(op.Issuer, "localhost", "127.0.0.1", 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(op, &log)
			cfg.Issuer = tt.issuer
			_, err := oidc.New(t.Context(), cfg)
			if !errors.Is(err, oidc.ErrInvalidConfig) || !strings.Contains(err.Error(), op.Issuer) || !strings.Contains(err.Error(), tt.issuer) {
				t.Errorf("New: %v, want ErrInvalidConfig naming both %s and %s", err, tt.issuer, op.Issuer)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cfg := config(op, &log)
		cfg.Issuer = "http://" + addr + "/"
		_, err = oidc.New(t.Context(), cfg)
		if err == nil || errors.Is(err, oidc.ErrInvalidConfig) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("New: %v, want a discovery error saying the connection was refused", err)
		}
	})
	t.Run("not a provider", func(t *testing.T) {
		t.Parallel()
		cfg := config(op, &log)
		cfg.Issuer = op.Issuer + "nowhere/"
		_, err := oidc.New(t.Context(), cfg)
		if err == nil || errors.Is(err, oidc.ErrInvalidConfig) || !strings.Contains(err.Error(), "404") {
			t.Errorf("New: %v, want a discovery error with the status 404", err)
		}
	})
	t.Run("log", func(t *testing.T) {
		t.Parallel()
		var log logBuffer
		newProvider(t, config(op, &log))
		if !strings.Contains(log.String(), "provider discovered") || !strings.Contains(log.String(), "signing_algorithms=[RS256]") {
			t.Errorf("the log lacks the discovered provider:\n%s", log.String())
		}
	})
}

// Info and Enabled: Zulip's names, paths and display by default, the
// Config's otherwise; every realm unless Realms lists some.
func TestInfoAndEnabled(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	p := newProvider(t, config(op, &log))
	want := zulipauth.ProviderInfo{Kind: "oidc", Name: "oidc", LoginPath: "oidc", CallbackPath: "/complete/oidc/", DisplayName: "OpenID Connect"}
	if got := p.Info(); got != want {
		t.Errorf("Info is %+v, want %+v", got, want)
	}
	for _, realm := range []string{"", "zulip", "lear"} {
		if !p.Enabled(zulipauth.Realm{Subdomain: realm}) {
			t.Errorf("without Realms, realm %q is not enabled", realm)
		}
	}

	cfg := config(op, &log)
	cfg.Name, cfg.DisplayName, cfg.DisplayIcon, cfg.CreateUsers = "keycloak", "Example SSO", "https://sso.example.com/icon.png", true
	cfg.Realms = []string{"", "zulip"}
	p = newProvider(t, cfg)
	want = zulipauth.ProviderInfo{Kind: "oidc", Name: "keycloak", LoginPath: "keycloak", CallbackPath: "/complete/keycloak/",
		DisplayName: "Example SSO", DisplayIcon: "https://sso.example.com/icon.png", CreateUsers: true}
	if got := p.Info(); got != want {
		t.Errorf("Info is %+v, want %+v", got, want)
	}
	for realm, enabled := range map[string]bool{"": true, "zulip": true, "lear": false, "Zulip": false} {
		if got := p.Enabled(zulipauth.Realm{Subdomain: realm}); got != enabled {
			t.Errorf("Enabled(%q) is %v, want %v", realm, got, enabled)
		}
	}
	cfg.Realms[1] = "lear" // New keeps its own copy
	if !p.Enabled(zulipauth.Realm{Subdomain: "zulip"}) {
		t.Error("changing the Config's Realms after New changed the provider")
	}
}

// The client secret is never printed, logged, or put in an error: not by
// %v, %+v or %#v of a Config or a Provider, not by slog, and not when the
// provider refuses it (invalid_client, a fault).
func TestSecretNeverShown(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, oidctest.Options{})
	var log logBuffer
	cfg := config(op, &log)
	cfg.ClientSecret = secret
	p := newProvider(t, cfg)

	var shown []string
	for _, v := range []any{cfg, &cfg, p, *p} {
		shown = append(shown, fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprint(v))
	}
	var logged logBuffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logged, nil), slog.NewJSONHandler(&logged, nil)} {
		slog.New(h).Info("configured", "config", cfg, "config_pointer", &cfg, "provider", p)
	}
	shown = append(shown, logged.String())

	f := newFlow()
	_, err := p.Finish(t.Context(), answer(t, op, p, &f, oidctest.IagoEmail, oidctest.IagoPassword), f)
	wantFault(t, err, "invalid_client")
	shown = append(shown, err.Error(), fmt.Sprintf("%+v", err), log.String())

	for _, s := range shown {
		if strings.Contains(s, secret) {
			t.Errorf("the secret is shown in %q", s)
		}
	}
	if !strings.Contains(fmt.Sprint(cfg), "[redacted]") || !strings.Contains(fmt.Sprint(p), op.Issuer) {
		t.Errorf("Config prints as %q and Provider as %q", fmt.Sprint(cfg), fmt.Sprint(p))
	}
}
