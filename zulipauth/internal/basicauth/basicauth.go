// Package basicauth reads an HTTP Basic Authorization header exactly as
// Zulip's get_basic_credentials reads it (Python's split, lower,
// b64decode and strip over the header's Latin-1 string), so that no header
// is accepted here that Zulip refuses.
package basicauth

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The failures of Parse, worded as Zulip words them.
var (
	// ErrInvalid: Zulip's 401 "Invalid authorization header for basic
	// auth".
	ErrInvalid = errors.New("Invalid authorization header for basic auth")
	// ErrNotBasic: another scheme than Basic, Zulip's 400.
	ErrNotBasic = errors.New("This endpoint requires HTTP basic authentication.")
)

// Parse reads "Basic base64(email:api_key)" as Zulip's
// get_basic_credentials does. The header reaches Django as a Latin-1 string
// (PEP 3333), one character per byte, so the rules below are about bytes:
//
//   - it splits on white space into exactly two tokens, else [ErrInvalid];
//   - the scheme is "basic" in any ASCII case (Python's lower() of no other
//     Latin-1 character gives an ASCII letter), else [ErrNotBasic];
//   - the rest decodes as base64 the way Python's b64decode does (see
//     decodeBase64Python), to UTF-8 holding exactly one colon, else
//     [ErrInvalid];
//   - both parts are trimmed.
func Parse(header string) (email, key string, err error) {
	encoded, ok := plainBasicCredentials(header)
	if !ok {
		var scheme string
		scheme, encoded, ok = twoFields(header)
		if !ok {
			return "", "", ErrInvalid
		}
		if !isBasicScheme(scheme) {
			return "", "", ErrNotBasic
		}
	}
	// Decode into the stack: a header of any usual size costs no allocation
	// beyond the credentials' string.
	var buf [256]byte
	raw := buf[:0]
	if n := len(encoded) * 3 / 4; n > len(buf) {
		raw = make([]byte, 0, n)
	}
	raw, ok = decodeBase64Python(raw, encoded)
	if !ok || !utf8.Valid(raw) {
		return "", "", ErrInvalid
	}
	creds := string(raw)
	if strings.Count(creds, ":") != 1 {
		return "", "", ErrInvalid
	}
	email, key, _ = strings.Cut(creds, ":")
	return pyStrip(email), pyStrip(key), nil
}

// pyStrip trims s as Python's str.strip() does: Unicode white space and the
// separators \x1c-\x1f, which Go's unicode.IsSpace leaves out.
func pyStrip(s string) string {
	return strings.TrimFunc(s, isPySpaceRune)
}

func isPySpaceRune(r rune) bool { return unicode.IsSpace(r) || '\x1c' <= r && r <= '\x1f' }

// plainBasicCredentials recognizes the header every client sends, "Basic "
// (in any case) and then only base64 characters, and returns its base64
// part. Such a header is two fields, so it skips the general path's
// splitting, on every API request.
func plainBasicCredentials(header string) (string, bool) {
	const prefix = "basic "
	if len(header) <= len(prefix) || header[len(prefix)-1] != ' ' || !isBasicScheme(header[:len(prefix)-1]) {
		return "", false
	}
	encoded := header[len(prefix):]
	for i := 0; i < len(encoded); i++ {
		if byteClass[encoded[i]]&classBase64 == 0 {
			return "", false
		}
	}
	return encoded, true
}

// isBasicScheme reports whether s.lower() == "basic" in Python.
func isBasicScheme(s string) bool {
	const basic = "basic"
	if len(s) != len(basic) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != basic[i] {
			return false
		}
	}
	return true
}

// twoFields splits s on white space, as Python's str.split() splits the
// Latin-1 string s stands for, and reports whether it has exactly two
// fields. It does not allocate.
func twoFields(s string) (string, string, bool) {
	var bounds [4]int // start and end of each field
	n := 0
	inField := false
	for i := 0; i < len(s); i++ {
		if space := byteClass[s[i]]&classPySpace != 0; space == inField {
			if n == len(bounds) {
				return "", "", false // a third field
			}
			bounds[n] = i
			n++
			inField = !space
		}
	}
	if inField {
		if n == len(bounds) {
			return "", "", false
		}
		bounds[n] = len(s)
		n++
	}
	if n != 4 {
		return "", "", false
	}
	return s[bounds[0]:bounds[1]], s[bounds[2]:bounds[3]], true
}

// decodeBase64Python appends to dst what Python's base64.b64decode(s)
// returns, or reports false where it raises. It refuses a string with a
// character outside ASCII; then, as binascii.a2b_base64 without strict mode,
// it skips characters outside the base64 alphabet, stops at the "=" that
// completes a quantum (ignoring the rest), ignores "=" that cannot, and
// fails when the data characters leave a partial quantum. Go's decoders
// refuse some of what Python accepts ("YQ===", "YWJj=", "YQ==junk").
func decodeBase64Python(dst []byte, s string) ([]byte, bool) {
	// Whatever Go's decoder accepts (padded standard base64, what clients
	// send, with \r and \n skipped) Python reads alike, and Go's is faster.
	n := len(dst)
	if out, err := base64.StdEncoding.AppendDecode(dst, []byte(s)); err == nil {
		return out, true
	}
	return decodeBase64PythonLoop(dst[:n], s)
}

// decodeBase64PythonLoop is decodeBase64Python for any input, following
// binascii.a2b_base64 character by character.
func decodeBase64PythonLoop(dst []byte, s string) ([]byte, bool) {
	if !isASCII(s) {
		return dst, false
	}
	quad, pads := 0, 0
	var left byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return dst, true
				}
			}
			continue
		}
		v := base64Value[c]
		if v == notBase64 {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			left, quad = v, 1
		case 1:
			dst = append(dst, left<<2|v>>4)
			left, quad = v&0x0f, 2
		case 2:
			dst = append(dst, left<<4|v>>2)
			left, quad = v&0x03, 3
		case 3:
			dst = append(dst, left<<6|v)
			quad = 0
		}
	}
	return dst, quad == 0
}

// base64Value maps a byte to its value in the standard base64 alphabet, or
// to notBase64.
var base64Value = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = notBase64
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

const notBase64 = 0xff

// Classes of bytes, looked up in byteClass: the header parsers test every
// byte of every API request's Authorization header.
const (
	classPySpace = 1 << iota // white space to Python's str.split() of a Latin-1 string
	classBase64              // the base64 alphabet and "="
	classAlnum               // ASCII letters and digits
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		// \x85 (NEL) and \xa0 (NO-BREAK SPACE) are white space in Latin-1.
		if b == ' ' || '\t' <= b && b <= '\r' || '\x1c' <= b && b <= '\x1f' || b == 0x85 || b == 0xa0 {
			t[c] |= classPySpace
		}
		if '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' {
			t[c] |= classAlnum | classBase64
		}
		if b == '+' || b == '/' || b == '=' {
			t[c] |= classBase64
		}
	}
	return t
}()

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
