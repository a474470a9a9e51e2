package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// conn is one connection to the directory. go-ldap's operations take no
// context, so conn keeps the TCP connection under go-ldap's and bounds every
// operation with a deadline on it: the earlier of the operation timeout and
// the context's deadline, and at once when the context is cancelled. An
// expired deadline fails go-ldap's reader, which closes the connection and
// fails the waiting operation; the connection is then dropped, since its
// state (an answer may still be on its way) is unknown.
type conn struct {
	ldap *goldap.Conn
	raw  net.Conn // under TLS, if any: deadlines reach through it

	idleSince time.Time // when it was last returned to its pool
	reused    bool      // taken from the pool rather than dialled for this use
	broken    bool      // failed below LDAP: must not be reused
	timedOut  bool      // broken because the directory did not answer in time
}

// errTimeout is wrapped when the directory does not answer within the
// configured bound. It is not a zulipauth sentinel, so the login handler
// answers 500 and logs it; it is os.ErrDeadlineExceeded so that callers can
// tell a slow directory from one that refused.
var errTimeout = os.ErrDeadlineExceeded

// aLongTimeAgo is a deadline in the past: I/O fails at once.
var aLongTimeAgo = time.Unix(1, 0)

// dial opens a connection to addr (host:port) within timeout and ctx: TCP,
// then TLS for ldaps:// (implicit) or with StartTLS, as configured.
func dial(ctx context.Context, addr string, tlsConf *tls.Config, implicitTLS bool, timeout time.Duration) (*conn, error) {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(what string, err error) error {
		err = fmt.Errorf("ldap: %s %s: %w", what, addr, err)
		if ctx.Err() == nil && dctx.Err() != nil {
			// DialTimeout passed, not the request's context: a fault.
			err = fmt.Errorf("%w (no answer within %v: %w)", err, timeout, errTimeout)
		}
		return err
	}
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fail("connecting to", err)
	}
	c := &conn{raw: raw}
	if implicitTLS {
		tc := tls.Client(raw, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, fail("TLS with", err)
		}
		c.ldap = goldap.NewConn(tc, true)
	} else {
		c.ldap = goldap.NewConn(raw, false)
	}
	c.ldap.Start()
	if tlsConf != nil && !implicitTLS {
		left := max(timeout-time.Since(start), time.Millisecond)
		if err := c.do(ctx, left, func(l *goldap.Conn) error { return l.StartTLS(tlsConf) }); err != nil {
			c.close()
			return nil, fmt.Errorf("ldap: StartTLS with %s: %w", addr, err)
		}
	}
	return c, nil
}

// do runs op on c within timeout and ctx. An error that is an LDAP result
// (the directory answered, "invalid credentials" say) leaves c usable; any
// other marks it broken. A timeout is reported as errTimeout and a cancelled
// context as its error, both wrapped.
func (c *conn) do(ctx context.Context, timeout time.Duration, op func(*goldap.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, ctxDeadline := time.Now().Add(timeout), false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	// One deadline for both directions; go-ldap's reader is the only one
	// reading, and it is blocked in Read for as long as op waits.
	c.raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.raw.SetDeadline(aLongTimeAgo) })
	err := op(c.ldap)
	if !stop() {
		// ctx ended while op ran, and the deadline is now in the past.
		c.broken = true
		if err != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return ctx.Err()
	}
	if err != nil && !isResult(err) {
		c.broken = true
		if !time.Now().Before(deadline) {
			c.timedOut = true
			if ctxDeadline {
				// The socket's deadline can pass before ctx's own timer
				// fires: it is ctx's deadline all the same.
				return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
			}
			return fmt.Errorf("no answer within %v: %w", timeout, errTimeout)
		}
		return err
	}
	// Between operations the reader waits for the next answer for as long
	// as the connection lives: no deadline.
	c.raw.SetDeadline(time.Time{})
	return err
}

// isResult reports whether err is a result the directory sent (an LDAP
// result code), as opposed to a failure of the connection or of go-ldap's
// client side (its codes from ErrorNetwork on).
func isResult(err error) bool {
	var le *goldap.Error
	return errors.As(err, &le) && le.Packet != nil && le.ResultCode < goldap.ErrorNetwork
}

// resultCode is err's LDAP result code, when it is one isResult accepts.
func resultCode(err error) (uint16, bool) {
	var le *goldap.Error
	if errors.As(err, &le) && isResult(err) {
		return le.ResultCode, true
	}
	return 0, false
}

// closed reports whether the connection has been closed, by either side:
// go-ldap's reader closes it when the directory hangs up.
func (c *conn) closed() bool { return c.ldap.IsClosing() }

// close closes the connection. Pending I/O is failed first, so that Close
// never waits on a directory that does not answer.
func (c *conn) close() {
	c.raw.SetDeadline(aLongTimeAgo)
	c.ldap.Close()
}
