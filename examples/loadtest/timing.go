package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// The timing goal: the medians of the two kinds of failed login differ by
// at most timingBound, and the samples say so with timingConfidence.
const (
	timingBound      = 0.05
	timingConfidence = 0.95
)

// timingWarmup is how many attempts of each kind go unmeasured first: 10,
// or a third of the samples when they are fewer (a short run's), since
// every failed login now waits out the password backend's failure time.
func timingWarmup(samples int) int { return min(10, samples/3) }

// runTiming: the latency of a login for a username that has no account and
// of a wrong password for one that has, -samples of each, one at a time
// (no queue, no contention between them) in a random order (so drift in the
// machine's speed falls on both), each from an address of its own. A known
// user gets at most wrongPerKnownUser wrong passwords: its budget is five.
//
// The default variant is the password authenticator; the ldap variant
// measures the server's -auth ldap,password (a directory miss falls back to
// the password authenticator, whose verification then dominates) and
// -auth ldap alone, where the directory's answer is all there is.
func runTiming(ctx context.Context, e *env, variant string) ([]*result, error) {
	switch variant {
	case "imported":
		return timingImported(ctx, e)
	case "":
		r, err := timingPart(ctx, e, subjectSpec{variant: variant}, "", e.hash)
		return []*result{r}, err
	}
	chain, err := timingPart(ctx, e, subjectSpec{variant: "ldap"}, "ldap,password", "")
	if err != nil {
		return nil, err
	}
	only, err := timingPart(ctx, e, subjectSpec{variant: "ldap", ldapOnly: true}, "ldap-only", "")
	if err != nil {
		return []*result{chain}, err
	}
	return []*result{chain, only}, nil
}

// wrongPerKnownUser is how many wrong passwords the timing sends for one
// known user: fewer than its budget (five, zulipauth.DefaultUsernameBudget()),
// so that every one is verified and none refused.
const wrongPerKnownUser = 4

// timingKnownUsers is how many known users the timing needs for samples
// wrong passwords and the warm-up's.
func timingKnownUsers(samples int) int {
	return (samples+timingWarmup(samples))/wrongPerKnownUser + 1
}

// timingImported measures, for each kind of hash an import brings (Zulip's
// own, Django's older ones, bcrypt), the server's default configuration
// with the known users holding that hash: what a migrated account's failed
// login costs against an unknown email's.
func timingImported(ctx context.Context, e *env) ([]*result, error) {
	var out []*result
	for _, h := range importedHashes() {
		r, err := timingPart(ctx, e, subjectSpec{}, h.name, h.hash)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// timingPart measures one server configuration, the known users holding
// hash (the directory's people for the ldap variant).
func timingPart(ctx context.Context, e *env, spec subjectSpec, part, hash string) (*result, error) {
	ns := e.namespace()
	n := e.o.samples
	known := timingKnownUsers(n)
	if spec.variant == "ldap" {
		// The directory's people past the stampede's, with their accounts.
		spec.users = ldapUsers(stampedeLogins, known)
	} else {
		spec.users = usersWithHash(ns, "known", known, hash)
	}
	sub, err := e.startSubject(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer sub.stop()

	// The attempts in a random order, the warm-up's first.
	warmup := timingWarmup(n)
	kinds := make([]bool, 0, 2*(n+warmup)) // true: unknown user
	for range n + warmup {
		kinds = append(kinds, true, false)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	rng.Shuffle(2*warmup, func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	rest := kinds[2*warmup:]
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })

	conn := newHTTPConn(sub.host)
	defer conn.close()
	t := newTally()
	var unknown, wrong []float64
	var unknownN, knownN int
	buf := make([]byte, 0, 1024)
	for i, isUnknown := range kinds {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var username string
		if isUnknown {
			username = ns.email("nobody", unknownN)
			unknownN++
		} else {
			username = spec.users[knownN/wrongPerKnownUser].email
			knownN++
		}
		buf = appendLoginRequest(buf[:0], sub.host, username, wrongPassword, ns.addr(uint64(i)))
		begin := time.Now()
		a, err := conn.roundTrip(buf)
		d := time.Since(begin)
		o := classify(a, err, status(401))
		if i < 2*warmup {
			continue
		}
		t.record(o, d)
		ms := float64(d) / float64(time.Millisecond)
		if isUnknown {
			unknown = append(unknown, ms)
		} else {
			wrong = append(wrong, ms)
		}
	}

	r := &result{Part: part, Unit: "attempts/s"}
	t.elapsed = sumDurations(t.latencies)
	fillTally(r, t)
	checkAnswers(r, t, "401")
	diff := compareMedians(unknown, wrong, timingBound)
	r.goal(fmt.Sprintf("medians within %.0f%% at %.0f%% confidence", 100*timingBound, 100*timingConfidence),
		diff.within >= timingConfidence, fmt.Sprintf("%.1f%% of resamples within", 100*diff.within))
	r.Summary = fmt.Sprintf("median unknown user %s, wrong password %s: %+.2f%% (95%% CI %+.2f%%..%+.2f%%), P(|diff|<=%.0f%%)=%.1f%%, n=%d+%d",
		fmtMS(median(unknown)), fmtMS(median(wrong)), 100*diff.d, 100*diff.lo, 100*diff.hi, 100*timingBound, 100*diff.within, len(unknown), len(wrong))
	r.note("confidence from %d bootstrap resamples of each kind's samples", bootstrapResamples)
	measurePeakRSS(r, sub)
	return r, nil
}

// sumDurations is the sum of ds.
func sumDurations(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s
}
