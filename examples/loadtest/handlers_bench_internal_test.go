package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/examples/internal/refserver"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The scenarios' paths handler against handler, without HTTP or a client:
// what the flood and api scenarios measure over loopback, with the network,
// the runtime's other work and the machine's other tenants taken out, so
// that a change to those paths shows in seconds. BenchmarkRefusal is the
// flood's two refusals. Run:
//
//	go test -run '^$' -bench Refusal -benchtime 2s ./examples/loadtest
//
// ratio is the bare handler's time over examples/server's wiring's
// (refserver.NewHandler, configured as the harness starts the server), in
// the same iterations: 1 means a refusal costs what the bare 429 costs.

// discardWriter is a ResponseWriter that keeps the headers and drops the
// body, so both handlers pay for the same writes.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// loginRequest is a POST of fetch_api_key through the trusted proxy.
func loginRequest(username, client string) *http.Request {
	form := "username=" + strings.ReplaceAll(username, "@", "%40") + "&password=" + strings.ReplaceAll(wrongPassword, " ", "+")
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9/api/v1/fetch_api_key", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Forwarded-For", client)
	r.RemoteAddr = "127.0.0.1:40000"
	return r
}

func BenchmarkRefusal(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(b.TempDir(), "zulipauth.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// A clock that stands still: no budget refills while the benchmark
	// runs, so every iteration is a refusal (over loopback, the flood's
	// client gets one verified attempt every 600 ms).
	start := time.Now()
	h, stop, err := refserver.NewHandler(st, serverConfig("127.0.0.1:9", func() time.Time { return start }), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	status := func(h http.Handler, r *http.Request) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	// The state the flood measures: spentUsernames accounts' budgets spent
	// by wrong passwords (real verifications), each from its own address,
	// and one client's budget spent by malformed usernames.
	users := make([]string, spentUsernames)
	for i := range users {
		users[i] = fmt.Sprintf("spent%d@zulip.test", i)
		if _, err := st.CreateUser(ctx, zulipauth.NewUser{Email: users[i]}); err != nil {
			b.Fatal(err)
		}
		for j := range zulipauth.DefaultUsernameBudget().Events {
			status(h, loginRequest(users[i], fmt.Sprintf("10.8.%d.%d", i, j)))
		}
		if got := status(h, loginRequest(users[i], "10.7.7.7")); got != http.StatusTooManyRequests {
			b.Fatalf("%s's budget is not spent: %d", users[i], got)
		}
	}
	for range zulipauth.DefaultIPBudget().Events {
		status(h, loginRequest("not-an-email", "10.9.9.9"))
	}
	bare := bare429()
	for _, tc := range []struct {
		name    string
		request func(i int) *http.Request
	}{
		// The client's budget refuses, before the username is read.
		{"one-address", func(i int) *http.Request {
			return loginRequest(fmt.Sprintf("sprayed%d@zulip.test", i), "10.9.9.9")
		}},
		// A new address each time: the client's budget lets it through
		// (a new bucket), the realm is resolved, the username's budget
		// refuses.
		{"many-addresses", func(i int) *http.Request {
			return loginRequest(users[i%len(users)], fmt.Sprintf("10.%d.%d.%d", 16+i>>16&63, i>>8&255, i&255))
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if got := status(h, tc.request(0)); got != http.StatusTooManyRequests {
				b.Fatalf("the refusal answered %d", got)
			}
			compareHandlers(b, h, bare, tc.request, "refusal")
		})
	}
	b.Run("realm-lookup", func(b *testing.B) {
		// What HostRealms asks the store on every request that passes the
		// client's budget.
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.RealmBySubdomain(ctx, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// handlerAllocs is how many allocations h makes per request, requests and
// writers made beforehand so that only the handler's count.
func handlerAllocs(h http.Handler, request func(int) *http.Request) float64 {
	const runs = 200
	reqs := make([]*http.Request, runs+1) // AllocsPerRun runs once more to warm up
	ws := make([]*discardWriter, runs+1)
	for i := range reqs {
		reqs[i], ws[i] = request(1_000_000+i), &discardWriter{h: http.Header{}}
	}
	i := 0
	return testing.AllocsPerRun(runs, func() {
		h.ServeHTTP(ws[i], reqs[i])
		i++
	})
}

// BenchmarkAPI is the api scenario handler against handler: GET
// /api/v1/users/me through RequireAPIKey (API-key cache on, as the server
// runs) against the bare route. Run:
//
//	go test -run '^$' -bench 'API$' -benchtime 2s ./examples/loadtest
func BenchmarkAPI(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(b.TempDir(), "zulipauth.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h, stop, err := refserver.NewHandler(st, serverConfig("127.0.0.1:9", nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	// Enough users that none spends its 200 a minute.
	users := make([]zulipauth.User, 2000)
	auths := make([]string, len(users))
	for i := range users {
		if users[i], err = st.CreateUser(ctx, zulipauth.NewUser{Email: fmt.Sprintf("api%d@zulip.test", i)}); err != nil {
			b.Fatal(err)
		}
		auths[i] = basicAuth(users[i].Email, users[i].APIKey)
	}
	request := func(i int) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9/api/v1/users/me", nil)
		r.Header.Set("Authorization", auths[i%len(auths)])
		r.RemoteAddr = "127.0.0.1:40000"
		return r
	}
	for i := range auths { // fill the cache, as a server does in its first seconds
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, request(i))
		if rec.Code != http.StatusOK {
			b.Fatalf("users/me answered %d: %s", rec.Code, rec.Body)
		}
	}
	compareHandlers(b, h, refserver.BareHandler(users[0]), request, "request")
}

// compareHandlers serves request(i) with h and with bare in each
// iteration, so that both see the same machine at the same moment, and
// reports each one's time per request (us/UNIT for h, us/bare), the ratio
// of bare's time to h's, and each one's allocations.
func compareHandlers(b *testing.B, h, bare http.Handler, request func(int) *http.Request, unit string) {
	allocs, bareAllocs := handlerAllocs(h, request), handlerAllocs(bare, request)
	var subject, baseline time.Duration
	for i := 0; b.Loop(); i++ {
		r, rb := request(i), request(i)
		wr, wb := &discardWriter{h: http.Header{}}, &discardWriter{h: http.Header{}}
		t0 := time.Now()
		h.ServeHTTP(wr, r)
		t1 := time.Now()
		bare.ServeHTTP(wb, rb)
		subject, baseline = subject+t1.Sub(t0), baseline+time.Since(t1)
	}
	b.ReportMetric(float64(subject)/float64(b.N)/1e3, "us/"+unit)
	b.ReportMetric(float64(baseline)/float64(b.N)/1e3, "us/bare")
	b.ReportMetric(float64(baseline)/float64(subject), "ratio")
	b.ReportMetric(allocs, "allocs/"+unit)
	b.ReportMetric(bareAllocs, "allocs/bare")
}
