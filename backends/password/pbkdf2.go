package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// pbkdf2KeyLen is the length of the key Django derives: SHA-256's digest.
const pbkdf2KeyLen = sha256.Size

// maxPBKDF2Salt bounds the salt, as MaxParams bounds argon2's. Django's
// salts have 12 (Django 1.4 to 3.0) or 22 characters.
const maxPBKDF2Salt = 64

// pbkdf2Hash is a decoded Django pbkdf2_sha256 hash.
type pbkdf2Hash struct {
	iterations int
	salt       []byte
	key        []byte
}

func (h *pbkdf2Hash) format() Format { return FormatDjangoPBKDF2SHA256 }

func (h *pbkdf2Hash) matches(password string) bool {
	key, err := pbkdf2.Key(sha256.New, password, h.salt, h.iterations, pbkdf2KeyLen)
	// An error is only possible for arguments the decoder already refuses,
	// or in FIPS 140-only mode (GODEBUG=fips140=only) for a salt shorter
	// than 16 bytes, as Django's before 3.1 are: the password is not proven.
	return err == nil && subtle.ConstantTimeCompare(key, h.key) == 1
}

func (h *pbkdf2Hash) upToDate(Params) bool { return false }

// memoryKiB: PBKDF2-HMAC-SHA256 holds a few hundred bytes.
func (h *pbkdf2Hash) memoryKiB() uint64 { return 1 }

// decodePBKDF2 reads Django's pbkdf2_sha256$<iterations>$<salt>$<key>, as
// Django writes it: the count in decimal without leading zeros, a salt of
// printable ASCII (Django refuses "$" in it), the 32-byte key in padded
// standard base64. Django verifies by re-encoding and comparing the strings,
// so an encoding it would not write would not verify there either.
func decodePBKDF2(hash string) (storedHash, error) {
	fields := strings.Split(hash, "$")
	if len(fields) != 4 {
		return nil, invalid("pbkdf2_sha256: want 3 fields (iterations, salt, key), have %d", len(fields)-1)
	}
	n, ok := parseDecimal(fields[1])
	if !ok {
		return nil, invalid("pbkdf2_sha256: the iteration count is not a decimal number in range")
	}
	if n < 1 || n > MaxPBKDF2Iterations {
		return nil, invalid("pbkdf2_sha256: iterations %d outside [1, %d]", n, MaxPBKDF2Iterations)
	}
	salt := fields[2]
	if len(salt) < 1 || len(salt) > maxPBKDF2Salt {
		return nil, invalid("pbkdf2_sha256: salt length %d outside [1, %d]", len(salt), maxPBKDF2Salt)
	}
	for i := 0; i < len(salt); i++ {
		if salt[i] < '!' || salt[i] > '~' {
			return nil, invalid("pbkdf2_sha256: the salt is not printable ASCII")
		}
	}
	key, err := decodeBase64(base64.StdEncoding, fields[3])
	if err != nil {
		return nil, invalid("pbkdf2_sha256: the key is not padded base64")
	}
	if len(key) != pbkdf2KeyLen {
		return nil, invalid("pbkdf2_sha256: key length %d, want %d", len(key), pbkdf2KeyLen)
	}
	return &pbkdf2Hash{iterations: int(n), salt: []byte(salt), key: key}, nil
}
