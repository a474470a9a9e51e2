package zulipauth

import (
	"strings"
	"testing"
)

// FuzzTwoFields: the one-pass split agrees with splitting on Python's
// white space.
func FuzzTwoFields(f *testing.F) {
	for _, s := range []string{"Basic abc", "  Basic\t abc  ", "a b c", "", " ", "x", "a\x1cb", "Basic\u00a0abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b, ok := twoFields(s)
		var want []string
		if isASCII(s) {
			want = strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isPySpace(byte(r)) })
		} else {
			want = strings.Fields(s)
		}
		if ok != (len(want) == 2) || ok && (a != want[0] || b != want[1]) {
			t.Fatalf("twoFields(%q) = %q, %q, %v; want %q", s, a, b, ok, want)
		}
	})
}
