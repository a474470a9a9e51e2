package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
)

// The PostgreSQL helpers live in the package's internal tests
// (pgtest_internal_test.go), which the plan test shares.
var (
	postgresDSN = sqlstore.PostgresDSN
	freshSchema = sqlstore.FreshSchema
	withParam   = sqlstore.WithParam
)

// driverCase is one database the tests run on. newDSN returns a driver and
// a DSN for a fresh, empty database; opening that DSN again reaches the same
// database.
type driverCase struct {
	name   string
	driver string
	newDSN func(tb testing.TB) string
}

var drivers = []driverCase{
	{"sqlite", "sqlite", func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "zulipauth.db") }},
	{"postgres", "postgres", freshSchema},
}

// open opens a Store and closes it when the test ends.
func open(tb testing.TB, driver, dsn string) *sqlstore.Store {
	tb.Helper()
	s, err := sqlstore.Open(context.Background(), driver, dsn)
	if err != nil {
		tb.Fatalf("Open(%s): %v", driver, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// forEachDriver runs f as a sub-test per database.
func forEachDriver(t *testing.T, f func(t *testing.T, dc driverCase)) {
	for _, dc := range drivers {
		t.Run(dc.name, func(t *testing.T) {
			if dc.name == "postgres" {
				postgresDSN(t) // skip (or fail in CI) once, not in every sub-test
			}
			f(t, dc)
		})
	}
}
