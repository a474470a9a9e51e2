package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/zulipauth/zulipauth-go/examples/internal/refserver"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The baselines that are HTTP servers run in a process of their own, this
// program started again with -serve-baseline KIND, so that they stand where
// the server under test stands: another process on the same cores, behind
// the same loopback, served by the same refserver.Serve as examples/server
// (its http.Server settings and shutdown), read by the same client. Only
// the handler differs.

// baselineHandlers are the baselines' handlers by kind; u is the user of
// -baseline-user, for the kinds that answer for one.
var baselineHandlers = map[string]func(u zulipauth.User) http.Handler{
	// bare-429 parses fetch_api_key's form as any net/http handler would and
	// writes the answer of a spent budget: Zulip's 429 body and the headers
	// examples/server sends with it (Retry-After, X-RateLimit-*,
	// Content-Type, X-Content-Type-Options, Cache-Control), fixed values.
	"bare-429": func(zulipauth.User) http.Handler { return bare429() },
	// users-me is GET /api/v1/users/me without the middleware:
	// examples/server's routes and answer (refserver.BareHandler), for u.
	"users-me": refserver.BareHandler,
}

// baselineUser is the user -baseline-user names, in JSON: the api scenario
// gives the users-me baseline one of the server's users (id, email, name,
// creation time; never its key), so that the baseline's answer is the
// server's answer to that user, byte for byte.
type baselineUser struct {
	ID       int64     `json:"id"`
	Email    string    `json:"email"`
	FullName string    `json:"full_name"`
	Created  time.Time `json:"created"`
}

// baselineUserFlag is -baseline-user's value for u.
func baselineUserFlag(u zulipauth.User) string {
	b, _ := json.Marshal(baselineUser{ID: u.ID, Email: u.Email, FullName: u.FullName, Created: u.CreatedAt}) // a struct of plain fields always marshals
	return string(b)
}

// parseBaselineUser reads -baseline-user; "" is a fixed user, for a
// baseline started by hand.
func parseBaselineUser(flag string) (zulipauth.User, error) {
	if flag == "" {
		return zulipauth.User{ID: 17, Email: "api17@zulip.test", FullName: "api17@zulip.test", CreatedAt: time.Now()}, nil
	}
	var b baselineUser
	if err := json.Unmarshal([]byte(flag), &b); err != nil {
		return zulipauth.User{}, fmt.Errorf("%w: -baseline-user: %v", errUsage, err)
	}
	return zulipauth.User{ID: b.ID, Email: b.Email, FullName: b.FullName, CreatedAt: b.Created}, nil
}

// baselineKinds are the kinds -serve-baseline accepts, sorted.
func baselineKinds() []string { return slices.Sorted(maps.Keys(baselineHandlers)) }

// isBaselineKind reports whether -serve-baseline accepts k.
func isBaselineKind(k string) bool { return slices.Contains(baselineKinds(), k) }

// rateLimitBody is Zulip's answer to a spent budget, as examples/server
// writes it for the per-IP budget (100 a minute, so one more in 60 s at
// most).
const rateLimitBody = `{"result":"error","msg":"API usage exceeded rate limit","code":"RATE_LIMIT_HIT","retry-after":60.0}` + "\n"

// bare429 is the bare-429 baseline (see baselineHandlers).
func bare429() http.Handler {
	body := []byte(rateLimitBody)
	length := strconv.Itoa(len(body))
	reset := strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, zulipauth.DefaultMaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		// Read the parameters as the login does, so the work is the same.
		if r.PostFormValue("username") == "" || r.PostFormValue("password") == "" {
			http.Error(w, "missing parameters", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h["Cache-Control"] = []string{"no-store"}
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		h["Retry-After"] = []string{"60"}
		h["X-Ratelimit-Limit"] = []string{"100"}
		h["X-Ratelimit-Remaining"] = []string{"0"}
		h["X-Ratelimit-Reset"] = []string{reset}
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(body)
	})
}

// serveBaseline serves the baseline kind on addr until ctx ends, logging
// "serving addr=http://HOST:PORT" as examples/server does, and serving as it
// does (refserver.Serve: its http.Server settings, its graceful shutdown).
// user is -baseline-user (see parseBaselineUser).
func serveBaseline(ctx context.Context, kind, addr, user string, stderr io.Writer) error {
	u, err := parseBaselineUser(user)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "baseline", kind)
	return refserver.Serve(ctx, ln, baselineHandlers[kind](u), log)
}
