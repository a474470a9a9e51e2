package logtext_test

import (
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/internal/logtext"
)

// The provider's words, and a library's, reach an error cut short and
// without control characters.
func TestExcerptAndClean(t *testing.T) {
	for _, tt := range []struct {
		in             string
		n              int
		excerpt, clean string
	}{
		{"access_denied", 64, `"access_denied"`, "access_denied"},
		{"access_denied", 6, `"access"...`, "access..."},
		{"a\nb\x00c", 64, `"a\nb\x00c"`, "a?b?c"},
		{strings.Repeat("é", 10), 9, `"\u00e9"...`, "éééé..."}, // 9 bytes: one escape, or four characters
		{"\u202eevil", 64, `"\u202eevil"`, "?evil"},            // a right-to-left override
		{"\xff", 64, `"\xff"`, "?"},
	} {
		if got := logtext.Excerpt(tt.in, tt.n); got != tt.excerpt {
			t.Errorf("Excerpt(%q, %d) is %s, want %s", tt.in, tt.n, got, tt.excerpt)
		}
		if got := logtext.Clean(tt.in, tt.n); got != tt.clean {
			t.Errorf("Clean(%q, %d) is %q, want %q", tt.in, tt.n, got, tt.clean)
		}
	}
}
