package sqlstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "modernc.org/sqlite/lib"
)

// rebind turns the ? placeholders of q into PostgreSQL's $1, $2, ... The
// package's SQL has no ? inside literals or identifiers.
func (d Dialect) rebind(q string) string {
	if d != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// sqliteTimeLayout is how created_at is kept in SQLite: UTC, fixed width, so
// that text order is time order, and readable by SQLite's date functions.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// timeArg returns t as the dialect stores it. t is already UTC and whole
// microseconds.
func (d Dialect) timeArg(t time.Time) any {
	if d == SQLite {
		return t.Format(sqliteTimeLayout)
	}
	return t
}

// dbTime scans a timestamp that the driver returns as a time.Time
// (PostgreSQL) or as text (SQLite) and converts it to UTC.
type dbTime struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d dbTime) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case time.Time:
		*d.t = v.UTC()
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqlstore: created_at of type %T", src)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			*d.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("sqlstore: created_at %q is not a time", s)
}

// constraint classifies a violated constraint by the driver's error code.
type constraint int

const (
	noViolation constraint = iota
	uniqueViolation
	notNullViolation
)

// violation reports which kind of constraint err (from either driver) says
// was violated.
func violation(err error) constraint {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return uniqueViolation
		case "23502": // not_null_violation
			return notNullViolation
		}
		return noViolation
	}
	// modernc.org/sqlite's *sqlite.Error; extended result codes are on.
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return uniqueViolation
		case sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return notNullViolation
		}
	}
	return noViolation
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == sqlite3.SQLITE_BUSY
}
