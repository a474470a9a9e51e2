// Package password is a zulipauth.Authenticator for passwords kept as hashes
// in any zulipauth.UserStore: Zulip's EmailAuthBackend.
//
// New hashes are argon2id (github.com/alexedwards/argon2id encoding, see
// [FormatArgon2id]). Hashes from elsewhere are verified too, so that the users
// of another system log in without a reset, and are upgraded to argon2id on
// their next correct login: Django's argon2, pbkdf2_sha256 and bcrypt_sha256
// (what a Zulip server's database holds), bare bcrypt (Rails, Laravel, Go) and
// argon2id with older parameters; see [Format] and [WithFormats]. Parameters
// read from a stored hash are bounded before any work is done with them, and
// [CheckHash] tells an import command whether a hash will verify.
//
// An attempt is checked in the order of Zulip's EmailAuthBackend, status
// before password:
//
//  1. the realm does not allow password login: zulipauth.ErrPasswordAuthDisabled;
//  2. an empty password fails without a lookup: zulipauth.ErrBadCredentials;
//  3. the realm is deactivated: zulipauth.ErrRealmDeactivated (Zulip says so
//     only for known users; the realm is known from the request, so saying it
//     for every user reveals nothing about accounts);
//  4. the user is looked up by (realm, trimmed username, ignoring case); a
//     user found is charged to its own login budget
//     (zulipauth.Attempt.ChargeAccount, keyed by the email the store
//     holds), so that no
//     spelling of the email the store takes for the user escapes it;
//  5. the user is deactivated: zulipauth.ErrUserDeactivated;
//  6. the password is verified. An unknown user, a user without a usable
//     password ("" or Django's unusable "!...") and a stored hash this
//     package cannot use (corrupt, unknown format, a format not accepted,
//     parameters out of bounds; logged as a warning without the hash) are
//     verified against a dummy argon2id hash with the current parameters, so
//     that they cost what a wrong password costs; all are
//     zulipauth.ErrBadCredentials, except an unknown user whose email another
//     realm has, where the store can tell (zulipauth.OtherRealmFinder):
//     zulipauth.ErrWrongRealm;
//  7. a correct password of a user flagged for a reset is
//     zulipauth.ErrPasswordResetRequired. So is one whose stored hash is due
//     for an upgrade (older parameters or a legacy format) when the password
//     fails the current strength policy (Zulip's PasswordTooWeakError);
//     otherwise such a hash is upgraded to argon2id with the current
//     parameters, where the store is a zulipauth.PasswordHashUpdater.
//
// # Time and memory
//
// Each format costs what its own parameters ask for: an account imported
// from Zulip (Django's argon2 over 100 MiB) costs several times what the
// dummy of an unknown user costs. So that the time of an answer does not
// tell which emails have accounts, whatever hash an account holds, every
// failure from step 6 on is answered no sooner than the failure time after
// the attempt began: by default the time the costliest hash the bounds
// admit takes to verify on this machine, plus half (see [WithFailureTime];
// 0.3 to 0.5 s on a small machine). Correct logins never wait, and a
// failure waits without its hash slot. Comparisons are in constant time.
//
// Verifications run at bounded concurrency (default GOMAXPROCS) and bounded
// memory: each holds a core, and argon2 its parameters' memory, for tens to
// hundreds of milliseconds, and an unbounded number would let a flood of
// logins exhaust the machine. Each is admitted with its own hash's memory,
// within a total ([WithMaxMemory]; by default what GOMAXPROCS verifications
// with the current parameters hold); an imported hash that needs more runs
// alone. So the argon2 memory in use never exceeds the larger of that total
// and [MaxParams]' 128 MiB, whatever hash the store holds. Attempts beyond
// the bounds wait, in a bounded queue and for a bounded time, honouring the
// request's context; beyond that they fail at once with zulipauth.ErrBusy,
// which the handler answers with 429 and a short Retry-After.
//
// # Returning users under a password spray
//
// A spray (every request a new username from a new address, so that no
// rate-limit budget ever refuses) keeps that queue full, and everyone else
// would get ErrBusy. So the waiting is in two lanes. After a correct login
// the Authenticator remembers the (realm, user, client network) pair, the
// network being the address's /24 or /64, for 30 days ([WithReturningUsers]).
// An attempt for a user that exists, from a network remembered for that user,
// is a returning user's: it waits in its own lane, with its own bound
// ([WithMaxReturningWaiting]), and a freed slot goes to that lane first (3
// slots of every 4 while both lanes wait, so that the ordinary lane is never
// starved); everyone else, and [Authenticator.Hash], waits in the ordinary
// lane as before. When the queues are not full, both lanes take a free slot at
// once and nothing differs. [WithoutReturningUsers] turns the lane off.
//
// Why this is safe:
//
//   - The lane only reorders the wait. Every check of the list above and the
//     verification itself run the same in both lanes; a returning user with a
//     wrong password gets ErrBadCredentials after a full verification.
//   - It is reachable only for a (user, network) that proved the password
//     within the TTL. A spray of unknown usernames, or of known ones from
//     networks they did not log in from, waits in the ordinary lane.
//   - Someone on the same /24 as a user can put guesses for that one username
//     in the lane, but zulipauth's per-username budget (UsernameLimiter, 5 per
//     30 minutes, spent before the Authenticator is called) bounds those
//     guesses exactly as in the ordinary lane. A user has at most one attempt
//     in the lane at a time, so a member who logs in over and over, from one
//     network or many, holds one place in it, not all of them.
//   - The work before the hash does not depend on the lane: the remembered
//     pair is looked up for unknown users too, and a free slot is taken
//     without waiting in either lane, so an unknown user and a wrong password
//     for a known one still cost the same when the queue is not full.
//
// What it reveals: while the ordinary lane is full, someone who can send from
// a user's network and knows the username can tell from the answer (a 401
// after a verification instead of an immediate 429) that the user logged in
// correctly from that network within the TTL. Each such probe spends one of
// the username's budget, needs the queue saturated, and tells nothing about
// the password; a person on the same network can usually see as much. Being
// let through a full queue is the very difference the lane makes, so it
// cannot be hidden without a secret of the client's beyond the password, and
// Zulip's clients send none (no cookie, no device token): this package
// accepts the oracle.
//
// Limits. The lane is only as good as Attempt.ClientIP: behind a proxy that
// zulipauth does not trust (Config.TrustedProxies), every client has the
// proxy's address, and any user who logged in once is a returning user for
// anyone; each user still holds one place in the lane, so it degrades to the
// single queue, no further. A member with many networks (an IPv6 /48 has
// 65,536 /64s) can push other users' pairs out of the set by logging in
// correctly from each, at the cost of one verification per pair: at the
// defaults, about 100,000 verifications, tens of minutes of a small machine's
// whole hash capacity; a larger max raises that cost. The pairs live in this
// process's memory, hashed with a key of its own (no email, no address is
// kept): they are lost on a restart, and instances behind a load balancer each
// remember the logins they served. A pair is not forgotten when the user's
// password or API key changes, and need not be: it only ever grants a place
// in the queue, never a login, and a deactivated user is refused before any
// queue.
package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/argon2"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

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

// Authenticator verifies passwords against the hashes in a UserStore.
// Create it with [New]; it is safe for concurrent use.
type Authenticator struct {
	users         zulipauth.UserStore
	params        Params
	formats       []Format
	maxConcurrent int
	maxWaiting    int
	maxWait       time.Duration
	policy        func(string) error
	log           *slog.Logger
	gate          *gate
	dummy         storedHash

	returningOff        bool
	returningMax        int
	returningTTL        time.Duration
	maxReturningWaiting int
	returning           *returningUsers // nil when off
	now                 func() time.Time

	maxMemory uint64 // KiB; WithMaxMemory, else maxConcurrent × params.Memory

	// failure is the failure time (see failureTime): WithFailureTime's
	// when failureTimeSet, else calibrated once, on first use.
	failure        time.Duration
	failureTimeSet bool
	failureOnce    sync.Once
}

// New returns an Authenticator over users. It fails on invalid options.
func New(users zulipauth.UserStore, opts ...Option) (*Authenticator, error) {
	if users == nil {
		return nil, errors.New("password: New: users is nil")
	}
	a := &Authenticator{
		users:         users,
		params:        DefaultParams(),
		formats:       append([]Format{FormatArgon2id}, legacyFormats...),
		maxConcurrent: runtime.GOMAXPROCS(0),
		maxWait:       5 * time.Second,
		policy:        MinLength(6),
		log:           slog.Default(),
		returningMax:  DefaultReturningUsers,
		returningTTL:  DefaultReturningTTL,
		now:           time.Now,
	}
	for _, o := range opts {
		o(a)
	}
	if a.maxWaiting == 0 {
		a.maxWaiting = 64 * a.maxConcurrent
	}
	if a.maxReturningWaiting == 0 {
		a.maxReturningWaiting = 64 * a.maxConcurrent
	}
	switch {
	case a.maxConcurrent < 1:
		return nil, errors.New("password: WithMaxConcurrent must be at least 1")
	case a.maxWaiting < 0:
		return nil, errors.New("password: WithMaxWaiting must not be negative")
	case a.maxReturningWaiting < 0:
		return nil, errors.New("password: WithMaxReturningWaiting must not be negative")
	case !a.returningOff && a.returningMax < 1:
		return nil, errors.New("password: WithReturningUsers: max must be at least 1 (WithoutReturningUsers turns the lane off)")
	case !a.returningOff && a.returningTTL <= 0:
		return nil, errors.New("password: WithReturningUsers: ttl must be positive (WithoutReturningUsers turns the lane off)")
	case a.maxWait <= 0:
		return nil, errors.New("password: WithMaxWait must be positive")
	case a.policy == nil || a.log == nil:
		return nil, errors.New("password: WithPolicy and WithLogger need a non-nil value")
	case a.failureTimeSet && a.failure < 0:
		return nil, errors.New("password: WithFailureTime must not be negative (WithInsecureFastFailures turns the padding off)")
	}
	for _, f := range a.formats {
		if !f.known() {
			return nil, fmt.Errorf("password: WithFormats: unknown format %q", f)
		}
	}
	if err := checkParams(a.params); err != nil {
		return nil, fmt.Errorf("password: WithParams: %w", err)
	}
	dummy, err := decodeHash(dummyHash(a.params))
	if err != nil {
		return nil, fmt.Errorf("password: the dummy hash: %w", err) // unreachable: the parameters are checked
	}
	if a.maxMemory == 0 {
		a.maxMemory = uint64(a.maxConcurrent) * uint64(a.params.Memory)
	}
	if a.maxMemory < uint64(a.params.Memory) {
		return nil, fmt.Errorf("password: WithMaxMemory(%d) is less than one hash with the parameters (%d KiB)", a.maxMemory, a.params.Memory)
	}
	a.gate = newGate(a.maxConcurrent, a.maxMemory, a.maxWaiting, a.maxReturningWaiting, a.maxWait)
	if !a.returningOff {
		a.returning = newReturningUsers(a.returningMax, a.returningTTL)
	}
	a.dummy = dummy
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

// AuthMethod names this authenticator for server_settings: "email", Zulip's
// EmailAuthBackend.
func (a *Authenticator) AuthMethod() string { return "email" }

// Authenticate implements zulipauth.Authenticator, in the order the package
// documentation gives.
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
	start := time.Now()
	email := strings.TrimSpace(at.Username)
	user, err := a.users.UserByEmail(ctx, at.Realm.Subdomain, email)
	found := err == nil
	if err != nil && !errors.Is(err, zulipauth.ErrUserNotFound) {
		return zulipauth.User{}, fmt.Errorf("password: looking up the user: %w", err)
	}
	if found {
		// Whatever spelling of the email found the account, its budget is
		// the account's (zulipauth charges it beside the username's), keyed
		// by the email the store holds: unlike an ID, it names the same
		// person in every store that shares one limiter.
		if err := at.ChargeAccount(ctx, zulipauth.FoldEmail(user.Email)); err != nil {
			return zulipauth.User{}, err
		}
	}
	if found && user.Deactivated {
		return zulipauth.User{}, zulipauth.ErrUserDeactivated
	}

	// Unknown user, no usable password or a hash we cannot use: the
	// dummy, which no password matches, costs what a real verification
	// with the current parameters costs.
	var stored storedHash
	if found {
		stored = a.usableHash(ctx, user)
	}
	check := stored
	if check == nil {
		check = a.dummy
	}

	// The lane decides only the order of the wait; every check above and the
	// verification below are the same in both.
	lane, key := laneOrdinary, returningKey{}
	if a.returning != nil {
		key = a.returning.key(at.Realm.Subdomain, user.ID, at.ClientIP)
		if a.returning.enterLaneAt(key, found, a.now()) {
			lane = laneReturning
			defer a.returning.leaveLane(key)
		}
	}
	kib := check.memoryKiB()
	if err := a.gate.enter(ctx, lane, kib); err != nil {
		return zulipauth.User{}, err
	}
	if stored == nil || !check.matches(at.Password) {
		a.gate.leave(kib)
		failure := zulipauth.ErrBadCredentials
		if !found {
			if failure = a.unknownUser(ctx, at.Realm.Subdomain, email); !isClientFailure(failure) {
				return zulipauth.User{}, failure // a fault of the store
			}
		}
		a.padFailure(ctx, start)
		return zulipauth.User{}, failure
	}
	// The upgrade below hashes with the current parameters: still within
	// the verification's share of the gate.
	defer a.gate.leave(kib)
	if user.PasswordResetRequired {
		return zulipauth.User{}, zulipauth.ErrPasswordResetRequired
	}
	if !stored.upToDate(a.params) {
		if a.policy(at.Password) != nil {
			return zulipauth.User{}, zulipauth.ErrPasswordResetRequired
		}
		a.upgrade(ctx, user, at.Password)
	}
	if a.returning != nil {
		a.returning.rememberAt(key, a.now())
	}
	return user, nil
}

// isClientFailure reports whether err is one of the failures unknownUser
// returns for a client, not a fault of the store.
func isClientFailure(err error) bool {
	return errors.Is(err, zulipauth.ErrBadCredentials) || errors.Is(err, zulipauth.ErrWrongRealm)
}

// usableHash decodes the user's stored hash, or returns nil when there is
// none to verify against. "" and Django's unusable password are an ordinary
// state of an account; anything else unusable is a fault of the data, logged
// with the reason, which never contains the hash.
func (a *Authenticator) usableHash(ctx context.Context, user zulipauth.User) storedHash {
	stored, err := decodeHash(user.PasswordHash)
	switch {
	case errors.Is(err, errNoPassword):
		return nil
	case err == nil && !slices.Contains(a.formats, stored.format()):
		err = fmt.Errorf("format %s is not accepted (WithFormats)", stored.format())
	}
	if err != nil {
		a.log.WarnContext(ctx, "password: unusable stored password hash; login refused",
			"user_id", user.ID, "error", err)
		return nil
	}
	return stored
}

// unknownUser is the failure for an email the realm does not know:
// zulipauth.ErrWrongRealm when the store can tell that another realm has it,
// otherwise bad credentials.
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
// is logged and otherwise ignored: the login itself was valid, and the next
// one tries again.
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
	if err := a.gate.enter(ctx, laneOrdinary, uint64(a.params.Memory)); err != nil {
		return "", err
	}
	defer a.gate.leave(uint64(a.params.Memory))
	return argon2id.CreateHash(pw, &a.params)
}
