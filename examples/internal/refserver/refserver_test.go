package refserver_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
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

// TestBareHandlerIsNewHandlerWithoutAuth pins what examples/loadtest's api
// baseline relies on: BareHandler answers every request as NewHandler
// answers it once the middleware has let it through, so that the two
// differ by the middleware alone.
func TestBareHandlerIsNewHandlerWithoutAuth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "zulipauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com", FullName: "Iago"})
	if err != nil {
		t.Fatal(err)
	}
	h, stop, err := refserver.NewHandler(st, refserver.Defaults(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	bare := refserver.BareHandler(u)
	for _, tc := range []struct {
		name, method, path string
		status             int
	}{
		{"users/me", http.MethodGet, "/api/v1/users/me", 200},
		{"HEAD users/me", http.MethodHead, "/api/v1/users/me", 200},
		{"a trailing-slash realm URL", http.MethodGet, "//api/v1/users/me", 200},
		{"wrong method", http.MethodPost, "/api/v1/users/me", 405},
		{"unknown API path", http.MethodGet, "/api/v1/nosuch", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serve := func(h http.Handler) *httptest.ResponseRecorder {
				r := httptest.NewRequest(tc.method, "http://127.0.0.1:9"+tc.path, nil)
				r.SetBasicAuth(u.Email, u.APIKey)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			got, want := serve(bare), serve(h)
			if want.Code != tc.status {
				t.Fatalf("NewHandler answered %d, want %d: %s", want.Code, tc.status, want.Body)
			}
			if got.Code != want.Code || got.Body.String() != want.Body.String() {
				t.Errorf("BareHandler answered %d %s, NewHandler %d %s", got.Code, got.Body, want.Code, want.Body)
			}
			for _, name := range []string{"Content-Type", "Allow"} {
				if got.Header().Get(name) != want.Header().Get(name) {
					t.Errorf("%s: BareHandler %q, NewHandler %q", name, got.Header().Get(name), want.Header().Get(name))
				}
			}
		})
	}
}

// TestServe: Serve applies the server's limits (64 KiB of headers) and, when
// its context ends, logs "shutting down" and returns nil.
func TestServe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Read once Serve has returned: the server has written all it will.
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	go func() { done <- refserver.Serve(ctx, ln, ok, slog.New(slog.NewTextHandler(&logs, nil))) }()
	base := "http://" + ln.Addr().String()

	get := func(header string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		req.Header.Set("X-Large", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("small"); got != 200 {
		t.Errorf("a small request: %d", got)
	}
	if got := get(strings.Repeat("x", 100<<10)); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB of headers: %d, want 431", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after its context ended: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if !strings.Contains(logs.String(), "msg=\"shutting down\"") {
		t.Errorf("no shutting-down line in the log:\n%s", logs.String())
	}
}
