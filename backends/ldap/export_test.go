package ldap

import "context"

// Hooks for the black-box tests (package ldap_test) into the pools.

// Dials reports how many connections a has opened, in both pools.
func Dials(a *Authenticator) int64 {
	return a.searches.dials.Load() + a.binds.dials.Load()
}

// IdleConns reports how many connections a keeps idle, and how many of those
// the directory has closed (go-ldap's reader saw the end of the stream).
func IdleConns(a *Authenticator) (idle, closed int) {
	for _, p := range []*pool{a.searches, a.binds} {
		p.mu.Lock()
		for _, c := range p.idle {
			idle++
			if c.closed() {
				closed++
			}
		}
		p.mu.Unlock()
	}
	return idle, closed
}

// NoEntryDN is the DN a's logins bind to when the username names no entry.
func NoEntryDN(a *Authenticator) string { return a.noEntryDN }

// BindsTo makes a's users' binds go to the plain-LDAP directory at addr
// (host:port) while its searches stay where they are: for tests in which
// binds alone fail. Call it before a's first login.
func BindsTo(a *Authenticator, addr string) {
	a.binds = newPool(a.cfg.MaxConns, a.cfg.IdleTimeout, func(ctx context.Context) (*conn, error) {
		return dial(ctx, addr, nil, false, a.cfg.DialTimeout)
	})
}

// HoldBinds takes every connection of a's bind pool, as logins that the
// directory is slow to answer would, until release is called.
func HoldBinds(a *Authenticator) (release func()) {
	n := cap(a.binds.inUse)
	for range n {
		a.binds.inUse <- struct{}{}
	}
	return func() {
		for range n {
			<-a.binds.inUse
		}
	}
}
