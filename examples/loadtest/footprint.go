package main

import (
	"runtime"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// footprint is what a MemoryLimiter with the per-IP budget holds after
// being offered twice as many keys as its bound, measured in this process:
// the bound the server's limiters are held to.
type footprint struct {
	offered, keys int
	bytes         int64   // live heap of the full limiter
	perKey        float64 // bytes per key held
}

// limiterFootprint measures the footprint once per invocation.
func (e *env) limiterFootprint() footprint {
	if e.footprint == nil {
		f := measureFootprint()
		e.footprint = &f
	}
	return *e.footprint
}

// measureFootprint offers a new MemoryLimiter twice its bound of keys and
// measures the live heap it then holds.
func measureFootprint() footprint {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := zulipauth.NewMemoryLimiter(zulipauth.DefaultIPBudget())
	ns := namespace{block: 63}
	f := footprint{offered: 2 * zulipauth.DefaultMaxKeys}
	now := time.Now()
	for i := range f.offered {
		// All at one instant: no bucket refills, so the limiter is as
		// full as it can be and must evict to stay within its bound.
		l.AllowAt(ns.addr(uint64(i)).String(), now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	f.keys = l.Len()
	runtime.KeepAlive(l)
	f.bytes = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if f.keys > 0 {
		f.perKey = float64(f.bytes) / float64(f.keys)
	}
	return f
}
