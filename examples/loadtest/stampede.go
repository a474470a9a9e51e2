package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/password"
)

// stampedeLogins is the stampede: this many logins at once, each
// from an address of its own.
const stampedeLogins = 1000

// stampedeSlackMiB is what the stampede's RSS bound allows beyond the hash
// slots' memory: the runtime, the store, 1,000 connections and goroutines.
const stampedeSlackMiB = 128

// runStampede: stampedeLogins users log in at once, correctly, each from its
// own address on its own connection (opened before, so the requests, not
// the handshakes, arrive together). Every one must be answered with Zulip's
// JSON, 200, 401 or busy, and the server's peak RSS must stay within the
// hash slots' argon2id memory plus stampedeSlackMiB.
func runStampede(ctx context.Context, e *env, variant string) ([]*result, error) {
	if variant == "imported" {
		return stampedeImported(ctx, e)
	}
	ns := e.namespace()
	spec := subjectSpec{variant: variant, users: usersWithHash(ns, "stampede", stampedeLogins, e.hash)}
	if variant == "ldap" {
		spec.users = ldapUsers(0, stampedeLogins)
	}
	sub, err := e.startSubject(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer sub.stop()
	expect := func(a answer) bool { return a.status == 200 || a.status == 401 || a.busy() }
	r, t, err := rush(ctx, sub, ns, spec.users, userPassword, expect)
	if err != nil {
		return nil, err
	}
	checkAnswers(r, t, "200, 401 or busy")
	slots, _ := hashQueue()
	argonMiB := float64(password.DefaultParams().Memory) / 1024
	bound := float64(slots)*argonMiB + stampedeSlackMiB
	detail := fmt.Sprintf("peak %.0f MiB, bound %d slots x %.0f MiB + %d MiB = %.0f MiB", r.PeakRSSMiB, slots, argonMiB, stampedeSlackMiB, bound)
	checkPeakRSS(r, sub, bound, detail)
	r.Summary = fmt.Sprintf("%d at once, all answered in %v: 200 x%d, 401 x%d, busy x%d; %s",
		stampedeLogins, t.elapsed.Round(time.Millisecond), t.statuses["200"], t.statuses["401"], t.statuses["429-busy"], detail)
	return []*result{r}, nil
}

// stampedeImported: wrong passwords for users whose hash is the heaviest
// the bounds admit (argon2id over 128 MiB), two at once and then four at
// once, each on a server of its own. Before verifications were weighed by
// their memory, each took its own 128 MiB beside the others' (two of a
// 256 MiB hash peaked at 543 MB); now one that needs more than the hash
// slots' memory runs alone, and the peak stays within the larger of the
// two plus the stampede's slack. Running alone, the last of four waits for
// three heavy verifications; on a machine busy with other work that can
// pass the hash queue's 5 s wait, and the busy answer is then the right
// one. At least two must be verified, or the peak measured says nothing of
// two heavy hashes side by side.
func stampedeImported(ctx context.Context, e *env) ([]*result, error) {
	heaviest := importedHashes()[len(importedHashes())-1]
	var out []*result
	for _, n := range []int{2, 4} {
		ns := e.namespace()
		spec := subjectSpec{users: usersWithHash(ns, "heavy", n, heaviest.hash)}
		sub, err := e.startSubject(ctx, spec)
		if err != nil {
			return out, err
		}
		expect := func(a answer) bool { return a.status == 401 || a.busy() }
		r, t, err := rush(ctx, sub, ns, spec.users, wrongPassword, expect)
		sub.stop()
		if err != nil {
			return out, err
		}
		r.Part = fmt.Sprintf("%d at once", n)
		checkAnswers(r, t, "401 or busy")
		r.hard("at least 2 verified (401)", t.statuses["401"] >= 2, fmt.Sprintf("401: %d, busy: %d", t.statuses["401"], t.statuses["429-busy"]))
		slots, _ := hashQueue()
		slotsMiB := float64(slots) * float64(password.DefaultParams().Memory) / 1024
		heavyMiB := float64(password.MaxParams().Memory) / 1024
		bound := max(slotsMiB, heavyMiB) + stampedeSlackMiB
		detail := fmt.Sprintf("peak %.0f MiB, bound max(%d slots x %.0f MiB, %.0f MiB) + %d MiB = %.0f MiB",
			r.PeakRSSMiB, slots, slotsMiB/float64(slots), heavyMiB, stampedeSlackMiB, bound)
		checkPeakRSS(r, sub, bound, detail)
		r.Summary = fmt.Sprintf("%d wrong passwords at once for %s hashes, answered in %v: 401 x%d, busy x%d; %s",
			n, heaviest.name, t.elapsed.Round(time.Millisecond), t.statuses["401"], t.statuses["429-busy"], detail)
		out = append(out, r)
	}
	return out, nil
}

// rush sends one login for each of users at once, each from its own
// address on its own connection (opened before, so the requests, not the
// handshakes, arrive together), and returns the result with the tally and
// the server's peak RSS.
func rush(ctx context.Context, sub *subject, ns namespace, users []seedUser, pw string, expect func(answer) bool) (*result, tally, error) {
	n := len(users)
	conns := make([]*httpConn, n)
	reqs := make([][]byte, n)
	for i := range conns {
		conns[i] = newHTTPConn(sub.host)
		if err := conns[i].connect(); err != nil {
			return nil, tally{}, fmt.Errorf("opening connection %d: %w", i, err)
		}
		defer conns[i].close()
		reqs[i] = appendLoginRequest(nil, sub.host, users[i].email, pw, ns.addr(uint64(i)))
	}
	outcomes := make([]outcome, n)
	latencies := make([]time.Duration, n)
	var ready, wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range conns {
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			<-gate
			begin := time.Now()
			a, err := conns[i].roundTrip(reqs[i])
			latencies[i] = time.Since(begin)
			outcomes[i] = classify(a, err, expect)
		}()
	}
	ready.Wait()
	start := time.Now()
	close(gate)
	wg.Wait()
	t := newTally()
	for i, o := range outcomes {
		t.record(o, latencies[i])
	}
	t.elapsed = time.Since(start)
	r := &result{Unit: "answers/s"}
	fillTally(r, t)
	r.Throughput = float64(t.total()) / t.elapsed.Seconds()
	measurePeakRSS(r, sub)
	return r, t, ctx.Err()
}

// checkPeakRSS holds r's peak RSS to bound, where a server process was
// there to read.
func checkPeakRSS(r *result, sub *subject, bound float64, detail string) {
	if sub.pid != 0 {
		r.hard("peak RSS within bound", r.PeakRSSMiB <= bound, detail)
	} else {
		r.note("peak RSS not measured (no server process to read)")
	}
}
