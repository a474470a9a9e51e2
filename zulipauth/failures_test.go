package zulipauth_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Every sentinel, bare and wrapped, is classified alike by ErrorFor, by
// Chain and by the login handler. They once decided apart: a wrapped
// ErrUserNotFound stopped a chain as a fault while ErrorFor answered it with
// a 401, so a local user could not log in behind a directory that did not
// know them.
func TestEverySentinelIsClassifiedOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		code string // "" for a fault (500)
		// goesOn: a chain tries its next authenticator after this error.
		goesOn bool
	}{
		{zulipauth.ErrBadCredentials, zulipauth.CodeAuthenticationFailed, true},
		{zulipauth.ErrUserNotFound, zulipauth.CodeAuthenticationFailed, true},
		{zulipauth.ErrWrongRealm, zulipauth.CodeAuthenticationFailed, true},
		{zulipauth.ErrUserDeactivated, zulipauth.CodeUserDeactivated, true},
		{zulipauth.ErrRealmDeactivated, zulipauth.CodeRealmDeactivated, true},
		{zulipauth.ErrPasswordAuthDisabled, zulipauth.CodePasswordAuthDisabled, true},
		{zulipauth.ErrPasswordResetRequired, zulipauth.CodePasswordResetRequired, true},
		{zulipauth.ErrRealmNotFound, zulipauth.CodeNonexistentSubdomain, true},
		{zulipauth.ErrBusy, zulipauth.CodeRateLimitHit, false},
		{zulipauth.BadRequest("decided by the authenticator"), zulipauth.CodeBadRequest, false},
		{zulipauth.ErrUserExists, "", false},
		{zulipauth.ErrRealmExists, "", false},
		{zulipauth.ErrUnsupported, "", false},
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
				zerr, client := zulipauth.ErrorFor(err)
				if zerr.Code != tt.code || client != (tt.code != "") {
					t.Errorf("ErrorFor = %s (client %v), want code %q", zerr.Code, client, tt.code)
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

				// The handler answers what ErrorFor says, and logs faults only.
				f := newFixture(t, func(c *zulipauth.Config) { c.Authenticator = fail })
				w := f.login(iagoEmail, iagoPassword, "")
				if w.Code != zerr.Status || !strings.Contains(w.Body.String(), `"msg":"`+zerr.Msg+`"`) {
					t.Errorf("handler answered %d %s, want %d %q", w.Code, w.Body, zerr.Status, zerr.Msg)
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
