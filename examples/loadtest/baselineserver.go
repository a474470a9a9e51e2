package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The baselines that are HTTP servers run in a process of their own, this
// program started again with -serve-baseline KIND, so that they stand where
// the server under test stands: another process on the same cores, behind
// the same loopback, with the same http.Server settings, read by the same
// client. Only the handler differs.

// baselineHandlers are the baselines' handlers by kind.
var baselineHandlers = map[string]func() http.Handler{
	// bare-429 parses fetch_api_key's form as any net/http handler would and
	// writes the answer of a spent budget: Zulip's 429 body and the headers
	// examples/server sends with it (Retry-After, X-RateLimit-*,
	// Content-Type, X-Content-Type-Options, Cache-Control), fixed values.
	"bare-429": bare429,
	// users-me is GET /api/v1/users/me without the middleware: the same
	// kind of mux and the same answer as examples/server's, for a fixed
	// user.
	"users-me": bareUsersMe,
}

// baselineKinds are the kinds -serve-baseline accepts, sorted.
func baselineKinds() []string {
	kinds := make([]string, 0, len(baselineHandlers))
	for k := range baselineHandlers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

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

// profile is examples/server's answer to GET /api/v1/users/me.
type profile struct {
	UserID        int64  `json:"user_id"`
	Email         string `json:"email"`
	DeliveryEmail string `json:"delivery_email"`
	FullName      string `json:"full_name"`
	IsActive      bool   `json:"is_active"`
	IsBot         bool   `json:"is_bot"`
	Role          int    `json:"role"`
	DateJoined    string `json:"date_joined"`
}

// bareUsersMe is the users-me baseline (see baselineHandlers).
func bareUsersMe() http.Handler {
	joined := time.Now().UTC().Format(time.RFC3339)
	me := func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			zulipauth.WriteError(w, zulipauth.MethodNotAllowed(http.MethodGet, http.MethodHead))
			return
		}
		zulipauth.WriteSuccess(w, profile{
			UserID: 17, Email: "api-u17@zulip.test", DeliveryEmail: "api-u17@zulip.test",
			FullName: "api-u17", IsActive: true, Role: 400, DateJoined: joined,
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/users/me", me)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		zulipauth.WriteError(w, &zulipauth.Error{Status: http.StatusNotFound, Msg: "Not Found"})
	})
	return zulipauth.MergeSlashes(mux)
}

// newHTTPServer is an http.Server with examples/server's settings, so that
// a baseline pays for the same timeouts and limits.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serveBaseline serves the baseline kind on addr until ctx ends, logging
// "serving addr=http://HOST:PORT" as examples/server does.
func serveBaseline(ctx context.Context, kind, addr string, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := newHTTPServer(baselineHandlers[kind](), log)
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "baseline", kind)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
