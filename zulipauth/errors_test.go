package zulipauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		body   string
		header [2]string
	}{
		{"rate limited", zulipauth.RateLimited(1500 * time.Millisecond), 429,
			`{"result":"error","msg":"API usage exceeded rate limit","code":"RATE_LIMIT_HIT","retry-after":2.0}`, [2]string{"Retry-After", "2"}},
		{"rate limited whole", zulipauth.RateLimited(1800 * time.Second), 429,
			`{"result":"error","msg":"API usage exceeded rate limit","code":"RATE_LIMIT_HIT","retry-after":1800.0}`, [2]string{"Retry-After", "1800"}},
		{"a sentinel, as a login answers it", zulipauth.ErrUserDeactivated, 401,
			`{"result":"error","msg":"Account is deactivated","code":"USER_DEACTIVATED"}`, [2]string{}},
		{"not found", zulipauth.NotFound(), 404,
			`{"result":"error","msg":"Not Found"}`, [2]string{}},
		{"method not allowed", zulipauth.MethodNotAllowed("GET", "HEAD"), 405,
			`{"result":"error","msg":"Method Not Allowed","allowed_methods":["GET","HEAD"]}`, [2]string{"Allow", "GET, HEAD"}},
		{"missing", zulipauth.MissingArgument("password"), 400,
			`{"result":"error","msg":"Missing 'password' argument","var_name":"password","code":"REQUEST_VARIABLE_MISSING"}`, [2]string{}},
		{"escaping", zulipauth.BadRequest("a \"quoted\" <tag> & é\n"), 400,
			`{"result":"error","msg":"a \"quoted\" <tag> & é\n","code":"BAD_REQUEST"}`, [2]string{}},
		{"wrapped", fmt.Errorf("ctx: %w", zulipauth.ErrRealmNotFound), 404,
			`{"result":"error","msg":"Invalid subdomain","code":"NONEXISTENT_SUBDOMAIN"}`, [2]string{}},
		{"plain error hides its text", errors.New("pq: password=hunter2"), 500,
			`{"result":"error","msg":"Internal server error"}`, [2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			zulipauth.WriteError(w, tt.err)
			if w.Code != tt.status || w.Body.String() != tt.body+"\n" {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.status, tt.body)
			}
			if tt.header[0] != "" && w.Header().Get(tt.header[0]) != tt.header[1] {
				t.Errorf("%s = %q, want %q", tt.header[0], w.Header().Get(tt.header[0]), tt.header[1])
			}
		})
	}
}

func TestChainPicksZulipsOrder(t *testing.T) {
	t.Parallel()
	fail := func(err error) zulipauth.Authenticator {
		return zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
			return zulipauth.User{}, err
		})
	}
	ok := zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
		return zulipauth.User{ID: 9}, nil
	})
	ctx := context.Background()
	tests := []struct {
		name  string
		auths []zulipauth.Authenticator
		want  error
	}{
		{"deactivated beats bad credentials", []zulipauth.Authenticator{fail(zulipauth.ErrBadCredentials), fail(zulipauth.ErrUserDeactivated)}, zulipauth.ErrUserDeactivated},
		{"realm deactivated beats disabled", []zulipauth.Authenticator{fail(zulipauth.ErrPasswordAuthDisabled), fail(zulipauth.ErrRealmDeactivated)}, zulipauth.ErrRealmDeactivated},
		{"a fault stops the chain", []zulipauth.Authenticator{fail(errFault), ok}, errFault},
		{"empty chain", nil, zulipauth.ErrBadCredentials},
	}
	for _, tt := range tests {
		_, err := zulipauth.Chain(tt.auths...).Authenticate(ctx, zulipauth.Attempt{})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	if u, err := zulipauth.Chain(fail(zulipauth.ErrBadCredentials), ok).Authenticate(ctx, zulipauth.Attempt{}); err != nil || u.ID != 9 {
		t.Errorf("success after a failure: %v %v", u, err)
	}
}

var errFault = errors.New("directory unreachable")

func TestWriteSuccess(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	err := zulipauth.WriteSuccess(w, struct {
		UserID int    `json:"user_id"`
		HTML   string `json:"html"`
	}{7, "<b>&</b>"})
	if err != nil || w.Body.String() != `{"result":"success","msg":"","user_id":7,"html":"<b>&</b>"}`+"\n" {
		t.Errorf("got %v %s", err, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	w = httptest.NewRecorder()
	if err := zulipauth.WriteSuccess(w, nil); err != nil || w.Body.String() != `{"result":"success","msg":""}`+"\n" {
		t.Errorf("nil data: %v %s", err, w.Body)
	}
	w = httptest.NewRecorder()
	if err := zulipauth.WriteSuccess(w, []int{1}); err == nil || w.Code != 500 {
		t.Errorf("non-object data: %v %d", err, w.Code)
	}
}

// The core's promise: only the standard library and golang.org/x/time (and
// its own internal packages, which hold to the same).
func TestCoreImportsOnlyStdlibAndXTime(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the go command is needed to list imports")
		}
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/zulipauth/zulipauth-go/zulipauth" && !strings.HasPrefix(p, "github.com/zulipauth/zulipauth-go/zulipauth/internal/") && !strings.HasPrefix(p, "golang.org/x/time/") {
			t.Errorf("the core imports %s", p)
		}
	}
}

// RateLimited's Retry-After is in its Header, as it always was, and the
// Header is what is written: a host that changes or drops it gets what it
// asked for (this package's own refusals write theirs without a Header).
func TestRateLimitedHeaderIsWritten(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, set, want string }{{"as made", "", "2"}, {"changed", "7", "7"}, {"dropped", "-", ""}} {
		e := zulipauth.RateLimited(1500 * time.Millisecond)
		if got := e.Header.Get("Retry-After"); got != "2" {
			t.Fatalf("RateLimited's Header has Retry-After %q, want 2", got)
		}
		switch tt.set {
		case "-":
			e.Header.Del("Retry-After")
		case "":
		default:
			e.Header.Set("Retry-After", tt.set)
		}
		w := httptest.NewRecorder()
		zulipauth.WriteError(w, e)
		if got := w.Header().Get("Retry-After"); got != tt.want {
			t.Errorf("%s: Retry-After %q, want %q", tt.name, got, tt.want)
		}
		if !strings.Contains(w.Body.String(), `"retry-after":2.0}`) {
			t.Errorf("%s: body %s", tt.name, w.Body)
		}
	}
}
