package zulipauth

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User is an account as a [UserStore] returns it.
//
// User carries two secrets, APIKey and PasswordHash. Its String, GoString and
// LogValue methods leave them out, so printing or logging a User never leaks
// them; read the fields directly where they are needed.
type User struct {
	// ID is the user's stable numeric id (Zulip's user_id).
	ID int64
	// Realm is the subdomain of the user's organization; "" is the root realm.
	Realm string
	// Email is the delivery email: the real address, used to log in and as
	// the HTTP Basic username. Unique per realm, ignoring letter case.
	Email string
	// FullName is the display name.
	FullName string
	// APIKey is the user's API key: 32 characters of [A-Za-z0-9], unique.
	APIKey string
	// PasswordHash is the encoded password hash; "" means no usable password.
	PasswordHash string
	// Deactivated reports that the account may not log in.
	Deactivated bool
	// PasswordResetRequired reports that the password must be reset before
	// the account may log in with it.
	PasswordResetRequired bool
	// CreatedAt is when the account was created.
	CreatedAt time.Time
}

// WithoutSecrets returns u with APIKey and PasswordHash cleared: the form in
// which a user leaves this package's hands, in [UserFrom] and in events.
func (u User) WithoutSecrets() User {
	u.APIKey, u.PasswordHash = "", ""
	return u
}

// String describes the user without its secrets.
func (u User) String() string {
	return fmt.Sprintf("user %d <%s> in realm %q", u.ID, u.Email, u.Realm)
}

// GoString is String, so %#v does not print the secrets either.
func (u User) GoString() string { return u.String() }

// LogValue implements [slog.LogValuer]: the user's id, realm and email only.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("id", u.ID),
		slog.String("realm", u.Realm),
		slog.String("email", u.Email),
	)
}

// Realm is an organization, Zulip's realm. The zero value is an active root
// realm that allows password login.
type Realm struct {
	// Subdomain identifies the realm; "" is the root domain's realm.
	Subdomain string
	// Name is shown by clients (server_settings' realm_name).
	Name string
	// Deactivated realms refuse every login and every API request.
	Deactivated bool
	// PasswordAuthDisabled realms refuse password login (PASSWORD_AUTH_DISABLED).
	PasswordAuthDisabled bool
	// Description is the realm's description as HTML (server_settings'
	// realm_description). It is sent as it is: store only trusted HTML.
	Description string
	// IconURL is the realm's icon (server_settings' realm_icon).
	IconURL string
}

// FoldEmail returns the form of an email address under which stores index it,
// so that lookups ignore letter case as Zulip's delivery_email__iexact does.
// It trims surrounding white space and applies Unicode simple case folding
// (so "Iago@Zulip.com", "iago@zulip.com" and "IAGO@ZULIP.COM" fold alike, and
// so do the Kelvin sign and "k"). Two addresses are the same account if and
// only if their folded forms are equal.
func FoldEmail(email string) string {
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
