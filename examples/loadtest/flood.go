package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// floodGoal is the goal for both parts: a refused attempt costs the
// server at most 1.25 times what a bare handler writing the same 429 costs.
const floodGoal = 0.8

// spentUsernames is how many accounts the many-address flood aims at. Each
// costs five verifications to spend (the budget lets five through), so a
// few keep the preparation short; the flood cycles through them.
const spentUsernames = 16

// runFlood: wrong passwords that the budgets refuse, against the bare
// handler, in two parts on one server.
//
// one-address: one client address, its 100 a minute spent first (by
// malformed usernames, which spend the client's budget and no hash), then
// sprays usernames; every attempt is refused by the client's budget before
// the username is looked at.
//
// many-addresses: every attempt from a new address (X-Forwarded-For from the
// trusted proxy), at one of the spentUsernames accounts whose budgets were
// spent; the username's budget refuses it (zulipauth refuses an attempt at
// a username refused within the last second before the client's budget is
// spent). A full run first fills the per-IP limiter past its bound
// (zulipauth.DefaultMaxKeys) with malformed usernames from new addresses,
// each a new bucket and no hash, so the measurement runs with the limiter
// full, and the server's memory must stay within the limiter's bound.
func runFlood(ctx context.Context, e *env, variant string) ([]*result, error) {
	ns := e.namespace()
	spec := subjectSpec{variant: variant, users: usersWithHash(ns, "spent", spentUsernames, e.hash)}
	sub, err := e.startSubject(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer sub.stop()
	bare, bareHost, err := e.startBaseline(ctx, "bare-429")
	if err != nil {
		return nil, err
	}
	defer bare.stop()

	one, err := floodOneAddress(ctx, e, sub, ns, bareHost, bare.pid())
	if err != nil {
		return nil, err
	}
	many, err := floodManyAddresses(ctx, e, sub, ns, spec.users, bareHost, bare.pid())
	if err != nil {
		return []*result{one}, err
	}
	return []*result{one, many}, nil
}

// floodConnsPerWorker is how many connections per -workers the one-address
// flood keeps open (see floodOneAddress).
const floodConnsPerWorker = 8

// floodOneAddress is the flood's first part (see runFlood).
func floodOneAddress(ctx context.Context, e *env, sub *subject, ns namespace, bareHost string, barePID int) (*result, error) {
	r := &result{Part: "one-address", Unit: "refusals/s"}
	client := ns.addr(0)
	// The bucket refills from its first request on: timed from before the
	// spending, the refills counted below are at least those the server
	// granted, however long the spending took on a loaded machine.
	spending := time.Now()
	spend := runCount(ctx, sub.host, 1, uint64(zulipauth.DefaultIPBudget().Events), func(buf []byte, _ uint64) []byte {
		return appendLoginRequest(buf, sub.host, "not-an-email", wrongPassword, client)
	}, status(400))
	if spend.classes[classExpected] != int64(zulipauth.DefaultIPBudget().Events) {
		return nil, fmt.Errorf("flood: spending the client's budget with malformed usernames: %s; server log:\n%s", statusList(spend), sub.serverLog())
	}
	attempt := func(host string) func([]byte, uint64) []byte {
		return func(buf []byte, seq uint64) []byte {
			return appendLoginRequest(buf, host, ns.email("sprayed", int(seq)), wrongPassword, client)
		}
	}
	// The budget refills (one attempt every 600 ms): those attempts are
	// verified and answered 401, as they must be, each after the failure
	// time (0.3 to 0.5 s, longer on a busy machine), which holds its
	// connection but no core. With -workers connections (8 on two cores),
	// the refills that piled up while the baseline ran held a third of the
	// subject's connection time (60 such 401s in one 10 s side), so the
	// ratio measured how long a client waited for its 401s, not what a
	// refusal costs: from 0.19 to 0.68 between runs. A flood is many
	// requests in flight, so this part keeps floodConnsPerWorker times as
	// many connections open, on both sides: the few held by a 401 no longer
	// starve the rest.
	conns := floodConnsPerWorker * e.o.workers
	expect := func(a answer) bool { return a.refused() || a.status == 401 }
	subj := httpWorkers(conns, sub.host, attempt(sub.host), expect)
	defer closeWorkers(subj)
	base := httpWorkers(conns, bareHost, attempt(bareHost), expect)
	defer closeWorkers(base)
	c := e.measure(ctx, "flood-one-address", subj, sub.pid, base, barePID)
	fillComparison(r, c, "bare 429")
	checkAnswers(r, c.subject, "the budget's 429, or 401 as it refills")
	b := zulipauth.DefaultIPBudget()
	since := time.Since(spending)
	refills := int64(since/(b.Per/time.Duration(b.Events))) + 1
	verified := c.subject.statuses["401"]
	r.hard("the client's budget holds", verified <= refills,
		fmt.Sprintf("%d attempts verified, at most %d refilled in %v", verified, refills, since.Round(time.Millisecond)))
	ratioGoal(r, floodGoal)
	measurePeakRSS(r, sub)
	return r, nil
}

// floodManyAddresses is the flood's second part (see runFlood).
func floodManyAddresses(ctx context.Context, e *env, sub *subject, ns namespace, spent []seedUser, bareHost string, barePID int) (*result, error) {
	r := &result{Part: "many-addresses", Unit: "refusals/s"}
	// Addresses 1.. of the block: 0 was the first part's. Each username
	// gets five attempts, each from an address of its own.
	var next atomic.Uint64
	next.Store(1)
	budget := uint64(zulipauth.DefaultUsernameBudget().Events)
	spendOrRefused := func(a answer) bool { return a.status == 401 || a.refused() }
	spend := runCount(ctx, sub.host, e.o.workers, budget*spentUsernames, func(buf []byte, seq uint64) []byte {
		return appendLoginRequest(buf, sub.host, spent[seq%spentUsernames].email, wrongPassword, ns.addr(next.Add(1)))
	}, spendOrRefused)
	if spend.classes[classExpected] != spend.total() {
		return nil, fmt.Errorf("flood: spending the usernames' budgets: %s; server log:\n%s", statusList(spend), sub.serverLog())
	}
	// Each username must now be refused. (With Redis, an attempt can
	// count in Redis and still be let through: a call that outlived the
	// limiter's timeout falls back to the budget in the process. So the
	// count of 401s above may be off by a few; this is what matters.)
	for _, u := range spent {
		if err := spendUntilRefused(sub, u.email, ns, &next); err != nil {
			return nil, err
		}
	}
	before, err := sub.rssMiB()
	if err != nil {
		r.note("RSS not read: %v", err)
	}
	attempt := func(host string) func([]byte, uint64) []byte {
		return func(buf []byte, seq uint64) []byte {
			return appendLoginRequest(buf, host, spent[seq%spentUsernames].email, wrongPassword, ns.addr(next.Add(1)))
		}
	}
	if !e.o.short {
		fill := uint64(zulipauth.DefaultMaxKeys + zulipauth.DefaultMaxKeys/10)
		e.logf("flood: filling the per-IP limiter with %d addresses", fill)
		t := runCount(ctx, sub.host, e.o.workers, fill, func(buf []byte, _ uint64) []byte {
			return appendLoginRequest(buf, sub.host, "not-an-email", wrongPassword, ns.addr(next.Add(1)))
		}, status(400))
		checkPhase(r, t, "filling the limiter: ", "400 for the malformed username")
	} else {
		r.note("-short: the per-IP limiter is not filled to its bound of %d keys first", zulipauth.DefaultMaxKeys)
	}
	subj := httpWorkers(e.o.workers, sub.host, attempt(sub.host), answer.refused)
	defer closeWorkers(subj)
	base := httpWorkers(e.o.workers, bareHost, attempt(bareHost), answer.refused)
	defer closeWorkers(base)
	c := e.measure(ctx, "flood-many-addresses", subj, sub.pid, base, barePID)
	fillComparison(r, c, "bare 429")
	checkAnswers(r, c.subject, "the budget's 429")
	ratioGoal(r, floodGoal)
	measurePeakRSS(r, sub)
	// Both sides drew from one address counter: about half the addresses
	// went to the server.
	addresses := next.Load() - 1
	checkLimiterMemory(r, e, sub, before, addresses)
	return r, nil
}

// checkLimiterMemory checks that the server's memory grew by no more than
// its limiters can hold: the live size of a full per-IP MemoryLimiter,
// measured here, for each of the two login limiters (the flood grows the
// per-IP one; a spray grows both), doubled for the garbage collector's
// headroom (GOGC=100), plus 32 MiB for everything else.
func checkLimiterMemory(r *result, e *env, sub *subject, before float64, addresses uint64) {
	full := e.limiterFootprint()
	r.hard("MemoryLimiter bounded", full.keys <= zulipauth.DefaultMaxKeys,
		fmt.Sprintf("%d keys held after %d distinct ones, %.0f bytes each", full.keys, full.offered, full.perKey))
	bound := 2*2*mib(full.bytes/1024) + 32
	detail := fmt.Sprintf("server RSS %.0f MiB before, peak %.0f MiB; bound +%.0f MiB; ~%d addresses sent (both sides)", before, r.PeakRSSMiB, bound, addresses)
	if sub.pid == 0 {
		r.note("limiter memory: the server's RSS is not measured here")
		return
	}
	r.hard("limiter memory within bound", r.PeakRSSMiB-before <= bound, detail)
	r.Summary = detail
}

// spendUntilRefused sends wrong passwords for username, each from a new
// address, until its budget refuses one.
func spendUntilRefused(sub *subject, username string, ns namespace, next *atomic.Uint64) error {
	c := newHTTPConn(sub.host)
	defer c.close()
	tries := 2 * zulipauth.DefaultUsernameBudget().Events
	for range tries {
		a, err := c.roundTrip(appendLoginRequest(nil, sub.host, username, wrongPassword, ns.addr(next.Add(1))))
		switch {
		case err != nil:
			return fmt.Errorf("flood: spending %s's budget: %w", username, err)
		case a.refused():
			return nil
		case a.status != 401:
			return fmt.Errorf("flood: spending %s's budget: answered %d; server log:\n%s", username, a.status, sub.serverLog())
		}
	}
	return fmt.Errorf("flood: %s's budget refused none of %d attempts; server log:\n%s", username, tries, sub.serverLog())
}
