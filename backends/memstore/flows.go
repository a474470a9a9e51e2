package memstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// maxFlows bounds the sign-on flows kept at once; a put beyond it first
// drops the expired ones, then refuses. Flows live ten minutes at most and
// each start of one has spent the client's budget, so this is far above
// any honest use.
const maxFlows = 100_000

// errFlowsFull: the store keeps maxFlows flows already.
var errFlowsFull = errors.New("memstore: too many sign-on flows in flight")

// flows is the store's zulipauth.FlowStore part, with a lock of its own:
// flows come and go apart from users and realms.
type flows struct {
	mu sync.Mutex
	m  map[string]flow
}

type flow struct {
	value   []byte
	expires time.Time
}

// PutFlow implements zulipauth.FlowStore: value is kept under token until
// expires, or zulipauth.ErrFlowExists when the token is kept and unexpired.
// A full store (see maxFlows) that cannot make room by dropping
// expired flows answers an error.
func (s *Store) PutFlow(ctx context.Context, token string, value []byte, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f := &s.flows
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[string]flow)
	}
	if len(f.m) >= maxFlows {
		now := s.now()
		for k, v := range f.m {
			if !now.Before(v.expires) {
				delete(f.m, k)
			}
		}
		if len(f.m) >= maxFlows {
			return errFlowsFull
		}
	}
	if v, ok := f.m[token]; ok && s.now().Before(v.expires) {
		return zulipauth.ErrFlowExists
	}
	f.m[token] = flow{append([]byte(nil), value...), expires}
	return nil
}

// TakeFlow implements zulipauth.FlowStore: the value under token, removed,
// or zulipauth.ErrFlowNotFound when there is none or it expired at now.
func (s *Store) TakeFlow(ctx context.Context, token string, now time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f := &s.flows
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[token]
	delete(f.m, token)
	if !ok || !now.Before(v.expires) {
		return nil, zulipauth.ErrFlowNotFound
	}
	return v.value, nil
}
