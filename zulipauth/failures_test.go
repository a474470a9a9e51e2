package zulipauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Every sentinel, bare and wrapped, is classified alike by WriteError, by
// Chain and by the login handler. They once decided apart: a wrapped
// ErrUserNotFound stopped a chain as a fault while the table answered it
// with a 401, so a local user could not log in behind a directory that did
// not know them.
func TestEverySentinelIsClassifiedOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		code string // "" for a fault (500)
		// goesOn: a chain tries its next authenticator after this error.
		goesOn bool
	}{
		{zulipauth.ErrBadCredentials, "AUTHENTICATION_FAILED", true},
		{zulipauth.ErrUserNotFound, "AUTHENTICATION_FAILED", true},
		{zulipauth.ErrWrongRealm, "AUTHENTICATION_FAILED", true},
		{zulipauth.ErrUserDeactivated, "USER_DEACTIVATED", true},
		{zulipauth.ErrRealmDeactivated, "REALM_DEACTIVATED", true},
		{zulipauth.ErrPasswordAuthDisabled, "PASSWORD_AUTH_DISABLED", true},
		{zulipauth.ErrPasswordResetRequired, "PASSWORD_RESET_REQUIRED", true},
		{zulipauth.ErrRealmNotFound, "NONEXISTENT_SUBDOMAIN", true},
		{zulipauth.ErrBusy, "RATE_LIMIT_HIT", false},
		{zulipauth.BadRequest("decided by the authenticator"), "BAD_REQUEST", false},
		{zulipauth.ErrUserExists, "", false},
		{zulipauth.ErrRealmExists, "", false},
		{errors.ErrUnsupported, "", false},
		{context.DeadlineExceeded, "", false},
		{context.Canceled, "", false},
		{errFault, "", false},
	}
	next := zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
		return zulipauth.User{ID: 9, Email: iagoEmail, APIKey: strings.Repeat("k", 32)}, nil
	})
	for _, tt := range tests {
		for _, err := range []error{tt.err, fmt.Errorf("backend: %w", tt.err)} {
			t.Run(err.Error(), func(t *testing.T) {
				t.Parallel()
				client := tt.code != ""
				want := httptest.NewRecorder()
				zulipauth.WriteError(want, err)
				if code := decode(t, want.Body.Bytes())["code"]; (code != nil || tt.code != "") && code != tt.code {
					t.Errorf("WriteError answered code %v, want %q", code, tt.code)
				}
				if !client && want.Code != 500 {
					t.Errorf("WriteError answered a fault with %d, want 500", want.Code)
				}
				fail := zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
					return zulipauth.User{}, err
				})
				u, cerr := zulipauth.Chain(fail, next).Authenticate(context.Background(), zulipauth.Attempt{})
				if goesOn := cerr == nil && u.ID == 9; goesOn != tt.goesOn {
					t.Errorf("Chain went on to the next authenticator: %v, want %v (err %v)", goesOn, tt.goesOn, cerr)
				}
				if !client && tt.goesOn {
					t.Error("a fault must stop a chain")
				}

				// The handler answers what WriteError does, and logs faults only.
				f := newFixture(t, func(c *zulipauth.Config) { c.Authenticator = fail })
				w := f.login(iagoEmail, iagoPassword, "")
				if w.Code != want.Code || w.Body.String() != want.Body.String() {
					t.Errorf("handler answered %d %s, want %d %s", w.Code, w.Body, want.Code, want.Body)
				}
				if logged := strings.Contains(f.logs.String(), "level=ERROR"); logged != !client {
					t.Errorf("logged as a fault: %v, want %v; log:\n%s", logged, !client, f.logs)
				}
			})
		}
	}
}

// A context error is the client's doing only when the request's own context
// has ended. A store or directory that times out while the request still
// has time is a fault: 500 and a log line. It once became a silent 429, so
// a database timing out looked like rate limiting.
func TestContextErrorsAreFaultsUnlessTheRequestEnded(t *testing.T) {
	t.Parallel()
	timeout := zulipauth.AuthenticatorFunc(func(ctx context.Context, _ zulipauth.Attempt) (zulipauth.User, error) {
		if ctx.Err() != nil {
			return zulipauth.User{}, fmt.Errorf("store: %w", ctx.Err())
		}
		return zulipauth.User{}, fmt.Errorf("store: query: %w", context.DeadlineExceeded)
	})
	f := newFixture(t, func(c *zulipauth.Config) { c.Authenticator = timeout })

	w := f.login(iagoEmail, iagoPassword, "")
	if w.Code != 500 || w.Body.String() != wantInternal {
		t.Errorf("component timeout: %d %s, want 500", w.Code, w.Body)
	}
	if !strings.Contains(f.logs.String(), "level=ERROR") || !strings.Contains(f.logs.String(), "deadline exceeded") {
		t.Errorf("component timeout not logged as a fault:\n%s", f.logs)
	}

	before := f.logs.String()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client went away
	r := formRequest(url.Values{"username": {iagoEmail}, "password": {iagoPassword}}.Encode()).WithContext(ctx)
	w = f.do(r)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Errorf("request ended: %d %s, want the busy 429", w.Code, w.Body)
	}
	if after := f.logs.String(); strings.Count(after, "level=ERROR") != strings.Count(before, "level=ERROR") {
		t.Errorf("a request that ended was logged as a fault:\n%s", after[len(before):])
	}
}
