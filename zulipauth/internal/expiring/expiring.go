// Package expiring is a bounded map whose entries each hold until an
// instant: the API-key and realm caches and the remembered refusals of
// zulipauth are made of it.
package expiring

import (
	"sync"
	"time"
)

// Map is a bounded map whose entries each hold until an instant. It holds
// at most max entries: to make room it drops every expired entry (at
// most once per sweepEvery, so a flood does not scan the map on every
// insert), then, while still full, entries at random (map order). It is
// safe for concurrent use.
type Map[V any] struct {
	max        int
	sweepEvery time.Duration

	mu        sync.RWMutex
	entries   map[string]expiring[V]
	lastSweep time.Time
}

type expiring[V any] struct {
	value V
	until time.Time
}

// New returns a Map of at most max entries, sweeping expired ones at most
// once per sweepEvery.
func New[V any](max int, sweepEvery time.Duration) *Map[V] {
	return &Map[V]{max: max, sweepEvery: sweepEvery, entries: make(map[string]expiring[V])}
}

// Get returns key's value and when it expires, if it has not by now.
func (m *Map[V]) Get(key string, now time.Time) (V, time.Time, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.entries[key]
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, time.Time{}, false
	}
	return e.value, e.until, true
}

// Put sets key to v until the instant until.
func (m *Map[V]) Put(key string, v V, until, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[key]; !ok && len(m.entries) >= m.max {
		m.makeRoomLocked(now)
	}
	m.entries[key] = expiring[V]{v, until}
}

func (m *Map[V]) makeRoomLocked(now time.Time) {
	if now.Sub(m.lastSweep) >= m.sweepEvery || now.Before(m.lastSweep) {
		m.lastSweep = now
		for k, e := range m.entries {
			if !now.Before(e.until) {
				delete(m.entries, k)
			}
		}
	}
	for k := range m.entries {
		if len(m.entries) < m.max {
			break
		}
		delete(m.entries, k)
	}
}

// Len reports how many entries the map holds, expired or not.
func (m *Map[V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.entries)
}

// DeleteFunc drops every entry whose value f matches.
func (m *Map[V]) DeleteFunc(f func(V) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.entries {
		if f(e.value) {
			delete(m.entries, k)
		}
	}
}
