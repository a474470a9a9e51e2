package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/password"
)

// serve sets the runtime's soft memory limit from the hash slots (the
// stampede's peak RSS bound rests on it), and leaves it to the operator when
// GOMEMLIMIT is set; the start-up line says which applies. (It said
// override=GOMEMLIMIT when GOMEMLIMIT was not set, which read as if it were.)
func TestServeSetsAMemoryLimit(t *testing.T) {
	want := int64(runtime.GOMAXPROCS(0))*int64(password.DefaultParams().Memory)*1024 + 64<<20
	if got := memoryLimit(); got != want {
		t.Errorf("memoryLimit() = %d, want %d slots x argon2id memory + 64 MiB = %d", got, runtime.GOMAXPROCS(0), want)
	}
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	p := startServer(t, "-db", tempDB(t))
	waitLog(t, p, fmt.Sprintf(`memory_limit=%dMiB memory_limit_from="serve: %d hash slots x 19 MiB + 64 MiB`, want>>20, runtime.GOMAXPROCS(0)))
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
