// Command server is zulipauth's reference server: a Zulip-compatible login
// (fetch_api_key, server_settings) and an API route behind HTTP Basic
// authentication, with users in SQLite (embedded, the default) or PostgreSQL,
// and the admin commands to manage them.
//
//	server [serve] [-db PATH | -postgres DSN] [-addr HOST:PORT] [-external-host HOST[:PORT]]
//	       [-trusted-proxy CIDR]... [-api-key-cache DURATION] [-dev-login]
//	server create-realm      -subdomain S [-name N]
//	server deactivate-realm  -subdomain S
//	server reactivate-realm  -subdomain S
//	server set-realm         -subdomain S [-password-auth=true|false] [-name N]
//	server create-user       -email E [-realm S] [-full-name N]   (password on stdin)
//	server change-password   -email E [-realm S]                  (password on stdin)
//	server deactivate-user   -email E [-realm S]
//	server reactivate-user   -email E [-realm S]
//	server require-password-reset -email E [-realm S]
//	server regenerate-api-key -email E [-realm S]
//
// Every command takes -db PATH (default zulipauth.db) or -postgres DSN. The
// root realm (subdomain "") always exists and needs no -realm. A command that
// fails prints one line on standard error, exits non-zero and changes nothing.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errUsage marks errors in the command line (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", oneLine(err))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run executes one command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "serve" {
		return serve(ctx, args, stdout, stderr)
	}
	cmd, ok := adminCommands[name]
	if !ok {
		return fmt.Errorf("%w: unknown command %q (commands: serve, %s)", errUsage, name, adminCommandNames())
	}
	return runAdmin(ctx, name, cmd, args, stdin, stdout)
}

// oneLine keeps an error message on one line, as the contract promises.
func oneLine(err error) string {
	b := []rune(err.Error())
	for i, r := range b {
		if r == '\n' || r == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}
