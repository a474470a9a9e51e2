package zulipauth

import (
	"errors"
	"net/http"
	"strings"
)

// InsecureDevFetchAPIKeyHandler returns the handler of POST
// /api/v1/dev_fetch_api_key, Zulip's development login: it returns the API
// key of any active user whose email is posted, WITHOUT A PASSWORD.
//
// It exists for development servers and test suites, where clients log in as
// seeded users, and must never be reachable in production: anyone who can
// reach it can act as any user. It works only where Config.InsecureDevLogin
// is set, which also makes [Auth.Mount] mount it and server_settings report
// authentication_methods.dev; elsewhere it answers Zulip's 400
// "DevAuthBackend not enabled.", so mounting it by mistake gives nothing
// away. Each key it gives out is logged as a warning.
//
// The checks follow Zulip's dev login: POST only (405); username required
// (400); the development login enabled (400); always an email address
// (400); the client's budget (429); realm (404 NONEXISTENT_SUBDOMAIN); then
// realm deactivated, user deactivated, another realm's user (404, as
// Zulip's dev login answers), unknown user (401). The answer is
// fetch_api_key's.
func (a *Auth) InsecureDevFetchAPIKeyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := login{ep: epDevLogin, ev: Event{Method: "dev"}}
		data, zerr := a.devFetchAPIKey(&l, w, r)
		a.respond(w, &l, data, zerr)
	})
}

var errDevLoginDisabled = BadRequest("DevAuthBackend not enabled.")

// devLoginParams are the development login's parameters.
var devLoginParams = []string{"username"}

// checkDevLogin is Zulip's check_dev_auth_backend, then its
// validate_login_email, which the development login always applies.
func (a *Auth) checkDevLogin(v [maxLoginParams]string) *Error {
	if !a.cfg.InsecureDevLogin {
		return errDevLoginDisabled
	}
	if !ValidEmail(v[0]) {
		return errInvalidEmail
	}
	return nil
}

// devFetchAPIKey decides the development login's answer; it writes nothing.
func (a *Auth) devFetchAPIKey(l *login, w http.ResponseWriter, r *http.Request) (any, *Error) {
	if zerr := a.begin(l, w, r, devLoginParams, a.checkDevLogin); zerr != nil {
		return nil, zerr
	}
	ctx := r.Context()
	email := strings.TrimSpace(l.values[0])
	user, err := a.cfg.Users.UserByEmail(ctx, l.realm.Subdomain, email)
	switch {
	case l.realm.Deactivated:
		err = ErrRealmDeactivated
	case errors.Is(err, ErrUserNotFound):
		// Another realm's user is this login's 404 (see epDevLogin).
		err = a.unknownAddress(ctx, l.realm.Subdomain, email)
	case err == nil && user.Deactivated:
		err = ErrUserDeactivated
	}
	if err != nil {
		return nil, a.failed(l, "dev_fetch_api_key: the user lookup", err)
	}
	a.cfg.Logger.WarnContext(ctx, "zulipauth: INSECURE development login gave out an API key without a password",
		"user", user, "client_ip", l.ev.ClientIP.String())
	a.succeeded(l, user)
	return apiKeyResponse{
		APIKey:  user.APIKey,
		Email:   user.Email,
		UserID:  user.ID,
		Ignored: l.form.Unused("username", "client"),
	}, nil
}
