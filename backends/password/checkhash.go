package password

import "errors"

// CheckHash reports whether an Authenticator can verify hash, for an import
// command to call before it stores a hash taken from another system. It
// returns nil for an encoding of any [Format] (whatever [WithFormats] an
// Authenticator has) whose parameters are within the bounds ([MaxParams],
// [MaxPBKDF2Iterations], [MaxBcryptCost]), and for the two ways of storing
// no usable password: "" and Django's unusable password ("!" followed by
// anything, which never matches).
//
// Otherwise the error wraps [ErrInvalidHash] and says what is wrong (an
// unknown or unsupported format, by name; a malformed field; a parameter out
// of bounds), never with any part of hash, so that it may be logged or shown.
// CheckHash only decodes: it costs microseconds, not a verification, and is
// safe for concurrent use.
func CheckHash(hash string) error {
	if _, err := decodeHash(hash); err != nil && !errors.Is(err, errNoPassword) {
		return err
	}
	return nil
}
