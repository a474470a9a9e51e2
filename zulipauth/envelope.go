package zulipauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Field is one extra key of a Zulip error body, kept in order.
type Field struct {
	Key   string
	Value any
}

// Error is a Zulip API error: an HTTP status and the JSON body
//
//	{"result":"error","msg":<Msg>, <Fields…>, "code":<Code>, <Extra…>}
//
// in that key order, as Zulip's json_response_from_error writes it. Code is
// omitted when empty (Zulip's 405 and 500 have none). Header holds extra
// response headers (WWW-Authenticate, Retry-After, Allow).
//
// Handlers return an *Error and [WriteError] writes it; a host application can
// answer its own endpoints with the same constructors. Msg must never contain
// a secret.
type Error struct {
	Status int
	Code   string
	Msg    string
	Fields []Field
	Extra  []Field
	Header http.Header
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("zulip error %d: %s", e.Status, e.Msg)
	}
	return fmt.Sprintf("zulip error %d %s: %s", e.Status, e.Code, e.Msg)
}

// Zulip error codes used by this package.
const (
	CodeBadRequest             = "BAD_REQUEST"
	CodeRequestVariableMissing = "REQUEST_VARIABLE_MISSING"
	CodeRequestVariableInvalid = "REQUEST_VARIABLE_INVALID"
	CodeAuthenticationFailed   = "AUTHENTICATION_FAILED"
	CodeUserDeactivated        = "USER_DEACTIVATED"
	CodeRealmDeactivated       = "REALM_DEACTIVATED"
	CodePasswordAuthDisabled   = "PASSWORD_AUTH_DISABLED"
	CodePasswordResetRequired  = "PASSWORD_RESET_REQUIRED"
	CodeNonexistentSubdomain   = "NONEXISTENT_SUBDOMAIN"
	CodeRateLimitHit           = "RATE_LIMIT_HIT"
	CodeUnauthorized           = "UNAUTHORIZED"
	CodeInvalidAPIKey          = "INVALID_API_KEY"
)

func newError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Msg: msg}
}

// AuthenticationFailed is 401 AUTHENTICATION_FAILED, "Your username or
// password is incorrect".
func AuthenticationFailed() *Error {
	return newError(http.StatusUnauthorized, CodeAuthenticationFailed, "Your username or password is incorrect")
}

// UserDeactivated is 401 USER_DEACTIVATED, "Account is deactivated".
func UserDeactivated() *Error {
	return newError(http.StatusUnauthorized, CodeUserDeactivated, "Account is deactivated")
}

// RealmDeactivated is 401 REALM_DEACTIVATED, "This organization has been
// deactivated".
func RealmDeactivated() *Error {
	return newError(http.StatusUnauthorized, CodeRealmDeactivated, "This organization has been deactivated")
}

// PasswordAuthDisabled is 401 PASSWORD_AUTH_DISABLED.
func PasswordAuthDisabled() *Error {
	return newError(http.StatusUnauthorized, CodePasswordAuthDisabled, "Password authentication is disabled in this organization")
}

// PasswordResetRequired is 401 PASSWORD_RESET_REQUIRED.
func PasswordResetRequired() *Error {
	return newError(http.StatusUnauthorized, CodePasswordResetRequired, "Your password has been disabled and needs to be reset")
}

// InvalidSubdomain is 404 NONEXISTENT_SUBDOMAIN, "Invalid subdomain".
func InvalidSubdomain() *Error {
	return newError(http.StatusNotFound, CodeNonexistentSubdomain, "Invalid subdomain")
}

// RateLimited is 429 RATE_LIMIT_HIT. The wait is rounded up to whole
// seconds, given as a number with a decimal point in the body's
// "retry-after" (360.0: a float, as Zulip sends, and a whole number, as
// Zulip's OpenAPI description types it) and as an integer in the
// Retry-After header, as RFC 9110 requires (Zulip sends a float there).
func RateLimited(retryAfter time.Duration) *Error {
	secs := math.Ceil(max(retryAfter, 0).Seconds())
	e := newError(http.StatusTooManyRequests, CodeRateLimitHit, "API usage exceeded rate limit")
	e.Extra = []Field{{"retry-after", pyFloat(secs)}}
	e.Header = http.Header{"Retry-After": {strconv.FormatInt(int64(secs), 10)}}
	return e
}

// MissingArgument is 400 REQUEST_VARIABLE_MISSING, "Missing '<name>'
// argument", with "var_name".
func MissingArgument(name string) *Error {
	e := newError(http.StatusBadRequest, CodeRequestVariableMissing, "Missing '"+name+"' argument")
	e.Fields = []Field{{"var_name", name}}
	return e
}

// BadRequest is 400 BAD_REQUEST with msg, Zulip's plain JsonableError.
func BadRequest(msg string) *Error {
	return newError(http.StatusBadRequest, CodeBadRequest, msg)
}

// InvalidEmail is Zulip's answer to a username that is not an email address
// where one is required: 400 BAD_REQUEST "Enter a valid email address.".
func InvalidEmail() *Error { return BadRequest("Enter a valid email address.") }

// MethodNotAllowed is 405 "Method Not Allowed" with "allowed_methods" and an
// Allow header, as Zulip's require_post and rest_dispatch answer. It has no
// code.
func MethodNotAllowed(allowed ...string) *Error {
	e := newError(http.StatusMethodNotAllowed, "", "Method Not Allowed")
	e.Fields = []Field{{"allowed_methods", allowed}}
	e.Header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
	return e
}

// InternalError is Zulip's 500 "Internal server error", without a code and
// without detail: the cause belongs in the server's log, not in the body.
func InternalError() *Error {
	return newError(http.StatusInternalServerError, "", "Internal server error")
}

// Unauthorized is 401 UNAUTHORIZED with msg and WWW-Authenticate: Basic
// realm="zulip", Zulip's answer to a failed HTTP Basic API authentication.
func Unauthorized(msg string) *Error {
	e := newError(http.StatusUnauthorized, CodeUnauthorized, msg)
	e.Header = http.Header{"Www-Authenticate": {`Basic realm="zulip"`}}
	return e
}

// WriteError writes err as a Zulip error. An *Error (or one wrapped in err) is
// written as it is; anything else is written as [InternalError], without its
// text, which may carry details of a store or backend.
func WriteError(w http.ResponseWriter, err error) {
	var ze *Error
	if !errors.As(err, &ze) {
		ze = InternalError()
	}
	buf := make([]byte, 0, 128)
	buf = append(buf, `{"result":"error","msg":`...)
	buf = appendJSON(buf, ze.Msg)
	buf = appendFields(buf, ze.Fields)
	if ze.Code != "" {
		buf = append(buf, `,"code":`...)
		buf = appendJSON(buf, ze.Code)
	}
	buf = appendFields(buf, ze.Extra)
	buf = append(buf, "}\n"...)
	h := w.Header()
	for k, v := range ze.Header {
		h[k] = v
	}
	writeJSON(w, ze.Status, buf)
}

// WriteSuccess writes Zulip's success envelope with data merged in:
//
//	{"result":"success","msg":"", <data's keys…>}
//
// data must marshal to a JSON object (a struct, whose field order is kept, or
// a map, whose keys encoding/json sorts) or be nil. A value that does not is a
// programming error: WriteSuccess then writes [InternalError] and returns the
// reason.
func WriteSuccess(w http.ResponseWriter, data any) error {
	buf, err := successBody(data)
	if err != nil {
		WriteError(w, InternalError())
		return err
	}
	writeJSON(w, http.StatusOK, buf)
	return nil
}

func successBody(data any) ([]byte, error) {
	buf := make([]byte, 0, 256)
	buf = append(buf, `{"result":"success","msg":""`...)
	if data != nil {
		obj, err := marshal(data)
		if err != nil {
			return nil, fmt.Errorf("zulipauth: WriteSuccess: %w", err)
		}
		if len(obj) < 2 || obj[0] != '{' {
			if string(obj) != "null" {
				return nil, fmt.Errorf("zulipauth: WriteSuccess: data is not a JSON object: %T", data)
			}
			obj = []byte("{}")
		}
		if inner := obj[1 : len(obj)-1]; len(inner) > 0 {
			buf = append(buf, ',')
			buf = append(buf, inner...)
		}
	}
	return append(buf, "}\n"...), nil
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	// One slice holds the three values (a response's headers are its own:
	// a slice shared between responses could be written through).
	vals := []string{"application/json", strconv.Itoa(len(body)), "nosniff"}
	h["Content-Type"] = vals[0:1:1]
	h["Content-Length"] = vals[1:2:2]
	h["X-Content-Type-Options"] = vals[2:3:3]
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client is gone; nothing to do
}

func appendFields(buf []byte, fs []Field) []byte {
	for _, f := range fs {
		buf = append(buf, ',')
		buf = appendJSON(buf, f.Key)
		buf = append(buf, ':')
		buf = appendJSON(buf, f.Value)
	}
	return buf
}

// appendJSON appends v compactly, without HTML escaping, as orjson writes it.
func appendJSON(buf []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		if isPlainJSONString(v) {
			buf = append(buf, '"')
			buf = append(buf, v...)
			return append(buf, '"')
		}
	case pyFloat:
		return v.appendTo(buf)
	}
	b, err := marshal(v)
	if err != nil {
		return append(buf, "null"...)
	}
	return append(buf, b...)
}

// isPlainJSONString reports whether s needs no escaping in a JSON string.
func isPlainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// pyFloat is a float that JSON-encodes as Python does: always with a decimal
// point or exponent (1800.0, not 1800), so clients that type it as a float
// see one.
type pyFloat float64

func (f pyFloat) appendTo(buf []byte) []byte {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(buf, '0')
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
	if bytes.IndexByte(buf[start:], '.') < 0 {
		buf = append(buf, ".0"...)
	}
	return buf
}

// MarshalJSON lets pyFloat appear inside values encoded by encoding/json.
func (f pyFloat) MarshalJSON() ([]byte, error) { return f.appendTo(nil), nil }
