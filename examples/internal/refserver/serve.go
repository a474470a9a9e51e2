package refserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds Serve's graceful shutdown: how long the requests in
// flight may take to finish once it begins.
const shutdownTimeout = 10 * time.Second

// Serve serves h on ln until ctx ends, then shuts down gracefully: it logs
// "shutting down", stops accepting connections, closes the idle ones and
// waits up to 10 s for the requests in flight. It returns nil
// after a shutdown that let every request finish, and otherwise the error
// that stopped it (ln failing, or the timeout).
//
// The http.Server bounds what one client may hold: 10 s to send the
// headers, 30 s to send the request and to read the answer, 2 minutes idle
// on a keep-alive connection, 64 KiB of headers. Its own errors (a TLS
// handshake, a malformed request) go to log as warnings. Everything that
// serves for the reference server, examples/loadtest's baselines included,
// is served here, so that all pay for the same settings.
//
// Serve does not log that it serves: the caller logs "serving" with what it
// knows (examples/loadtest reads the address from that line).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	return ServeDraining(ctx, ln, h, log, 0, nil)
}

// ServeDraining is Serve, with a drain before the shutdown: once ctx ends
// it logs "shutting down", calls draining (when not nil; examples/server's
// /readyz then answers 503) and goes on serving for drain, so that a load
// balancer probing readiness stops sending before the listener closes;
// then it shuts down as Serve does.
func ServeDraining(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, drain time.Duration, draining func()) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if draining != nil {
		draining()
	}
	if drain > 0 {
		log.Info("draining: serving until the load balancer stops sending", "for", drain)
		select {
		case err := <-errc:
			return err
		case <-time.After(drain):
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
