package zulipauth

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzTwoFields: the one-pass split agrees with splitting on Python's
// white space.
func FuzzTwoFields(f *testing.F) {
	for _, s := range []string{"Basic abc", "  Basic\t abc  ", "a b c", "", " ", "x", "a\x1cb", "Basic\u00a0abc", "basic YWJj", "BASIC YWJj=", "Basic  YWJj", "Basic YW*Jj", "Basic "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b, ok := twoFields(s)
		var want []string
		if isASCII(s) {
			want = strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" \t\n\v\f\r\x1c\x1d\x1e\x1f", r) })
		} else {
			want = strings.Fields(s)
		}
		if ok != (len(want) == 2) || ok && (a != want[0] || b != want[1]) {
			t.Fatalf("twoFields(%q) = %q, %q, %v; want %q", s, a, b, ok, want)
		}
		// The fast path for the usual header takes exactly the headers
		// whose general reading is "Basic" then clean base64 after one
		// space, and reads them alike.
		enc, fast := plainBasicCredentials(s)
		usual := ok && strings.EqualFold(a, "basic") && s == a+" "+b && pythonBase64(b) == b
		if fast != usual || fast && enc != b {
			t.Fatalf("plainBasicCredentials(%q) = %q, %v; the general path reads %q, %q, %v", s, enc, fast, a, b, ok)
		}
	})
}

// BenchmarkParseBasicAuth: the header every API request carries.
func BenchmarkParseBasicAuth(b *testing.B) {
	r, _ := http.NewRequest(http.MethodGet, "http://zulip.example.com/", nil)
	r.SetBasicAuth("iago@zulip.com", "abcdefghijklmnopqrstuvwxyz012345")
	header := r.Header.Get("Authorization")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, zerr := parseBasicAuth(header); zerr != nil {
			b.Fatal(zerr)
		}
	}
}
