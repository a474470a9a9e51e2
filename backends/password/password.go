// Package password is a zulipauth.Authenticator for passwords kept as
// argon2id hashes (github.com/alexedwards/argon2id encoding) in any
// zulipauth.UserStore: Zulip's EmailAuthBackend.
//
// An attempt is checked in the order of Zulip's EmailAuthBackend, status
// before password:
//
//  1. the realm does not allow password login: zulipauth.ErrPasswordAuthDisabled;
//  2. an empty password fails without a lookup: zulipauth.ErrBadCredentials;
//  3. the realm is deactivated: zulipauth.ErrRealmDeactivated (Zulip says so
//     only for known users; the realm is known from the request, so saying it
//     for every user reveals nothing about accounts);
//  4. the user is looked up by (realm, trimmed username, ignoring case);
//  5. the user is deactivated: zulipauth.ErrUserDeactivated;
//  6. the password is verified. An unknown user, a user without a usable
//     password and a corrupt stored hash are verified against a dummy hash, so
//     that they cost what a wrong password costs and timing does not reveal
//     which accounts exist; all are zulipauth.ErrBadCredentials, except an
//     unknown user whose email another realm has, where the store can tell
//     (zulipauth.OtherRealmFinder): zulipauth.ErrWrongRealm, Zulip's 404;
//  7. a correct password of a user flagged for a reset is
//     zulipauth.ErrPasswordResetRequired. So is one whose stored hash uses
//     older parameters when the password fails the current strength policy
//     (Zulip's PasswordTooWeakError); otherwise such a hash is upgraded to the
//     current parameters, where the store is a zulipauth.PasswordHashUpdater.
//
// Verifications run at bounded concurrency (default GOMAXPROCS): each holds
// Params.Memory of RAM for tens of milliseconds, and an unbounded number
// would let a flood of logins exhaust memory. Attempts beyond the bound wait,
// in a bounded queue and for a bounded time, honouring the request's context;
// beyond that they fail at once with zulipauth.ErrBusy, which the handler
// answers with 429 and a short Retry-After.
package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/argon2"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Params are argon2id parameters: memory in KiB, iterations, lanes, and the
// salt and key lengths in bytes.
type Params = argon2id.Params

// DefaultParams are the parameters new hashes are made with: OWASP's
// recommended argon2id configuration of 19 MiB, 2 iterations, 1 lane, with a
// 16-byte salt and a 32-byte key. They are fixed, never derived from the
// machine, so that every instance of an application hashes alike and a hash
// made on one machine verifies at the same cost on another.
var DefaultParams = Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// MaxParams bounds the parameters decoded from a stored hash before any work
// is done with them: a hash asking for more (a tampered row, or one from a
// system with other ideas) is treated as corrupt rather than allowed to take
// gigabytes of memory or minutes of CPU.
var MaxParams = Params{Memory: 256 * 1024, Iterations: 16, Parallelism: 16, SaltLength: 64, KeyLength: 64}

// ErrWeakPassword is returned by [Authenticator.Hash] (wrapped with the
// policy's reason) for a password the strength policy refuses.
var ErrWeakPassword = errors.New("password: password is too weak")

// MaxPasswordBytes is the longest password [Authenticator.Hash] accepts, the
// same bound zulipauth's handler applies to logins by default.
const MaxPasswordBytes = zulipauth.DefaultMaxPasswordBytes

// MinLength is a strength policy: at least n characters. The default policy
// is MinLength(6), Zulip's PASSWORD_MIN_LENGTH.
func MinLength(n int) func(string) error {
	return func(pw string) error {
		if utf8.RuneCountInString(pw) < n {
			return fmt.Errorf("%w: shorter than %d characters", ErrWeakPassword, n)
		}
		return nil
	}
}

// Option configures an [Authenticator].
type Option func(*Authenticator)

// WithParams sets the parameters of new hashes (default [DefaultParams]).
func WithParams(p Params) Option { return func(a *Authenticator) { a.params = p } }

// WithMaxConcurrent bounds simultaneous hash computations (default GOMAXPROCS).
func WithMaxConcurrent(n int) Option { return func(a *Authenticator) { a.maxConcurrent = n } }

// WithMaxWaiting bounds the attempts waiting for a slot (default 64 per
// concurrent slot); more fail at once with zulipauth.ErrBusy.
func WithMaxWaiting(n int) Option { return func(a *Authenticator) { a.maxWaiting = n } }

// WithMaxWait bounds how long an attempt waits for a slot (default 5 s).
func WithMaxWait(d time.Duration) Option { return func(a *Authenticator) { a.maxWait = d } }

// WithPolicy sets the strength policy (default MinLength(6)). It is applied
// by Hash and, as in Zulip, when a correct password's outdated hash is due
// for an upgrade.
func WithPolicy(p func(password string) error) Option {
	return func(a *Authenticator) { a.policy = p }
}

// WithLogger sets where corrupt stored hashes and failed upgrades are
// reported (default slog.Default()). Nothing secret is ever logged.
func WithLogger(l *slog.Logger) Option { return func(a *Authenticator) { a.log = l } }

// Authenticator verifies passwords against argon2id hashes in a UserStore.
// Create it with [New]; it is safe for concurrent use.
type Authenticator struct {
	users         zulipauth.UserStore
	params        Params
	maxConcurrent int
	maxWaiting    int
	maxWait       time.Duration
	policy        func(string) error
	log           *slog.Logger
	gate          *gate
	dummyHash     string
}

// New returns an Authenticator over users. It fails on invalid options.
func New(users zulipauth.UserStore, opts ...Option) (*Authenticator, error) {
	if users == nil {
		return nil, errors.New("password: New: users is nil")
	}
	a := &Authenticator{
		users:         users,
		params:        DefaultParams,
		maxConcurrent: runtime.GOMAXPROCS(0),
		maxWait:       5 * time.Second,
		policy:        MinLength(6),
		log:           slog.Default(),
	}
	for _, o := range opts {
		o(a)
	}
	if a.maxWaiting == 0 {
		a.maxWaiting = 64 * a.maxConcurrent
	}
	switch {
	case a.maxConcurrent < 1:
		return nil, errors.New("password: WithMaxConcurrent must be at least 1")
	case a.maxWaiting < 0:
		return nil, errors.New("password: WithMaxWaiting must not be negative")
	case a.maxWait <= 0:
		return nil, errors.New("password: WithMaxWait must be positive")
	case a.policy == nil || a.log == nil:
		return nil, errors.New("password: WithPolicy and WithLogger need a non-nil value")
	}
	if err := checkParams(a.params); err != nil {
		return nil, fmt.Errorf("password: WithParams: %w", err)
	}
	a.gate = newGate(a.maxConcurrent, a.maxWaiting, a.maxWait)
	a.dummyHash = dummyHash(a.params)
	return a, nil
}

// dummyHash encodes a random salt and key with the parameters p. Checking a
// password against it costs exactly what checking one against a real hash
// with p costs, and no password matches it; nothing needs computing.
func dummyHash(p Params) string {
	salt, key := make([]byte, p.SaltLength), make([]byte, p.KeyLength)
	rand.Read(salt)
	rand.Read(key)
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64(salt), b64(key))
}

// checkParams reports parameters outside [1, MaxParams] (and the minimums
// argon2 itself needs: one lane, one pass, 8 KiB per lane, 8-byte salts and
// 16-byte keys).
func checkParams(p Params) error {
	switch {
	case p.Iterations < 1 || p.Iterations > MaxParams.Iterations:
		return fmt.Errorf("iterations %d outside [1, %d]", p.Iterations, MaxParams.Iterations)
	case p.Parallelism < 1 || p.Parallelism > MaxParams.Parallelism:
		return fmt.Errorf("parallelism %d outside [1, %d]", p.Parallelism, MaxParams.Parallelism)
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > MaxParams.Memory:
		return fmt.Errorf("memory %d KiB outside [%d, %d]", p.Memory, 8*uint32(p.Parallelism), MaxParams.Memory)
	case p.SaltLength < 8 || p.SaltLength > MaxParams.SaltLength:
		return fmt.Errorf("salt length %d outside [8, %d]", p.SaltLength, MaxParams.SaltLength)
	case p.KeyLength < 16 || p.KeyLength > MaxParams.KeyLength:
		return fmt.Errorf("key length %d outside [16, %d]", p.KeyLength, MaxParams.KeyLength)
	}
	return nil
}

// AuthMethod names this authenticator for server_settings: "email", Zulip's
// EmailAuthBackend.
func (a *Authenticator) AuthMethod() string { return "email" }

// Authenticate implements zulipauth.Authenticator.
func (a *Authenticator) Authenticate(ctx context.Context, at zulipauth.Attempt) (zulipauth.User, error) {
	// Zulip's EmailAuthBackend answers these two before any lookup.
	if at.Realm.PasswordAuthDisabled {
		return zulipauth.User{}, zulipauth.ErrPasswordAuthDisabled
	}
	if at.Password == "" {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	if at.Realm.Deactivated {
		return zulipauth.User{}, zulipauth.ErrRealmDeactivated
	}
	email := strings.TrimSpace(at.Username)
	user, err := a.users.UserByEmail(ctx, at.Realm.Subdomain, email)
	found := err == nil
	if err != nil && !errors.Is(err, zulipauth.ErrUserNotFound) {
		return zulipauth.User{}, fmt.Errorf("password: looking up the user: %w", err)
	}
	if found && user.Deactivated {
		return zulipauth.User{}, zulipauth.ErrUserDeactivated
	}

	if err := a.gate.enter(ctx); err != nil {
		return zulipauth.User{}, err
	}
	defer a.gate.leave()

	hash := user.PasswordHash
	var stored *Params
	if found && hash != "" {
		if stored, err = boundedParams(hash); err != nil {
			a.log.WarnContext(ctx, "password: unusable stored password hash; login refused",
				"user_id", user.ID, "error", err)
		}
	}
	if stored == nil {
		// Unknown user, no usable password or a corrupt hash: spend what a
		// real verification costs, then fail.
		argon2id.ComparePasswordAndHash(at.Password, a.dummyHash) //nolint:errcheck // outcome irrelevant
		if !found {
			return zulipauth.User{}, a.unknownUser(ctx, at.Realm.Subdomain, email)
		}
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	match, err := argon2id.ComparePasswordAndHash(at.Password, hash)
	if err != nil || !match {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	if user.PasswordResetRequired {
		return zulipauth.User{}, zulipauth.ErrPasswordResetRequired
	}
	if *stored != a.params {
		if a.policy(at.Password) != nil {
			return zulipauth.User{}, zulipauth.ErrPasswordResetRequired
		}
		a.upgrade(ctx, user, at.Password)
	}
	return user, nil
}

// unknownUser is the failure for an email the realm does not know: Zulip's
// 404 "Invalid subdomain" (zulipauth.ErrWrongRealm) when the store can tell
// that another realm has it, otherwise bad credentials.
func (a *Authenticator) unknownUser(ctx context.Context, realm, email string) error {
	f, ok := a.users.(zulipauth.OtherRealmFinder)
	if !ok {
		return zulipauth.ErrBadCredentials
	}
	elsewhere, err := f.EmailInOtherRealm(ctx, realm, email)
	switch {
	case err != nil:
		return fmt.Errorf("password: looking up other realms: %w", err)
	case elsewhere:
		return zulipauth.ErrWrongRealm
	}
	return zulipauth.ErrBadCredentials
}

// upgrade rehashes a correct password with the current parameters. Failure
// is logged and otherwise ignored: the login itself was valid.
func (a *Authenticator) upgrade(ctx context.Context, user zulipauth.User, pw string) {
	up, ok := a.users.(zulipauth.PasswordHashUpdater)
	if !ok {
		return
	}
	newHash, err := argon2id.CreateHash(pw, &a.params)
	if err == nil {
		err = up.UpdatePasswordHash(ctx, user.ID, newHash)
	}
	if err != nil {
		a.log.ErrorContext(ctx, "password: upgrading a password hash failed", "user_id", user.ID, "error", err)
	}
}

// boundedParams decodes the parameters of an encoded hash and checks them
// against MaxParams before anything is computed with them.
func boundedParams(hash string) (*Params, error) {
	p, _, _, err := argon2id.DecodeHash(hash)
	if err != nil {
		return nil, err
	}
	if err := checkParams(*p); err != nil {
		return nil, err
	}
	return p, nil
}

// Hash returns the encoded argon2id hash of pw with the current parameters,
// for creating a user or changing a password. A password the strength policy
// refuses, or one longer than MaxPasswordBytes, is [ErrWeakPassword] (wrapped
// with the reason). Hashing takes a concurrency slot like a login does.
func (a *Authenticator) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > MaxPasswordBytes {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrWeakPassword, MaxPasswordBytes)
	}
	if err := a.policy(pw); err != nil {
		if !errors.Is(err, ErrWeakPassword) {
			err = fmt.Errorf("%w: %v", ErrWeakPassword, err)
		}
		return "", err
	}
	if err := a.gate.enter(ctx); err != nil {
		return "", err
	}
	defer a.gate.leave()
	return argon2id.CreateHash(pw, &a.params)
}
