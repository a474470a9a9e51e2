package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Exported to the external tests (package sqlstore_test), which share these
// helpers with the internal ones.
var (
	PostgresDSN = postgresDSN
	FreshSchema = freshSchema
	WithParam   = withParam
)

// postgresEnv names the variable that holds the DSN of a PostgreSQL server
// for the integration tests, e.g.
// "postgres://postgres:postgres@127.0.0.1:5432/zulipauth_test?sslmode=disable".
// Each test works in a schema of its own, created and dropped by the test.
const postgresEnv = "ZULIPAUTH_TEST_POSTGRES"

// postgresDSN returns the server's DSN, or skips the test when there is
// none. In CI (CI=true) a missing server fails the test instead: integration
// tests that silently skip prove nothing.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		msg := postgresEnv + " is not set: no PostgreSQL server to test against " +
			`(e.g. export ` + postgresEnv + `="postgres://postgres:postgres@127.0.0.1:5432/zulipauth_test?sslmode=disable")`
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + "; CI=true, so this is a failure, not a skip")
		}
		tb.Skip(msg)
	}
	return dsn
}

// freshSchema creates an empty schema on the test server, drops it when the
// test ends, and returns a DSN whose search_path is that schema.
func freshSchema(tb testing.TB) string {
	tb.Helper()
	dsn := postgresDSN(tb)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	schema := "zulipauth_test_" + strings.ToLower(rand.Text())
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatalf("create schema (is the server at %s=%q up?): %v", postgresEnv, dsn, err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(tb, dsn, "search_path", schema)
}

// withParam adds a run-time parameter to a pgx DSN in URL or key=value form.
func withParam(tb testing.TB, dsn, key, value string) string {
	tb.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("%s: %v", postgresEnv, err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf("%s %s='%s'", dsn, key, value)
}
