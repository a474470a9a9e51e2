package ldap

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// PrepareUsername implements zulipauth.UsernameComparer: the username as
// the directory compares it, so that every spelling the directory takes for
// one entry spends one login budget. uid and cn match with caseIgnoreMatch,
// which prepares strings as RFC 4518 says: "ｈamlet" (a full-width h),
// "ⓙane doe", "Jane  Doe" and "Jane\u3000Doe" are the entries of "hamlet"
// and "jane doe". With Config.AppendDomain, "hamlet@" + AppendDomain is
// "hamlet" too, as mapUsername makes it.
//
// The result merges at least what the directory merges, and a little more
// (full case folding, so "ß" and "ss" share a budget; a second round of
// folding and normalization): sharing a budget between two spellings of
// what is surely one person costs nothing, and a spelling that escaped the
// merge would get five more guesses. Whatever escapes it anyway is charged
// to the entry's own budget once the entry is known (see
// zulipauth.Attempt.ChargeAccount).
func (a *Authenticator) PrepareUsername(username string) string {
	if d := a.cfg.AppendDomain; d != "" {
		if at := strings.LastIndexByte(username, '@'); at >= 0 && strings.EqualFold(username[at+1:], d) {
			username = username[:at]
		}
	}
	return prepareString(username)
}

// foldCase is full Unicode case folding (RFC 4518 §2.3 for
// caseIgnoreMatch). A cases.Caser keeps state, so each call makes its own.
func foldCase(s string) string { return cases.Fold().String(s) }

// prepareString is RFC 4518's string preparation for caseIgnoreMatch,
// loosened where directories differ from it (OpenLDAP lowers case and then
// applies NFKC; the RFC folds with NFKC in its tables): characters mapped
// to nothing or to a space (§2.2), case folded and NFKC-normalized twice,
// so that either order gives one result, then insignificant spaces removed
// (§2.6.1: none at either end, one between words).
func prepareString(s string) string {
	if isPlainASCII(s) {
		return collapseSpaces(strings.ToLower(s))
	}
	s = strings.Map(mapRFC4518, s)
	for range 2 {
		s = norm.NFKC.String(foldCase(s))
	}
	return collapseSpaces(strings.Map(mapRFC4518, s))
}

// isPlainASCII reports whether s is printable ASCII, which needs no
// mapping and no normalization, only lower case and spaces.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= utf8.RuneSelf || c == 0x7f {
			return false
		}
	}
	return true
}

// mapRFC4518 is RFC 4518 §2.2's mapping: controls and format characters,
// soft hyphens, joiners and variation selectors map to nothing; the
// control characters that break lines or tabulate, and every separator,
// map to a space.
func mapRFC4518(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == 0x85:
		return ' '
	case r == 0x200B || r == 0xAD || r == 0x1806 || r == 0x34F || r == 0xFFFC,
		0x180B <= r && r <= 0x180D, 0xFE00 <= r && r <= 0xFE0F:
		return -1
	case unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp):
		return ' '
	case unicode.In(r, unicode.Cc, unicode.Cf):
		return -1
	}
	return r
}

// collapseSpaces drops spaces at either end and leaves one between words.
func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") && !strings.HasPrefix(s, " ") && !strings.HasSuffix(s, " ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
