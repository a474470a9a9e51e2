package memstore

import (
	"context"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// maxChanges bounds the changes a Store keeps for zulipauth.ChangeFeed; a
// follower further behind gets zulipauth.ErrChangesPruned.
const maxChanges = 10_000

// recordLocked records a revocation: a user deactivated or reactivated, a
// new API key, a realm changed. s.mu is held for writing.
func (s *Store) recordLocked(c zulipauth.Change) {
	s.lastSeq++
	c.Seq = s.lastSeq
	if len(s.changes) == maxChanges {
		s.changes = append(s.changes[:0], s.changes[1:]...)
	}
	s.changes = append(s.changes, c)
}

// LastChange implements zulipauth.ChangeFeed.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lastSeq, nil
}

// ChangesSince implements zulipauth.ChangeFeed.
func (s *Store) ChangesSince(ctx context.Context, after int64, limit int) ([]zulipauth.Change, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.changes) > 0 && s.changes[0].Seq > after+1 {
		return nil, zulipauth.ErrChangesPruned
	}
	var out []zulipauth.Change
	for _, c := range s.changes {
		if c.Seq > after && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}
