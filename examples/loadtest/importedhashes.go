package main

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/zulipauth/zulipauth-go/backends/password"
)

// importedHash is userPassword's hash as another system stores it.
type importedHash struct {
	name string // the timing part's name
	hash string
}

// importedHashes are userPassword's hashes in the formats a migration
// brings, each as costly as the system that made it makes it: a Zulip
// server's (Django's Argon2PasswordHasher: argon2id over 100 MiB, 2 passes,
// 8 lanes), Django's pbkdf2_sha256 at 600,000 iterations (Django 4.2),
// bcrypt at cost 12 (Rails, Laravel, Django's bcrypt_sha256), and the
// costliest argon2id the bounds admit (128 MiB, 2 passes).
func importedHashes() []importedHash {
	b64 := base64.RawStdEncoding.EncodeToString
	salt := rand.Text()[:16]
	argon := func(prefix string, m, t uint32, p uint8) string {
		key := argon2.IDKey([]byte(userPassword), []byte(salt), t, m, p, 32)
		return fmt.Sprintf("%s$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", prefix, m, t, p, b64([]byte(salt)), b64(key))
	}
	pbkdf2Key, _ := pbkdf2.Key(sha256.New, userPassword, []byte(salt), 600_000, 32)
	bc, _ := bcrypt.GenerateFromPassword([]byte(userPassword), 12)
	maxP := password.MaxParams()
	return []importedHash{
		{"zulip-argon2", argon("argon2", 100*1024, 2, 8)},
		{"pbkdf2-600k", fmt.Sprintf("pbkdf2_sha256$600000$%s$%s", salt, base64.StdEncoding.EncodeToString(pbkdf2Key))},
		{"bcrypt-12", string(bc)},
		{"argon2id-max", argon("", maxP.Memory, 2, 1)},
	}
}
