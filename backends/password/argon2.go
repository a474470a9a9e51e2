package password

import (
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2Hash is a decoded argon2 hash: this package's own PHC string, or
// Django's, which is "argon2" followed by one.
type argon2Hash struct {
	f       Format
	argon2i bool // Django before 3.2; else argon2id
	params  Params
	salt    []byte
	key     []byte
}

func (h *argon2Hash) format() Format { return h.f }

func (h *argon2Hash) matches(password string) bool {
	p := h.params
	derive := argon2.IDKey
	if h.argon2i {
		derive = argon2.Key
	}
	key := derive([]byte(password), h.salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

func (h *argon2Hash) memoryKiB() uint64 { return uint64(h.params.Memory) }

func (h *argon2Hash) upToDate(current Params) bool {
	return h.f == FormatArgon2id && h.params == current
}

// decodeArgon2 reads a PHC string,
// $<variant>$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key>, with salt
// and key in unpadded standard base64, exactly as argon2-cffi, libargon2 and
// alexedwards/argon2id write it: the parameters in that order, numbers
// without leading zeros, no optional fields. The variant is argon2id, or for
// Django's format also argon2i. The parameters are checked against
// MaxParams before anything is computed.
func decodeArgon2(f Format, phc string) (storedHash, error) {
	name := "argon2id"
	if f == FormatDjangoArgon2 {
		name = "Django's argon2"
	}
	fields := strings.Split(phc, "$")
	if len(fields) == 5 && strings.HasPrefix(fields[2], "m=") {
		return nil, invalid("%s: no version field (argon2 1.0, argon2-cffi before 16.0) is not supported", name)
	}
	if len(fields) != 6 || fields[0] != "" {
		return nil, invalid("%s: want 5 fields (variant, version, parameters, salt, key), have %d", name, len(fields)-1)
	}
	h := &argon2Hash{f: f}
	switch {
	case fields[1] == "argon2id":
	case fields[1] == "argon2i" && f == FormatDjangoArgon2:
		h.argon2i = true
	case f == FormatDjangoArgon2:
		return nil, invalid("%s: the variant is not argon2id or argon2i", name)
	default:
		return nil, invalid("%s: the variant is not argon2id", name)
	}
	if fields[2] != "v=19" {
		return nil, invalid("%s: the version is not v=19", name)
	}
	m, t, p, ok := argon2Numbers(fields[3])
	if !ok {
		return nil, invalid("%s: the parameters are not m=<KiB>,t=<iterations>,p=<lanes>", name)
	}
	var err error
	if h.salt, err = decodeBase64(base64.RawStdEncoding, fields[4]); err != nil {
		return nil, invalid("%s: the salt is not unpadded base64", name)
	}
	if h.key, err = decodeBase64(base64.RawStdEncoding, fields[5]); err != nil {
		return nil, invalid("%s: the key is not unpadded base64", name)
	}
	if err := checkArgon2(m, t, p, uint64(len(h.salt)), uint64(len(h.key))); err != nil {
		return nil, invalid("%s: %v", name, err)
	}
	h.params = Params{Memory: uint32(m), Iterations: uint32(t), Parallelism: uint8(p), SaltLength: uint32(len(h.salt)), KeyLength: uint32(len(h.key))}
	return h, nil
}

// argon2Numbers reads "m=<m>,t=<t>,p=<p>".
func argon2Numbers(s string) (m, t, p uint64, ok bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var okM, okT, okP bool
	m, okM = numberAfter(parts[0], "m=")
	t, okT = numberAfter(parts[1], "t=")
	p, okP = numberAfter(parts[2], "p=")
	return m, t, p, okM && okT && okP
}

func numberAfter(s, prefix string) (uint64, bool) {
	rest, found := strings.CutPrefix(s, prefix)
	if !found {
		return 0, false
	}
	return parseDecimal(rest)
}
