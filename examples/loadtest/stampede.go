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

	conns := make([]*httpConn, stampedeLogins)
	reqs := make([][]byte, stampedeLogins)
	for i := range conns {
		conns[i] = newHTTPConn(sub.host)
		if err := conns[i].connect(); err != nil {
			return nil, fmt.Errorf("stampede: opening connection %d: %w", i, err)
		}
		defer conns[i].close()
		reqs[i] = appendLoginRequest(nil, sub.host, spec.users[i].email, userPassword, ns.addr(uint64(i)))
	}
	expect := func(a answer) bool { return a.status == 200 || a.status == 401 || a.busy() }
	outcomes := make([]outcome, stampedeLogins)
	latencies := make([]time.Duration, stampedeLogins)
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
	checkAnswers(r, t, "200, 401 or busy")
	measurePeakRSS(r, sub)
	slots, _ := hashQueue()
	argonMiB := float64(password.DefaultParams().Memory) / 1024
	bound := float64(slots)*argonMiB + stampedeSlackMiB
	detail := fmt.Sprintf("peak %.0f MiB, bound %d slots x %.0f MiB + %d MiB = %.0f MiB", r.PeakRSSMiB, slots, argonMiB, stampedeSlackMiB, bound)
	if sub.pid != 0 {
		r.hard("peak RSS within bound", r.PeakRSSMiB <= bound, detail)
	} else {
		r.note("peak RSS not measured (no server process to read)")
	}
	r.Summary = fmt.Sprintf("%d at once, all answered in %v: 200 x%d, 401 x%d, busy x%d; %s",
		stampedeLogins, t.elapsed.Round(time.Millisecond), t.statuses["200"], t.statuses["401"], t.statuses["429-busy"], detail)
	return []*result{r}, nil
}
