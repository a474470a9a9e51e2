package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// serve sets the runtime's soft memory limit from the hash slots (the
// stampede's peak RSS bound rests on it), and leaves it to the operator when
// GOMEMLIMIT is set; the start-up line says which applies. (It said
// override=GOMEMLIMIT when GOMEMLIMIT was not set, which read as if it were.)
func TestServeSetsAMemoryLimit(t *testing.T) {
	want := int64(runtime.GOMAXPROCS(0))*int64(password.DefaultParams().Memory)*1024 + 80<<20
	if got := memoryLimit(); got != want {
		t.Errorf("memoryLimit() = %d, want %d slots x argon2id memory + 80 MiB = %d", got, runtime.GOMAXPROCS(0), want)
	}
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	p := startServer(t, "-db", tempDB(t))
	waitLog(t, p, fmt.Sprintf(`memory_limit=%dMiB memory_limit_from="serve: %d hash slots x 19 MiB + 80 MiB`, want>>20, runtime.GOMAXPROCS(0)))
	if strings.Contains(p.stderr.String(), "GOMEMLIMIT=") || strings.Contains(p.stderr.String(), "memory_limit_from=GOMEMLIMIT") {
		t.Errorf("without GOMEMLIMIT, the log names it as the limit's source:\n%s", p.stderr)
	}

	t.Setenv("GOMEMLIMIT", "300MiB")
	p = startServer(t, "-db", tempDB(t))
	waitLog(t, p, "memory_limit=300MiB memory_limit_from=GOMEMLIMIT")

	t.Setenv("GOMEMLIMIT", "off")
	p = startServer(t, "-db", tempDB(t))
	waitLog(t, p, "memory_limit=off memory_limit_from=GOMEMLIMIT")
}

// waitLog waits until the server's log holds want.
func waitLog(t *testing.T, p *process, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the server's log does not say %q:\n%s", want, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The limit follows what the caches and budgets hold: 1 KiB more for each
// key, so that 100,000 cached users do not leave the collector running
// without pause, and a server that holds few keys keeps the stampede's
// bound. Users who used the API are in the key cache and the user budget;
// the limit rises by what they hold within a few seconds.
func TestMemoryLimitFollowsHeldKeys(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	db := tempDB(t)
	var keys []string
	for i := range 20 {
		u := parseUser(t, mustAdmin(t, db, "a long password\n", "create-user", "-email", fmt.Sprintf("user%d@zulip.com", i)))
		keys = append(keys, basicAuth(u.Email, u.APIKey))
	}
	st := openStore(t, []string{"-db", db})
	var auth atomic.Pointer[zulipauth.Auth]
	srv, _ := inProcessServer(t, st, func(c *serveConfig) { c.APIKeyCacheTTL = time.Hour; c.OnAuth = auth.Store })
	for _, k := range keys {
		if code, body := get(t, srv.URL+"/api/v1/users/me", http.Header{"Authorization": {k}}); code != 200 {
			t.Fatalf("users/me: %d %s", code, body)
		}
	}
	held := heldKeys(auth.Load().Stats())
	if held < 2*len(keys) { // each user's key in the cache, and its budget
		t.Fatalf("the caches and budgets hold %d keys after %d users' requests, want at least %d", held, len(keys), 2*len(keys))
	}
	const base = 200 << 20
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go followMemoryLimit(ctx, base, "serve: …", auth.Load)
	want := int64(base + held*perKeyMemory)
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) != want {
		if time.Now().After(deadline) {
			t.Fatalf("the memory limit is %d, want %d (base + %d keys x %d bytes)", debug.SetMemoryLimit(-1), want, held, perKeyMemory)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
