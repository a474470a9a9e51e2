package ldap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/backends/internal/latency"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Stats is what an [Authenticator] saw of its directory, for a host's
// metrics (examples/server exports it to Prometheus). A call is one use of
// a connection, a search or a user's bind with what follows it on the same
// connection, the dial included when it needed one. Calls that ended
// because the request's context did, or that found every connection busy,
// say nothing of the directory and are not counted. Counters count from
// [New].
type Stats struct {
	// Down reports whether the last call counted got no answer from the
	// directory: it refused the connection, hung up, or did not answer
	// within Config.Timeout. Any LDAP result, "invalid credentials"
	// included, is an answer.
	Down bool
	// Outages counts the times Down turned true.
	Outages uint64
	// Calls counts the calls, CallSeconds is their time in all, and
	// CallBuckets maps each upper bound, in seconds, to how many calls took
	// at most that long (cumulative, as a Prometheus histogram's buckets).
	Calls       uint64
	CallSeconds float64
	CallBuckets map[float64]uint64
}

// Stats returns what a saw of its directory (see [Stats]). It is safe for
// concurrent use and takes no lock.
func (a *Authenticator) Stats() Stats {
	s := Stats{Down: a.stats.down.Load(), Outages: a.stats.outages.Load()}
	s.Calls, s.CallSeconds, s.CallBuckets = a.stats.calls.Snapshot()
	return s
}

// Ping reports whether the directory answers: it reads the root DSE (the
// entry with the empty DN) on a search connection, bound as the service
// account where there is one, within Config.Timeout and ctx. Any LDAP
// result of that read is an answer, a refusal by the directory's access
// rules included; a service account the directory refuses is an error, as
// every login that needs a search would fail. A readiness check calls it
// (examples/server's /readyz); it counts as a call in [Stats].
func (a *Authenticator) Ping(ctx context.Context) error {
	req := &goldap.SearchRequest{
		Scope:        goldap.ScopeBaseObject,
		DerefAliases: goldap.NeverDerefAliases,
		SizeLimit:    1,
		TimeLimit:    int(math.Ceil(a.cfg.Timeout.Seconds())),
		Filter:       "(objectClass=*)",
		Attributes:   []string{"1.1"},
	}
	err := a.searches.use(ctx, a.cfg.Timeout, a.cfg.Logger, func(c *conn) error {
		err := c.do(ctx, a.cfg.Timeout, func(l *goldap.Conn) error {
			_, err := l.Search(req)
			return err
		})
		if isResult(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("ldap: ping: %w", err)
	}
	return nil
}

// dirStats counts the directory's calls and outages; atomics, so that a
// call pays a clock read and a few adds.
type dirStats struct {
	down    atomic.Bool
	outages atomic.Uint64
	calls   latency.Recorder
}

// record counts a call that began at start and ended with err, unless it
// says nothing of the directory (see Stats). A nil *dirStats counts
// nothing.
func (s *dirStats) record(ctx context.Context, start time.Time, err error) {
	switch {
	case s == nil:
		return
	case err != nil && (ctx.Err() != nil || errors.Is(err, zulipauth.ErrBusy) || errors.Is(err, errClosed)):
		return
	}
	s.calls.Observe(time.Since(start))
	if err == nil || errors.Is(err, zulipauth.ErrBadCredentials) || isResult(err) {
		s.down.Store(false)
		return
	}
	if s.down.CompareAndSwap(false, true) {
		s.outages.Add(1)
	}
}
