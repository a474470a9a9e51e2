package ldap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// errClosed is returned by logins after [Authenticator.Close].
var errClosed = errors.New("ldap: the Authenticator is closed")

// pool keeps a few open connections of one kind (service-account searches,
// or users' binds) for reuse, so that a login does not pay a TCP and TLS
// handshake. At most max connections are in use at once; each returned one
// is kept idle, the most recently used first in line, so that a quiet
// period lets the others reach idleTimeout and be closed.
//
// A connection the directory closed (go-ldap's reader saw the end of the
// stream) or that idled for idleTimeout is dropped when the pool next looks
// at it; there is no background sweeper. A pool is safe for concurrent use.
type pool struct {
	dial        func(ctx context.Context) (*conn, error)
	idleTimeout time.Duration
	inUse       chan struct{} // a token per connection in use

	mu     sync.Mutex
	idle   []*conn // ordered by idleSince, the most recent last
	closed bool

	dials atomic.Int64 // connections opened, for tests
	stats *dirStats    // the Authenticator's, shared by its pools; nil counts nothing
}

func newPool(max int, idleTimeout time.Duration, dial func(context.Context) (*conn, error)) *pool {
	return &pool{dial: dial, idleTimeout: idleTimeout, inUse: make(chan struct{}, max)}
}

// use runs f on a connection of the pool and returns it. When f fails on a
// reused connection that broke without timing out, the directory most
// likely closed it while it was idle, before go-ldap noticed; f is then run
// once more on a new connection. Every f here is a bind or a search, which
// can be repeated.
func (p *pool) use(ctx context.Context, wait time.Duration, log *slog.Logger, f func(*conn) error) (err error) {
	defer func(start time.Time) { p.stats.record(ctx, start, err) }(time.Now())
	c, err := p.get(ctx, wait, false)
	if err != nil {
		return err
	}
	err = f(c)
	retry := err != nil && c.broken && c.reused && !c.timedOut && ctx.Err() == nil
	p.put(c, time.Now())
	if !retry {
		return err
	}
	log.InfoContext(ctx, "ldap: a reused directory connection failed; retrying on a new one", "error", err)
	if c, err = p.get(ctx, wait, true); err != nil {
		return err
	}
	err = f(c)
	p.put(c, time.Now())
	return err
}

// get takes an idle connection, or opens one when there is none or fresh
// is set, waiting up to wait (and while ctx lives) when max are in use.
func (p *pool) get(ctx context.Context, wait time.Duration, fresh bool) (*conn, error) {
	if err := p.acquire(ctx, wait); err != nil {
		return nil, err
	}
	if !fresh {
		if c := p.takeIdle(time.Now()); c != nil {
			c.reused = true
			return c, nil
		}
	}
	c, err := p.dial(ctx)
	if err != nil {
		<-p.inUse
		return nil, err
	}
	p.dials.Add(1)
	return c, nil
}

// acquire takes a token of inUse.
func (p *pool) acquire(ctx context.Context, wait time.Duration) error {
	if p.isClosed() {
		return errClosed
	}
	select {
	case p.inUse <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case p.inUse <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("%w: all %d directory connections stayed busy for %v", zulipauth.ErrBusy, cap(p.inUse), wait)
	}
}

// takeIdle pops the most recently returned connection that is still open
// and younger than idleTimeout at now; it closes those it passes over.
func (p *pool) takeIdle(now time.Time) *conn {
	p.mu.Lock()
	var found *conn
	var stale []*conn
	for n := len(p.idle); n > 0 && found == nil; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if c.closed() || now.Sub(c.idleSince) >= p.idleTimeout {
			stale = append(stale, c)
		} else {
			found = c
		}
	}
	stale = append(stale, p.pruneLocked(now)...)
	p.mu.Unlock()
	closeAll(stale)
	return found
}

// put returns c to the pool at now, or closes it when it is broken or
// closed, or the pool is.
func (p *pool) put(c *conn, now time.Time) {
	defer func() { <-p.inUse }()
	if c.broken || c.closed() {
		c.close()
		return
	}
	c.idleSince, c.reused = now, false
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.idle = append(p.idle, c)
	stale := p.pruneLocked(now)
	if len(p.idle) > cap(p.inUse) {
		// Only after a retry's fresh connection: keep the newest max.
		stale = append(stale, p.idle[0])
		p.idle = p.idle[1:]
	}
	p.mu.Unlock()
	closeAll(stale)
}

// pruneLocked removes from idle those that reached idleTimeout at now: they
// are the oldest, at the front.
func (p *pool) pruneLocked(now time.Time) []*conn {
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].idleSince) >= p.idleTimeout {
		n++
	}
	if n == 0 {
		return nil
	}
	stale := append([]*conn(nil), p.idle[:n]...)
	p.idle = append(p.idle[:0], p.idle[n:]...)
	return stale
}

func (p *pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close closes the idle connections and makes the pool close the others as
// they come back; get fails from now on.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	closeAll(idle)
}

func closeAll(cs []*conn) {
	for _, c := range cs {
		c.close()
	}
}
