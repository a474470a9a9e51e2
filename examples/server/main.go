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
//	server create-user       -email E [-realm S] [-full-name N]   (password prompted, or on stdin)
//	server change-password   -email E [-realm S]                  (password prompted, or on stdin)
//	server deactivate-user   -email E [-realm S]
//	server reactivate-user   -email E [-realm S]
//	server require-password-reset -email E [-realm S]
//	server regenerate-api-key -email E [-realm S]
//	server import-users < users.jsonl                             (JSON lines; all or none)
//	server help [COMMAND]
//
// Every command takes -db PATH (default zulipauth.db) or -postgres DSN, and
// answers -h with its flags. The root realm (subdomain "") always exists and
// needs no -realm. A command that fails prints one line on standard error,
// exits non-zero and changes nothing.
package main

import (
	"context"
	"errors"
	"flag"
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
			fmt.Fprintln(os.Stderr, "server: 'server help' lists the commands; 'server COMMAND -h' shows a command's flags")
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run executes one command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := "serve"
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		printUsage(stdout)
		return nil
	case len(args) > 0 && args[0] != "" && args[0][0] != '-':
		name, args = args[0], args[1:]
	}
	switch name {
	case "help":
		return help(args, stdout)
	case "serve":
		return serve(ctx, args, stdout, stderr)
	}
	cmd, ok := adminCommands[name]
	if !ok {
		return fmt.Errorf("%w: unknown command %q (commands: serve, %s, help)", errUsage, name, adminCommandNames())
	}
	return runAdmin(ctx, name, cmd, args, stdin, stdout, stderr)
}

// help prints the list of commands, or one command's usage and flags.
func help(args []string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
		printUsage(stdout)
		return nil
	case len(args) > 1:
		return fmt.Errorf("%w: help takes one command name", errUsage)
	case args[0] == "serve":
		fs, _ := serveFlagSet()
		printFlags(fs, stdout, "serve [flags]", serveSummary)
		return nil
	}
	cmd, ok := adminCommands[args[0]]
	if !ok {
		return fmt.Errorf("%w: help: unknown command %q (commands: serve, %s)", errUsage, args[0], adminCommandNames())
	}
	fs, _, _ := adminFlagSet(args[0], cmd)
	printFlags(fs, stdout, args[0]+" "+cmd.synopsis, cmd.summary)
	return nil
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "-help" || s == "--help"
}

// printUsage lists the commands, then serve's flags (serve is the default).
func printUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: server [COMMAND] [flags]

zulipauth's reference server: Zulip's password login and an API route, with
users in SQLite (default) or PostgreSQL.

Commands:
  serve                    serve HTTP (the default command)
`)
	for _, name := range sortedAdminCommands() {
		fmt.Fprintf(w, "  %-24s %s\n", name, adminCommands[name].short)
	}
	fmt.Fprint(w, `  help [COMMAND]           this text, or a command's flags

'server COMMAND -h' shows a command's flags and their defaults.

`)
	fs, _ := serveFlagSet()
	printFlags(fs, w, "serve [flags]", serveSummary)
}

// printFlags prints one command's usage, what it does and its flags with
// their meaning and defaults.
func printFlags(fs *flag.FlagSet, w io.Writer, synopsis, summary string) {
	fmt.Fprintf(w, "Usage: server %s\n\n%s\n\nFlags:\n", synopsis, summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseFlags parses args into fs. On -h it prints the command's usage to
// stdout and reports helped; a bad flag is an errUsage error in one line.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, synopsis, summary string) (helped bool, err error) {
	fs.SetOutput(io.Discard) // errors are reported in one line by main
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		printFlags(fs, stdout, synopsis, summary)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return false, nil
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
