// Command custombackend is zulipauth over an application's existing users:
// an accounts table that was not made for zulipauth (see appschema.go),
// adapted by AccountStore (accountstore.go), a zulipauth.UserStore with one
// table of its own for API keys. Passwords stay where the application keeps
// them: bcrypt digests are verified by backends/password and upgraded to
// argon2id on the next correct login.
//
//	custombackend [-addr 127.0.0.1:9993] [-db custombackend.db]
//
// On an empty database it creates the accounts table and one demo account,
// and prints a curl command that logs in as it. It serves Zulip's login on
// /api/v1/fetch_api_key and /api/v1/server_settings, and one route of the
// application's own, /api/v1/users/me, behind the API-key middleware, until
// interrupted.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "custombackend:", err)
		os.Exit(1)
	}
}

// run parses the command line and serves until ctx ends. -h prints the
// usage on stdout and returns flag.ErrHelp.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("custombackend", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9993", "listen address (loopback by default)")
	dbPath := fs.String("db", "custombackend.db", "the application's SQLite database, created with a demo account if missing")
	fs.SetOutput(io.Discard) // a bad flag is reported once, by main, on stderr
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, "Usage: custombackend [-addr HOST:PORT] [-db PATH]\n\n"+
			"Zulip's password login over an application's own accounts table.\n\nFlags:\n")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return err
	case err != nil:
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}

	db, err := sql.Open("sqlite", sqliteDSN(*dbPath))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := createAppSchema(ctx, db); err != nil {
		return err
	}
	store, err := NewAccountStore(ctx, db)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	h, err := newHandler(store, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "curl -sSX POST http://%s/api/v1/fetch_api_key --data-urlencode username=%s --data-urlencode password=%s\n",
		ln.Addr(), demoEmail, demoPassword)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sqliteDSN opens path as an application sharing the file with other
// processes should: WAL, so that readers and one writer run together; a busy
// timeout, so that a writer waits for another instead of failing; foreign
// keys, so that zulipauth_accounts follows a deleted account.
func sqliteDSN(path string) string {
	return path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
}

// newHandler wires the store into zulipauth: the login endpoints and one
// route of the application's own, behind the API-key middleware.
func newHandler(store *AccountStore, logger *slog.Logger) (http.Handler, error) {
	// backends/password verifies argon2id and every legacy format it knows
	// (bcrypt among them) and, since the store is a PasswordHashUpdater,
	// rewrites a legacy digest as argon2id after a correct login.
	pw, err := password.New(store, password.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw, Logger: logger, OnEvent: zulipauth.NewEventLog(logger, 0).Log})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	auth.Mount(mux)
	mux.Handle("/api/v1/users/me", auth.RequireAPIKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := zulipauth.UserFrom(r.Context())
		zulipauth.WriteSuccess(w, map[string]any{"user_id": u.ID, "email": u.Email, "full_name": u.FullName})
	})))
	return zulipauth.MergeSlashes(mux), nil
}
