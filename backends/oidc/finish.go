package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/zulipauth/zulipauth-go/backends/internal/logtext"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Finish checks the provider's answer, r, to the flow f, and returns the
// identity it proves:
//
//   - the answer's state must be f.Token, and its iss, when present (or
//     when the provider's discovery document promises it, RFC 9207), the
//     issuer;
//   - an error parameter (access_denied, login_required, or any other) is
//     zulipauth.ErrSSODenied, wrapped with the error code and description,
//     cut short and quoted, since they are the provider's words;
//   - the code is redeemed at the token endpoint with f.CodeVerifier
//     (PKCE) and f.CallbackURL;
//   - the ID token must verify: signed with a key of the provider's key
//     set by an algorithm of its discovery document, iss the issuer, aud
//     including the client ID, exp not more than a minute past (clocks
//     differ), nbf not more than four minutes ahead, its azp, when
//     present, the client ID, and its nonce f.Nonce;
//   - the email and email_verified come from the ID token or, when it has
//     no email, from the userinfo endpoint, whose sub must then be the ID
//     token's; email_verified is true only when it is true or "true"; the
//     name is the name claim or, without one, given_name and family_name.
//     An identity without an email is ErrSSOInvalid. With
//     Config.InsecureTrustEmail every email counts as verified.
//
// An answer that proves nothing (a missing code, a code the provider
// refuses as invalid_grant: used, expired, another client's or redeemed
// with the wrong verifier; an ID token that does not verify) is
// zulipauth.ErrSSOInvalid, wrapped with the reason; the error never holds
// a code or a token. A provider that cannot be reached, that answers with
// an error status, or whose key set cannot be fetched, is any other error:
// a fault. So is a refusal of the token endpoint other than invalid_grant
// (invalid_client: a wrong ClientSecret, say).
func (p *Provider) Finish(ctx context.Context, r *http.Request, f zulipauth.SSOFlow) (zulipauth.Identity, error) {
	if err := ctx.Err(); err != nil {
		return zulipauth.Identity{}, err
	}
	code, err := p.answer(r.URL.Query(), f)
	if err != nil {
		return zulipauth.Identity{}, err
	}
	c := *p.oauth
	c.RedirectURL = f.CallbackURL
	tok, err := c.Exchange(gooidc.ClientContext(ctx, p.token), code, oauth2.VerifierOption(f.CodeVerifier))
	if err != nil {
		return zulipauth.Identity{}, exchangeError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return zulipauth.Identity{}, invalid("the token endpoint sent no ID token")
	}
	var fault keyFault
	idToken, err := p.verifier.Verify(context.WithValue(ctx, keyFaultKey{}, &fault), raw)
	switch {
	case fault.err != nil:
		return zulipauth.Identity{}, fmt.Errorf("oidc: fetching the provider's key set: %w", fault.err)
	case err != nil:
		return zulipauth.Identity{}, invalid("the ID token: " + logtext.Clean(err.Error(), 300))
	case f.Nonce == "" || subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(f.Nonce)) != 1:
		return zulipauth.Identity{}, invalid("the ID token's nonce is not the flow's")
	}
	var fromToken claims
	if err := idToken.Claims(&fromToken); err != nil {
		return zulipauth.Identity{}, invalid("the ID token's claims: " + logtext.Clean(err.Error(), 200))
	}
	if fromToken.AuthorizedParty != "" && fromToken.AuthorizedParty != p.oauth.ClientID {
		return zulipauth.Identity{}, invalid("the ID token was issued to another client (azp)")
	}
	var fromUserinfo *claims
	if fromToken.Email == "" {
		if fromUserinfo, err = p.userinfo(ctx, tok, idToken.Subject); err != nil {
			return zulipauth.Identity{}, err
		}
	}
	id := identity(idToken.Subject, fromToken, fromUserinfo)
	if id.Email == "" {
		return zulipauth.Identity{}, invalid("the provider gave no email (is the email scope granted?)")
	}
	id.EmailVerified = id.EmailVerified || p.trust
	p.logger.DebugContext(ctx, "oidc: identity verified", "provider", p.info.Name, "subject", id.Subject,
		"email", id.Email, "email_verified", id.EmailVerified, "from_userinfo", fromUserinfo != nil)
	return id, nil
}

// answer checks the query of the provider's answer to f and returns its
// code.
func (p *Provider) answer(q url.Values, f zulipauth.SSOFlow) (string, error) {
	if f.Token == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.Token)) != 1 {
		return "", invalid("the answer's state is not the flow's")
	}
	if iss, ok := q["iss"]; ok && (len(iss) != 1 || iss[0] != p.issuer) {
		return "", invalid("the answer's iss is not the issuer")
	} else if !ok && p.issParam {
		return "", invalid("the answer has no iss, which the provider's discovery document promises")
	}
	if q.Has("error") {
		msg := "oidc: the provider answered error " + logtext.Excerpt(q.Get("error"), 64)
		if d := q.Get("error_description"); d != "" {
			msg += " (" + logtext.Excerpt(d, 200) + ")"
		}
		return "", fmt.Errorf("%s: %w", msg, zulipauth.ErrSSODenied)
	}
	code := q.Get("code")
	if code == "" {
		return "", invalid("the answer has neither a code nor an error")
	}
	return code, nil
}

// exchangeError is the error of a failed exchange of a code: the provider's
// refusal of the code itself (invalid_grant) is ErrSSOInvalid; any other
// refusal, or a failed request, is a fault. x/oauth2's own message is not
// used where it quotes the provider's whole body.
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("oidc: redeeming the code: %w", err)
	}
	what := "no error code"
	if re.ErrorCode != "" {
		what = "error " + logtext.Excerpt(re.ErrorCode, 64)
	}
	if re.ErrorDescription != "" {
		what += " (" + logtext.Excerpt(re.ErrorDescription, 200) + ")"
	}
	if re.ErrorCode == "invalid_grant" {
		return invalid("the token endpoint refused the code: " + what)
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	return fmt.Errorf("oidc: the token endpoint refused to redeem the code: %d %s", status, what)
}

// userinfo reads the person's claims from the userinfo endpoint with the
// access token of tok, and checks that they are of subject (OpenID Connect
// Core §5.3.2: otherwise they could be another person's).
func (p *Provider) userinfo(ctx context.Context, tok *oauth2.Token, subject string) (*claims, error) {
	if p.op.UserInfoEndpoint() == "" {
		return nil, invalid("the ID token has no email, and the provider has no userinfo endpoint")
	}
	info, err := p.op.UserInfo(gooidc.ClientContext(ctx, p.meta), oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, fmt.Errorf("oidc: userinfo: %w", err)
	}
	if info.Subject != subject {
		return nil, invalid("userinfo's sub is not the ID token's")
	}
	var c claims
	if err := info.Claims(&c); err != nil {
		return nil, invalid("userinfo's claims: " + logtext.Clean(err.Error(), 200))
	}
	return &c, nil
}

// invalid is ErrSSOInvalid with a reason.
func invalid(reason string) error {
	return fmt.Errorf("oidc: %s: %w", reason, zulipauth.ErrSSOInvalid)
}
