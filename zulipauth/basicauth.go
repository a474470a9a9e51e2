package zulipauth

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Messages of HTTP Basic API authentication failures, as Zulip words them.
const (
	msgNotLoggedIn       = "Not logged in: API authentication or user session required"
	msgInvalidBasicAuth  = "Invalid authorization header for basic auth"
	msgBasicAuthRequired = "This endpoint requires HTTP basic authentication."
	msgMalformedAPIKey   = "Malformed API key"
	msgInvalidAPIKey     = "Invalid API key"
	msgWrongSubdomain    = "Account is not associated with this subdomain"
)

// parseBasicAuth reads "Basic base64(email:api_key)" as Zulip's
// get_basic_credentials does: the header splits on white space into exactly
// two tokens (else 401 "Invalid authorization header"), the scheme is
// "basic" in any case (else 400 "This endpoint requires HTTP basic
// authentication."), the rest decodes as base64 of UTF-8 holding exactly one
// colon (else 401 "Invalid authorization header"); both parts are trimmed.
func parseBasicAuth(header string) (email, key string, zerr *Error) {
	encoded, ok := plainBasicCredentials(header)
	if !ok {
		var scheme string
		scheme, encoded, ok = twoFields(header)
		if !ok {
			return "", "", Unauthorized(msgInvalidBasicAuth)
		}
		if !strings.EqualFold(scheme, "basic") {
			return "", "", BadRequest(msgBasicAuthRequired)
		}
		encoded = pythonBase64(encoded)
	}
	// Decode into the stack: a header of any usual size costs no allocation
	// beyond the credentials' string.
	var buf [256]byte
	raw := buf[:0]
	if n := base64.StdEncoding.DecodedLen(len(encoded)); n > len(buf) {
		raw = make([]byte, 0, n)
	}
	raw, err := base64.StdEncoding.AppendDecode(raw, []byte(encoded))
	if err != nil || !utf8.Valid(raw) {
		return "", "", Unauthorized(msgInvalidBasicAuth)
	}
	creds := string(raw)
	if strings.Count(creds, ":") != 1 {
		return "", "", Unauthorized(msgInvalidBasicAuth)
	}
	email, key, _ = strings.Cut(creds, ":")
	return strings.TrimSpace(email), strings.TrimSpace(key), nil
}

// plainBasicCredentials recognizes the header every client sends, "Basic "
// (in any case) and then only base64 characters, and returns its base64
// part. Such a header is two fields and needs no cleaning, so it skips the
// general path's splitting and filtering: one pass over a table instead of
// three over comparisons, on every API request.
func plainBasicCredentials(header string) (string, bool) {
	const prefix = "basic "
	if len(header) <= len(prefix) || header[len(prefix)-1] != ' ' || !strings.EqualFold(header[:len(prefix)-1], prefix[:len(prefix)-1]) {
		return "", false
	}
	encoded := header[len(prefix):]
	return encoded, allBase64(encoded)
}

// twoFields splits s on white space, as Python's str.split() does, and
// reports whether it has exactly two fields. ASCII headers, all but the
// strangest, are split in one pass without allocating.
func twoFields(s string) (string, string, bool) {
	if !isASCII(s) {
		f := strings.Fields(s)
		if len(f) != 2 {
			return "", "", false
		}
		return f[0], f[1], true
	}
	var bounds [4]int // start and end of each field
	n := 0
	inField := false
	for i := 0; i < len(s); i++ {
		if space := isPySpace(s[i]); space == inField {
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

// isPySpace reports whether c is ASCII white space to Python's str.split():
// \t \n \v \f \r, the separators \x1c-\x1f, and the space.
func isPySpace(c byte) bool { return byteClass[c]&classPySpace != 0 }

// pythonBase64 drops the characters Python's non-validating b64decode
// ignores: anything outside the base64 alphabet and "=".
func pythonBase64(s string) string {
	if allBase64(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if isBase64Char(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func isBase64Char(c byte) bool { return byteClass[c]&classBase64 != 0 }

func allBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		if byteClass[s[i]]&classBase64 == 0 {
			return false
		}
	}
	return true
}

// Classes of bytes, looked up in byteClass: the header parsers test every
// byte of every API request's Authorization header.
const (
	classPySpace = 1 << iota // white space to Python's str.split()
	classBase64              // the base64 alphabet and "="
	classAlnum               // ASCII letters and digits
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if b == ' ' || '\t' <= b && b <= '\r' || '\x1c' <= b && b <= '\x1f' {
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
