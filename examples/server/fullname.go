package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFullNameRunes bounds a full name: Django's first_name and last_name,
// which an imported name may join, are 150 characters each.
const maxFullNameRunes = 300

// checkFullName is the one rule for a user's full name, on every path that
// stores one (create-user's -full-name, import-users' full_name), so that
// neither lets in what the other refuses. The name is shown to other people
// (clients, /users/me) and printed by tools in terminals and logs, so it may
// be empty, but it refuses, with a reason that never repeats the name:
//
//   - bytes that are not UTF-8 (a command-line argument can be any bytes);
//   - more than 300 characters: no person's name needs more, and a
//     10,000-character one is an attempt to fill screens and logs;
//   - control characters (C0 and C1, DEL): an escape sequence
//     ("\x1b[31m", or the one-character C1 CSI) recolours or rewrites the
//     terminal of whoever prints the name, and a line break or tab forges
//     lines in logs and lists;
//   - the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
//     U+2066–U+2069), which reorder the text after them, so that a name
//     displays as something else. The other format characters stay: a
//     zero-width non-joiner belongs in Persian names, a zero-width joiner in
//     emoji sequences.
//
// The error completes "full_name " or "-full-name ".
func checkFullName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return errors.New("is not valid UTF-8")
	case utf8.RuneCountInString(name) > maxFullNameRunes:
		return fmt.Errorf("is longer than %d characters", maxFullNameRunes)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("holds a control character (an escape, a line break, a tab, ...)")
	case strings.IndexFunc(name, reordersText) >= 0:
		return errors.New("holds a character that reorders the text after it (a bidirectional override or isolate, U+202A-U+202E or U+2066-U+2069)")
	}
	return nil
}

// reordersText reports the bidirectional embeddings, overrides and
// isolates.
func reordersText(r rune) bool {
	return '\u202a' <= r && r <= '\u202e' || '\u2066' <= r && r <= '\u2069'
}
