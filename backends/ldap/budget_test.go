package ldap_test

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// budgetedHandler is fetch_api_key over the chain auths with Zulip's
// default budgets: 5 attempts per username per 30 minutes.
func budgetedHandler(tb testing.TB, users *memstore.Store, auth zulipauth.Authenticator) http.Handler {
	tb.Helper()
	z, err := zulipauth.New(zulipauth.Config{
		Users:           users,
		Authenticator:   auth,
		UsernameLimiter: zulipauth.NewMemoryLimiter(zulipauth.DefaultUsernameBudget()),
		IPLimiter:       zulipauth.NewMemoryLimiter(unlimited),
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return z.FetchAPIKeyHandler()
}

// Pins the bypass of the username budget with other spellings of one
// person, found against slapd: after "hamlet" had spent its 5 attempts,
// "ｈamlet" (a full-width h) with the right password logged in as hamlet,
// and "hａmlet", "haｍlet", ... each had 5 more guesses verified by the
// directory (13 of 14 compatibility spellings); with a cn= template,
// "Jane  Doe", "Ｊane Doe", "Jane\u3000Doe" and "ⓙane Doe" logged in while
// "Jane Doe" was refused; with an append-domain, "hamlet" and
// "hamlet@example.org" were two budgets. Every spelling the directory takes
// for the entry must be refused once the entry's budget is spent, with the
// right password and with a wrong one.
func TestBudgetHoldsForEverySpellingTheDirectoryAccepts(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})

	// Spellings slapd takes for hamlet's uid, and for jane's cn (checked
	// below): letter case, compatibility forms (full-width, circled,
	// mathematical, modifier letters), white space around and inside.
	hamletSpellings := []string{
		"hamlet", "Hamlet", "HAMLET", " hamlet ", "\u3000hamlet", "hamlet\u00a0",
		"ｈamlet", "hａmlet", "haｍlet", "hamｌet", "hamlｅt", "hamleｔ", "ｈａｍｌｅｔ", "ＨＡＭＬＥＴ",
		"ⓗamlet", "𝐡amlet", "𝒉𝒂𝒎𝒍𝒆𝒕", "ʰamlet", "hⓐⓜⓛⓔⓣ",
	}
	janeSpellings := []string{
		"Doe, Jane", "doe, jane", "Doe,  Jane", "Doe,\u3000Jane", "Doe,\u00a0Jane", "Ｄoe, Jane", "ⓓoe, Jane",
		"DOE, JANE", "Doe, Ｊａｎｅ", " Doe, Jane ", "Doe,\u2003 Jane",
	}
	for _, s := range hamletSpellings {
		if !directoryMatches(t, d, "uid", s, slapdtest.HamletDN) {
			t.Fatalf("slapd does not take uid=%+q for hamlet: not a spelling of hamlet's", s)
		}
	}
	for _, s := range janeSpellings {
		if !directoryMatches(t, d, "cn", s, slapdtest.JaneDN) {
			t.Fatalf("slapd does not take cn=%+q for jane: not a spelling of jane's", s)
		}
	}
	tests := []struct {
		name      string
		cfg       func(users zulipauth.UserStore) ldap.Config
		account   string // the account's email in the store
		canonical string
		password  string
		spellings []string
		chain     bool // ldap,password, as -auth ldap,password
	}{
		{
			name:    "search by uid, email from mail, chained with passwords",
			cfg:     func(users zulipauth.UserStore) ldap.Config { return searchConfig(d, users) },
			account: slapdtest.HamletMail, canonical: "hamlet", password: slapdtest.HamletPassword,
			spellings: hamletSpellings, chain: true,
		},
		{
			name:    "uid template with an append-domain",
			cfg:     func(users zulipauth.UserStore) ldap.Config { return templateConfig(d, users) },
			account: "hamlet@example.org", canonical: "hamlet", password: slapdtest.HamletPassword,
			spellings: append([]string{"hamlet@example.org", "HAMLET@EXAMPLE.ORG", "ｈamlet@example.org"}, hamletSpellings...),
		},
		{
			name: "cn template, email from mail",
			cfg: func(users zulipauth.UserStore) ldap.Config {
				return ldap.Config{Users: users, URL: d.URL, UserDNTemplate: "cn=%s," + slapdtest.People, EmailAttr: "mail"}
			},
			account: slapdtest.JaneMail, canonical: slapdtest.JaneCN, password: slapdtest.JanePassword,
			spellings: janeSpellings,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			users := storeWith(t, tc.account)
			var auth zulipauth.Authenticator = newAuth(t, tc.cfg(users))
			if tc.chain {
				// Failures not padded: this test is about budgets, and fails
				// many logins in a row.
				pw, err := password.New(users, password.WithParams(cheapArgon2), password.WithInsecureFastFailures())
				if err != nil {
					t.Fatal(err)
				}
				auth = zulipauth.Chain(auth, pw)
			}
			// Each spelling on a handler of its own whose canonical
			// username spent its budget: a spelling must not have guesses
			// of its own.
			for _, s := range tc.spellings {
				h := budgetedHandler(t, users, auth)
				if status, body := postLogin(t, h, tc.canonical, tc.password); status != 200 {
					t.Fatalf("%q with the right password before any failure: %d %v", tc.canonical, status, body)
				}
				for i := range 5 {
					if status, _ := postLogin(t, h, tc.canonical, "wrong"); status != 401 {
						t.Fatalf("wrong password %d: %d, want 401", i+1, status)
					}
				}
				if status, body := postLogin(t, h, s, tc.password); status != 429 {
					t.Errorf("%q (%+q) with the right password after %q spent the budget: %d %v, want 429", s, s, tc.canonical, status, body)
				}
				if status, body := postLogin(t, h, s, "wrong"); status != 429 {
					t.Errorf("%q (%+q) with a wrong password after %q spent the budget: %d %v, want 429", s, s, tc.canonical, status, body)
				}
			}
		})
	}
}

// A property of PrepareUsername against the real directory: any string
// slapd matches to an entry (uid and cn compare with caseIgnoreMatch)
// prepares to the same budget key as the entry's own name. The strings
// are random respellings of the names: letters in other cases and in
// compatibility forms (full-width, circled, mathematical, modifier),
// characters RFC 4518 maps to nothing, runs of other spaces. Whatever the
// directory matches must share the budget; what it does not match may
// share it or not.
func TestEveryStringTheDirectoryMatchesSharesTheEntrysBudget(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	users := memstore.New()
	a := newAuth(t, ldap.Config{Users: users, URL: d.URL, UserDNTemplate: slapdtest.UserDNTemplate})
	key := func(s string) string { return a.PrepareUsername(zulipauth.FoldEmail(s)) }

	rng := rand.New(rand.NewPCG(17, 2026))
	for _, target := range []struct{ attr, name, dn string }{
		{"uid", slapdtest.HamletUID, slapdtest.HamletDN},
		{"cn", "King Hamlet", slapdtest.HamletDN},
		{"cn", slapdtest.JaneCN, slapdtest.JaneDN},
	} {
		want := key(target.name)
		matched := 0
		const n = 400
		for range n {
			s := respell(rng, target.name)
			if !directoryMatches(t, d, target.attr, s, target.dn) {
				continue
			}
			matched++
			if got := key(s); got != want {
				t.Errorf("slapd matches %s=%+q to %s, but its budget key is %+q, not the entry's %+q", target.attr, s, target.dn, got, want)
			}
		}
		// The property is only as good as the strings the directory
		// matched: many respellings must be matches.
		if matched < n/4 {
			t.Errorf("%s=%q: slapd matched only %d of %d respellings; the generator does not exercise the directory's matching", target.attr, target.name, matched, n)
		}
		t.Logf("%s=%q: %d of %d respellings matched", target.attr, target.name, matched, n)
	}
}

// directoryMatches reports whether a search of d for attr=value (escaped)
// finds exactly the entry dn.
func directoryMatches(tb testing.TB, d *slapdtest.Directory, attr, value, dn string) bool {
	tb.Helper()
	conn, err := goldap.DialURL(d.URL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(d.ServiceDN, d.ServicePassword); err != nil {
		tb.Fatal(err)
	}
	res, err := conn.Search(goldap.NewSearchRequest(d.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false,
		"("+attr+"="+goldap.EscapeFilter(value)+")", []string{"1.1"}, nil))
	if err != nil {
		return false // slapd refuses some strings outright (invalid syntax): no match
	}
	if len(res.Entries) != 1 {
		return false
	}
	got, err1 := goldap.ParseDN(res.Entries[0].DN)
	want, err2 := goldap.ParseDN(dn)
	return err1 == nil && err2 == nil && got.EqualFold(want)
}

// respell returns name with each character, at random, as it is, in the
// other case, or in a compatibility form NFKC maps back to it; characters
// that RFC 4518 maps to nothing inserted here and there; and spaces as
// runs of various space characters.
func respell(rng *rand.Rand, name string) string {
	var b strings.Builder
	if rng.IntN(4) == 0 {
		b.WriteString(pick(rng, spaces))
	}
	for _, r := range name {
		switch {
		case r == ' ':
			for range 1 + rng.IntN(3) {
				b.WriteString(pick(rng, spaces))
			}
			continue
		case 'a' <= r|0x20 && r|0x20 <= 'z':
			b.WriteRune(letterForm(rng, r|0x20))
		default:
			b.WriteRune(r)
		}
		if rng.IntN(40) == 0 {
			b.WriteString(pick(rng, nothings))
		}
	}
	if rng.IntN(4) == 0 {
		b.WriteString(pick(rng, spaces))
	}
	s := b.String()
	if !utf8.ValidString(s) {
		panic("respell made invalid UTF-8")
	}
	return s
}

var (
	spaces   = []string{" ", " ", "\u00a0", "\u3000", "\u2002", "\u2003", "\u2009", "\u202f"}
	nothings = []string{"\u00ad", "\u200b", "\ufe0f", "\u034f"}
)

func pick(rng *rand.Rand, from []string) string { return from[rng.IntN(len(from))] }

// letterForm is the lower-case ASCII letter c, or at random its upper
// case, its full-width form (either case), its circled or mathematical bold
// small form, and now and then a form slapd keeps apart (circled or
// mathematical bold capital: slapd lowers case before it normalizes).
func letterForm(rng *rand.Rand, c rune) rune {
	i := c - 'a'
	switch rng.IntN(32) {
	case 0, 1:
		return c - 0x20
	case 2, 3:
		return 0xFF41 + i // full-width small
	case 4, 5:
		return 0xFF21 + i // full-width capital
	case 6, 7:
		return 0x24D0 + i // circled small
	case 8, 9:
		return 0x1D41A + i // mathematical bold small
	case 10:
		return 0x24B6 + i // circled capital
	case 11:
		return 0x1D400 + i // mathematical bold capital
	}
	return c
}
