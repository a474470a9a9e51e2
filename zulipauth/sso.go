package zulipauth

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// IdentityProvider is a single sign-on provider for the web flow the Zulip
// apps use (an OpenID Connect provider, a SAML identity provider): it sends
// the browser to the provider and turns the provider's answer into a
// verified [Identity]. backends/oidc implements it.
//
// Everything Zulip-shaped around it is this package's (see
// [Auth.SSOStartHandler] and [Auth.SSOCallbackHandler]): server_settings'
// external_authentication_methods, the checks of mobile_flow_otp, the flow
// that crosses the round trip (single use, expiring, bound to the browser
// that started it, valid on every instance), matching the identity to a
// user, and the answer (the mobile apps' zulip://login redirect).
type IdentityProvider interface {
	// Info says how server_settings lists the provider and where its URLs
	// are. It must not change.
	Info() ProviderInfo
	// Enabled reports whether the realm may log in with the provider.
	Enabled(realm Realm) bool
	// Start returns the URL to send the browser to for f, which carries the
	// values the provider's request needs (the flow's token, a nonce, a PKCE
	// verifier, the callback URL). Start may set f.ProviderState, which
	// Finish gets back.
	Start(ctx context.Context, f *SSOFlow) (redirectURL string, err error)
	// FlowToken returns the flow's token as the provider's answer to the
	// callback carries it (OpenID Connect's state, SAML's RelayState), or ""
	// when it carries none.
	FlowToken(r *http.Request) string
	// Finish checks the provider's answer, r, to the flow f, and returns the
	// identity it proves. A refusal by the provider or the user (an
	// "access_denied" error, say) is [ErrSSODenied], possibly wrapped; an
	// answer that does not prove an identity (a bad signature, a wrong
	// nonce, an expired token) is [ErrSSOInvalid]; anything else is a fault
	// of the provider or of the way to it.
	Finish(ctx context.Context, r *http.Request, f SSOFlow) (Identity, error)
}

// ProviderInfo describes an [IdentityProvider] to clients and routes.
type ProviderInfo struct {
	// Kind is the protocol: "oidc" or "saml". server_settings lists the
	// provider as Kind + ":" + Name and turns authentication_methods'
	// "openid connect" or "saml" true.
	Kind string
	// Name identifies the provider among those of its kind: "oidc", say,
	// or a SAML IdP's name.
	Name string
	// LoginPath is the path after /accounts/login/social/ (and
	// /accounts/register/social/) that starts a login: Zulip's are the
	// name ("oidc") for OpenID Connect, "saml/<idp>" for SAML.
	LoginPath string
	// CallbackPath is the path, on the realm's host, of the provider's
	// answer: Zulip's "/complete/oidc/", "/complete/saml/". Several
	// providers may share one; their flows tell them apart.
	CallbackPath string
	// DisplayName and DisplayIcon (a URL, or "") are what the apps show on
	// the provider's button.
	DisplayName string
	DisplayIcon string
	// CreateUsers lets an identity without an account in the realm get one
	// (with the identity's name) on its first login. Off, such an identity
	// is refused.
	CreateUsers bool
}

// Identity is what a provider proves about the person who came back.
type Identity struct {
	// Email is the address the provider gives for the person.
	Email string
	// EmailVerified reports whether the provider verified Email. An
	// unverified email logs nobody in.
	EmailVerified bool
	// Name is the person's full name, for an account created on first
	// login.
	Name string
	// Subject is the provider's own stable identifier of the person, for
	// the log.
	Subject string
	// AnswerID, when set, names the provider's answer so that it is
	// accepted once, on every instance: a SAML assertion's issuer and ID.
	// The callback keeps it in the store ([FlowStore]) until
	// AnswerExpires (when the answer stops being valid anyway) and
	// refuses a second answer with it as invalid.
	AnswerID      string
	AnswerExpires time.Time
}

// UnsolicitedAnswers is implemented by an [IdentityProvider] that can take
// an answer no flow asked for: a SAML identity provider's IdP-initiated
// login. AcceptsUnsolicited reports whether the answer r, which names no
// flow, is this provider's to check and its operator allows such answers.
// The callback then calls Finish with a flow whose Token is "" (no OTP, no
// nonce: the answer logs a plain browser in through Config.WebLogin, and
// cannot be bound to a browser; hence off unless the operator turns it on).
type UnsolicitedAnswers interface {
	AcceptsUnsolicited(r *http.Request) bool
}

// SSOFlow is one single sign-on login in flight: what crosses the
// provider's round trip, kept by the store ([FlowStore]) under Token, so
// that the provider's answer may reach any instance. Providers read the
// exported fields; the rest is this package's.
type SSOFlow struct {
	// Token names the flow: 43 characters of base64url from crypto/rand
	// (256 bits), sent to the provider as OpenID Connect's state or SAML's
	// RelayState. It is single use.
	Token string
	// Realm is the organization the login is for.
	Realm Realm
	// CallbackURL is the absolute URL of the provider's answer: the realm's
	// URL and the provider's CallbackPath.
	CallbackURL string
	// Nonce is a random value for OpenID Connect's nonce.
	Nonce string
	// CodeVerifier is a random PKCE code verifier (RFC 7636, 43 characters);
	// its S256 challenge goes with the request.
	CodeVerifier string
	// ProviderState is the provider's own, set by Start.
	ProviderState string
	// Expires is when the flow stops being usable.
	Expires time.Time

	provider   string // ProviderInfo.LoginPath
	signup     bool
	mobileOTP  string
	desktopOTP string
	browser    string // hex SHA-256 of the value of the browser's flow cookie
}

// FlowStore is implemented by stores that keep single sign-on flows, and
// the desktop app's one-time login tokens, for the providers' round trips:
// a flow started on one instance finishes on any other that shares the
// store. The values are opaque to the store.
//
// PutFlow keeps value under token until expires. A token kept already and
// not expired (by the store's clock) is [ErrFlowExists], and its value
// stays as it was: of two puts racing with one token, exactly one
// succeeds. TakeFlow returns the value and removes it, in one step, so
// that a flow is used at most once even when two requests race for it; a
// token never put, already taken, or expired at now is [ErrFlowNotFound].
// Both honour ctx and are safe for concurrent use. backends/storetest
// checks the contract.
type FlowStore interface {
	PutFlow(ctx context.Context, token string, value []byte, expires time.Time) error
	TakeFlow(ctx context.Context, token string, now time.Time) ([]byte, error)
}

// Errors of single sign-on.
var (
	// ErrFlowNotFound: a [FlowStore] has no flow under the token (never
	// put, already taken, or expired).
	ErrFlowNotFound = errors.New("zulipauth: no such sign-on flow")
	// ErrFlowExists: a [FlowStore] keeps a flow under the token already.
	ErrFlowExists = errors.New("zulipauth: a sign-on flow with this token exists")
	// ErrSSODenied: the provider or the person refused the login (an
	// OpenID Connect "access_denied", say).
	ErrSSODenied = errors.New("zulipauth: the identity provider refused the login")
	// ErrSSOInvalid: the provider's answer proves no identity for the flow
	// (a bad signature, a wrong nonce or audience, an expired token).
	ErrSSOInvalid = errors.New("zulipauth: the identity provider's answer is not valid")
)
