package password

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptHashLen is the length of a bcrypt hash: "$2b$", a two-digit cost,
// "$", 22 characters of salt and 31 of hash.
const bcryptHashLen = 60

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// bcryptHash is a decoded bare bcrypt hash or Django's bcrypt_sha256.
type bcryptHash struct {
	f       Format
	encoded []byte // the bcrypt hash itself, $2?$...
}

func (h *bcryptHash) format() Format { return h.f }

func (h *bcryptHash) matches(password string) bool {
	secret := []byte(password)
	if h.f == FormatDjangoBcryptSHA256 {
		// Django hashes the hexadecimal digest so that no byte past
		// bcrypt's 72 is lost.
		sum := sha256.Sum256(secret)
		secret = hex.AppendEncode(nil, sum[:])
	}
	return bcrypt.CompareHashAndPassword(h.encoded, secret) == nil
}

func (h *bcryptHash) upToDate(Params) bool { return false }

// memoryKiB: bcrypt's state (its S-boxes and key schedule) is about 4 KiB.
func (h *bcryptHash) memoryKiB() uint64 { return 4 }

// decodeBcrypt reads a bcrypt hash ($2a$, $2b$ or $2y$, the cost in two
// digits, salt and hash in bcrypt's alphabet) and bounds its cost, so that
// golang.org/x/crypto/bcrypt (which allows up to 31, days of CPU) never
// sees a cost above MaxBcryptCost.
func decodeBcrypt(f Format, s string) (storedHash, error) {
	name := "bcrypt"
	if f == FormatDjangoBcryptSHA256 {
		name = "bcrypt_sha256"
	}
	if len(s) != bcryptHashLen {
		return nil, invalid("%s: length %d, want %d", name, len(s), bcryptHashLen)
	}
	if s[0] != '$' || s[1] != '2' || !strings.ContainsRune("aby", rune(s[2])) || s[3] != '$' || s[6] != '$' {
		return nil, invalid("%s: the version is not 2a, 2b or 2y followed by a two-digit cost", name)
	}
	cost, ok := parseDecimal(strings.TrimPrefix(s[4:6], "0"))
	if !ok {
		return nil, invalid("%s: the cost is not two digits", name)
	}
	if cost < minBcryptCost || cost > MaxBcryptCost {
		return nil, invalid("%s: cost %d outside [%d, %d]", name, cost, minBcryptCost, MaxBcryptCost)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return nil, invalid("%s: the salt and hash are not in bcrypt's base64 alphabet", name)
		}
	}
	return &bcryptHash{f: f, encoded: []byte(s)}, nil
}
