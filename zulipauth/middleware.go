package zulipauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth/internal/basicauth"
)

type userContextKey struct{}

// UserFrom returns the user [Auth.RequireAPIKey] authenticated for the
// request whose context is ctx. The user's APIKey and PasswordHash are
// cleared.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userContextKey{}).(*User)
	if !ok {
		return User{}, false
	}
	return *u, true
}

// RequireAPIKey authenticates requests with HTTP Basic "email:api_key" as a
// Zulip server authenticates its REST API, and serves next with the user in
// the request's context (see [UserFrom]). Every failure is 401 UNAUTHORIZED
// with WWW-Authenticate: Basic realm="zulip" and Zulip's message:
//
//   - no Authorization header: "Not logged in: API authentication or user
//     session required";
//   - not two tokens, bad base64 or UTF-8, not exactly one colon: "Invalid
//     authorization header for basic auth";
//   - a key that is not 32 characters of [A-Za-z0-9]: "Malformed API key";
//   - an unknown key, or an email that is not the key's user's delivery
//     email (ignoring case): "Invalid API key";
//   - then "This organization has been deactivated", "Account is
//     deactivated", "Account is not associated with this subdomain".
//
// A scheme other than Basic is 400 BAD_REQUEST "This endpoint requires HTTP
// basic authentication.". An authenticated request then spends one event of
// the user's budget (Config.UserLimiter): 429 RATE_LIMIT_HIT when spent, and
// X-RateLimit-* headers either way. A failed one spends one event of the
// client's budget (Config.IPLimiter); once that is spent, the client gets
// 429 and no store lookup until it refills. Every response carries Zulip's
// never-cache headers, which next may override.
//
// A request costs at most one store lookup (none while its key is cached,
// see Config.APIKeyCacheTTL) when the store is a [UserWithRealmFinder], as
// sqlstore and memstore are, and the resolver [HostRealms] or
// [SingleRealm]'s.
func (a *Auth) RequireAPIKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := a.cfg.Now()
		h := w.Header()
		// Zulip's never-cache headers, in one fresh slice: next may change them.
		vals := []string{neverCache, a.httpDate(now)}
		h["Cache-Control"] = vals[0:1:1]
		h["Expires"] = vals[1:2:2]
		user, limit, limited, zerr := a.authorize(r, now)
		a.stats.countAPI(user, zerr)
		limits := [1]Decision{limit}
		if zerr != nil {
			write(w, now, nil, zerr, limits[:b2i(limited)])
			return
		}
		setRateLimitHeaders(h, now, limits[:])
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userContextKey{}, user)))
	})
}

// authorize decides an API request: its user, or the error to answer, and
// the budget whose X-RateLimit-* headers the answer carries, if limited:
// the user's, or after a failure the client's when it refused. A failure
// to authenticate spends the client's budget, and is refused with 429 once
// that is spent; an authenticated request spends the user's.
func (a *Auth) authorize(r *http.Request, now time.Time) (user *User, limit Decision, limited bool, zerr *Error) {
	user, limitKey, err := a.authenticateAPIRequest(r, now)
	if err != nil {
		zerr := a.answer(r.Context(), epAPI, "the API authentication", err)
		if zerr.Status == http.StatusUnauthorized {
			if d, refused := a.chargeFailedAPIRequest(r, now); refused {
				return nil, d, true, rateLimited(d.RetryAfter)
			}
		}
		return nil, Decision{}, false, zerr
	}
	d, zerr := a.spendUserBudget(r.Context(), limitKey)
	return user, d, true, zerr
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// neverCache is Django's add_never_cache_headers Cache-Control.
const neverCache = "max-age=0, no-cache, no-store, must-revalidate, private"

// httpDate returns now as an HTTP date header value. The value changes once
// a second, so it is formatted once a second and shared.
func (a *Auth) httpDate(now time.Time) string {
	sec := now.Unix()
	if d := a.date.Load(); d != nil && d.sec == sec {
		return d.value
	}
	d := &httpDateValue{sec: sec, value: now.UTC().Format(http.TimeFormat)}
	a.date.Store(d)
	return d.value
}

type httpDateValue struct {
	sec   int64
	value string
}

// authenticateAPIRequest returns the request's user, without secrets and
// shared (never to be written to), and the key of the user's budget, or why
// not: a sentinel the API's answers name (see failures), an *Error, or a
// fault.
func (a *Auth) authenticateAPIRequest(r *http.Request, now time.Time) (*User, string, error) {
	vals, present := r.Header["Authorization"]
	if !present {
		return nil, "", errNoCredentials
	}
	e, err := a.credentials(r, vals[0], now)
	if err != nil {
		return nil, "", err
	}
	user, realm := &e.user, e.realm
	// The request's subdomain, and the user's realm when the store could
	// not join it. A subdomainResolver names the subdomain without a
	// lookup; otherwise the request's realm is resolved, for this request
	// only (it is never cached with the credentials, which may be presented
	// on any host).
	named := a.subdomains != nil
	var reqSub string
	if named {
		reqSub = a.subdomains.requestSubdomain(r)
	}
	if !named || !e.joined {
		reqRealm, err := a.cfg.Realms.ResolveRealm(r)
		if err != nil {
			return nil, "", err // ErrRealmNotFound: "Account is not associated with this subdomain"
		}
		reqSub = reqRealm.Subdomain
		if !e.joined {
			realm = reqRealm // the user's realm, if the subdomains match below
		}
	}
	switch {
	case realm.Deactivated && realm.Subdomain == user.Realm:
		return nil, "", ErrRealmDeactivated
	case user.Deactivated:
		return nil, "", ErrUserDeactivated
	case reqSub != user.Realm:
		return nil, "", ErrWrongRealm
	}
	return user, e.limitKey, nil
}

// credentials checks the email and API key an Authorization header holds
// against the store (or the API-key cache, see apiKeyCache), and returns the
// key's user when both are the user's.
func (a *Auth) credentials(r *http.Request, header string, now time.Time) (*keyCacheEntry, error) {
	// Read before any cached entry, so that a forget from here on keeps
	// the entries this request would put.
	gen := a.keys.generation()
	if e, ok := a.keys.byHeader(header, now); ok {
		a.stats.countCache(true, true)
		return e, nil
	}
	email, key, err := basicauth.Parse(header)
	switch {
	case errors.Is(err, basicauth.ErrNotBasic):
		return nil, BadRequest(err.Error())
	case err != nil:
		return nil, errBadBasicAuth
	case !ValidAPIKeyFormat(key):
		return nil, errMalformedAPIKey
	}
	e, cached := a.keys.byKey(key, now)
	if !cached {
		// A client whose failures spent its budget gets no more lookups
		// until the budget refills.
		if d, refused := recall(a.refused, ipKey(a.ClientIP(r)), now); refused {
			return nil, rateLimited(d.RetryAfter)
		}
	}
	// Counted here, so that a miss is a request that costs a lookup.
	a.stats.countCache(a.keys != nil, cached)
	if !cached {
		if e, err = a.userByAPIKey(r.Context(), key); err != nil {
			return nil, err
		}
		a.keys.putLookup(gen, key, e, now)
	}
	// userByAPIKey compared the key in constant time; the cache holds the
	// entry under that very key, but compare again: it is cheap, and the
	// check stays next to the acceptance.
	// parseBasicAuth stripped the email; the stored one is compared as
	// FoldEmail reads it, trimmed and ignoring letter case.
	if !e.found || !equalAPIKeys(e.apiKey, key) || !strings.EqualFold(email, strings.TrimSpace(e.user.Email)) {
		return nil, ErrBadCredentials // "Invalid API key"
	}
	if header == e.header {
		a.keys.putHeader(gen, e, now)
	}
	return e, nil
}

// userByAPIKey looks the key up in the store: its user (found) and the
// user's realm when the store can join it (joined). An unknown key is not
// an error.
func (a *Auth) userByAPIKey(ctx context.Context, key string) (*keyCacheEntry, error) {
	var (
		user   User
		realm  Realm
		joined bool
		err    error
	)
	if f, ok := a.cfg.Users.(UserWithRealmFinder); ok {
		user, realm, err = f.UserWithRealmByAPIKey(ctx, key)
		joined = true
	} else {
		user, err = a.cfg.Users.UserByAPIKey(ctx, key)
	}
	switch {
	case errors.Is(err, ErrUserNotFound):
		return unknownAPIKey, nil
	case err != nil:
		return nil, err
	}
	// A store whose index ignores letter case matched another key: to the
	// cache that key is unknown, so its variants cannot fill the users.
	if !equalAPIKeys(user.APIKey, key) {
		return unknownAPIKey, nil
	}
	return newKeyCacheEntry(user, realm, joined), nil
}

// RegenerateAPIKey gives the user a new API key through the store (an
// [APIKeyRegenerator]; otherwise the error wraps errors.ErrUnsupported) and
// drops the user from the API-key cache, so the old
// key stops working at once in this process. Other processes sharing the
// store stop accepting it within Config.ChangePollInterval where the store
// is a [ChangeFeed], else within Config.APIKeyCacheTTL.
func (a *Auth) RegenerateAPIKey(ctx context.Context, userID int64) (string, error) {
	rg, ok := a.cfg.Users.(APIKeyRegenerator)
	if !ok {
		return "", fmt.Errorf("zulipauth: the store (%T) cannot regenerate API keys: %w", a.cfg.Users, errors.ErrUnsupported)
	}
	key, err := rg.RegenerateAPIKey(ctx, userID)
	a.keys.forget(userID, true) // the new key may have been refused as unknown
	return key, err
}

// ForgetUser drops a user from the API-key cache: call it after changing a
// user in the store (a deactivation, say) for the change to take effect in
// this process at once rather than within Config.APIKeyCacheTTL.
func (a *Auth) ForgetUser(userID int64) {
	a.keys.forget(userID, false)
}

// apiKeyCacheDefaultSize bounds the API-key cache when Config.APIKeyCacheSize
// is not set.
const apiKeyCacheDefaultSize = DefaultMaxKeys
