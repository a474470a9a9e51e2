package ldap

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
