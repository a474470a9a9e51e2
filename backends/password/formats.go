package password

import "slices"

// Format names an encoding of stored password hashes that this package
// verifies. New hashes are always [FormatArgon2id] with the configured
// parameters; the others are legacy formats, verified so that users of
// another system (a Zulip server's database, a Rails, Laravel or Go
// application) can log in without a reset, and upgraded to FormatArgon2id on
// their next correct login where the store is a
// zulipauth.PasswordHashUpdater. [WithFormats] chooses which legacy formats
// are accepted; by default all are.
//
// Parameters read from a stored hash of any format are bounded before any
// work is done (see [MaxParams], [MaxPBKDF2Iterations], [MaxBcryptCost]).
type Format string

const (
	// FormatArgon2id is this package's own encoding (the PHC string format
	// that github.com/alexedwards/argon2id writes):
	// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key>, salt
	// and key in unpadded standard base64. It is always accepted. A hash
	// with parameters other than the current ones is upgraded.
	FormatArgon2id Format = "argon2id"

	// FormatDjangoArgon2 is Django's Argon2PasswordHasher, what a Zulip
	// server's database holds: "argon2" followed by a PHC string, such as
	// argon2$argon2id$v=19$m=102400,t=2,p=8$<salt>$<key> (Django 3.2 and
	// later) or argon2$argon2i$v=19$m=512,t=2,p=2$... (Django 1.10 to
	// 3.1). The hashes of argon2-cffi before 16.0, without "v=19", use
	// argon2 version 1.0, which golang.org/x/crypto/argon2 does not
	// implement; they are refused.
	FormatDjangoArgon2 Format = "django_argon2"

	// FormatDjangoPBKDF2SHA256 is Django's default PBKDF2PasswordHasher:
	// pbkdf2_sha256$<iterations>$<salt>$<key>, the key being the 32-byte
	// PBKDF2-HMAC-SHA256 of the password (as UTF-8) and the salt (as its
	// bytes, printable ASCII), in padded standard base64.
	FormatDjangoPBKDF2SHA256 Format = "django_pbkdf2_sha256"

	// FormatDjangoBcryptSHA256 is Django's BCryptSHA256PasswordHasher:
	// "bcrypt_sha256$" followed by a bcrypt hash ($2a$, $2b$ or $2y$) of the
	// lower-case hexadecimal SHA-256 digest of the password, so that bytes
	// past bcrypt's 72 count.
	FormatDjangoBcryptSHA256 Format = "django_bcrypt_sha256"

	// FormatBcrypt is a bare bcrypt hash, $2a$, $2b$ or $2y$ with a
	// two-digit cost, as Rails (has_secure_password), Laravel, PHP's
	// password_hash and golang.org/x/crypto/bcrypt store it. The three
	// prefixes name the same algorithm for the passwords those systems
	// hash. As everywhere, bcrypt uses only the first 72 bytes of a
	// password; the upgrade to FormatArgon2id ends that.
	FormatBcrypt Format = "bcrypt"
)

// legacyFormats are the formats besides FormatArgon2id, all accepted by
// default.
var legacyFormats = []Format{FormatDjangoArgon2, FormatDjangoPBKDF2SHA256, FormatDjangoBcryptSHA256, FormatBcrypt}

// known reports whether f is one of this package's formats.
func (f Format) known() bool { return f == FormatArgon2id || slices.Contains(legacyFormats, f) }
