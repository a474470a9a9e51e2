package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/zulipauth/zulipauth-go/backends/internal/logtext"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Provider is an OpenID Connect provider for the single sign-on of the
// Zulip apps: it implements zulipauth.IdentityProvider. Make one with
// [New]; it is safe for concurrent use, and holds nothing that needs
// closing. Printing or logging it shows the issuer, the client ID and the
// name, never the secret.
type Provider struct {
	info     zulipauth.ProviderInfo
	realms   []string // nil: every realm
	issuer   string
	oauth    *oauth2.Config // without RedirectURL, which is each flow's; a pointer, so that %v of a *Provider's value does not print its ClientSecret
	token    *http.Client   // the token endpoint
	meta     *http.Client   // discovery, the key set, userinfo
	op       *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	issParam bool // the provider sends iss with its answers (RFC 9207)
	trust    bool // Config.InsecureTrustEmail
	logger   *slog.Logger
	now      func() time.Time // the clock of the ID token's expiry; time.Now but in tests
}

// expiryLeeway is how long past its exp an ID token still verifies: a
// provider's clock a little ahead of ours must not fail a login that took
// its token a moment ago. (go-oidc's own check has none on exp, and five
// minutes on nbf, which this leaves at four.)
const expiryLeeway = time.Minute

var _ zulipauth.IdentityProvider = (*Provider)(nil)

// discovery is what a Provider reads of the provider's discovery document
// besides what go-oidc reads.
type discovery struct {
	AuthURL          string   `json:"authorization_endpoint"`
	TokenURL         string   `json:"token_endpoint"`
	JWKSURL          string   `json:"jwks_uri"`
	UserInfoURL      string   `json:"userinfo_endpoint"`
	Algorithms       []string `json:"id_token_signing_alg_values_supported"`
	AuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	ChallengeMethods []string `json:"code_challenge_methods_supported"`
	IssParam         bool     `json:"authorization_response_iss_parameter_supported"`
}

// algorithms are the signature algorithms go-oidc verifies: those of
// discovery's id_token_signing_alg_values_supported that are among them
// may sign ID tokens. ("none" and the HMAC algorithms never are.)
var algorithms = []string{
	gooidc.RS256, gooidc.RS384, gooidc.RS512,
	gooidc.ES256, gooidc.ES384, gooidc.ES512,
	gooidc.PS256, gooidc.PS384, gooidc.PS512,
	gooidc.EdDSA,
}

// New checks cfg, fills in its defaults, reads the provider's discovery
// document (Issuer + "/.well-known/openid-configuration") and returns the
// Provider. The key set is fetched at the first login, and again whenever
// a token names a key the Provider has not seen (the provider rotated its
// keys).
//
// New refuses, with an error wrapping [ErrInvalidConfig] and before any
// request, a Config that could not work or would be unsafe: no Issuer,
// ClientID or ClientSecret; an Issuer that is not an absolute URL, that
// has a query, or that is http on a host other than a loopback address or
// localhost; a Name that does not fit in a path; a realm that no
// subdomain can be; Scopes without "openid"; a negative Timeout. It
// refuses too, wrapping ErrInvalidConfig, a discovery document whose
// issuer is not Issuer exactly (a missing or extra trailing slash is the
// usual cause), that lacks an endpoint or names one in clear text, or
// whose provider takes the client secret neither by HTTP Basic nor in the
// request's body.
//
// A provider that cannot be reached, or answers discovery with an error,
// is an error that does not wrap ErrInvalidConfig: the application may
// try again later. Discovery honours ctx, and Config.Timeout bounds it.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	p := &Provider{
		info: zulipauth.ProviderInfo{
			Kind:         "oidc",
			Name:         cfg.Name,
			LoginPath:    cfg.Name,
			CallbackPath: "/complete/" + cfg.Name + "/",
			DisplayName:  cfg.DisplayName,
			DisplayIcon:  cfg.DisplayIcon,
			CreateUsers:  cfg.CreateUsers,
		},
		issuer: cfg.Issuer,
		trust:  cfg.InsecureTrustEmail,
		logger: cfg.Logger,
		now:    time.Now,
	}
	if len(cfg.Realms) > 0 {
		p.realms = slices.Clone(cfg.Realms)
	}
	p.token, p.meta = clients(cfg.HTTPClient, cfg.Timeout)

	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	op, err := gooidc.NewProvider(gooidc.ClientContext(dctx, p.meta), cfg.Issuer)
	if mismatch := (*gooidc.IssuerMismatchError)(nil); errors.As(err, &mismatch) {
		return nil, configError("Issuer is %q, and the provider's discovery document names the issuer %q: they must be equal, trailing slash included",
			cfg.Issuer, logtext.Excerpt(mismatch.Discovered, 200))
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery of the provider at %s: %w", cfg.Issuer, err)
	}
	var d discovery
	if err := op.Claims(&d); err != nil {
		return nil, fmt.Errorf("oidc: discovery of the provider at %s: %w", cfg.Issuer, err)
	}
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", d.AuthURL}, {"token_endpoint", d.TokenURL}, {"jwks_uri", d.JWKSURL},
	} {
		if e.url == "" {
			return nil, configError("the discovery document of %s names no %s", cfg.Issuer, e.name)
		}
	}
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", d.AuthURL}, {"token_endpoint", d.TokenURL}, {"jwks_uri", d.JWKSURL}, {"userinfo_endpoint", d.UserInfoURL},
	} {
		if e.url == "" {
			continue
		}
		if err := checkURL("the discovery document's "+e.name, e.url); err != nil {
			return nil, err
		}
	}
	authStyle, err := tokenAuthStyle(d.AuthMethods)
	if err != nil {
		return nil, err
	}
	if len(d.ChallengeMethods) > 0 && !slices.Contains(d.ChallengeMethods, "S256") {
		cfg.Logger.WarnContext(ctx, "oidc: the provider does not list PKCE's S256 among its code_challenge_methods_supported; logins send it anyway",
			"issuer", cfg.Issuer)
	}

	var algs []string
	for _, a := range d.Algorithms {
		if slices.Contains(algorithms, a) && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{gooidc.RS256} // what OpenID Connect requires every provider to support
	}
	keys := gooidc.NewRemoteKeySet(gooidc.ClientContext(context.Background(), p.meta), d.JWKSURL)
	p.verifier = gooidc.NewVerifier(cfg.Issuer, keySet{keys}, &gooidc.Config{
		ClientID:             cfg.ClientID,
		SupportedSigningAlgs: algs,
		Now:                  func() time.Time { return p.now().Add(-expiryLeeway) },
	})
	p.op = op
	p.issParam = d.IssParam
	p.oauth = &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: d.AuthURL, TokenURL: d.TokenURL, AuthStyle: authStyle},
		Scopes:       cfg.Scopes,
	}
	cfg.Logger.InfoContext(ctx, "oidc: provider discovered",
		"name", cfg.Name, "issuer", cfg.Issuer, "client_id", cfg.ClientID, "signing_algorithms", algs)
	return p, nil
}

// tokenAuthStyle is how the client secret goes to the token endpoint:
// HTTP Basic, the default of RFC 6749 and of OpenID Connect Discovery
// when the document lists no methods, or in the body where the provider
// takes only that. It is decided once: x/oauth2's probing would send a
// code a second time after a refusal.
func tokenAuthStyle(methods []string) (oauth2.AuthStyle, error) {
	switch {
	case len(methods) == 0 || slices.Contains(methods, "client_secret_basic"):
		return oauth2.AuthStyleInHeader, nil
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams, nil
	}
	return 0, configError("the provider's token endpoint takes neither client_secret_basic nor client_secret_post (it lists %q)", methods)
}

// Info describes the provider to the core: Kind "oidc", Name, LoginPath
// Name, CallbackPath "/complete/<Name>/", and the display fields and
// CreateUsers of the Config.
func (p *Provider) Info() zulipauth.ProviderInfo { return p.info }

// Enabled reports whether realm may log in with the provider: any realm
// when Config.Realms was empty, else the realms it lists.
func (p *Provider) Enabled(realm zulipauth.Realm) bool {
	return p.realms == nil || slices.Contains(p.realms, realm.Subdomain)
}

// Start returns the URL of the provider's authorization endpoint for f:
// an authorization code request (response_type=code) with the client ID,
// redirect_uri f.CallbackURL exactly, the scopes, state f.Token, nonce
// f.Nonce, and PKCE's code_challenge, the S256 of f.CodeVerifier. It
// leaves f.ProviderState alone, makes no request, and fails only for a
// flow that lacks one of those values or whose verifier RFC 7636 would
// refuse.
func (p *Provider) Start(ctx context.Context, f *zulipauth.SSOFlow) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	switch {
	case f.Token == "":
		return "", errors.New("oidc: Start: the flow has no Token")
	case f.Nonce == "":
		return "", errors.New("oidc: Start: the flow has no Nonce")
	case !validVerifier(f.CodeVerifier):
		return "", errors.New("oidc: Start: the flow's CodeVerifier is not 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)")
	}
	if u, err := url.Parse(f.CallbackURL); err != nil || !u.IsAbs() {
		return "", errors.New("oidc: Start: the flow's CallbackURL is not an absolute URL")
	}
	c := *p.oauth
	c.RedirectURL = f.CallbackURL
	return c.AuthCodeURL(f.Token, oauth2.S256ChallengeOption(f.CodeVerifier), gooidc.Nonce(f.Nonce)), nil
}

// validVerifier reports whether v is a PKCE code verifier (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// FlowToken returns the state parameter of the provider's answer, r: the
// token of the flow it answers. The answer comes in the query (the
// authorization code flow's default response mode).
func (p *Provider) FlowToken(r *http.Request) string { return r.URL.Query().Get("state") }

// String describes the provider without its secret.
func (p *Provider) String() string {
	return fmt.Sprintf("oidc provider %q at %s (client %q)", p.info.Name, p.issuer, p.oauth.ClientID)
}

// GoString is String, so %#v does not show the secret either.
func (p *Provider) GoString() string { return p.String() }

// LogValue implements [slog.LogValuer]: the name, issuer and client ID.
func (p *Provider) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", p.info.Name),
		slog.String("issuer", p.issuer),
		slog.String("client_id", p.oauth.ClientID),
	)
}
