// Package logtext bounds and escapes what a backend quotes of a provider's
// or a client's words in an error message: such errors reach logs, and a
// value there must neither run on nor carry a newline that forges a line.
package logtext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Excerpt quotes s with its control characters and non-ASCII escaped, cut
// so that the quoted form holds at most n bytes between its quotes (on a
// character boundary, with "..." added).
func Excerpt(s string, n int) string {
	q := strconv.QuoteToASCII(s)
	if len(q) <= n+2 {
		return q
	}
	s = cut(s, n) // an escape is longer than the character it stands for
	for q = strconv.QuoteToASCII(s); len(q) > n+2; q = strconv.QuoteToASCII(s) {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return q + "..."
}

// Clean is s, the message of a library's error, cut to at most n bytes
// (with "..." added) and with every character that is not graphic (a
// newline, say) replaced by "?": it may quote values of the answer it
// refused.
func Clean(s string, n int) string {
	short := strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			return '?'
		}
		return r
	}, cut(s, n))
	if len(s) > n {
		short += "..."
	}
	return short
}

// cut is s cut to at most n bytes, on a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
