package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/examples/internal/refserver"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// BenchmarkAPIKeyMiddleware is the api scenario in one process, where it
// can also run with the API-key cache off and from Go's own client: GET
// /api/v1/users/me through RequireAPIKey against the same routes without
// it, both over loopback. The subject is examples/server's wiring
// (refserver.NewHandler as serverConfig has it, one user whose budget is
// raised, the cache per sub-benchmark), the baseline refserver.BareHandler
// answering for that user, both served by refserver.Serve; the harness's
// paired rounds compare them (16 rounds, 8 s a side). ratio is the median of
// the rounds' ratios, mean_ratio the ratio of the sides' throughputs;
// failed counts the middleware's requests not answered 200, and any request
// not answered 200 fails the benchmark.
//
// cache-leanclient sends from the harness's client. cache and nocache send
// from net/http's client, which parses every header the servers send into
// maps, in this process, so that its work is counted against the servers:
// the gap between cache and cache-leanclient is why the harness has a
// client of its own. Run:
//
//	go test -run '^$' -bench APIKeyMiddleware -benchtime 1x ./examples/loadtest
func BenchmarkAPIKeyMiddleware(b *testing.B) {
	for _, tc := range []struct {
		name  string
		cache time.Duration
		lean  bool
	}{
		{"cache", 10 * time.Second, false},
		{"cache-leanclient", 10 * time.Second, true},
		{"nocache", 0, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(b.TempDir(), "zulipauth.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			u, err := st.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com", FullName: "Iago"})
			if err != nil {
				b.Fatal(err)
			}
			authLn, plainLn := listenLoopback(b), listenLoopback(b)
			c := serverConfig(authLn.Addr().String(), nil)
			c.APIKeyCacheTTL = tc.cache
			c.UserLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Second})
			h, stopAuth, err := refserver.NewHandler(st, c, log)
			if err != nil {
				b.Fatal(err)
			}
			defer stopAuth()
			stopAuthServer := serveOn(authLn, h, log, io.Discard)
			defer stopAuthServer()
			stopPlainServer := serveOn(plainLn, refserver.BareHandler(u), log, io.Discard)
			defer stopPlainServer()

			// Both sides get the same request, credentials included (a
			// Zulip client always sends them): the only difference is the
			// middleware.
			workers := 4 * runtime.GOMAXPROCS(0)
			authorization := basicAuth(u.Email, u.APIKey)
			get := func(host string) []worker {
				if tc.lean {
					return httpWorkers(workers, host, func(buf []byte, _ uint64) []byte {
						return appendAPIRequest(buf, host, "/api/v1/users/me", authorization)
					}, status(200))
				}
				return goClientWorkers(b, workers, "http://"+host+"/api/v1/users/me", authorization)
			}
			plain, auth := get(plainLn.Addr().String()), get(authLn.Addr().String())
			defer closeWorkers(plain)
			defer closeWorkers(auth)
			var seqPlain, seqAuth atomic.Uint64
			runPlain, runAuth := side(ctx, plain, &seqPlain, 0), side(ctx, auth, &seqAuth, 0)
			runPlain(time.Second) // warm both up
			runAuth(time.Second)
			for b.Loop() {
				cmp := compare(ctx, 16, 8*time.Second, runPlain, runAuth)
				failed := cmp.subject.total() - cmp.subject.classes[classExpected]
				b.ReportMetric(cmp.base.rate(), "plain_req/s")
				b.ReportMetric(cmp.subject.rate(), "auth_req/s")
				b.ReportMetric(cmp.ratio(), "ratio")
				b.ReportMetric(cmp.subject.rate()/cmp.base.rate(), "mean_ratio")
				b.ReportMetric(float64(failed), "failed")
				if failed > 0 || cmp.base.total() > cmp.base.classes[classExpected] {
					b.Errorf("requests not answered 200: through the middleware %v (%s), without it %v (%s)",
						cmp.subject.counts(), cmp.subject.firstErr, cmp.base.counts(), cmp.base.firstErr)
				}
			}
		})
	}
}

// listenLoopback is a listener on a free loopback port, closed at the end
// of the benchmark if nothing served on it.
func listenLoopback(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln
}

// goClientWorker is a worker sending GET url with an Authorization header
// from net/http's client, as a Go program calling a Zulip server would.
type goClientWorker struct {
	client             *http.Client
	url, authorization string
}

// do sends the request and classifies its answer: 200 is the expected one.
func (w goClientWorker) do(uint64) outcome {
	req, err := http.NewRequest(http.MethodGet, w.url, nil)
	if err != nil {
		return outcome{class: classTransport, err: err}
	}
	req.Header.Set("Authorization", w.authorization)
	resp, err := w.client.Do(req)
	if err != nil {
		return outcome{class: classTransport, err: err}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	o := outcome{status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 500:
		o.class = classServerError
	case resp.StatusCode != http.StatusOK:
		o.class = classOther
	default:
		o.class = classExpected
	}
	return o
}

// goClientWorkers are n goClientWorkers sharing one client that keeps a
// connection per worker, closed at the end of the benchmark.
func goClientWorkers(tb testing.TB, n int, url, authorization string) []worker {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}}
	tb.Cleanup(client.CloseIdleConnections)
	ws := make([]worker, n)
	for i := range ws {
		ws[i] = goClientWorker{client: client, url: url, authorization: authorization}
	}
	return ws
}
