// Package form reads a request's parameters the way Django fills
// request.POST and request.GET: urlencoded and multipart bodies only, then
// the query string, the last of duplicates winning, values decoded
// leniently as Python decodes them.
package form

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxFields bounds the parameters a request may carry, body and query
// string each, as Django's DATA_UPLOAD_MAX_NUMBER_FIELDS does.
const MaxFields = 1000

// Form holds a request's parameters the way Django's request.POST and
// request.GET do: body fields (urlencoded or multipart only) and query-string
// fields, each in the order sent.
type Form struct {
	body  []formField
	query []formField
}

type formField struct{ key, value string }

// Get returns the last value of name in the body, else the last in the query
// string: Django's POST-then-GET lookup with QueryDict's last-value rule.
func (f *Form) Get(name string) (string, bool) {
	for _, fs := range [2][]formField{f.body, f.query} {
		for i := len(fs) - 1; i >= 0; i-- {
			if fs[i].key == name {
				return fs[i].value, true
			}
		}
	}
	return "", false
}

// Unused returns, sorted and without duplicates, the parameter names that
// are not in used: Zulip's ignored_parameters_unsupported. Nil when none.
func (f *Form) Unused(used ...string) []string {
	var out []string
	for _, fs := range [2][]formField{f.body, f.query} {
		for _, kv := range fs {
			if !slices.Contains(used, kv.key) && !slices.Contains(out, kv.key) {
				out = append(out, kv.key)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Error is why a request's parameters cannot be read: the HTTP status of
// the answer (400, or 413 for a body over the cap) and Zulip's words for it.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

var (
	errTooManyFields = &Error{http.StatusBadRequest, "Too many parameters"}
	errBodyTooLarge  = &Error{http.StatusRequestEntityTooLarge, "Request body too large"}
	errBodyUnread    = &Error{http.StatusBadRequest, "Could not read the request body"}
	errBadMultipart  = &Error{http.StatusBadRequest, "Malformed multipart body"}
)

// Parse reads the parameters of r. The body is read only for the two
// form content types, and never beyond maxBody bytes; other bodies (JSON
// among them) are not read and contribute nothing, as in Django. Values are
// decoded leniently, as Django does: an invalid percent escape stays as it
// is and invalid UTF-8 becomes U+FFFD, so no value makes parsing fail.
// w only lets the body's cap close the connection (http.MaxBytesReader).
// The Form is returned by value, so that it can live in its caller's
// frame.
func Parse(w http.ResponseWriter, r *http.Request, maxBody int64) (Form, *Error) {
	var f Form
	var err *Error
	if f.query, err = parseURLEncoded(r.URL.RawQuery); err != nil {
		return Form{}, err
	}
	ct, params, perr := mediaType(r.Header.Get("Content-Type"))
	if perr != nil && !errors.Is(perr, mime.ErrInvalidMediaParameter) {
		return f, nil // not a form: Django ignores such a body
	}
	if ct != "application/x-www-form-urlencoded" && ct != "multipart/form-data" {
		return f, nil
	}
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return Form{}, err
	}
	if ct == "multipart/form-data" {
		f.body, err = parseMultipart(body, params["boundary"])
	} else {
		f.body, err = parseURLEncoded(string(body))
	}
	if err != nil {
		return Form{}, err
	}
	return f, nil
}

// mediaType is mime.ParseMediaType with a fast path for the plain
// urlencoded type that every client but zulip-js sends.
func mediaType(v string) (string, map[string]string, error) {
	const urlencoded = "application/x-www-form-urlencoded"
	if v == urlencoded {
		return urlencoded, nil, nil
	}
	return mime.ParseMediaType(v)
}

func readBody(w http.ResponseWriter, r *http.Request, maxBody int64) ([]byte, *Error) {
	if r.ContentLength > maxBody {
		return nil, errBodyTooLarge
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > 0 {
		return readKnownLength(r.Body, r.ContentLength, maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, readError(err)
	}
	return body, nil
}

// readKnownLength reads a body of n bytes, n <= maxBody, in one
// allocation, and checks that nothing follows (only a request built by
// hand has more). It needs no http.MaxBytesReader (an allocation), and
// answers as one did: a body that goes on is refused (400), except when n
// is the cap, where the reader gave no byte past it and no error either.
func readKnownLength(rd io.Reader, n, maxBody int64) ([]byte, *Error) {
	body := make([]byte, n)
	if _, err := io.ReadFull(rd, body); err != nil {
		return nil, readError(err)
	}
	var one [1]byte
	if m, _ := rd.Read(one[:]); m > 0 && n < maxBody {
		return nil, errBodyUnread
	}
	return body, nil
}

// readError is the answer to a body that could not be read: 413 when a
// cap (this package's or one the host put on the body) cut it, else 400.
func readError(err error) *Error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	}
	return errBodyUnread
}

// parseURLEncoded splits an application/x-www-form-urlencoded string as
// Python's parse_qsl(keep_blank_values=True) does: fields are separated by
// "&", empty fields are skipped, a field without "=" has an empty value.
func parseURLEncoded(s string) ([]formField, *Error) {
	if s == "" {
		return nil, nil
	}
	if strings.Count(s, "&")+1 > MaxFields {
		return nil, errTooManyFields
	}
	fields := make([]formField, 0, strings.Count(s, "&")+1)
	for s != "" {
		var field string
		field, s, _ = strings.Cut(s, "&")
		if field == "" {
			continue
		}
		k, v, _ := strings.Cut(field, "=")
		fields = append(fields, formField{unquotePlus(k), unquotePlus(v)})
	}
	return fields, nil
}

// unquotePlus is Python's unquote_plus(s, errors="replace"): "+" is a space,
// "%XX" is a byte, anything else (a lone "%", "%zz") is kept as it is, and the
// bytes are read as UTF-8 with each invalid byte replaced by U+FFFD.
func unquotePlus(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return validUTF8(s)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return validUTF8(string(b))
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// validUTF8 returns s with every byte that is not part of a valid UTF-8
// sequence replaced by U+FFFD, as Python's errors="replace" decoding.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// parseMultipart reads the non-file fields of a multipart/form-data body,
// the way Django fills request.POST from one. Parts that carry a file name
// are files and are skipped; parts without a form name are ignored.
func parseMultipart(body []byte, boundary string) ([]formField, *Error) {
	if boundary == "" {
		return nil, errBadMultipart
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var fields []formField
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, nil
		}
		if err != nil {
			return nil, errBadMultipart
		}
		name, isFile := partName(p.Header)
		if name == "" || isFile {
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, errBadMultipart
		}
		if len(fields) == MaxFields {
			return nil, errTooManyFields
		}
		fields = append(fields, formField{validUTF8(name), validUTF8(string(v))})
	}
}

// partName returns the form field name of a part and whether it is a file.
func partName(h textproto.MIMEHeader) (string, bool) {
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || disp != "form-data" {
		return "", false
	}
	_, isFile := params["filename"]
	return params["name"], isFile
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
