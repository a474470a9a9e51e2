// Command loadtest is zulipauth's load harness. It builds and starts
// examples/server (or targets one that runs), drives named scenarios against
// it over loopback and measures, in the same run and in alternating rounds, a
// baseline for each: what the machine can do without zulipauth in the way
// (raw argon2id verifications, raw directory binds, a bare net/http handler
// writing the same answer). It prints one line per scenario with the
// throughput, p50 and p99 latency, the server's peak RSS and the ratio to the
// baseline, or, with -json, one JSON document.
//
//	loadtest [flags] [SCENARIO[/VARIANT]]...
//
// With no arguments every scenario runs in every variant configured: the
// default (passwords in SQLite, budgets in memory), redis (-redis ADDR or
// -redis-server: budgets in Redis) and ldap (-slapd: passwords in an OpenLDAP
// directory, -auth ldap,password). "loadtest -h" lists the flags and the
// scenarios.
//
// The exit status is 1 when a hard check fails: a transport error, a 5xx, an
// answer that is not Zulip's JSON, an answer the scenario rules out, or an
// RSS bound exceeded. Goals (ratios to the baselines, the timing difference,
// logins during a spray) are reported, and checked only with -check-ratios.
// Usage errors exit with 2.
//
// Every server, baseline, redis-server and slapd the harness starts listens
// on a free loopback port, keeps its files in a temporary directory and is
// stopped before the harness exits. With -log-dir DIR their complete logs
// are kept in DIR, beside DIR/secrets.json, every secret the run used or
// received, so that a test can prove that no log shows one.
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

// errUsage marks a bad command line (exit status 2).
var errUsage = errors.New("usage")

// errChecksFailed reports that a scenario failed a check (exit status 1);
// the report says which.
var errChecksFailed = errors.New("checks failed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		fmt.Fprintln(os.Stderr, "loadtest: 'loadtest -h' lists the flags and the scenarios")
		os.Exit(2)
	default:
		// The report said which checks failed; any other error (a log of
		// -log-dir left incomplete, joined to it) is said here.
		if err != errChecksFailed {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		os.Exit(1)
	}
}

// run parses the command line and runs what it asks for: the scenarios, or
// (internally) a baseline server.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, helped, err := parseOptions(args, stdout)
	if helped || err != nil {
		return err
	}
	if opts.serveBaseline != "" {
		return serveBaseline(ctx, opts.serveBaseline, opts.baselineAddr, opts.baselineUser, stderr)
	}
	plan, err := selectRuns(opts)
	if err != nil {
		return err
	}
	return runPlan(ctx, opts, plan, stdout, stderr)
}
