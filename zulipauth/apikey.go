package zulipauth

import (
	"crypto/rand"
	"crypto/subtle"
)

// apiKeyLength is the length of a Zulip API key.
const apiKeyLength = 32

const apiKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// GenerateAPIKey returns a new API key: 32 characters of [A-Za-z0-9] drawn
// uniformly from crypto/rand (about 190 bits), the format Zulip's
// generate_api_key produces and has_api_key_format accepts.
func GenerateAPIKey() string {
	var key [apiKeyLength]byte
	var buf [64]byte
	n := 0
	for n < len(key) {
		rand.Read(buf[:]) // never fails (crypto/rand panics on a broken source)
		for _, b := range buf {
			// 62 letters: reject bytes >= 248 (4×62) so each is uniform.
			if b >= 248 {
				continue
			}
			key[n] = apiKeyAlphabet[b%62]
			if n++; n == len(key) {
				break
			}
		}
	}
	return string(key[:])
}

// ValidAPIKeyFormat reports whether key has the format of an API key:
// exactly 32 characters of [A-Za-z0-9]. A key of another format is
// "Malformed API key" and needs no store lookup.
func ValidAPIKeyFormat(key string) bool {
	if len(key) != apiKeyLength {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// equalAPIKeys compares two keys in time that depends only on their length,
// so a comparison does not reveal how much of a guessed key is right.
func equalAPIKeys(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
