package form

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUnquotePlus(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"a+b", "a b"},
		{"%41%42", "AB"},
		{"%", "%"},
		{"%z", "%z"},
		{"%zz1", "%zz1"},
		{"%4", "%4"},
		{"100%", "100%"},
		{"%C3%A9", "é"},
		{"%ff", "\ufffd"},
		{"\xff", "\ufffd"},
		{"%00", "\x00"},
		{"%2B", "+"},
	}
	for _, tt := range tests {
		if got := unquotePlus(tt.in); got != tt.want {
			t.Errorf("unquotePlus(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseURLEncodedTooManyFields(t *testing.T) {
	t.Parallel()
	if _, err := parseURLEncoded(strings.Repeat("a=b&", MaxFields-1) + "a=b"); err != nil {
		t.Errorf("%d fields refused: %v", MaxFields, err)
	}
	if _, err := parseURLEncoded(strings.Repeat("a=b&", MaxFields) + "a=b"); err == nil {
		t.Errorf("%d fields accepted", MaxFields+1)
	}
}

// FuzzParseForm: parameter parsing never panics, and what it accepts is
// valid UTF-8 with the last-value rule holding.
func FuzzParseForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "username=a%40b.c&password=x&password=y", "q=1")
	f.Add("multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"u\"\r\n\r\nv\r\n--B--\r\n", "")
	f.Add("multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\nv\r\n--B--", "")
	f.Add("text/plain", "%%%", "%zz=%ff&&=")
	f.Fuzz(func(t *testing.T, ct, body, query string) {
		r := httptest.NewRequest("POST", "/api/v1/fetch_api_key", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", ct)
		form, zerr := Parse(httptest.NewRecorder(), r, 4096)
		if zerr != nil {
			if zerr.Status != 400 && zerr.Status != 413 {
				t.Fatalf("parse error with status %d", zerr.Status)
			}
			return
		}
		for _, fs := range [][]formField{form.body, form.query} {
			for _, kv := range fs {
				if !utf8.ValidString(kv.key) || !utf8.ValidString(kv.value) {
					t.Fatalf("invalid UTF-8 in %q=%q", kv.key, kv.value)
				}
			}
		}
		for _, kv := range form.query {
			v, ok := form.Get(kv.key)
			if !ok {
				t.Fatalf("get(%q) missing", kv.key)
			}
			_ = v
		}
		if len(form.body) > 0 {
			last := form.body[len(form.body)-1]
			if v, _ := form.Get(last.key); v != last.value {
				t.Fatalf("get(%q) = %q, want the last body value %q", last.key, v, last.value)
			}
		}
	})
}

// TestBodyLongerThanItsLength pins the answers to a body that goes on past
// its Content-Length (only a request built by hand has one), which
// http.MaxBytesReader used to give and readKnownLength gives without it:
// 400 below the cap, the first Content-Length bytes when the length is the
// cap; and 413 when a cap the host put on the body cuts it.
func TestBodyLongerThanItsLength(t *testing.T) {
	t.Parallel()
	const body = "username=a%40b.c&password=x"
	tests := []struct {
		name        string
		length, max int64
		hostCap     int64
		status      int
		username    string
	}{
		{"length at the cap", 10, 10, 0, 0, "a"}, // "username=a"
		{"length under the cap", 10, 100, 0, 400, ""},
		{"the host's own cap", int64(len(body)), 100, 5, 413, ""},
		{"exact", int64(len(body)), 100, 0, 0, "a@b.c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/api/v1/fetch_api_key", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.ContentLength = tt.length
			if tt.hostCap > 0 {
				r.Body = http.MaxBytesReader(w, r.Body, tt.hostCap)
			}
			f, err := Parse(w, r, tt.max)
			switch {
			case tt.status == 0 && err != nil:
				t.Fatalf("refused with %d %s", err.Status, err.Msg)
			case tt.status == 0:
				if v, _ := f.Get("username"); v != tt.username {
					t.Errorf("username %q, want %q", v, tt.username)
				}
			case err == nil || err.Status != tt.status:
				t.Errorf("got %v, want %d", err, tt.status)
			}
		})
	}
}
