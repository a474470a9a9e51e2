package form

import (
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
