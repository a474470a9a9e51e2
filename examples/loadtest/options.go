package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// options are the command line's settings.
type options struct {
	short       bool
	duration    time.Duration // each side of a comparison, summed over its rounds
	rounds      int           // paired rounds of a comparison
	samples     int           // timing: samples per kind of attempt
	checkRatios bool
	json        bool
	verbose     bool
	workers     int // concurrent connections of a saturating client

	serverBin string // prebuilt examples/server; "" builds it
	target    string // URL of a running server instead of starting one
	targetDB  string // its SQLite database, where users are created
	targetPID int    // its process, for the peak RSS

	redisAddr   string // -redis: a Redis of the user's for the redis variant
	redisServer bool   // -redis-server: start one
	slapd       bool   // -slapd: start an OpenLDAP directory for the ldap variant

	cpuProfile string // a folder: serve the subject in this process and profile each comparison
	logDir     string // a folder: every child's complete log, and secrets.json

	// Internal: run as a baseline server (see baselineserver.go).
	serveBaseline string
	baselineAddr  string
	baselineUser  string

	scenarios []string // the command line's SCENARIO[/VARIANT] arguments
}

// Defaults of the full run and of -short.
const (
	defaultDuration = 10 * time.Second
	defaultRounds   = 10
	defaultSamples  = 600
	shortDuration   = time.Second
	shortRounds     = 2
	shortSamples    = 10
)

// usageHeader is what -h prints before the flags.
const usageHeader = `Usage: loadtest [flags] [SCENARIO[/VARIANT]]...

zulipauth's load harness: builds and starts examples/server on a free
loopback port (or targets a running one with -target), runs each scenario
against it and, alternating with it in paired rounds, a baseline measured in
the same run; prints throughput, p50/p99 latency, the server's peak RSS and
the median ratio of the rounds to the baseline, one line per scenario (or
-json). The client runs on the same machine as the server: the figures are
those of the cores they share.

Exit status: 1 when a hard check fails (a transport error, a 5xx, an answer
that is not Zulip's JSON, an answer the scenario rules out, an RSS bound);
goals (ratios, timing, logins during a spray) fail the run only with
-check-ratios; 2 for a bad command line.

`

// parseOptions parses args. On -h it prints the usage and reports helped.
func parseOptions(args []string, stdout io.Writer) (o options, helped bool, err error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.short, "short", false, "a short run of every scenario, seconds each (for CI): -duration 1s, -rounds 2, -samples 10 unless given")
	fs.DurationVar(&o.duration, "duration", defaultDuration, "how long each side of a comparison runs, summed over its rounds")
	fs.IntVar(&o.rounds, "rounds", defaultRounds, "paired rounds per comparison (baseline and scenario alternate; the median ratio is reported)")
	fs.IntVar(&o.samples, "samples", defaultSamples, "timing: attempts of each kind (unknown user, wrong password)")
	fs.BoolVar(&o.checkRatios, "check-ratios", false, "also fail (exit 1) when a goal is missed: a ratio, the timing difference, the spray's logins")
	fs.BoolVar(&o.json, "json", false, "print the results as one JSON document instead of lines")
	fs.BoolVar(&o.verbose, "v", false, "say what is happening on standard error")
	fs.IntVar(&o.workers, "workers", 4*runtime.GOMAXPROCS(0), "concurrent connections of the saturating scenarios")
	fs.StringVar(&o.serverBin, "server", "", "examples/server binary to start (default: go build it into a temporary directory)")
	fs.StringVar(&o.target, "target", "", "URL of a running examples/server to load instead of starting one: with its default budgets, trusting 127.0.0.1's X-Forwarded-For (-trusted-proxy 127.0.0.1); needs -target-db")
	fs.StringVar(&o.targetDB, "target-db", "", "the SQLite database of -target, where the scenarios' users are created")
	fs.IntVar(&o.targetPID, "target-pid", 0, "the process id of -target, for its peak RSS (default: not measured)")
	fs.StringVar(&o.redisAddr, "redis", "", "run the redis variant with the budgets in this Redis (HOST:PORT); nothing in it is deleted and the scenarios' usernames are new, but their client addresses (10.0.0.0/8) repeat from one invocation to the next: leave a minute between two against one Redis")
	fs.BoolVar(&o.redisServer, "redis-server", false, "run the redis variant against a redis-server started here (Debian's redis-server)")
	fs.BoolVar(&o.slapd, "slapd", false, "run the ldap variant against an OpenLDAP slapd started here, with its users (Debian's slapd)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "serve the default variant in this process, with the wiring of examples/server, and write the CPU profile of each measured comparison into this folder as NAME.prof; read the profiles, not the figures (the client then shares the server's runtime, RSS is not measured)")
	fs.StringVar(&o.logDir, "log-dir", "", "write the complete output of every process started (servers under test, baselines, redis-server, slapd) to DIR/NAME.log, and to DIR/"+secretsFile+" every password, API key, hash, JWT key and token and LDAP password the run used or received, so that the logs can be searched for them; DIR is created if needed")
	fs.StringVar(&o.serveBaseline, "serve-baseline", "", "internal: serve a baseline ("+strings.Join(baselineKinds(), ", ")+") instead of running scenarios")
	fs.StringVar(&o.baselineAddr, "baseline-addr", "127.0.0.1:0", "internal: the address -serve-baseline listens on")
	fs.StringVar(&o.baselineUser, "baseline-user", "", "internal: the user, in JSON, the users-me baseline answers for (default: a fixed one)")

	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		printUsage(fs, stdout)
		return o, true, nil
	case err != nil:
		return o, false, fmt.Errorf("%w: %v", errUsage, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.short {
		if !set["duration"] {
			o.duration = shortDuration
		}
		if !set["rounds"] {
			o.rounds = shortRounds
		}
		if !set["samples"] {
			o.samples = shortSamples
		}
	}
	o.scenarios = fs.Args()
	return o, false, o.check()
}

// check refuses settings that cannot work, before anything starts.
func (o *options) check() error {
	switch {
	case o.duration <= 0:
		return fmt.Errorf("%w: -duration must be positive", errUsage)
	case o.rounds < 1:
		return fmt.Errorf("%w: -rounds must be at least 1", errUsage)
	case o.duration/time.Duration(o.rounds) < 50*time.Millisecond:
		return fmt.Errorf("%w: -duration %v over -rounds %d leaves rounds under 50 ms, too short to measure", errUsage, o.duration, o.rounds)
	case o.samples < 10:
		return fmt.Errorf("%w: -samples must be at least 10", errUsage)
	case o.workers < 1:
		return fmt.Errorf("%w: -workers must be at least 1", errUsage)
	case o.redisAddr != "" && o.redisServer:
		return fmt.Errorf("%w: give -redis ADDR or -redis-server, not both", errUsage)
	case o.target != "" && o.targetDB == "":
		return fmt.Errorf("%w: -target needs -target-db, the database to create the scenarios' users in", errUsage)
	case o.target == "" && (o.targetDB != "" || o.targetPID != 0):
		return fmt.Errorf("%w: -target-db and -target-pid go with -target", errUsage)
	case o.target != "" && o.serverBin != "":
		return fmt.Errorf("%w: give -server (start it) or -target (it runs), not both", errUsage)
	case o.target != "" && o.cpuProfile != "":
		return fmt.Errorf("%w: -cpuprofile serves the scenarios here; it cannot profile -target", errUsage)
	case o.target != "" && (o.redisAddr != "" || o.redisServer || o.slapd):
		return fmt.Errorf("%w: the redis and ldap variants start servers with their flags; they cannot run against -target", errUsage)
	case o.serveBaseline != "" && !isBaselineKind(o.serveBaseline):
		return fmt.Errorf("%w: -serve-baseline %q: not one of %s", errUsage, o.serveBaseline, strings.Join(baselineKinds(), ", "))
	}
	return nil
}

// printUsage prints what the harness does, its flags and its scenarios.
func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, usageHeader)
	fmt.Fprintln(w, "Scenarios (variants in brackets):")
	for _, s := range scenarios {
		fmt.Fprintf(w, "  %-9s %s [%s]\n", s.name, s.summary, strings.Join(variantNames(s.variants), ", "))
	}
	fmt.Fprint(w, `
Variants: default (passwords in SQLite, budgets in memory); redis (-redis or
-redis-server: budgets in Redis); ldap (-slapd: -auth ldap,password against a
directory); imported and 100k change a scenario's load on the default server.
SCENARIO runs in every variant configured, SCENARIO/VARIANT in that one
(flood/redis, api/100k); no argument runs everything.

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// variantNames names variants for people: "default" for "".
func variantNames(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v
		if v == "" {
			out[i] = "default"
		}
	}
	return out
}
