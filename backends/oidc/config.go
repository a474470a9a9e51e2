package oidc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Config configures a [Provider]. Issuer, ClientID and ClientSecret are
// required; every other field has the default its comment states, filled
// in by [New], which refuses a Config that could not work or would be
// unsafe.
//
// The comments name the Zulip setting each field stands for (an entry of
// SOCIAL_AUTH_OIDC_ENABLED_IDPS), so a Zulip server's configuration carries
// over field by field.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document names it (Zulip's oidc_url), such as
	// "https://accounts.google.com" or "https://keycloak.example.org/realms/zulip":
	// discovery reads Issuer + "/.well-known/openid-configuration", and the
	// ID tokens' iss must equal it, trailing slash included. Required. It
	// must be https, or http on a loopback address or localhost (RFC 8252
	// §8.3: a provider on this machine, for development and tests).
	Issuer string
	// ClientID is this application's client ID at the provider (Zulip's
	// client_id): the audience its ID tokens must name. Required.
	ClientID string
	// ClientSecret is the client's secret (Zulip's secret), sent to the
	// token endpoint with HTTP Basic authentication, or in the request's
	// body where the provider's discovery document lists
	// client_secret_post and not client_secret_basic. Required. It is never
	// logged nor put in an error, and String, GoString and LogValue leave
	// it out.
	ClientSecret string

	// Name tells the provider apart from other OpenID Connect providers
	// of the application: server_settings lists it as "oidc:" + Name, the
	// login starts at /accounts/login/social/<Name> and the provider
	// answers at /complete/<Name>/ (Zulip's, with its one provider, are
	// "oidc", /accounts/login/social/oidc and /complete/oidc/). 1 to 40
	// characters of [a-z0-9_-]. Default: "oidc".
	Name string
	// DisplayName is what the apps write on the provider's button (Zulip's
	// display_name). Default: "OpenID Connect", as Zulip's.
	DisplayName string
	// DisplayIcon is the URL of the button's icon (Zulip's display_icon).
	// Default: "", no icon.
	DisplayIcon string
	// CreateUsers lets a person without an account in the realm get one
	// on their first login, with the name the provider gives (Zulip's
	// auto_signup). Default: false, such a person is refused.
	CreateUsers bool
	// Realms are the subdomains of the realms that may log in with the
	// provider ("" is the root realm), as Zulip's limit_to_subdomains.
	// Default: nil (or empty), every realm.
	Realms []string

	// InsecureTrustEmail counts every email the provider gives as
	// verified, whatever its email_verified says: for a provider that
	// never sends email_verified (Microsoft Entra ID), where no one can
	// log in otherwise, and only where people cannot choose their own
	// address at the provider. Where they can, anyone could log in to the
	// account of any address. Default: false, only an email the provider
	// says it verified logs in. Zulip trusts the provider's email this
	// way, always.
	InsecureTrustEmail bool

	// Scopes are the scopes requested, which must include "openid".
	// Default: "openid", "email", "profile" (the email and the name).
	Scopes []string

	// HTTPClient makes the requests to the provider (discovery, key set,
	// token, userinfo): for a proxy, or a certificate authority the system
	// does not trust. New uses a copy, whose Timeout is Config.Timeout.
	// Default: a client with http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds each request to the provider. A provider that does
	// not answer in time is a fault. Default: 10 s.
	Timeout time.Duration

	// Logger receives what an administrator should see: the provider
	// found at New, and each identity verified (at level Debug). Never the
	// secret nor a token. Default: slog.Default().
	Logger *slog.Logger
}

// Defaults of [Config] fields, filled in by [New].
const (
	// DefaultName is Config.Name's default, Zulip's name of its one
	// OpenID Connect provider.
	DefaultName = "oidc"
	// DefaultDisplayName is Config.DisplayName's default, Zulip's.
	DefaultDisplayName = "OpenID Connect"
	// DefaultTimeout is Config.Timeout's default.
	DefaultTimeout = 10 * time.Second
)

// defaultScopes is Config.Scopes's default.
var defaultScopes = []string{"openid", "email", "profile"}

// ErrInvalidConfig is wrapped by every error [New] returns for a Config
// that could not work or would be unsafe, and for a provider whose
// discovery document contradicts it; the message says which field and why.
var ErrInvalidConfig = errors.New("oidc: invalid Config")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// String describes c with ClientSecret redacted, so that printing or
// logging a Config never shows the secret.
func (c Config) String() string {
	type fields Config // the same fields, without this method
	if c.ClientSecret != "" {
		c.ClientSecret = "[redacted]"
	}
	return fmt.Sprintf("oidc.Config%+v", fields(c))
}

// GoString is String, so %#v does not show the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue implements [slog.LogValuer]: the fields that say which provider
// and client, without the secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", c.Issuer),
		slog.String("client_id", c.ClientID),
		slog.String("name", c.Name),
		slog.Any("realms", c.Realms),
	)
}

// check validates c and fills in its defaults; it makes no request.
func (c *Config) check() error {
	if err := checkURL("Issuer", c.Issuer); err != nil {
		return err
	}
	if u, _ := url.Parse(c.Issuer); u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return configError("Issuer %q: an issuer has no query, fragment or user", c.Issuer)
	}
	if c.ClientID == "" {
		return configError("ClientID is required")
	}
	if c.ClientSecret == "" {
		return configError("ClientSecret is required")
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if !validName(c.Name) {
		return configError("Name %q: want 1 to 40 characters of [a-z0-9_-]", c.Name)
	}
	if c.DisplayName == "" {
		c.DisplayName = DefaultDisplayName
	}
	for _, r := range c.Realms {
		if !zulipauth.ValidSubdomain(r) {
			return configError("Realms: %q is not a realm's subdomain", r)
		}
	}
	if c.Scopes == nil {
		c.Scopes = defaultScopes
	}
	c.Scopes = slices.Clone(c.Scopes)
	if !slices.Contains(c.Scopes, "openid") {
		return configError(`Scopes %q lack "openid": the provider would send no ID token`, c.Scopes)
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return configError("Scopes: %q is not a scope", s)
		}
	}
	if c.Timeout < 0 {
		return configError("Timeout is %v, want 0 (the default, %v) or more", c.Timeout, DefaultTimeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// checkURL refuses a URL of the provider (the issuer, or an endpoint its
// discovery document names) that is not https, or http on a loopback host:
// anything else would send codes, tokens or the secret in clear text.
func checkURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return configError("%s %q is not an absolute URL", field, s)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return configError("%s %q: http is allowed only on a loopback address or localhost (RFC 8252); use https", field, s)
	}
	return configError("%s %q: want an https URL", field, s)
}

// loopback reports whether host is "localhost" or a loopback address
// (127.0.0.0/8, ::1). Other names are not resolved: a name that resolves to
// 127.0.0.1 today may not tomorrow.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validName reports whether s can be Config.Name: 1 to 40 characters of
// [a-z0-9_-], which go in paths as they are.
func validName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
