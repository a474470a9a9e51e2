package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidHash is the error for an encoded password hash this package
// cannot verify: an unknown or unsupported format, a malformed or truncated
// encoding, or parameters outside the bounds. [CheckHash] returns it wrapped
// with the reason, which names the format and the problem and never contains
// the hash or any part of it.
var ErrInvalidHash = errors.New("password: invalid password hash")

// errNoPassword marks a stored value that means "no usable password": "" or
// Django's unusable password, "!" followed by anything. Such an account
// cannot log in with a password, and that is not a fault of the store.
var errNoPassword = errors.New("password: no usable password")

// maxHashBytes bounds an encoded hash before it is parsed. The longest this
// package accepts, argon2 with a 64-byte salt and key, has under 220 bytes;
// Django's password column holds 128.
const maxHashBytes = 512

// storedHash is a stored password hash, decoded and with its parameters
// bounded: verifying a password against it does only the work parameters
// already checked ask for.
type storedHash interface {
	// format is the encoding the hash was read from.
	format() Format
	// matches reports, in constant time for a given hash, whether password
	// is the one the hash was made from.
	matches(password string) bool
	// upToDate reports whether the hash is FormatArgon2id with exactly the
	// parameters current; any other hash is upgraded on a correct login.
	upToDate(current Params) bool
	// memoryKiB is the memory a verification allocates, in KiB: what it
	// holds of the gate's (see gate).
	memoryKiB() uint64
}

// decodeHash reads an encoded hash in any of this package's formats. It and
// the decoders of each format return the interface rather than their pointer
// types, so that a failure is a nil storedHash, not a nil pointer in one. Its
// errors wrap ErrInvalidHash, or are errNoPassword; none contains any part
// of the input, which may be a hash or, in a confused import, a password.
func decodeHash(hash string) (storedHash, error) {
	if len(hash) > maxHashBytes {
		return nil, invalid("longer than %d bytes", maxHashBytes)
	}
	if hash == "" || strings.HasPrefix(hash, "!") {
		return nil, errNoPassword
	}
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return decodeArgon2(FormatArgon2id, hash)
	case strings.HasPrefix(hash, "argon2$"):
		return decodeArgon2(FormatDjangoArgon2, hash[len("argon2"):])
	case strings.HasPrefix(hash, "pbkdf2_sha256$"):
		return decodePBKDF2(hash)
	case strings.HasPrefix(hash, "bcrypt_sha256$"):
		return decodeBcrypt(FormatDjangoBcryptSHA256, hash[len("bcrypt_sha256$"):])
	case strings.HasPrefix(hash, "$2"):
		return decodeBcrypt(FormatBcrypt, hash)
	}
	for _, u := range unsupported {
		if strings.HasPrefix(hash, u.prefix) {
			return nil, invalid("%s is not supported", u.name)
		}
	}
	return nil, invalid("unknown format (accepted: argon2id, Django's argon2, pbkdf2_sha256 and bcrypt_sha256, bcrypt)")
}

// unsupported are encodings an import may meet that this package does not
// verify, named so that the error says what was found.
var unsupported = []struct{ prefix, name string }{
	{"$argon2i$", "bare argon2i"},
	{"$argon2d$", "argon2d"},
	{"pbkdf2_sha1$", "Django's pbkdf2_sha1"},
	{"bcrypt$", "Django's plain bcrypt (BCryptPasswordHasher)"},
	{"scrypt$", "Django's scrypt"},
	{"md5$", "Django's salted MD5"},
	{"sha1$", "Django's salted SHA-1"},
	{"crypt$", "Django's crypt"},
	{"$1$", "MD5-crypt"},
	{"$5$", "SHA-256-crypt"},
	{"$6$", "SHA-512-crypt"},
	{"$y$", "yescrypt"},
	{"$7$", "scrypt"},
	{"$pbkdf2", "passlib's pbkdf2"},
}

// invalid returns ErrInvalidHash with a reason. Callers pass only their own
// words and numbers they parsed, never bytes of the hash.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidHash, fmt.Sprintf(format, args...))
}

// parseDecimal reads s as the encoders write a number: ASCII digits, no
// sign, no leading zero, at most 18 digits (so that it fits in a uint64). ok
// is false for anything else; the caller bounds the value.
func parseDecimal(s string) (n uint64, ok bool) {
	if s == "" || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// decodeBase64 decodes s strictly, as enc's encoder writes it. Go's decoders
// skip "\r" and "\n" even in strict mode; no encoder of a stored hash writes
// them, so they are refused too, and each hash has one encoding.
func decodeBase64(enc *base64.Encoding, s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break in base64")
	}
	return enc.Strict().DecodeString(s)
}
