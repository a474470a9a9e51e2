package zulipauth

import (
	"sync"
	"time"
)

// expiringMap is a bounded map whose entries each hold until an instant.
// It backs the API-key cache (see apiKeyCache) and the list of clients
// refused for failed API authentications (until their budget refills). It
// holds at most max entries: to make room it drops every expired entry (at
// most once per sweepEvery, so a flood does not scan the map on every
// insert), then, while still full, entries at random (map order). It is
// safe for concurrent use.
type expiringMap[V any] struct {
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

func newExpiringMap[V any](max int, sweepEvery time.Duration) *expiringMap[V] {
	return &expiringMap[V]{max: max, sweepEvery: sweepEvery, entries: make(map[string]expiring[V])}
}

// get returns key's value and when it expires, if it has not by now.
func (m *expiringMap[V]) get(key string, now time.Time) (V, time.Time, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.entries[key]
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, time.Time{}, false
	}
	return e.value, e.until, true
}

// put sets key to v until the instant until.
func (m *expiringMap[V]) put(key string, v V, until, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[key]; !ok && len(m.entries) >= m.max {
		m.makeRoomLocked(now)
	}
	m.entries[key] = expiring[V]{v, until}
}

func (m *expiringMap[V]) makeRoomLocked(now time.Time) {
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

// deleteFunc drops every entry whose value f matches.
func (m *expiringMap[V]) deleteFunc(f func(V) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.entries {
		if f(e.value) {
			delete(m.entries, k)
		}
	}
}
