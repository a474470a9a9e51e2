// Package djangoemail is Django's validate_email (django.core.validators'
// EmailValidator), rule for rule, which Zulip's login applies to usernames.
package djangoemail

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Valid reports whether s passes Django's validate_email. It follows
// django.core.validators.EmailValidator rule for rule:
//
//   - at most 320 characters, and an "@";
//   - the part before the last "@" is a dot-atom of
//     [-!#$%&'*+/=?^_`{}|~0-9A-Z] or a quoted string;
//   - the part after it is "localhost", a domain of labels of at most 63
//     letters, digits and inner hyphens ending in a label of 2 to 63 such
//     characters that does not end in a hyphen, or an IPv4/IPv6 literal in
//     brackets; a non-ASCII domain is retried in its punycode (IDNA) form.
//
// Letters match case-insensitively as in Python's re.IGNORECASE, so the
// Kelvin sign and the long s count as letters. Surrounding white space fails.
func Valid(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 320 {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return false
	}
	user, domain := s[:at], s[at+1:]
	if !validEmailUser(user) {
		return false
	}
	if domain == "localhost" || validDomainPart(domain) {
		return true
	}
	if ascii, ok := idnaToASCII(domain); ok {
		return validDomainPart(ascii)
	}
	return false
}

// isAtext reports whether r is in Django's dot-atom class
// [-!#$%&'*+/=?^_`{}|~0-9A-Z] under IGNORECASE.
func isAtext(r rune) bool {
	if r < utf8.RuneSelf {
		return isAlnumASCII(byte(r)) || strings.IndexByte("-!#$%&'*+/=?^_`{}|~", byte(r)) >= 0
	}
	return foldsToASCIILetter(r)
}

func isAlnumASCII(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// foldsToASCIILetter reports whether a non-ASCII rune matches an ASCII
// letter under Python's re.IGNORECASE: those that case-fold to one (U+212A
// KELVIN SIGN to k, U+017F LONG S to s) and the Turkish dotted and dotless i
// (U+0130, U+0131), which Python's matcher pairs with i.
func foldsToASCIILetter(r rune) bool {
	return asciiLetterFor(r) != 0
}

// asciiLetterFor is the lower-case ASCII letter a non-ASCII rune matches
// under Python's re.IGNORECASE, or 0.
func asciiLetterFor(r rune) byte {
	if r == '\u0130' || r == '\u0131' {
		return 'i'
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf && isAlnumASCII(byte(f)) {
			return byte(unicode.ToLower(f))
		}
	}
	return 0
}

func validEmailUser(u string) bool {
	if len(u) >= 2 && u[0] == '"' && u[len(u)-1] == '"' {
		return validQuotedString(u[1 : len(u)-1])
	}
	// dot-atom: atoms of atext separated by single dots.
	atom := 0
	for _, r := range u {
		switch {
		case r == '.':
			if atom == 0 {
				return false
			}
			atom = 0
		case isAtext(r):
			atom++
		default:
			return false
		}
	}
	return atom > 0
}

// validQuotedString checks the inside of a quoted local part:
// ([\001-\010\013\014\016-\037!#-\[\]-\177] | \\[\001-\011\013\014\016-\177])*
// Both classes hold the ASCII letters, so under IGNORECASE the runes that
// match a letter (foldsToASCIILetter) are allowed too.
func validQuotedString(s string) bool {
	escaped := false
	for _, r := range s {
		if r >= utf8.RuneSelf {
			if !foldsToASCIILetter(r) {
				return false
			}
			escaped = false
			continue
		}
		c := byte(r)
		if escaped {
			if c == 0 || c == '\n' || c == '\r' {
				return false
			}
			escaped = false
			continue
		}
		switch c {
		case '\\':
			escaped = true
		case 0, '\t', '\n', '\r', ' ', '"':
			return false
		}
	}
	return !escaped
}

// validDomainPart is Django's validate_domain_part: the domain regex
// ((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z
// or an address literal \[([A-F0-9:.]+)\]\Z holding a valid IPv4 or IPv6
// address.
func validDomainPart(d string) bool {
	if len(d) >= 2 && d[0] == '[' && d[len(d)-1] == ']' {
		lit := d[1 : len(d)-1]
		for _, r := range lit {
			if !(r == ':' || r == '.' || r < utf8.RuneSelf && isHexDigit(byte(r)) || foldsToHexLetter(r)) {
				return false
			}
		}
		if lit == "" {
			return false
		}
		addr, err := netip.ParseAddr(strings.Map(foldRuneToASCII, lit))
		return err == nil && addr.Zone() == ""
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels[:len(labels)-1] {
		if !validLabel(l, 1, 63) || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
	}
	last := labels[len(labels)-1]
	return validLabel(last, 2, 63) && last[len(last)-1] != '-'
}

// validLabel checks that l has between min and max runes of [A-Z0-9-].
func validLabel(l string, min, max int) bool {
	n := 0
	for _, r := range l {
		if !(r == '-' || r < utf8.RuneSelf && isAlnumASCII(byte(r)) || r >= utf8.RuneSelf && foldsToASCIILetter(r)) {
			return false
		}
		n++
	}
	return n >= min && n <= max
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// foldsToHexLetter reports whether a non-ASCII rune matches [A-F] under
// IGNORECASE.
func foldsToHexLetter(r rune) bool {
	c := asciiLetterFor(r)
	return c != 0 && isHexDigit(c)
}

// foldRuneToASCII maps a rune that matches an ASCII letter to that letter.
func foldRuneToASCII(r rune) rune {
	if r < utf8.RuneSelf {
		return r
	}
	if c := asciiLetterFor(r); c != 0 {
		return rune(c)
	}
	return r
}

// idnaToASCII converts a domain to its ASCII form as Python's "idna" codec
// (IDNA 2003) does, but for NFKC normalization, which the standard library
// lacks. Labels are separated by "." or the ideographic full stops. Each
// label is nameprepped: characters mapped to nothing (soft hyphen, zero-width
// joiners, variation selectors, ...) are removed, letters are case-folded,
// and prohibited characters (non-ASCII spaces, controls, private use,
// non-characters, bidi and tagging controls) fail. A label left all ASCII is
// used as it is, so it must pass the ASCII rules; any other becomes "xn--" +
// punycode. An empty inner label or one over 63 bytes fails.
func idnaToASCII(d string) (string, bool) {
	d = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".").Replace(d)
	labels := strings.Split(d, ".")
	var b strings.Builder
	for i, l := range labels {
		if l == "" {
			if i == len(labels)-1 && i > 0 {
				b.WriteByte('.')
				continue // a trailing dot is allowed
			}
			return "", false
		}
		if i > 0 {
			b.WriteByte('.')
		}
		l, ok := nameprep(l)
		if !ok || l == "" {
			return "", false
		}
		if isASCII(l) {
			if len(l) > 63 {
				return "", false
			}
			b.WriteString(l)
			continue
		}
		enc, ok := punycodeEncode(l)
		if !ok || len(enc)+4 > 63 {
			return "", false
		}
		b.WriteString("xn--")
		b.WriteString(enc)
	}
	return b.String(), true
}

// nameprep is RFC 3491 without NFKC: table B.1 removed, B.2 case folding
// (simple folding, with the runes that fold to ASCII letters mapped to
// them), and the prohibited tables C.1.2 to C.9 refused.
func nameprep(l string) (string, bool) {
	var b strings.Builder
	for _, r := range l {
		switch {
		case r == utf8.RuneError:
			return "", false
		case mappedToNothing(r):
			continue
		case prohibited(r):
			return "", false
		case r == '\u0130':
			b.WriteString("i\u0307") // its full case folding
		case r < utf8.RuneSelf:
			b.WriteRune(unicode.ToLower(r))
		default:
			if c := asciiLetterFor(r); c != 0 && r != '\u0131' {
				b.WriteByte(c)
			} else {
				b.WriteRune(foldRune(r))
			}
		}
	}
	return b.String(), true
}

// mappedToNothing is RFC 3454 table B.1.
func mappedToNothing(r rune) bool {
	switch {
	case r == 0x00AD, r == 0x034F, r == 0x1806, r == 0x2060, r == 0xFEFF:
		return true
	case 0x180B <= r && r <= 0x180D, 0x200B <= r && r <= 0x200D, 0xFE00 <= r && r <= 0xFE0F:
		return true
	}
	return false
}

// prohibited is RFC 3491's prohibited output (RFC 3454 C.1.2 to C.9), for
// the runes a domain label can hold.
func prohibited(r rune) bool {
	switch {
	case r >= utf8.RuneSelf && unicode.IsSpace(r): // C.1.2
		return true
	case r >= utf8.RuneSelf && unicode.IsControl(r): // C.2.2
		return true
	case unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r): // C.3, C.5
		return true
	case r&0xFFFE == 0xFFFE, 0xFDD0 <= r && r <= 0xFDEF: // C.4
		return true
	case 0xFFF9 <= r && r <= 0xFFFD, 0x2FF0 <= r && r <= 0x2FFB: // C.6, C.7
		return true
	case r == 0x0340, r == 0x0341, r == 0x200E, r == 0x200F, 0x202A <= r && r <= 0x202E, 0x206A <= r && r <= 0x206F: // C.8
		return true
	case r == 0xE0001, 0xE0020 <= r && r <= 0xE007F: // C.9
		return true
	case 0x2028 <= r && r <= 0x2029, 0x1D173 <= r && r <= 0x1D17A: // C.1.2, C.2.2 stragglers
		return true
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// punycodeEncode is RFC 3492's encoder.
func punycodeEncode(s string) (string, bool) {
	const (
		base, tmin, tmax, skew, damp = 36, 1, 26, 38, 700
		initialBias, initialN        = 72, 128
	)
	if !utf8.ValidString(s) {
		return "", false
	}
	runes := []rune(s)
	out := make([]byte, 0, len(s)+8)
	for _, r := range runes {
		if r < 0x80 {
			out = append(out, byte(r))
		}
	}
	b := len(out)
	h := b
	if b > 0 {
		out = append(out, '-')
	}
	n, delta, bias := rune(initialN), 0, initialBias
	digit := func(d int) byte {
		if d < 26 {
			return byte('a' + d)
		}
		return byte('0' + d - 26)
	}
	adapt := func(delta, numPoints int, first bool) int {
		if first {
			delta /= damp
		} else {
			delta /= 2
		}
		delta += delta / numPoints
		k := 0
		for delta > ((base-tmin)*tmax)/2 {
			delta /= base - tmin
			k += base
		}
		return k + (base-tmin+1)*delta/(delta+skew)
	}
	for h < len(runes) {
		m := rune(0x7fffffff)
		for _, r := range runes {
			if r >= n && r < m {
				m = r
			}
		}
		if int(m-n) > (1<<30)/(h+1) {
			return "", false // overflow
		}
		delta += int(m-n) * (h + 1)
		n = m
		for _, r := range runes {
			if r < n {
				delta++
			}
			if r == n {
				q := delta
				for k := base; ; k += base {
					t := k - bias
					if t < tmin {
						t = tmin
					} else if t > tmax {
						t = tmax
					}
					if q < t {
						break
					}
					out = append(out, digit(t+(q-t)%(base-t)))
					q = (q - t) / (base - t)
				}
				out = append(out, digit(q))
				bias = adapt(delta, h+1, h == b)
				delta = 0
				h++
			}
		}
		delta++
		n++
	}
	return string(out), true
}

// Fold is Zulip's delivery_email__iexact: the address trimmed of
// surrounding white space, with each rune folded (see foldRune).
func Fold(email string) string {
	email = strings.TrimSpace(email)
	for i := 0; i < len(email); i++ {
		c := email[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.Map(foldRune, email)
		}
	}
	return email
}

// foldRune maps r to a canonical member of its simple case-folding orbit:
// the smallest lower-case member if it has one, else the smallest member.
// Every rune of an orbit maps to the same one, so two strings fold alike
// exactly when strings.EqualFold says they are equal. Runes whose case
// mappings are not simple folds (U+0130 LATIN CAPITAL LETTER I WITH DOT
// ABOVE lower-cases to "i") stay apart from them, as they do in Zulip's
// case-insensitive lookup.
func foldRune(r rune) rune {
	best, min := rune(-1), r
	f := r
	for {
		if unicode.IsLower(f) && (best < 0 || f < best) {
			best = f
		}
		if f < min {
			min = f
		}
		if f = unicode.SimpleFold(f); f == r {
			break
		}
	}
	if best >= 0 {
		return best
	}
	return min
}
