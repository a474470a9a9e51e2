package zulipauth

import (
	"errors"
	"net/http"
)

// RegenerateAPIKeyHandler returns the handler of Zulip's
// POST /api/v1/users/me/api_key/regenerate: the authenticated user gets a new
// API key at once, and the old one is refused from the next request on, the
// API-key cache included. Serve it behind [Auth.RequireAPIKey], which
// authenticates the request, spends the user's budget and sets Zulip's
// never-cache headers; [Auth.Mount] does so where the store is an
// [APIKeyRegenerator].
//
// The answer is 200 {"result":"success","msg":"","api_key":"<32 characters>"};
// another method is 405 with Allow: POST; a request without an authenticated
// user (the handler served on its own) is 401 UNAUTHORIZED; a store that
// cannot regenerate keys is 400 BAD_REQUEST; a store fault is 500.
func (a *Auth) RegenerateAPIKeyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, zerr := a.regenerateAPIKey(r)
		write(w, a.cfg.Now(), key, zerr, nil)
	})
}

// regeneratedKey is the regenerate endpoint's success.
type regeneratedKey struct {
	APIKey string `json:"api_key"`
}

// regenerateAPIKey decides the regenerate endpoint's answer; it writes
// nothing.
func (a *Auth) regenerateAPIKey(r *http.Request) (*regeneratedKey, *Error) {
	if r.Method != http.MethodPost {
		return nil, MethodNotAllowed(http.MethodPost)
	}
	user, ok := UserFrom(r.Context())
	if !ok {
		return nil, a.answer(r.Context(), epAPI, "", errNoCredentials)
	}
	key, err := a.RegenerateAPIKey(r.Context(), user.ID)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return nil, BadRequest("This server cannot regenerate API keys")
	case err != nil:
		return nil, a.answer(r.Context(), epAPI, "regenerating an API key", err, "user_id", user.ID)
	}
	return &regeneratedKey{key}, nil
}
