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

// WithMaxWaiting bounds the attempts waiting for a slot (default 64 per
// concurrent slot); more fail at once with zulipauth.ErrBusy. Zero means
// the default; it must not be negative.
func WithMaxWaiting(n int) Option { return func(a *Authenticator) { a.maxWaiting = n } }

// WithMaxWait bounds how long an attempt waits for a slot (default 5 s). It
// must be positive.
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
