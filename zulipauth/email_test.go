package zulipauth_test

import (
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Cases follow Django's own tests of validate_email (tests/validators).
func TestValidEmail(t *testing.T) {
	t.Parallel()
	valid := []string{
		"email@here.com",
		"weirder-email@here.and.there.com",
		"email@[127.0.0.1]",
		"email@[2001:dB8::1]",
		"email@[2001:dB8:0:0:0:0:0:1]",
		"email@[::fffF:127.0.0.1]",
		"example@valid-----hyphens.com",
		"example@valid-with-hyphens.com",
		"test@domain.with.idn.tld.उदाहरण.परीक्षा",
		"email@localhost",
		`"test@test"@example.com`,
		"example@atm." + strings.Repeat("a", 63),
		"example@" + strings.Repeat("a", 63) + ".atm",
		"example@" + strings.Repeat("a", 63) + ".atm.com",
		"example@atm." + strings.Repeat("a", 62) + "b",
		"\"\\\t\"@here.com",
		"Iago@zulip.com",
		"a.b+c!#$%&'*/=?^_`{}|~@x-y.co",
		"\u212aelvin@zulip.com", // KELVIN SIGN folds to k, as under re.IGNORECASE
		"user@ex\u00e4mple.com",
		"test@tld.-leading-hyphen-is-fine",
		// Python's IGNORECASE pairs the Turkish i's with i, in quoted
		// strings too.
		"\u0131@example.com",
		"\u0130@example.com",
		"\"\u017f\"@example.com",
		"\"\\\u212a\"@example.com",
		"user@b\u00fccher.example",
		"user@xn--bcher-kva.example",
	}
	invalid := []string{
		"",
		"abc",
		"abc@",
		"abc@bar",
		"a @x.cz",
		"abc@.com",
		"something@@somewhere.com",
		"email@127.0.0.1",
		"email@[127.0.0.256]",
		"email@[2001:db8::12345]",
		"email@[2001:db8:0:0:0:0:1]",
		"email@[::ffff:127.0.0.256]",
		"email@[2001:dg8::1]",
		"email@[2001:dG8:0:0:0:0:0:1]",
		"email@[::fTzF:127.0.0.1]",
		"example@invalid-.com",
		"example@-invalid.com",
		"example@invalid.com-",
		"example@inv-.alid-.com",
		"example@inv-.-alid.com",
		`test@example.com\n\n<script src="x.js">`,
		"trailingdot@shouldfail.com.",
		"a@b.com\n",
		"\n\n<script src=\"x.js\">\n\n@example.com",
		"\"\\\n\"@here.com",
		"example@atm." + strings.Repeat("a", 64),
		"example@" + strings.Repeat("b", 64) + ".atm.com",
		" Iago@zulip.com",
		"Iago@zulip.com ",
		"Iago\x00@zulip.com",
		"Iago\xff@zulip.com",
		strings.Repeat("a", 64) + "@" + strings.Repeat(strings.Repeat("b", 60)+".", 5) + "com", // over 320
		"a..b@c.com",
		".a@c.com",
		"a.@c.com",
		"@zulip.com",
		// Nameprep maps these labels to ASCII ones that break the rules.
		"a@-\u017f.com",
		"0@b1.2.3.4\u200b",
		"a@b.\u00adc",
		"a@exa\u00a0mple.com",
		"a@exa\ue000mple.com",
		"\"\u00e9\"@example.com",
	}
	for _, s := range valid {
		if !zulipauth.ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = false, want true", s)
		}
	}
	for _, s := range invalid {
		if zulipauth.ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = true, want false", s)
		}
	}
}

func TestFoldEmail(t *testing.T) {
	t.Parallel()
	groups := [][]string{
		{"iago@zulip.com", "IAGO@ZULIP.COM", " Iago@Zulip.com\t"},
		{"élodie@example.com", "ÉLODIE@example.com"},
		{"kim@x.com", "\u212aim@x.com", "KIM@X.COM"},
		{"sam@x.com", "\u017fam@x.com"},
	}
	// U+0130 lower-cases to "i" but is not a simple fold of it: Zulip's
	// case-insensitive lookup keeps them apart, so must we.
	if zulipauth.FoldEmail("\u0130ago@zulip.com") == zulipauth.FoldEmail("iago@zulip.com") {
		t.Error("dotted capital I folds like i")
	}
	for _, g := range groups {
		for _, s := range g[1:] {
			if a, b := zulipauth.FoldEmail(g[0]), zulipauth.FoldEmail(s); a != b {
				t.Errorf("FoldEmail(%q) = %q, FoldEmail(%q) = %q; want equal", g[0], a, s, b)
			}
		}
	}
	if zulipauth.FoldEmail("iago@zulip.com") == zulipauth.FoldEmail("othello@zulip.com") {
		t.Error("distinct addresses fold alike")
	}
}

func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{"iago@zulip.com", `"q"@x.com`, "a@[::1]", "x@ex\u00e4mple.com", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if zulipauth.ValidEmail(s) {
			if !strings.Contains(s, "@") || len([]rune(s)) > 320 || strings.TrimSpace(s) != s {
				t.Fatalf("ValidEmail(%q) = true for a string Django refuses", s)
			}
		}
		if zulipauth.FoldEmail(zulipauth.FoldEmail(s)) != zulipauth.FoldEmail(s) {
			t.Fatalf("FoldEmail is not idempotent on %q", s)
		}
	})
}
