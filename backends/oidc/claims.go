package oidc

import (
	"encoding/json"
	"strings"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// claims is what a Provider reads of an ID token or of userinfo
// (OpenID Connect Core §5.1).
type claims struct {
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	Name          string          `json:"name"`
	GivenName     string          `json:"given_name"`
	FamilyName    string          `json:"family_name"`

	// AuthorizedParty is the ID token's azp: the client it was issued
	// to, where a provider says so.
	AuthorizedParty string `json:"azp"`
}

// verified reports whether email_verified says yes: the JSON true, or the
// string "true" that some providers (Amazon Cognito) send. Anything else,
// absence included, is no.
func (c claims) verified() bool {
	switch strings.TrimSpace(string(c.EmailVerified)) {
	case "true", `"true"`:
		return true
	}
	return false
}

// name is the person's full name: the name claim, or else given_name and
// family_name joined by a space, without surrounding white space.
func (c claims) name() string {
	if n := strings.TrimSpace(c.Name); n != "" {
		return n
	}
	return strings.TrimSpace(strings.TrimSpace(c.GivenName) + " " + strings.TrimSpace(c.FamilyName))
}

// identity is the identity of subject that the ID token's claims prove,
// with userinfo's where the ID token has no email (userinfo is then
// non-nil): the email and whether it is verified come from one source,
// never half from each; the name from the ID token, or else from userinfo.
func identity(subject string, fromToken claims, fromUserinfo *claims) zulipauth.Identity {
	id := zulipauth.Identity{
		Subject:       subject,
		Email:         fromToken.Email,
		EmailVerified: fromToken.verified(),
		Name:          fromToken.name(),
	}
	if fromUserinfo != nil {
		id.Email, id.EmailVerified = fromUserinfo.Email, fromUserinfo.verified()
		if id.Name == "" {
			id.Name = fromUserinfo.name()
		}
	}
	return id
}
