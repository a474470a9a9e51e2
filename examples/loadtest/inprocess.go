package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/examples/internal/refserver"
)

// serverConfig is the wiring of examples/server as the harness starts it
// (serve -trusted-proxy 127.0.0.1, every other flag at its default; the
// harness's client sends each request's address in X-Forwarded-For), for
// the wiring served in this process: -cpuprofile's subject and the handler
// benchmarks. It has no JWT keys: the in-process subject runs the default
// variant only. now is zulipauth's clock (nil: time.Now; a benchmark stops
// it so that no budget refills).
func serverConfig(externalHost string, now func() time.Time) refserver.Config {
	c := refserver.Defaults()
	c.ExternalHost = externalHost
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	c.ClientIPHeader = "X-Forwarded-For"
	c.Now = now
	return c
}

// startInProcess serves examples/server's wiring (refserver, configured by
// serverConfig) in this process, on the SQLite database at path, so that
// -cpuprofile's profiles hold the server's stacks. The server logs to logTo
// (io.Discard, or a file of -log-dir: a log to a file costs little next to
// a terminal); stderr gets a failure to shut down.
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
	h, stopAuth, err := refserver.NewHandler(st, serverConfig(ln.Addr().String(), nil), log)
	if err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	stopServing := serveOn(ln, h, log, stderr)
	stop := func() {
		stopServing()
		stopAuth()
		st.Close()
	}
	// pid 0: the RSS of this process would count the client's memory too.
	return &subject{host: ln.Addr().String(), stop: stop}, nil
}

// serveOn serves h on ln in this process with refserver.Serve, as
// examples/server serves, until stop, which shuts the server down
// gracefully and waits for it; stderr gets a failure to shut down.
func serveOn(ln net.Listener, h http.Handler, log *slog.Logger, stderr io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- refserver.Serve(ctx, ln, h, log) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			slog.New(slog.NewTextHandler(stderr, nil)).Error("loadtest: the in-process server", "error", err)
		}
	}
}
