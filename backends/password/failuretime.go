package password

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// A failed login must cost the same whether the account exists or not,
// whatever hash it holds. An unknown user is checked against a dummy hash
// with the current parameters, but an account imported from Zulip holds
// Django's argon2 (100 MiB, 2 passes): its wrong password took 0.39 s where
// an unknown user's took 0.08 s, so one request told which emails had
// accounts. No dummy can match every format, so a failure is padded
// instead: it returns no sooner than the failure time after the attempt
// began, the time the costliest hash the bounds admit takes to verify, and
// more. Waiting costs a timer, not a core or memory: the hash slot is left
// before.

// failureMargin is what the failure time adds to the costliest
// verification measured: enough for the error of the extrapolation below
// and for a verification slowed by the machine's other work (argon2 over
// 128 MiB, which a busy memory bus slows most, took from 0.19 to 0.36 s in
// one afternoon on the machine this was written on).
const (
	failureMargin      = 1.5
	failureMarginFixed = 5 * time.Millisecond
)

// formatCosts are the times a verification of the costliest hash within
// the bounds takes in each format on this machine, measured once per
// process (costs), on the first failure that needs them.
var formatCosts struct {
	once sync.Once
	cost map[Format]time.Duration
}

// costs measures, by extrapolation from runs of a few tens of
// milliseconds, how long each format's costliest hash within the bounds
// takes to verify: argon2 over maxArgon2Work (one lane: several lanes only
// go faster), bcrypt at MaxBcryptCost, pbkdf2_sha256 at
// MaxPBKDF2Iterations. Each is the faster of two runs, the one least
// disturbed by other work; the margin covers the rest.
func costs() map[Format]time.Duration {
	formatCosts.once.Do(func() { formatCosts.cost = measureCosts() })
	return formatCosts.cost
}

func measureCosts() map[Format]time.Duration {
	pw, salt := []byte("calibration"), []byte("calibration-salt")
	// Two passes over 32 MiB, a quarter of the costliest: a fresh buffer's
	// page faults and the passes over it scale alike.
	const argonKiB, argonPasses = 32 * 1024, 2
	argon := fastest(func() { argon2.IDKey(pw, salt, argonPasses, argonKiB, 1, 32) }) * maxArgon2Work / (argonKiB * argonPasses)
	const bcryptCost = 8
	h, _ := bcrypt.GenerateFromPassword(pw, bcryptCost)
	bc := fastest(func() { bcrypt.CompareHashAndPassword(h, salt) }) << (MaxBcryptCost - bcryptCost)
	const pbkdf2Iterations = 100_000
	pb := fastest(func() { pbkdf2.Key(sha256.New, string(pw), salt, pbkdf2Iterations, pbkdf2KeyLen) }) *
		MaxPBKDF2Iterations / pbkdf2Iterations
	return map[Format]time.Duration{
		FormatArgon2id:           argon,
		FormatDjangoArgon2:       argon,
		FormatDjangoPBKDF2SHA256: pb,
		FormatDjangoBcryptSHA256: bc,
		FormatBcrypt:             bc,
	}
}

// fastest is the shorter of two runs of f.
func fastest(f func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range 2 {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
	}
	return best
}

// calibratedFailureTime is the default failure time for an Authenticator
// that accepts formats: the costliest of them, with the margin.
func calibratedFailureTime(formats []Format) time.Duration {
	return failureTimeOf(costs(), formats)
}

// failureTimeOf is the failure time for formats, given their costs.
func failureTimeOf(cost map[Format]time.Duration, formats []Format) time.Duration {
	var worst time.Duration
	for _, f := range formats {
		worst = max(worst, cost[f])
	}
	return time.Duration(float64(worst)*failureMargin) + failureMarginFixed
}

// failureTime is how long a failed verification must take, at least: the
// option's, or the calibrated one, measured on first use. 0 is no padding.
func (a *Authenticator) failureTime() time.Duration {
	a.failureOnce.Do(func() {
		if a.failureTimeSet {
			return
		}
		a.failure = calibratedFailureTime(a.formats)
	})
	return a.failure
}

// padFailure waits until the failure time has passed since start, or ctx
// ends (a client that hung up learns nothing from the time of an answer it
// does not read).
func (a *Authenticator) padFailure(ctx context.Context, start time.Time) {
	wait := a.failureTime() - time.Since(start)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
