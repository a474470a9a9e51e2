package zulipauth

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth/internal/djangoemail"
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

// FoldEmail returns the form of an email address under which stores index it,
// so that lookups ignore letter case as Zulip's delivery_email__iexact does.
// It trims surrounding white space and applies Unicode simple case folding
// (so "Iago@Zulip.com", "iago@zulip.com" and "IAGO@ZULIP.COM" fold alike, and
// so do the Kelvin sign and "k"). Two addresses are the same account if and
// only if their folded forms are equal.
func FoldEmail(email string) string { return djangoemail.Fold(email) }

// ValidEmail reports whether s passes Django's validate_email, which Zulip's
// login applies to the username where the realm requires email usernames:
// at most 320 characters; a dot-atom or quoted string before the last "@";
// after it "localhost", a domain (an internationalized one in its IDNA
// form) or an IP literal in brackets. Surrounding white space fails.
func ValidEmail(s string) bool { return djangoemail.Valid(s) }
