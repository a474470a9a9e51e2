package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want uint64
		ok   bool
	}{
		{"zero", "0", 0, true},
		{"one", "1", 1, true},
		{"Django 6.0's count", "1200000", 1200000, true},
		{"18 digits", "999999999999999999", 999999999999999999, true},
		{"19 digits", "1000000000000000000", 0, false},
		{"empty", "", 0, false},
		{"leading zero", "01", 0, false},
		{"plus sign", "+1", 0, false},
		{"minus sign", "-1", 0, false},
		{"space", " 1", 0, false},
		{"hex", "0x10", 0, false},
		{"underscore", "1_000", 0, false},
		{"non-ASCII digit", "１", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseDecimal(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("parseDecimal(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// The dummy hash decodes with the configured parameters, so verifying
// against it costs what a real verification costs.
func TestDummyHashHasTheParameters(t *testing.T) {
	t.Parallel()
	p := Params{Memory: 64, Iterations: 3, Parallelism: 2, SaltLength: 16, KeyLength: 32}
	got, err := decodeHash(dummyHash(p))
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := got.(*argon2Hash); !ok || h.params != p || h.f != FormatArgon2id || h.argon2i {
		t.Fatalf("dummy hash decodes as %+v; want argon2id with %+v", got, p)
	}
	if dummyHash(p) == dummyHash(p) {
		t.Fatal("two dummy hashes are equal: the salt is not random")
	}
}

// reencode writes h as its system would, for the round trip the fuzz target
// checks: a decoder that accepts exactly the canonical encodings gives back
// its input.
func reencode(h storedHash) string {
	b64 := base64.RawStdEncoding.EncodeToString
	switch h := h.(type) {
	case *argon2Hash:
		prefix, variant := "", "argon2id"
		if h.f == FormatDjangoArgon2 {
			prefix = "argon2"
		}
		if h.argon2i {
			variant = "argon2i"
		}
		p := h.params
		return fmt.Sprintf("%s$%s$v=19$m=%d,t=%d,p=%d$%s$%s", prefix, variant, p.Memory, p.Iterations, p.Parallelism, b64(h.salt), b64(h.key))
	case *pbkdf2Hash:
		return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", h.iterations, h.salt, base64.StdEncoding.EncodeToString(h.key))
	case *bcryptHash:
		if h.f == FormatDjangoBcryptSHA256 {
			return "bcrypt_sha256$" + string(h.encoded)
		}
		return string(h.encoded)
	}
	panic(fmt.Sprintf("unknown stored hash %T", h))
}

// cheapToVerify reports whether verifying h takes well under a millisecond,
// so that the fuzz target can verify what it decodes without slowing down.
func cheapToVerify(h storedHash) bool {
	switch h := h.(type) {
	case *argon2Hash:
		return uint64(h.params.Memory)*uint64(h.params.Iterations) <= 256
	case *pbkdf2Hash:
		return h.iterations <= 100
	case *bcryptHash:
		return h.encoded[4] == '0' && h.encoded[5] == '4'
	}
	return false
}

// withinBounds reports whether h's parameters are within the documented
// bounds: whatever the input, the work of verifying is bounded.
func withinBounds(h storedHash) bool {
	switch h := h.(type) {
	case *argon2Hash:
		return checkParams(h.params) == nil
	case *pbkdf2Hash:
		return h.iterations >= 1 && h.iterations <= MaxPBKDF2Iterations && len(h.key) == pbkdf2KeyLen
	case *bcryptHash:
		cost := int(h.encoded[4]-'0')*10 + int(h.encoded[5]-'0')
		return cost >= minBcryptCost && cost <= MaxBcryptCost && len(h.encoded) == bcryptHashLen
	}
	return false
}

// FuzzDecodeHash feeds the stored-hash decoder, which reads whatever a
// store's rows hold, arbitrary bytes. It must never panic; what it accepts
// must be canonical (it re-encodes to the input), within the bounds, and
// verifiable; what it refuses must be ErrInvalidHash (or no password) with a
// message that repeats nothing of the input.
func FuzzDecodeHash(f *testing.F) {
	for _, seed := range []string{
		"", "!", "!unusable", "$", "$$$$$",
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy",
		"$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWtleXNvbWVrZXlzb21la2V5c29tZWtleTEy",
		"argon2$argon2id$v=19$m=256,t=1,p=2$cTBiVWZFSjBkcGF5dVhxVnZkbm16ZA$oT1PiIcarmEanD44u6TgyQ",
		"argon2$argon2i$v=19$m=512,t=2,p=2$MGg4Vm9sRE5tVVdlSlI5NEdZS2VjcA$gz/z77ocEkv2pxpdqQtbKQ",
		"argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0",
		"pbkdf2_sha256$10000$YnzO1D2CwxmK$kgV8yUs+JHvbaHxCPRJwVklfLkNvs8Yiu58G5sI1v3k=",
		"pbkdf2_sha256$1$s$kgV8yUs+JHvbaHxCPRJwVklfLkNvs8Yiu58G5sI1v3k=",
		"pbkdf2_sha256$99999999999999999999$s$kgV8yUs+JHvbaHxCPRJwVklfLkNvs8Yiu58G5sI1v3k=",
		"bcrypt_sha256$$2b$04$TqnG6FdaMbC4S.66ds9VoOf3Ch.tbNYUBdaXNpRQmOp2SeVfYuqEK",
		"$2a$04$BFTphu5IoHs9lB8Bmv2bzuZ9Bt/G09cPRS9PK2VzArtLVs5jh0JY.",
		"$2y$31$7xZ1Q5wj/B.wUtQXjW6.nOy7L64FMmz8L6zaCCnlH4648T3Vs8xga",
		"$2x$04$7xZ1Q5wj/B.wUtQXjW6.nOy7L64FMmz8L6zaCCnlH4648T3Vs8xga",
		"pbkdf2_sha1$260000$salt$key", "bcrypt$$2b$12$x", "$6$salt$hash",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := decodeHash(in)
		if checkErr := CheckHash(in); (checkErr == nil) != (err == nil || errors.Is(err, errNoPassword)) {
			t.Fatalf("CheckHash = %v, decodeHash = %v", checkErr, err)
		}
		if err != nil {
			if h != nil {
				t.Fatal("a hash and an error")
			}
			if !errors.Is(err, ErrInvalidHash) && !errors.Is(err, errNoPassword) {
				t.Fatalf("error %v is neither ErrInvalidHash nor errNoPassword", err)
			}
			if errors.Is(err, errNoPassword) && in != "" && in[0] != '!' {
				t.Fatal("no password reported for a non-empty hash")
			}
			msg := err.Error()
			if strings.Contains(msg, "$") {
				t.Fatalf("error %q contains a dollar sign: part of the input?", msg)
			}
			if len(in) >= 16 && strings.Contains(msg, in) {
				t.Fatalf("error %q repeats the input", msg)
			}
			return
		}
		if got := reencode(h); got != in {
			t.Fatalf("accepted a non-canonical encoding: re-encodes to %q", got)
		}
		if !withinBounds(h) {
			t.Fatalf("accepted parameters out of bounds: %+v", h)
		}
		if cheapToVerify(h) {
			h.matches("correct horse") // must not panic
		}
	})
}
