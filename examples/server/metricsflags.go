package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// metricsFlags are the flags of serve's metrics and health checks.
type metricsFlags struct {
	addr         string
	healthOnMain bool
	readyTimeout time.Duration
	drain        time.Duration
}

// defaultReadyTimeout bounds each readiness check: well under the few
// seconds a load balancer waits for a probe's answer.
const defaultReadyTimeout = 2 * time.Second

func (m *metricsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.addr, "metrics-addr", "", "serve Prometheus metrics (/metrics) and the health checks (/healthz, /readyz) on this HOST:PORT, e.g. 127.0.0.1:9992 (default: off)")
	fs.BoolVar(&m.healthOnMain, "health-on-main", false, "serve the health checks /healthz and /readyz on -addr too, for a load balancer that probes the port it sends traffic to")
	fs.DurationVar(&m.readyTimeout, "ready-timeout", defaultReadyTimeout, "bound on each of /readyz's checks (the store, Redis, the directory)")
	fs.DurationVar(&m.drain, "shutdown-drain", 0, "after SIGINT or SIGTERM, go on serving this long with /readyz answering 503, before the listener closes: the load balancer's probe interval times its failure threshold (default: close at once)")
}

func (m *metricsFlags) check() error {
	if m.readyTimeout <= 0 {
		return fmt.Errorf("%w: serve: -ready-timeout must be positive", errUsage)
	}
	if m.drain < 0 {
		return fmt.Errorf("%w: serve: -shutdown-drain must be 0 or positive", errUsage)
	}
	return nil
}

// observer is the observer serve's flags ask for: nil when they ask for
// neither metrics nor health checks, so that nothing is counted for
// nothing.
func (m *metricsFlags) observer() *observer {
	if m.addr == "" && !m.healthOnMain {
		return nil
	}
	return newObserver(m.readyTimeout)
}

// serve starts the metrics listener (-metrics-addr) and returns the main
// handler, with the health checks in front of it under -health-on-main;
// stop closes the metrics listener. With a nil observer it returns h as it
// is.
func (m *metricsFlags) serve(o *observer, h http.Handler, log *slog.Logger) (main http.Handler, stop func(), err error) {
	if o == nil {
		return h, func() {}, nil
	}
	if m.healthOnMain {
		h = o.healthHandler(log, h)
	}
	stopListener := func() {}
	if m.addr != "" {
		ln, err := net.Listen("tcp", m.addr)
		if err != nil {
			return nil, nil, fmt.Errorf("serve: -metrics-addr: %w", err)
		}
		srv := &http.Server{
			Handler:           o.metricsMux(log),
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      30 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics: the listener failed", "error", err)
			}
		}()
		log.Info("metrics and health checks", "addr", "http://"+ln.Addr().String(), "paths", "/metrics /healthz /readyz")
		stopListener = func() { srv.Close() }
	}
	return h, stopListener, nil
}

// metricsMux is the metrics listener's: /metrics, /healthz, /readyz.
func (o *observer) metricsMux(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", o.metricsHandler())
	return o.healthHandler(log, mux)
}
