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
var maxParams = Params{Memory: 256 * 1024, Iterations: 16, Parallelism: 16, SaltLength: 64, KeyLength: 64}

// MaxParams returns the upper bounds on argon2 parameters: 256 MiB of
// memory, 16 iterations, 16 lanes, 64-byte salts and keys. They apply to
// the parameters decoded from a stored hash before any work is done with
// them (a hash asking for more, a tampered row or one from a system with
// other ideas, is refused rather than allowed to take gigabytes of memory or
// minutes of CPU), and to [WithParams].
//
// The result is a copy: changing it changes nothing. The bounds are fixed
// for the life of the process; the lower bounds are those argon2 itself
// needs (one lane, one pass, 8 KiB per lane) and 8-byte salts and 16-byte
// keys.
func MaxParams() Params { return maxParams }

// MaxPBKDF2Iterations bounds the iteration count of a stored
// pbkdf2_sha256 hash: about two seconds of one core, eight times the
// 1,200,000 of Django 6.0, so that hashes of Django releases for years to
// come verify while a tampered count cannot pin a core for hours.
const MaxPBKDF2Iterations = 10_000_000

// MaxBcryptCost bounds the cost of a stored bcrypt or bcrypt_sha256 hash:
// 2^15 rounds, about two seconds of one core, above the 10 to 12 that Go,
// Rails, Laravel and Django use. The lowest cost accepted is 4, bcrypt's
// own minimum.
const MaxBcryptCost = 15

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
	case saltLen < 8 || saltLen > uint64(maxP.SaltLength):
		return fmt.Errorf("salt length %d outside [8, %d]", saltLen, maxP.SaltLength)
	case keyLen < 16 || keyLen > uint64(maxP.KeyLength):
		return fmt.Errorf("key length %d outside [16, %d]", keyLen, maxP.KeyLength)
	}
	return nil
}
