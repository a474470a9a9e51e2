// Command slapd-demo runs a real OpenLDAP directory to try the reference
// server's LDAP login with: the directory of package slapdtest, with its
// fixture (hamlet, othello and the others, and a service account), on a
// free loopback port. It prints the flags to give examples/server, and
// runs until Ctrl-C (SIGINT) or SIGTERM, then stops slapd and removes its
// files.
//
//	go run ./backends/ldap/slapdtest/cmd/slapd-demo
//
// It needs Debian's slapd package (apt-get install slapd); the system's
// slapd service need not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "slapd-demo:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks a bad command line (exit status 2).
var errUsage = errors.New("usage")

const usage = `Usage: slapd-demo

Runs an OpenLDAP directory (slapd) holding the fixture of
github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest on a free port of
127.0.0.1, prints the examples/server flags that log in through it, and
runs until Ctrl-C or SIGTERM, then stops slapd and removes its files.

It needs Debian's slapd package (apt-get install slapd); the system's slapd
service need not run.
`

// run starts the directory, prints how to use it on stdout and waits for
// ctx to end.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("slapd-demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return nil
	case err != nil:
		return fmt.Errorf("%w: %v (slapd-demo -h says what it does; it takes no flags)", errUsage, err)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q (slapd-demo takes no arguments)", errUsage, fs.Arg(0))
	}
	d, err := slapdtest.Launch(slapdtest.Options{})
	if errors.Is(err, slapdtest.ErrNotInstalled) {
		return fmt.Errorf("%v: install Debian's slapd package (sudo apt-get install slapd; its service need not run), then run slapd-demo again", err)
	}
	if err != nil {
		return err
	}
	defer d.Close()
	// The service account's password, in a file as the server reads it,
	// removed with the directory's files.
	dir, err := os.MkdirTemp("", "slapd-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pwFile := filepath.Join(dir, "ldap-password")
	if err := os.WriteFile(pwFile, []byte(d.ServicePassword+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `An OpenLDAP directory with slapdtest's fixture listens on %s (Ctrl-C stops it).

In another terminal, at the repository's root, serve logins through it (by DN template):

  go run ./examples/server -auth ldap,password -ldap-url %s -ldap-user-dn-template '%s' -ldap-append-domain example.org -ldap-create-users

or search as the service account (%s, its password in %s), the email from mail:

  go run ./examples/server -auth ldap,password -ldap-url %s -ldap-bind-dn %s -ldap-bind-password-file %s -ldap-search-base %s -ldap-username-attr uid -ldap-email-attr mail -ldap-create-users

then log in (hamlet is hamlet@example.org with the first, %s with the second):

  curl -sSX POST http://127.0.0.1:9991/api/v1/fetch_api_key --data-urlencode username=%s --data-urlencode password=%s

People (username, password): %s %s, %s %s. The directory is gone when this stops.
`, d.URL, d.URL, slapdtest.UserDNTemplate, d.ServiceDN, pwFile, d.URL, d.ServiceDN, pwFile, slapdtest.People,
		slapdtest.HamletMail, slapdtest.HamletUID, slapdtest.HamletPassword,
		slapdtest.HamletUID, slapdtest.HamletPassword, slapdtest.OthelloUID, slapdtest.OthelloPassword)
	<-ctx.Done()
	fmt.Fprintln(stdout, "Stopping the directory.")
	return nil
}
