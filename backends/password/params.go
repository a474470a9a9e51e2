package password

import (
	"fmt"

	"github.com/alexedwards/argon2id"
)

// Params are argon2id parameters: memory in KiB, iterations, lanes, and the
// salt and key lengths in bytes.
type Params = argon2id.Params

// defaultParams is what DefaultParams returns.
var defaultParams = Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// DefaultParams returns the parameters new hashes are made with unless
// [WithParams] says otherwise: OWASP's recommended argon2id configuration of
// 19 MiB, 2 iterations, 1 lane, with a 16-byte salt and a 32-byte key. They
// are fixed, never derived from the machine, so that every instance of an
// application hashes alike and a hash made on one machine verifies at the
// same cost on another. The result is a copy: no importer can change what
// every other Authenticator of the process hashes with.
func DefaultParams() Params { return defaultParams }

// maxParams is what MaxParams returns. It is unexported so that no importer
// can widen the bounds for the whole process: they guard every verification
// against a stored row, including rows an attacker may have written.
var maxParams = Params{Memory: 128 * 1024, Iterations: 16, Parallelism: 16, SaltLength: 64, KeyLength: 64}

// maxArgon2Work bounds memory × iterations, in KiB: 256 MiB, two passes
// over the most memory allowed.
const maxArgon2Work = 256 * 1024

// MaxParams returns the upper bounds on argon2 parameters: 128 MiB of
// memory, 16 iterations, 16 lanes, 64-byte salts and keys, and besides,
// memory × iterations at most 256 MiB (two passes over 128 MiB: a quarter
// of a second of one core). They admit Zulip's own hashes (Django's
// Argon2PasswordHasher: 100 MiB, 2 passes, 8 lanes), OWASP's and RFC 9106's
// recommendations and the defaults of PHP, libsodium's "interactive" level,
// Spring and Bitwarden. They apply to the parameters decoded from a stored
// hash before any work is done with them (a hash asking for more, a
// tampered row or one from a system with other ideas, is refused rather
// than allowed to take the server's memory or seconds of CPU per guess),
// and to [WithParams]. They also set what every failed login costs (see
// [WithFailureTime]) and the most memory one verification may hold (see
// [WithMaxMemory]).
//
// The result is a copy: changing it changes nothing. The bounds are fixed
// for the life of the process; the lower bounds are those argon2 itself
// needs (one lane, one pass, 8 KiB per lane) and 8-byte salts and 16-byte
// keys.
func MaxParams() Params { return maxParams }

// MaxPBKDF2Iterations bounds the iteration count of a stored
// pbkdf2_sha256 hash: 1,200,000, Django 6.0's count (Zulip's Django 5.x
// writes 1,000,000 at most), about a quarter of a second of one core, as
// much as the costliest argon2 and bcrypt hashes allowed. A hash with more
// is refused at import: its user resets the password.
const MaxPBKDF2Iterations = 1_200_000

// MaxBcryptCost bounds the cost of a stored bcrypt or bcrypt_sha256 hash:
// 2^12 rounds, the cost Django, Rails, Laravel and PHP 8.4 write, about a
// quarter of a second of one core. The lowest cost accepted is 4, bcrypt's
// own minimum.
const MaxBcryptCost = 12

// minBcryptCost is bcrypt's own minimum (golang.org/x/crypto/bcrypt.MinCost).
const minBcryptCost = 4

// checkParams reports parameters outside [MaxParams]'s bounds.
func checkParams(p Params) error {
	return checkArgon2(uint64(p.Memory), uint64(p.Iterations), uint64(p.Parallelism), uint64(p.SaltLength), uint64(p.KeyLength))
}

// checkArgon2 is checkParams on numbers as wide as a decoder reads them, so
// that a value too large for Params' field is reported, not truncated.
func checkArgon2(memory, iterations, parallelism, saltLen, keyLen uint64) error {
	maxP := maxParams
	switch {
	case iterations < 1 || iterations > uint64(maxP.Iterations):
		return fmt.Errorf("iterations %d outside [1, %d]", iterations, maxP.Iterations)
	case parallelism < 1 || parallelism > uint64(maxP.Parallelism):
		return fmt.Errorf("parallelism %d outside [1, %d]", parallelism, maxP.Parallelism)
	case memory < 8*parallelism || memory > uint64(maxP.Memory):
		return fmt.Errorf("memory %d KiB outside [%d, %d]", memory, 8*parallelism, maxP.Memory)
	case memory*iterations > maxArgon2Work:
		return fmt.Errorf("memory %d KiB × %d iterations above %d", memory, iterations, maxArgon2Work)
	case saltLen < 8 || saltLen > uint64(maxP.SaltLength):
		return fmt.Errorf("salt length %d outside [8, %d]", saltLen, maxP.SaltLength)
	case keyLen < 16 || keyLen > uint64(maxP.KeyLength):
		return fmt.Errorf("key length %d outside [16, %d]", keyLen, maxP.KeyLength)
	}
	return nil
}
