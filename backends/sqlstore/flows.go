package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Sign-on flows (zulipauth.FlowStore) live in sso_flows.
var (
	// A token kept already is left as it was: of two puts racing with one
	// token (one assertion replayed on two instances), one inserts a row.
	qPutFlow          = define("PutFlow", onWrite, `INSERT INTO sso_flows (token, value, expires_ms) VALUES (?, ?, ?) ON CONFLICT (token) DO NOTHING`)
	qDropExpiredFlows = define("DropExpiredFlows", onWrite, `DELETE FROM sso_flows WHERE expires_ms <= ?`)
	// One statement reads and removes: of two answers racing for one flow,
	// exactly one gets its row.
	qTakeFlow = define("TakeFlow", onWrite, `DELETE FROM sso_flows WHERE token = ? RETURNING value, expires_ms`)
)

// PutFlow implements zulipauth.FlowStore: value is kept under token until
// expires, or zulipauth.ErrFlowExists when the token is kept already.
// Flows that expired are dropped first, so the table holds only the flows
// in flight (and an expired token may be put again).
func (s *Store) PutFlow(ctx context.Context, token string, value []byte, expires time.Time) error {
	if _, err := s.stmt(qDropExpiredFlows).ExecContext(ctx, s.now().UnixMilli()); err != nil {
		return fmt.Errorf("sqlstore: dropping expired sign-on flows: %w", err)
	}
	res, err := s.stmt(qPutFlow).ExecContext(ctx, token, value, expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlstore: keeping a sign-on flow: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: keeping a sign-on flow: %w", err)
	} else if n == 0 {
		return zulipauth.ErrFlowExists
	}
	return nil
}

// TakeFlow implements zulipauth.FlowStore: the value under token, removed
// in the same statement, or zulipauth.ErrFlowNotFound when there is none or
// it expired at now.
func (s *Store) TakeFlow(ctx context.Context, token string, now time.Time) ([]byte, error) {
	var value []byte
	var expires int64
	err := s.stmt(qTakeFlow).QueryRowContext(ctx, token).Scan(&value, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, zulipauth.ErrFlowNotFound
	case err != nil:
		return nil, fmt.Errorf("sqlstore: taking a sign-on flow: %w", err)
	case now.UnixMilli() >= expires:
		return nil, zulipauth.ErrFlowNotFound
	}
	return value, nil
}
