package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// keptChanges is how many changes the feed keeps; a follower further
// behind gets zulipauth.ErrChangesPruned and forgets what it cached.
const keptChanges = 10_000

// changesLock serializes the transactions that record changes on
// PostgreSQL, so that their sequence numbers commit in order: a follower
// that has read change n never finds n-1 committed later.
const changesLock = `SELECT pg_advisory_xact_lock(hashtextextended('zulipauth/sqlstore changes ' || current_schema(), 0))`

var (
	qRecordChange = defineInTx("recordChange", `INSERT INTO changes (user_id, realm) VALUES (?, ?) RETURNING seq`)
	qPruneChanges = defineInTx("pruneChanges", `DELETE FROM changes WHERE seq <= ?`)
	qLastChange   = define("LastChange", onRead, `SELECT seq FROM changes ORDER BY seq DESC LIMIT 1`)
	qOldestChange = define("oldestChange", onRead, `SELECT seq FROM changes ORDER BY seq LIMIT 1`)
	qChangesSince = define("ChangesSince", onRead, `SELECT seq, user_id, realm FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`)
)

// LastChange implements zulipauth.ChangeFeed: the newest change's sequence
// number, 0 when none.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	return s.edgeChange(ctx, qLastChange, "last change")
}

func (s *Store) edgeChange(ctx context.Context, q *query, op string) (int64, error) {
	rows, err := s.stmt(q).QueryContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer rows.Close()
	var seq int64
	if rows.Next() {
		if err := rows.Scan(&seq); err != nil {
			return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return seq, nil
}

// ChangesSince implements zulipauth.ChangeFeed: up to limit changes after
// the one numbered after, oldest first, in one indexed query (two when the
// first has a gap before it, to tell a pruned feed from a rolled-back
// sequence number).
func (s *Store) ChangesSince(ctx context.Context, after int64, limit int) ([]zulipauth.Change, error) {
	rows, err := s.stmt(qChangesSince).QueryContext(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: changes since: %w", err)
	}
	defer rows.Close()
	var out []zulipauth.Change
	for rows.Next() {
		var c zulipauth.Change
		if err := rows.Scan(&c.Seq, &c.UserID, &c.Realm); err != nil {
			return nil, fmt.Errorf("sqlstore: changes since: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: changes since: %w", err)
	}
	if len(out) > 0 && out[0].Seq > after+1 {
		oldest, err := s.edgeChange(ctx, qOldestChange, "oldest change")
		if err != nil {
			return nil, err
		}
		// Change after existed (a follower starts from LastChange); if it
		// is gone, so may be changes between it and the oldest left.
		if after > 0 && oldest > after {
			return nil, zulipauth.ErrChangesPruned
		}
	}
	return out, nil
}

// recordChange records a change in the transaction db is, and prunes the
// feed to its newest keptChanges.
func (s *Store) recordChange(ctx context.Context, db execer, userID int64, realm string) error {
	rows, err := db.QueryContext(ctx, s.dialect.rebind(qRecordChange.sql), userID, realm)
	if err != nil {
		return fmt.Errorf("sqlstore: record change: %w", err)
	}
	var seq int64
	if rows.Next() {
		err = rows.Scan(&seq)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return fmt.Errorf("sqlstore: record change: %w", err)
	}
	if seq > keptChanges && seq%100 == 0 { // prune now and then, not on every change
		if _, err := db.ExecContext(ctx, s.dialect.rebind(qPruneChanges.sql), seq-keptChanges); err != nil {
			return fmt.Errorf("sqlstore: prune changes: %w", err)
		}
	}
	return nil
}

// changeUser runs q (whose arguments are value, then the user id) and
// records the change, in one transaction: a follower sees the change
// exactly when the new state is visible. No row is
// zulipauth.ErrUserNotFound.
func (s *Store) changeUser(ctx context.Context, q *query, value any, userID int64) error {
	return s.inTx(ctx, q.name, changesLock, func(db execer) error {
		res, err := db.ExecContext(ctx, s.dialect.rebind(q.sql), value, userID)
		if err != nil {
			return fmt.Errorf("sqlstore: %s: %w", q.name, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return fmt.Errorf("sqlstore: %s: %w", q.name, err)
			}
			return zulipauth.ErrUserNotFound
		}
		return s.recordChange(ctx, db, userID, "")
	})
}

// inTx runs f in one write transaction. On PostgreSQL it takes pgLock (an
// advisory transaction lock) first; on SQLite it begins IMMEDIATE, taking
// the write lock at once (waiting out busy_timeout), since a deferred
// transaction that two processes start could fail to upgrade.
func (s *Store) inTx(ctx context.Context, op, pgLock string, f func(db execer) error) error {
	if s.dialect == Postgres {
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlstore: %s: begin: %w", op, err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, pgLock); err != nil {
			return fmt.Errorf("sqlstore: %s: lock: %w", op, err)
		}
		if err := f(tx); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: %s: commit: %w", op, err)
		}
		return nil
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlstore: %s: begin: %w", op, err)
	}
	if err := f(conn); err != nil {
		if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
			// Do not return a connection inside a transaction to the pool.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("sqlstore: %s: commit: %w", op, err)
	}
	return nil
}
