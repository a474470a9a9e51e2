package zulipauth

import (
	"sync"
	"sync/atomic"
)

// forgetGuard keeps a cache from putting back what a forget dropped: a
// request reads the generation before it asks the store, and the outcome is
// put only if no forget has happened since. Puts hold the read lock and
// forgets the write lock, counting the forget after their deletes, so a put
// either lands before a forget, which then drops it, or sees that the
// forget happened and puts nothing. The API-key cache and the realm cache
// each have one.
type forgetGuard struct {
	mu  sync.RWMutex
	gen atomic.Uint64 // forgets so far
}

// generation is read before a store lookup and handed to the put of its
// outcome.
func (g *forgetGuard) generation() uint64 { return g.gen.Load() }

// putUnlessForgotten runs put unless a forget has happened since gen was
// read.
func (g *forgetGuard) putUnlessForgotten(gen uint64, put func()) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.gen.Load() == gen {
		put()
	}
}

// forget runs drop, then counts the forget: a request that reads the new
// generation finds none of the entries dropped, so it has nothing stale to
// put back.
func (g *forgetGuard) forget(drop func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	drop()
	g.gen.Add(1)
}
