package ldap

import (
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
)

func testAuthenticator(tb testing.TB, cfg Config) *Authenticator {
	tb.Helper()
	cfg.Users = memstore.New()
	if cfg.URL == "" {
		cfg.URL = "ldap://127.0.0.1:389"
	}
	if cfg.UserDNTemplate == "" && cfg.UsernameAttr == "" {
		cfg.UserDNTemplate = "uid=%s,ou=people,dc=example,dc=org"
	}
	a, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// Zulip's username mapping (WIRE.md §5), with this package's trimming and
// the refusals that keep one directory entry from becoming two accounts.
func TestMapUsername(t *testing.T) {
	t.Parallel()
	appendDomain := testAuthenticator(t, Config{AppendDomain: "example.org"})
	emailAttr := testAuthenticator(t, Config{EmailAttr: "mail"})
	usernameIsEmail := testAuthenticator(t, Config{})
	tests := []struct {
		name      string
		a         *Authenticator
		typed     string
		wantOK    bool
		wantName  string
		wantEmail string
	}{
		{"append: plain username", appendDomain, "hamlet", true, "hamlet", "hamlet@example.org"},
		{"append: email in the domain", appendDomain, "hamlet@example.org", true, "hamlet", "hamlet@example.org"},
		{"append: domain in capitals", appendDomain, "hamlet@EXAMPLE.ORG", true, "hamlet", "hamlet@example.org"},
		{"append: trimmed", appendDomain, "\t hamlet@example.org \n", true, "hamlet", "hamlet@example.org"},
		{"append: another domain", appendDomain, "hamlet@zulip.com", false, "", ""},
		{"append: a subdomain", appendDomain, "hamlet@mail.example.org", false, "", ""},
		{"append: a domain ending alike", appendDomain, "hamlet@badexample.org", false, "", ""},
		{"append: empty local part", appendDomain, "@example.org", false, "", ""},
		{"append: two @", appendDomain, "a@b@example.org", false, "", ""},
		{"append: internal space", appendDomain, "ham let", false, "", ""},
		{"append: no-break space inside", appendDomain, "ham\u00a0let", false, "", ""},
		{"append: quoted", appendDomain, `"ham let"@example.org`, false, "", ""},
		{"append: comma (not an email)", appendDomain, "bot,ou=bots", false, "", ""},
		{"append: plus and equals (an email)", appendDomain, "a+b=c", true, "a+b=c", "a+b=c@example.org"},
		{"append: fullwidth letters", appendDomain, "ｈａｍｌｅｔ", false, "", ""},
		{"append: empty", appendDomain, "   ", false, "", ""},
		{"attr: anything the directory takes", emailAttr, " Doe, Jane ", true, "Doe, Jane", ""},
		{"attr: an email, searched by email", emailAttr, "hamlet@zulip.com", true, "hamlet@zulip.com", ""},
		{"attr: control character", emailAttr, "ham\x00let", false, "", ""},
		{"attr: invalid UTF-8", emailAttr, "ham\xfflet", false, "", ""},
		{"attr: too long", emailAttr, strings.Repeat("a", maxUsernameBytes+1), false, "", ""},
		{"attr: longest", emailAttr, strings.Repeat("a", maxUsernameBytes), true, strings.Repeat("a", maxUsernameBytes), ""},
		{"email: an email", usernameIsEmail, " hamlet@zulip.com", true, "hamlet@zulip.com", "hamlet@zulip.com"},
		{"email: not an email", usernameIsEmail, "hamlet", false, "", ""},
		{"email: quoted local part", usernameIsEmail, `"a  b"@zulip.com`, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, ok := tt.a.mapUsername(tt.typed)
			if ok != tt.wantOK || m.name != tt.wantName || m.email != tt.wantEmail {
				t.Fatalf("mapUsername(%q) = %+v, %v; want {%q %q}, %v", tt.typed, m, ok, tt.wantName, tt.wantEmail, tt.wantOK)
			}
		})
	}
}

func TestValidAttributeName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		attr string
		want bool
	}{
		{"keystring", "mail", true},
		{"with digits and hyphens", "x-zulip-Realm2", true},
		{"numeric OID", "2.5.4.3", true},
		{"empty", "", false},
		{"leading digit, not an OID", "2mail", false},
		{"OID with an empty arc", "2..5", false},
		{"leading hyphen", "-mail", false},
		{"option", "mail;lang-en", false},
		{"filter syntax", "mail=*", false},
		{"parenthesis", "mail)", false},
		{"space", "e mail", false},
	}
	for _, tt := range tests {
		if got := validAttributeName(tt.attr); got != tt.want {
			t.Errorf("%s: validAttributeName(%q) = %v, want %v", tt.name, tt.attr, got, tt.want)
		}
	}
}
