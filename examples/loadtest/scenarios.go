package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// scenario is one named load of the issue: its name is a contract (the
// command line, the output), as are the variants it runs in.
type scenario struct {
	name    string
	summary string  // one line for -h
	run     runFunc // one variant of it
	// variants it runs in: "" (default), "redis", "ldap", and those of one
	// scenario that change its load, not the server's backends ("imported",
	// "100k"), which run on the default server.
	variants []string
}

// runFunc runs one variant of a scenario and returns its results (a
// scenario may report several parts) or an error that stopped it.
type runFunc func(ctx context.Context, e *env, variant string) ([]*result, error)

// scenarios are every scenario, in the order a full run takes them.
var scenarios = []scenario{
	{name: "logins", run: runLogins, variants: []string{"", "redis", "ldap"},
		summary: "correct logins at saturation vs raw argon2id verifications (ldap: raw directory binds) at the same concurrency, then a few JWT logins, valid and not; goal >= 0.95x (ldap: >= 0.9x)"},
	{name: "flood", run: runFlood, variants: []string{"", "redis"},
		summary: "wrong passwords refused by spent budgets (one address; many addresses on spent usernames) vs a bare handler writing Zulip's 429; goal >= 0.8x, limiter memory bounded"},
	{name: "spray", run: runSpray, variants: []string{"", "redis"},
		summary: "a new username from a new address every request, more than the hash queue holds: every request answered 401 or busy; goal: 9 of 10 correct logins within 3 s"},
	{name: "api", run: runAPI, variants: []string{"", "100k", "redis"},
		summary: "GET /api/v1/users/me through RequireAPIKey for 10,000 users round robin vs the same route without it; goal >= 0.9x (100k: 100,000 users, 30,000 with -short; goal >= 0.85x; redis: >= 0.8x)"},
	{name: "stampede", run: runStampede, variants: []string{"", "redis", "ldap", "imported"},
		summary: "1,000 logins at once from 1,000 addresses: every one answered 200, 401 or busy; peak RSS <= hash slots x argon2id memory + 128 MiB (imported: 2, then 4 wrong passwords at once for the heaviest hash the bounds admit, answered 401 or busy, at least 2 verified; peak RSS <= max(slots' memory, 128 MiB) + 128 MiB)"},
	{name: "timing", run: runTiming, variants: []string{"", "imported", "ldap"},
		summary: "median latency of an unknown user vs a wrong password for a known one (imported: one whose hash was imported from Zulip, Django or bcrypt); goal: within 5%, at 95% confidence"},
}

// plannedRun is one scenario in one variant.
type plannedRun struct {
	s       *scenario
	variant string
}

// label names the run: scenario or scenario/variant.
func (p plannedRun) label() string {
	if p.variant == "" {
		return p.s.name
	}
	return p.s.name + "/" + p.variant
}

// configuredVariants are the variants the flags make possible.
func configuredVariants(o options) []string {
	vs := []string{"", "imported", "100k"} // imported: only other users' hashes; 100k: more users
	if o.cpuProfile != "" {
		return vs // the in-process subject has the default wiring only
	}
	if o.redisAddr != "" || o.redisServer {
		vs = append(vs, "redis")
	}
	if o.slapd {
		vs = append(vs, "ldap")
	}
	return vs
}

// selectRuns turns the command line's SCENARIO[/VARIANT] arguments into the
// runs to make, in the order of scenarios; none means all.
func selectRuns(o options) ([]plannedRun, error) {
	configured := configuredVariants(o)
	type want struct {
		variant string
		any     bool // no variant named: every one configured
	}
	wanted := map[string][]want{}
	for _, arg := range o.scenarios {
		name, variant, named := strings.Cut(arg, "/")
		s := findScenario(name)
		if s == nil {
			return nil, fmt.Errorf("%w: unknown scenario %q (scenarios: %s)", errUsage, name, strings.Join(scenarioNames(), ", "))
		}
		if variant == "default" {
			variant = ""
		}
		if named {
			if !slices.Contains(s.variants, variant) {
				return nil, fmt.Errorf("%w: %s has no variant %q (it has %s)", errUsage, name, variant, strings.Join(variantNames(s.variants), ", "))
			}
			if !slices.Contains(configured, variant) {
				return nil, fmt.Errorf("%w: %s: the %s variant needs %s", errUsage, arg, variant, variantNeeds(variant, o))
			}
		}
		wanted[name] = append(wanted[name], want{variant: variant, any: !named})
	}
	var plan []plannedRun
	for i := range scenarios {
		s := &scenarios[i]
		ws := wanted[s.name]
		for _, v := range s.variants {
			if !slices.Contains(configured, v) {
				continue
			}
			take := len(o.scenarios) == 0 // no arguments: everything
			for _, w := range ws {
				take = take || w.any || w.variant == v
			}
			if take {
				plan = append(plan, plannedRun{s: s, variant: v})
			}
		}
	}
	return plan, nil
}

// variantNeeds says which flags enable a variant, or why it cannot run.
func variantNeeds(variant string, o options) string {
	switch {
	case o.cpuProfile != "":
		return "the server it configures, which -cpuprofile (the default wiring in this process) does not have"
	case variant == "redis":
		return "-redis ADDR or -redis-server"
	case variant == "ldap":
		return "-slapd"
	}
	return "nothing"
}

// findScenario is the scenario named name, nil for none.
func findScenario(name string) *scenario {
	for i := range scenarios {
		if scenarios[i].name == name {
			return &scenarios[i]
		}
	}
	return nil
}

// scenarioNames are the scenarios' names, in order.
func scenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return names
}

// runPlan prepares what the runs share, runs them in order and reports.
// A run that stops with an error is reported as a failed result; the
// others still run. With -log-dir, a log left incomplete is an error too:
// the logs are there to be searched, all of them.
func runPlan(ctx context.Context, o options, plan []plannedRun, stdout, stderr io.Writer) (err error) {
	e, err := newEnv(ctx, o, plan, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	rep := newReport(o, e)
	if !o.json {
		rep.printHeader(stdout)
	}
	for _, p := range plan {
		if ctx.Err() != nil {
			break
		}
		e.logf("running %s", p.label())
		e.run = p.label()
		results, err := p.s.run(ctx, e, p.variant)
		if err != nil {
			results = append(results, failedRun(err))
		}
		for _, r := range results {
			r.Scenario, r.Variant = p.s.name, p.variant
			rep.add(r)
			if !o.json {
				r.printLine(stdout)
				if o.verbose {
					r.printDetails(stdout)
				}
			}
		}
	}
	rep.finish()
	if o.json {
		if err := rep.writeJSON(stdout); err != nil {
			return err
		}
	} else {
		rep.printFooter(stdout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !rep.Passed {
		return errChecksFailed
	}
	return nil
}
