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
		if r.Method != http.MethodPost {
			WriteError(w, MethodNotAllowed(http.MethodPost))
			return
		}
		user, ok := UserFrom(r.Context())
		if !ok {
			WriteError(w, Unauthorized(msgNotLoggedIn))
			return
		}
		key, err := a.RegenerateAPIKey(r.Context(), user.ID)
		switch {
		case errors.Is(err, ErrUnsupported):
			WriteError(w, BadRequest("This server cannot regenerate API keys"))
			return
		case err != nil:
			WriteError(w, a.answer(r.Context(), "regenerating an API key", err, "user_id", user.ID))
			return
		}
		WriteSuccess(w, struct { //nolint:errcheck // a struct always marshals
			APIKey string `json:"api_key"`
		}{key})
	})
}
