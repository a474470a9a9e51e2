package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// serverHandler is examples/server's default wiring on st: the same
// zulipauth.Config as serve's with -trusted-proxy 127.0.0.1 and its
// defaults (API-key and realm caches 10 s, budgets in memory, an EventLog on log), and
// the same routes. It is a copy of examples/server's buildHandler and
// newMux (a command cannot be imported); keep them alike. now is
// zulipauth's clock (nil: time.Now; a benchmark stops it so that no budget
// refills). stop ends what zulipauth started.
func serverHandler(st *sqlstore.Store, externalHost string, log *slog.Logger, now func() time.Time) (h http.Handler, stop func(), err error) {
	pw, err := password.New(st, password.WithLogger(log))
	if err != nil {
		return nil, nil, err
	}
	events := zulipauth.NewEventLog(log, 0)
	auth, err := zulipauth.New(zulipauth.Config{
		Users:          st,
		Authenticator:  pw,
		Realms:         zulipauth.HostRealms{Realms: st, ExternalHost: externalHost},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		ClientIPHeader: "X-Forwarded-For",
		APIKeyCacheTTL: 10 * time.Second,
		RealmCacheTTL:  10 * time.Second,
		Logger:         log,
		OnEvent:        events.Log,
		Now:            now,
	})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	auth.Mount(mux)
	mux.Handle("/api/v1/users/me", auth.RequireAPIKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			zulipauth.WriteError(w, zulipauth.MethodNotAllowed(http.MethodGet, http.MethodHead))
			return
		}
		u, _ := zulipauth.UserFrom(r.Context())
		zulipauth.WriteSuccess(w, profile{
			UserID: u.ID, Email: u.Email, DeliveryEmail: u.Email, FullName: u.FullName,
			IsActive: !u.Deactivated, Role: 400, DateJoined: u.CreatedAt.UTC().Format(time.RFC3339),
		})
	})))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		zulipauth.WriteError(w, &zulipauth.Error{Status: http.StatusNotFound, Msg: "Not Found"})
	})
	return zulipauth.MergeSlashes(mux), func() { auth.Close(); events.Flush() }, nil
}

// startInProcess serves serverHandler in this process, on the SQLite
// database at path, with examples/server's http.Server settings, so that
// -cpuprofile's profiles hold the server's stacks. The server logs to
// logTo (io.Discard, or a file of -log-dir: a log to a file costs little
// next to a terminal); stderr gets a failure to shut down.
func startInProcess(ctx context.Context, path string, logTo, stderr io.Writer) (*subject, error) {
	log := slog.New(slog.NewTextHandler(logTo, nil))
	st, err := sqlstore.Open(ctx, "sqlite", path)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	h, stopAuth, err := serverHandler(st, ln.Addr().String(), log, nil)
	if err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	srv := newHTTPServer(h, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	stop := func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			slog.New(slog.NewTextHandler(stderr, nil)).Error("loadtest: the in-process server", "error", err)
		}
		stopAuth()
		st.Close()
	}
	// pid 0: the RSS of this process would count the client's memory too.
	return &subject{host: ln.Addr().String(), stop: stop}, nil
}
