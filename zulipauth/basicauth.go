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
	fields := strings.Fields(header)
	if len(fields) != 2 {
		return "", "", Unauthorized(msgInvalidBasicAuth)
	}
	if !strings.EqualFold(fields[0], "basic") {
		return "", "", BadRequest(msgBasicAuthRequired)
	}
	raw, err := base64.StdEncoding.DecodeString(pythonBase64(fields[1]))
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
