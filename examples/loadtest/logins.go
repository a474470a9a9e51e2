package main

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
)

// loginsGoal is the goal: logins at saturation reach 95% of the
// verifications the machine can do with the same parameters and
// concurrency, so the login's own work (HTTP, form, budgets, store) is at
// most 5% of a login.
const loginsGoal = 0.95

// ldapLoginsGoal is the goal for the ldap variant: logins with
// -auth ldap,password at saturation reach 90% of the directory's raw
// search-then-bind, so zulipauth's own work (HTTP, form, budgets, store,
// the audit line) is at most a tenth of a login the directory serves.
const ldapLoginsGoal = 0.9

// runLogins: correct logins at saturation, each for the next of 2 x workers
// users (two requests of one user in flight would spend its budget of 5
// before a success clears it) from the next client address (one address
// would spend its 100 a minute), against the physical limit in the same
// paired rounds: raw argon2id verifications at the server's hash
// concurrency (GOMAXPROCS), or, in the ldap variant, the directory's
// search-then-bind from as many connections as the server's pools hold.
// After the comparison a few JWT logins use the server's JWT key (see
// checkJWTLogins).
func runLogins(ctx context.Context, e *env, variant string) ([]*result, error) {
	ns := e.namespace()
	n := 2 * e.o.workers
	spec := subjectSpec{variant: variant, users: usersWithHash(ns, "login", n, e.hash)}
	if variant == "ldap" {
		spec.users = ldapUsers(0, n)
	}
	sub, err := e.startSubject(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer sub.stop()

	host := sub.host
	subj := httpWorkers(e.o.workers, host, func(buf []byte, seq uint64) []byte {
		return appendLoginRequest(buf, host, spec.users[seq%uint64(n)].email, userPassword, ns.addr(seq))
	}, status(200))
	defer closeWorkers(subj)

	r := &result{Unit: "logins/s"}
	var base []worker
	var baseline string
	basePID := 0 // the directory's CPU is slapd's and this process's: not measured
	if variant == "ldap" {
		var closeBase func()
		if base, closeBase, err = ldapWorkers(e.directory, ldap.DefaultMaxConns, n); err != nil {
			return nil, fmt.Errorf("the raw directory baseline: %w", err)
		}
		defer closeBase()
		baseline = "raw search+bind"
		r.note("the baseline is what backends/ldap asks the directory per login, sent from %d connections as the server's pools hold", ldap.DefaultMaxConns)
	} else {
		base = argon2Workers(runtime.GOMAXPROCS(0), e.hash)
		basePID = os.Getpid() // while the baseline runs, this process only hashes
		baseline = "raw argon2id"
		r.note("baseline: ComparePasswordAndHash with password.DefaultParams() from %d goroutines, the server's hash concurrency", runtime.GOMAXPROCS(0))
	}

	c := e.measure(ctx, "logins", subj, sub.pid, base, basePID)
	fillComparison(r, c, baseline)
	checkAnswers(r, c.subject, "200")
	if variant == "ldap" {
		ratioGoal(r, ldapLoginsGoal)
	} else {
		ratioGoal(r, loginsGoal)
	}
	checkJWTLogins(r, e, sub, ns)
	measurePeakRSS(r, sub)
	return []*result{r}, nil
}
