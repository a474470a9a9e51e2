package basicauth

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"unicode"
)

// latin1Fields splits s as Python's str.split() splits the Latin-1 string
// s stands for: each byte is one character, and white space is Unicode's
// (plus the separators \x1c-\x1f) among the first 256 code points.
func latin1Fields(s string) []string {
	var fields []string
	start := -1
	for i := 0; i <= len(s); i++ {
		space := i == len(s) || unicode.IsSpace(rune(s[i])) || '\x1c' <= s[i] && s[i] <= '\x1f'
		switch {
		case space && start >= 0:
			fields = append(fields, s[start:i])
			start = -1
		case !space && start < 0:
			start = i
		}
	}
	return fields
}

// FuzzTwoFields: the one-pass split agrees with Python's, and the fast path
// for the usual header agrees with the general one.
func FuzzTwoFields(f *testing.F) {
	for _, s := range []string{"Basic abc", "  Basic\t abc  ", "a b c", "", " ", "x", "a\x1cb", "Basic\u00a0abc",
		"Basic\xa0abc", "Basic\x85abc", "basic YWJj", "BASIC YWJj=", "Basic  YWJj", "Basic YW*Jj", "Basic ", "ba\u017fic YWJj"} {
		f.Add(s)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	f.Fuzz(func(t *testing.T, s string) {
		a, b, ok := twoFields(s)
		want := latin1Fields(s)
		if ok != (len(want) == 2) || ok && (a != want[0] || b != want[1]) {
			t.Fatalf("twoFields(%q) = %q, %q, %v; want %q", s, a, b, ok, want)
		}
		// The fast path takes exactly the headers whose general reading is
		// "basic" in ASCII case, one space, then base64 characters only.
		enc, fast := plainBasicCredentials(s)
		clean := strings.Trim(b, alphabet) == ""
		usual := ok && strings.ToLower(a) == "basic" && isASCII(a) && s == a+" "+b && clean
		if fast != usual || fast && enc != b {
			t.Fatalf("plainBasicCredentials(%q) = %q, %v; the general path reads %q, %q, %v", s, enc, fast, a, b, ok)
		}
	})
}

// What Python 3's base64.b64decode (not validating) returns for each input,
// or that it raises (binascii.Error or, for non-ASCII, ValueError).
func TestDecodeBase64Python(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"YWJj", "abc", true},
		{"", "", true},
		{"YQ==", "a", true},
		{"YWI=", "ab", true},
		{"YQ===", "a", true},     // padding completes the quantum; the rest is ignored
		{"YQ==YQ==", "a", true},  // so is data after it
		{"YWJj=", "abc", true},   // "=" where no quantum is open is ignored
		{"=YWJj", "abc", true},   //
		{"Y=Q==", "a", true},     // a "=" after one character is ignored
		{"YW Jj", "abc", true},   // characters outside the alphabet are skipped
		{"YW*J\nj", "abc", true}, //
		{"YR==", "a", true},      // leftover bits are ignored
		{"YWJjZA", "", false},    // a partial quantum: "Incorrect padding"
		{"YQ=", "", false},       //
		{"Y", "", false},         // one character more than a multiple of 4
		{"YWJjZ", "", false},     //
		{"YWJj\xe9", "", false},  // non-ASCII: "string argument should contain only ASCII characters"
		{"YQ==\xe9", "", false},  // even after the end of the data
	} {
		got, ok := decodeBase64Python(nil, tc.in)
		if ok != tc.ok || ok && string(got) != tc.want {
			t.Errorf("decodeBase64Python(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// The fast path for padded base64 agrees with the character-by-character
// reading; whatever Go's decoder accepts Python's reads alike; and encoded
// data round-trips.
func FuzzDecodeBase64Python(f *testing.F) {
	for _, s := range []string{"YWJj", "YQ==", "YQ===", "Y=Q=", "YW=J", "====", "", "YWJj\xe9", "aWFnb0B6dWxpcC5jb206YWJj"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := decodeBase64Python(nil, s)
		slow, slowOK := decodeBase64PythonLoop(nil, s)
		if ok != slowOK || ok && !bytes.Equal(got, slow) {
			t.Fatalf("decodeBase64Python(%q) = %q, %v; the loop reads %q, %v", s, got, ok, slow, slowOK)
		}
		if data, err := base64.StdEncoding.DecodeString(s); err == nil && (!ok || !bytes.Equal(got, data)) {
			t.Fatalf("decodeBase64Python(%q) = %q, %v; Go decodes %q", s, got, ok, data)
		}
		enc := base64.StdEncoding.EncodeToString([]byte(s))
		if back, ok := decodeBase64Python(nil, enc); !ok || string(back) != s {
			t.Fatalf("decodeBase64Python(%q) = %q, %v; want %q", enc, back, ok, s)
		}
	})
}

// BenchmarkParse: the header every API request carries.
func BenchmarkParse(b *testing.B) {
	r, _ := http.NewRequest(http.MethodGet, "http://zulip.example.com/", nil)
	r.SetBasicAuth("iago@zulip.com", "abcdefghijklmnopqrstuvwxyz012345")
	header := r.Header.Get("Authorization")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := Parse(header); err != nil {
			b.Fatal(err)
		}
	}
}
