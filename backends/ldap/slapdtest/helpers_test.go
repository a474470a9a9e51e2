package slapdtest_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

// dial connects to url, closed when the test ends.
func dial(tb testing.TB, url string, opts ...goldap.DialOpt) *goldap.Conn {
	tb.Helper()
	c, err := goldap.DialURL(url, opts...)
	if err != nil {
		tb.Fatalf("dial %s: %v", url, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// bound is a connection to d bound as dn.
func bound(tb testing.TB, d *slapdtest.Directory, dn, password string) *goldap.Conn {
	tb.Helper()
	c := dial(tb, d.URL)
	if err := c.Bind(dn, password); err != nil {
		tb.Fatalf("bind as %s: %v", dn, err)
	}
	return c
}

// search finds the entries under base matching filter, with attrs.
func search(c *goldap.Conn, base, filter string, attrs ...string) ([]*goldap.Entry, error) {
	res, err := c.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, filter, attrs, nil))
	if err != nil {
		return nil, err
	}
	return res.Entries, nil
}

// failure runs Start with a testing.TB that records the first Fatal or
// Skip and stops Start there, and returns what it recorded: "" when Start
// succeeded (the directory then ends with t).
func failure(t *testing.T, opts slapdtest.Options) string {
	t.Helper()
	tb := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		slapdtest.Start(tb, opts)
	}()
	<-done
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if strings.HasPrefix(tb.msg, "skip: ") {
		t.Skip(tb.msg) // no slapd here: nothing to learn about its failures
	}
	return tb.msg
}

// recordingTB is t, except that Fatal and Skip record their message and
// end the goroutine that called them, as testing's own do.
type recordingTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (r *recordingTB) Fatal(args ...any)                 { r.stop(fmt.Sprint(args...)) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.stop(fmt.Sprintf(format, args...)) }
func (r *recordingTB) Skip(args ...any)                  { r.stop("skip: " + fmt.Sprint(args...)) }
func (r *recordingTB) Skipf(format string, args ...any) {
	r.stop("skip: " + fmt.Sprintf(format, args...))
}

func (r *recordingTB) stop(msg string) {
	r.mu.Lock()
	r.msg = msg
	r.mu.Unlock()
	runtime.Goexit()
}
