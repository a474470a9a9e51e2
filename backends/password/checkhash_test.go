package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"

	"github.com/zulipauth/zulipauth-go/backends/password"
)

func TestCheckHashAccepts(t *testing.T) {
	t.Parallel()
	own, err := argon2id.CreateHash("correct horse", new(password.DefaultParams()))
	if err != nil {
		t.Fatal(err)
	}
	goBcrypt, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, hash string }{
		{"this package's own", own},
		{"golang.org/x/crypto/bcrypt's", string(goBcrypt)},
		{"no password", ""},
		{"Django's unusable password", djangoUnusable},
	}
	for _, v := range append(vectors, benchVectors...) {
		tests = append(tests, struct{ name, hash string }{v.name, v.hash})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := password.CheckHash(tt.hash); err != nil {
				t.Fatalf("CheckHash: %v", err)
			}
		})
	}
}

// CheckHash refuses what a login could not verify, with a reason that names
// the problem and never repeats the hash: an import command may log it.
func TestCheckHashRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range badHashes(t) {
		if tt.noPassword {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := password.CheckHash(tt.hash)
			if !errors.Is(err, password.ErrInvalidHash) {
				t.Fatalf("CheckHash = %v, want ErrInvalidHash", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("CheckHash = %q, want a reason containing %q", err, tt.reason)
			}
			assertNoSecret(t, err.Error(), tt.hash, "")
		})
	}
}

// The bounds are inclusive: the largest parameters accepted are accepted,
// one more is refused.
func TestCheckHashBoundsAreInclusive(t *testing.T) {
	t.Parallel()
	key := "kgV8yUs+JHvbaHxCPRJwVklfLkNvs8Yiu58G5sI1v3k="
	bare := "$2b$05$hX.90IWJG31jR4TT6kydiepwj2bjtVzYkoJbvPhppRWK5mEaCRqaO"
	salt16 := "c29tZXNhbHRzb21lc2FsdA"
	key32 := "c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy"
	m := password.MaxParams()
	tests := []struct {
		name string
		hash string
		ok   bool
	}{
		{"pbkdf2 at the maximum", "pbkdf2_sha256$" + itoa(password.MaxPBKDF2Iterations) + "$salt$" + key, true},
		{"pbkdf2 above", "pbkdf2_sha256$" + itoa(password.MaxPBKDF2Iterations+1) + "$salt$" + key, false},
		{"pbkdf2 one iteration", "pbkdf2_sha256$1$salt$" + key, true},
		{"bcrypt at the maximum", bare[:4] + itoa(password.MaxBcryptCost) + bare[6:], true},
		{"bcrypt above", bare[:4] + itoa(password.MaxBcryptCost+1) + bare[6:], false},
		{"bcrypt at the minimum", bare[:4] + "04" + bare[6:], true},
		// Memory and iterations each at their maximum, and their product:
		// 128 MiB × 2 passes, or 16 MiB × 16.
		{"argon2id at the maximum memory", "$argon2id$v=19$m=" + itoa(m.Memory) + ",t=2,p=" + itoa(uint32(m.Parallelism)) + "$" + salt16 + "$" + key32, true},
		{"argon2id at the maximum iterations", "$argon2id$v=19$m=16384,t=" + itoa(m.Iterations) + ",p=1$" + salt16 + "$" + key32, true},
		{"argon2id memory above", "$argon2id$v=19$m=" + itoa(m.Memory+1) + ",t=1,p=1$" + salt16 + "$" + key32, false},
		{"argon2id memory × iterations above", "$argon2id$v=19$m=" + itoa(m.Memory) + ",t=3,p=1$" + salt16 + "$" + key32, false},
		{"argon2id iterations × memory above", "$argon2id$v=19$m=16385,t=" + itoa(m.Iterations) + ",p=1$" + salt16 + "$" + key32, false},
		{"Zulip's own hash (Django's argon2: 100 MiB, 2 passes, 8 lanes)", "argon2$argon2id$v=19$m=102400,t=2,p=8$" + salt16 + "$" + key32, true},
		{"argon2id at the minimum", "$argon2id$v=19$m=8,t=1,p=1$" + salt16 + "$" + key32, true},
		{"argon2id below the minimum memory", "$argon2id$v=19$m=15,t=1,p=2$" + salt16 + "$" + key32, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := password.CheckHash(tt.hash); (err == nil) != tt.ok {
				t.Fatalf("CheckHash = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func itoa(n uint32) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}
