package jwt

import "errors"

// Errors of the configuration, returned (wrapped, with the realm and the
// problem, never the key) by [ParseKeys], [LoadKeysFile] and [New]. Token
// errors are the core's: zulipauth.ErrBadToken and
// zulipauth.ErrNoEmailInToken, see [Verifier.VerifyToken].
var (
	// ErrInvalidKeys: the keys cannot be used as they are: malformed JSON,
	// an unknown field, an unknown algorithm or "none", a key whose type
	// does not fit an algorithm listed, a key that is too weak (an HMAC
	// secret shorter than its hash's output, an RSA key under
	// [MinRSABits]).
	ErrInvalidKeys = errors.New("jwt: invalid keys")
	// ErrKeysFileExposed: the keys file may be read or written by users
	// other than its owner (its mode has a group or other bit set). It holds
	// secrets: chmod 600 it.
	ErrKeysFileExposed = errors.New("jwt: the keys file is accessible to group or others")
)
