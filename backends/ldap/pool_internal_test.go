package ldap

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// pipePool is a pool whose connections are go-ldap clients over in-memory
// pipes; the far ends are returned by servers, in dial order.
func pipePool(t *testing.T, max int, idleTimeout time.Duration) (*pool, func() []net.Conn) {
	t.Helper()
	var far []net.Conn
	p := newPool(max, idleTimeout, func(ctx context.Context) (*conn, error) {
		near, end := net.Pipe()
		far = append(far, end)
		l := goldap.NewConn(near, false)
		l.Start()
		return &conn{ldap: l, raw: near}, nil
	})
	t.Cleanup(func() {
		p.close()
		for _, c := range far {
			c.Close()
		}
	})
	return p, func() []net.Conn { return far }
}

func mustGet(t *testing.T, p *pool) *conn {
	t.Helper()
	c, err := p.get(t.Context(), time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Idle connections are reused most recent first, and dropped once idle for
// idleTimeout, with explicit instants.
func TestPoolIdleTimeout(t *testing.T) {
	t.Parallel()
	p, _ := pipePool(t, 2, time.Minute)
	older, newer := mustGet(t, p), mustGet(t, p)
	t0 := time.Now()
	p.put(older, t0)
	p.put(newer, t0.Add(10*time.Second))

	got := p.takeIdle(t0.Add(30 * time.Second))
	if got != newer {
		t.Fatal("the most recently returned connection was not reused first")
	}
	if got := p.takeIdle(t0.Add(time.Minute)); got != nil {
		t.Fatal("a connection idle for idleTimeout was reused")
	}
	if !older.closed() {
		t.Fatal("the stale connection was not closed")
	}
	if len(p.idle) != 0 {
		t.Fatalf("%d idle connections left, want 0", len(p.idle))
	}
}

// Returning connections prunes those idle for idleTimeout.
func TestPoolPruneOnPut(t *testing.T) {
	t.Parallel()
	p, _ := pipePool(t, 2, time.Minute)
	a, b := mustGet(t, p), mustGet(t, p)
	t0 := time.Now()
	p.put(a, t0)
	p.put(b, t0.Add(2*time.Minute))
	if len(p.idle) != 1 || p.idle[0] != b || !a.closed() {
		t.Fatalf("after putting b at t0+2m: idle %v, a closed %v; want only b, a closed", p.idle, a.closed())
	}
}

// A broken connection is closed, not kept; one the far end closed is
// dropped when taken.
func TestPoolDropsBrokenAndClosed(t *testing.T) {
	t.Parallel()
	p, far := pipePool(t, 2, time.Minute)
	broken, hungUp := mustGet(t, p), mustGet(t, p)
	broken.broken = true
	now := time.Now()
	p.put(broken, now)
	if !broken.closed() || len(p.idle) != 0 {
		t.Fatal("a broken connection was kept")
	}
	p.put(hungUp, now)
	far()[1].Close() // the directory hangs up
	for deadline := time.Now().Add(10 * time.Second); !hungUp.closed(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("go-ldap did not notice the end of the stream")
		}
	}
	if got := p.takeIdle(now); got != nil {
		t.Fatal("a connection the far end closed was reused")
	}
}

// At most max connections are in use; one more waits, then fails with
// zulipauth.ErrBusy, or with the context's error; a returned one is taken.
func TestPoolBusy(t *testing.T) {
	t.Parallel()
	p, _ := pipePool(t, 1, time.Minute)
	c := mustGet(t, p)
	if _, err := p.get(t.Context(), 10*time.Millisecond, false); !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("get beyond max: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.get(ctx, time.Hour, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("get beyond max, context cancelled: %v", err)
	}
	p.put(c, time.Now())
	if again := mustGet(t, p); again != c || !again.reused {
		t.Fatal("the returned connection was not reused")
	}
	if n := p.dials.Load(); n != 1 {
		t.Fatalf("%d dials, want 1", n)
	}
}

// After close, idle connections are closed, returned ones too, and get
// fails.
func TestPoolClose(t *testing.T) {
	t.Parallel()
	p, _ := pipePool(t, 2, time.Minute)
	idle, inUse := mustGet(t, p), mustGet(t, p)
	p.put(idle, time.Now())
	p.close()
	if !idle.closed() {
		t.Fatal("an idle connection survived close")
	}
	p.put(inUse, time.Now())
	if !inUse.closed() {
		t.Fatal("a connection returned after close was kept")
	}
	if _, err := p.get(t.Context(), time.Second, false); !errors.Is(err, errClosed) {
		t.Fatalf("get after close: %v, want errClosed", err)
	}
}
