package zulipauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// WriteError writes err as a Zulip error: an *Error (or one wrapped in err)
// as it is, one of this package's sentinels as a login answers it
// (ErrUserDeactivated as 401 USER_DEACTIVATED, say), anything else as
// Zulip's 500 "Internal server error", without its text, which may carry
// details of a store or backend.
func WriteError(w http.ResponseWriter, err error) {
	_, ze := classify(epLogin, err)
	buf := make([]byte, 0, 128)
	buf = append(buf, `{"result":"error","msg":`...)
	buf = appendString(buf, ze.Msg)
	buf = appendFields(buf, ze.fields)
	if ze.Code != "" {
		buf = append(buf, `,"code":`...)
		buf = appendString(buf, ze.Code)
	}
	if ze.limited {
		buf = append(buf, `,"retry-after":`...)
		buf = pyFloat(ze.retryAfter).appendTo(buf)
	}
	buf = append(buf, "}\n"...)
	h := w.Header()
	if ze.waitHeader {
		h["Retry-After"] = []string{strconv.FormatInt(ze.retryAfter, 10)}
	}
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
// programming error: WriteSuccess then writes Zulip's 500 and returns the
// reason.
func WriteSuccess(w http.ResponseWriter, data any) error {
	buf, err := successBody(data)
	if err != nil {
		WriteError(w, err)
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

func appendFields(buf []byte, fs []field) []byte {
	for _, f := range fs {
		buf = append(buf, ',')
		buf = appendString(buf, f.key)
		buf = append(buf, ':')
		buf = appendJSON(buf, f.value)
	}
	return buf
}

// appendString is appendJSON for a string, which it spares the boxing
// into an interface (an allocation).
func appendString(buf []byte, s string) []byte {
	if !isPlainJSONString(s) {
		return appendJSON(buf, s)
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendJSON appends v compactly, without HTML escaping, as orjson writes it.
func appendJSON(buf []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		if isPlainJSONString(v) {
			return appendString(buf, v)
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
