package zulipauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// InsecureDevFetchAPIKey returns the handler of POST
// /api/v1/dev_fetch_api_key, Zulip's development login: it returns the API
// key of any active user whose email is posted, WITHOUT A PASSWORD.
//
// It exists for development servers and test suites, where clients log in as
// seeded users, and must never be reachable in production: anyone who can
// reach it can act as any user. Mount only never does so; a host mounts it
// explicitly, behind its own flag (examples/server's -dev-login), and the
// handler logs a warning each time it gives out a key. Once it has been
// called, server_settings reports authentication_methods.dev as true.
//
// The checks follow Zulip's dev login: POST only (405); username required
// (400); always an email address (400); realm (404 NONEXISTENT_SUBDOMAIN);
// then realm deactivated, user deactivated, another realm's user (404),
// unknown user (401). The
// per-IP budget applies. The answer is fetch_api_key's.
func (a *Auth) InsecureDevFetchAPIKey() http.Handler {
	a.devLogin.Store(true)
	return http.HandlerFunc(a.serveDevFetchAPIKey)
}

// devUnknownUser is Zulip's answer for an email the realm does not know:
// 404 "Invalid subdomain" when another realm has it (where the store can
// tell), otherwise AUTHENTICATION_FAILED.
func (a *Auth) devUnknownUser(ctx context.Context, realm, email string) error {
	if f, ok := a.cfg.Users.(OtherRealmFinder); ok {
		elsewhere, err := f.EmailInOtherRealm(ctx, realm, strings.TrimSpace(email))
		if err != nil {
			a.cfg.Logger.ErrorContext(ctx, "zulipauth: dev_fetch_api_key: other-realm lookup failed", "error", err)
			return InternalError()
		}
		if elsewhere {
			return InvalidSubdomain()
		}
	}
	return AuthenticationFailed()
}

func (a *Auth) serveDevFetchAPIKey(w http.ResponseWriter, r *http.Request) {
	form, ok := a.postedForm(w, r)
	if !ok {
		return
	}
	username, ok := required(w, form, "username")
	if !ok {
		return
	}
	if !ValidEmail(username) {
		WriteError(w, InvalidEmail())
		return
	}
	realm, err := a.cfg.Realms.ResolveRealm(r)
	if err != nil {
		a.writeRealmError(w, r, err)
		return
	}
	ctx := r.Context()
	ip := a.ClientIP(r)
	d, err := a.cfg.IPLimiter.Allow(ctx, ipKey(ip))
	if err != nil {
		a.limiterFault(ctx, w, "ip", err)
		return
	}
	setRateLimitHeaders(w.Header(), a.cfg.Now(), []Decision{d})
	if !d.Allowed {
		WriteError(w, RateLimited(d.RetryAfter))
		return
	}
	user, err := a.cfg.Users.UserByEmail(ctx, realm.Subdomain, strings.TrimSpace(username))
	switch {
	case realm.Deactivated:
		WriteError(w, RealmDeactivated())
		return
	case errors.Is(err, ErrUserNotFound):
		WriteError(w, a.devUnknownUser(ctx, realm.Subdomain, username))
		return
	case err != nil:
		a.cfg.Logger.ErrorContext(ctx, "zulipauth: dev_fetch_api_key: user lookup failed", "error", err)
		WriteError(w, InternalError())
		return
	case user.Deactivated:
		WriteError(w, UserDeactivated())
		return
	}
	a.cfg.Logger.WarnContext(ctx, "zulipauth: INSECURE development login gave out an API key without a password",
		"user", user, "client_ip", ip.String())
	ev := Event{Kind: LoginSucceeded, Time: a.cfg.Now(), Realm: realm.Subdomain, Username: username,
		User: user, ClientIP: ip, UserAgent: r.UserAgent()}
	ev.User.APIKey, ev.User.PasswordHash = "", ""
	a.emit(ev)
	WriteSuccess(w, apiKeyResponse{ //nolint:errcheck // a struct always marshals
		APIKey:  user.APIKey,
		Email:   user.Email,
		UserID:  user.ID,
		Ignored: form.unused("username", "client"),
	})
}
