package zulipauth

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// TokenVerifier checks the signed tokens of the JWT login
// (POST /api/v1/jwt/fetch_api_key) for a realm: an application whose own
// single sign-on issues a JSON web token lets its clients trade it for the
// user's API key. backends/jwt implements it on golang-jwt with keys per
// realm, as Zulip's JWT_AUTH_KEYS.
//
// TokenLoginEnabled reports whether realm accepts tokens at all (it has
// keys). VerifyToken checks token's signature and validity for realm and
// returns the email of its "email" claim. A token that is malformed, badly
// signed, signed with an algorithm the realm does not list, expired or not
// yet valid is [ErrBadToken]; a valid token without an email claim is
// [ErrNoEmailInToken]; anything else is a fault of the verifier. Both
// methods must be safe for concurrent use; VerifyToken must honour ctx.
type TokenVerifier interface {
	TokenLoginEnabled(realm Realm) bool
	VerifyToken(ctx context.Context, realm Realm, token string) (email string, err error)
}

var (
	errTokenLoginDisabled = BadRequest("JWT authentication is not enabled for this organization")
	errNoToken            = BadRequest("No JSON web token passed in request")
)

// JWTFetchAPIKeyHandler returns the handler of POST /api/v1/jwt/fetch_api_key
// (Zulip feature level 160): a signed token in, the user's API key out, as
// Zulip answers. [Auth.Mount] mounts it. In order, after the preamble every
// login shares (405 for another method, the body cap, the client's budget,
// then the realm: 404 NONEXISTENT_SUBDOMAIN):
//
//  1. include_profile, a JSON boolean (default false): 400
//     REQUEST_VARIABLE_INVALID otherwise;
//  2. the realm has no keys (or Config.TokenVerifier is nil): 400 "JWT
//     authentication is not enabled for this organization";
//  3. token (form body, else query; default empty) is empty: 400 "No JSON
//     web token passed in request";
//  4. the token does not verify: 400 "Bad JSON web token"; no email claim:
//     400 "No email specified in JSON web token claims";
//  5. the email's user, with no password: a deactivated realm or user is
//     Zulip's 401, an unknown address (another realm's included) the generic
//     401 AUTHENTICATION_FAILED;
//  6. 200 {"result":"success","msg":"","api_key":…,"email":…}, plus "user"
//     (the user object of GET /users/{id}) when include_profile is true.
//
// Every attempt spends one event of the client's budget before any
// verification, so a flood of forged tokens is refused with 429 before it
// costs a signature check. The token is never logged.
func (a *Auth) JWTFetchAPIKeyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := login{ev: Event{Method: "jwt"}}
		data, zerr := a.tokenFetchAPIKey(&l, w, r)
		a.respond(w, &l, data, zerr)
	})
}

// tokenAPIKeyResponse is the JWT login's success, in Zulip's order: no
// top-level user_id, the profile only when asked for.
type tokenAPIKeyResponse struct {
	APIKey  string       `json:"api_key"`
	Email   string       `json:"email"`
	User    *userProfile `json:"user,omitempty"`
	Ignored []string     `json:"ignored_parameters_unsupported,omitempty"`
}

// userProfile is the user object of Zulip's GET /users/{id} (UserBase), as
// far as a UserStore knows it: a member, not a bot.
type userProfile struct {
	UserID         int64   `json:"user_id"`
	DeliveryEmail  string  `json:"delivery_email"`
	Email          string  `json:"email"`
	FullName       string  `json:"full_name"`
	DateJoined     string  `json:"date_joined"`
	IsActive       bool    `json:"is_active"`
	IsOwner        bool    `json:"is_owner"`
	IsAdmin        bool    `json:"is_admin"`
	IsGuest        bool    `json:"is_guest"`
	IsBot          bool    `json:"is_bot"`
	BotType        *int    `json:"bot_type"`
	BotOwnerID     *int64  `json:"bot_owner_id"`
	Role           int     `json:"role"`
	Timezone       string  `json:"timezone"`
	AvatarURL      *string `json:"avatar_url"`
	AvatarVersion  int     `json:"avatar_version"`
	IsImportedStub bool    `json:"is_imported_stub"`
}

// roleMember is Zulip's role number of a plain member.
const roleMember = 400

func newUserProfile(u User) *userProfile {
	return &userProfile{
		UserID:        u.ID,
		DeliveryEmail: u.Email,
		Email:         u.Email,
		FullName:      u.FullName,
		DateJoined:    u.CreatedAt.UTC().Format(time.RFC3339),
		IsActive:      !u.Deactivated,
		Role:          roleMember,
		AvatarVersion: 1,
	}
}

// tokenLoginParams: the JWT login has no required parameter; token
// defaults to "" and is checked after the realm, as in Zulip.
var tokenLoginParams []string

// tokenFetchAPIKey decides the JWT login's answer; it writes nothing.
func (a *Auth) tokenFetchAPIKey(l *login, w http.ResponseWriter, r *http.Request) (any, *Error) {
	if zerr := a.begin(l, w, r, tokenLoginParams, nil); zerr != nil {
		return nil, zerr
	}
	includeProfile := false
	if v, ok := l.form.Get("include_profile"); ok {
		b, ok := parseJSONBool(v)
		if !ok {
			return nil, invalidArgument("include_profile", v)
		}
		includeProfile = b
	}
	tv := a.cfg.TokenVerifier
	if tv == nil || !tv.TokenLoginEnabled(l.realm) {
		return nil, errTokenLoginDisabled
	}
	token, _ := l.form.Get("token")
	if token == "" {
		return nil, errNoToken
	}
	ctx := r.Context()
	email, err := tv.VerifyToken(ctx, l.realm, token)
	if err != nil { // ErrBadToken and ErrNoEmailInToken are 400s
		return nil, a.failed(l, "jwt/fetch_api_key: the token verifier", err)
	}
	l.ev.Username = email
	// Zulip's dummy backend: the realm's state, then the user's.
	var user User
	err = ErrRealmDeactivated
	if !l.realm.Deactivated {
		user, err = a.userByEmail(ctx, l, strings.TrimSpace(email))
	}
	if err != nil {
		return nil, a.failed(l, "jwt/fetch_api_key: the user lookup", err)
	}
	a.succeeded(l, user)
	resp := tokenAPIKeyResponse{
		APIKey:  user.APIKey,
		Email:   user.Email,
		Ignored: l.form.Unused("token", "include_profile", "client"),
	}
	if includeProfile {
		resp.User = newUserProfile(user)
	}
	return resp, nil
}

// parseJSONBool reads a parameter that Zulip decodes as a JSON boolean.
func parseJSONBool(v string) (value, ok bool) {
	switch strings.TrimSpace(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
