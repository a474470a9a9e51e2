package password

import (
	"log/slog"
	"time"
)

// Option configures an [Authenticator]. [New] checks every option and fails
// on a value it cannot use.
type Option func(*Authenticator)

// WithParams sets the parameters of new hashes and of upgrades (default
// [DefaultParams]). They must lie within [MaxParams]. Changing them makes
// every stored hash with other parameters due for an upgrade.
func WithParams(p Params) Option { return func(a *Authenticator) { a.params = p } }

// WithFormats sets the legacy formats whose stored hashes are verified, in
// addition to [FormatArgon2id], which is always accepted because upgrades
// write it (listing it changes nothing). The default is every [Format].
// WithFormats() with no argument accepts only FormatArgon2id. A hash in a
// format not accepted is treated like a corrupt one: the login fails with
// zulipauth.ErrBadCredentials after the dummy verification, and a warning
// names the user and the format. An unknown Format makes New fail; the last
// WithFormats given wins.
func WithFormats(formats ...Format) Option {
	return func(a *Authenticator) {
		a.formats = append([]Format{FormatArgon2id}, formats...)
	}
}

// WithMaxConcurrent bounds simultaneous hash computations (default
// GOMAXPROCS). It must be at least 1.
func WithMaxConcurrent(n int) Option { return func(a *Authenticator) { a.maxConcurrent = n } }

// WithMaxWaiting bounds the attempts waiting for a slot in the ordinary
// queue (default 64 per concurrent slot); more fail at once with
// zulipauth.ErrBusy. Returning users have a queue of their own
// ([WithReturningUsers], [WithMaxReturningWaiting]). Zero means the default;
// it must not be negative.
func WithMaxWaiting(n int) Option { return func(a *Authenticator) { a.maxWaiting = n } }

// WithReturningUsers sets how many (user, client network) pairs that logged
// in correctly are remembered, and for how long (defaults
// [DefaultReturningUsers] and [DefaultReturningTTL]). The next attempt of
// such a pair, for a user that exists, waits for a hash slot in a lane of
// its own that is served first (3 slots of every 4 while the ordinary queue
// waits too), so that a password spray that keeps the ordinary queue full
// does not turn returning users away; a user's further attempts made while
// one is in the lane wait in the ordinary queue (see the package
// documentation). The network is the client address's /24 (IPv4) or /64
// (IPv6); an attempt without a client address is never remembered. When max
// pairs are remembered, the one remembered first is forgotten; each costs
// 42 to 56 bytes (4.2 MB for the default 100,000). Both must be positive;
// [WithoutReturningUsers] turns the lane off. The last of the two options
// given wins.
func WithReturningUsers(max int, ttl time.Duration) Option {
	return func(a *Authenticator) {
		a.returningOff, a.returningMax, a.returningTTL = false, max, ttl
	}
}

// WithoutReturningUsers turns the returning users' lane off: no login is
// remembered, and every attempt waits in the one queue [WithMaxWaiting]
// bounds, first come, first served.
func WithoutReturningUsers() Option { return func(a *Authenticator) { a.returningOff = true } }

// WithMaxReturningWaiting bounds the returning users waiting for a slot in
// their own lane (default 64 per concurrent slot, as [WithMaxWaiting]); more
// fail at once with zulipauth.ErrBusy. A user has at most one attempt in
// the lane at a time, so it holds at most this many distinct users. Zero
// means the default; it must not be negative.
func WithMaxReturningWaiting(n int) Option {
	return func(a *Authenticator) { a.maxReturningWaiting = n }
}

// WithMaxWait bounds how long an attempt waits for a slot, in either queue
// (default 5 s). It must be positive.
func WithMaxWait(d time.Duration) Option { return func(a *Authenticator) { a.maxWait = d } }

// WithPolicy sets the strength policy (default MinLength(6)). It is applied
// by Hash and, as in Zulip, when a correct password's outdated or legacy
// hash is due for an upgrade: a password it refuses then needs a reset. It
// must not be nil.
func WithPolicy(p func(password string) error) Option {
	return func(a *Authenticator) { a.policy = p }
}

// WithLogger sets where unusable stored hashes and failed upgrades are
// reported (default slog.Default()). Nothing secret is ever logged: no
// password, no hash. It must not be nil.
func WithLogger(l *slog.Logger) Option { return func(a *Authenticator) { a.log = l } }

// WithMaxMemory bounds the memory, in KiB, that the verifications in
// progress hold together (default WithMaxConcurrent's bound × the current
// parameters' Params.Memory: what that many verifications of hashes with
// the current parameters hold). Each verification is admitted with its own
// hash's memory (an argon2 hash's m; a few KiB for bcrypt and pbkdf2), so
// imported hashes with heavier parameters wait for room instead of piling
// up. One that needs more than the bound (up to MaxParams().Memory) waits
// until no other runs, and runs alone. So the argon2 memory of the
// verifications in progress never exceeds max(this bound,
// MaxParams().Memory): 128 MiB at the default bound on a machine of up to 6
// cores. It must hold at least one hash with the current parameters.
func WithMaxMemory(kib uint64) Option { return func(a *Authenticator) { a.maxMemory = kib } }

// WithFailureTime sets the least time a login takes that fails once the
// user was looked up (an unknown user, a wrong password, an account without
// a usable password), measured from the start of Authenticate; the answer
// waits for the rest, holding no hash slot and no memory. The default, which
// New measures on the first such failure (some 70 ms of one core, once per
// process), is the time the costliest hash the accepted formats allow within
// the bounds ([MaxParams], [MaxBcryptCost], [MaxPBKDF2Iterations]) takes to
// verify on this machine, plus half: so the time of a failure does not
// tell which emails have accounts, whatever hash an account holds (imported
// hashes cost what their parameters ask, up to ten times the current
// parameters'). Correct logins never wait. A shorter time than the default
// lets the time of a failure tell accounts with a costlier hash from unknown
// emails; it must not be negative. The last of WithFailureTime and
// WithInsecureFastFailures given wins.
func WithFailureTime(d time.Duration) Option {
	return func(a *Authenticator) { a.failure, a.failureTimeSet = d, true }
}

// WithInsecureFastFailures answers a failed login as soon as its
// verification ends: the time of a failure then tells which emails have an
// account whose hash costs more than the current parameters' (an imported
// one, until its user logs in). For tests and for stores that hold no
// imported hash and whose operator accepts that.
func WithInsecureFastFailures() Option { return WithFailureTime(0) }
