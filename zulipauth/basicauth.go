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
	scheme, encoded, ok := twoFields(header)
	if !ok {
		return "", "", Unauthorized(msgInvalidBasicAuth)
	}
	if !strings.EqualFold(scheme, "basic") {
		return "", "", BadRequest(msgBasicAuthRequired)
	}
	// Decode into the stack: a header of any usual size costs no allocation
	// beyond the credentials' string.
	var buf [256]byte
	src := pythonBase64(encoded)
	raw := buf[:0]
	if n := base64.StdEncoding.DecodedLen(len(src)); n > len(buf) {
		raw = make([]byte, 0, n)
	}
	raw, err := base64.StdEncoding.AppendDecode(raw, []byte(src))
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
func isPySpace(c byte) bool {
	return c == ' ' || '\t' <= c && c <= '\r' || '\x1c' <= c && c <= '\x1f'
}

// pythonBase64 drops the characters Python's non-validating b64decode
// ignores: anything outside the base64 alphabet and "=".
func pythonBase64(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !isBase64Char(s[i]) {
			clean = false
			break
		}
	}
	if clean {
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

func isBase64Char(c byte) bool {
	return isAlnumASCII(c) || c == '+' || c == '/' || c == '='
}
