package sqlstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Pins a leak: an import command prints ImportError, and a secret pasted
// into the wrong field of an import file (a password in realm) was printed
// with it. ImportUsers' refusals say why with no field of the user in them,
// on every path: an unknown realm, a malformed key, a repeated email or key,
// an email or key the store has.
func TestImportErrorQuotesNoField(t *testing.T) {
	forEachDriver(t, func(t *testing.T, dc driverCase) {
		s := open(t, dc.driver, dc.newDSN(t))
		existing, err := s.CreateUser(t.Context(), zulipauth.NewUser{Email: "kept.Vx9qTrill@zulip.com"})
		if err != nil {
			t.Fatal(err)
		}
		key := "Qz7xW2mK9pLr4TvB8nYc3HdF6jGs5aEu"
		users := []sqlstore.ImportUser{
			{Realm: "kq7zx-vorpal-wm3j", Email: "a.Plugh7xyz@zulip.com"},
			{Email: "b.Plugh7xyz@zulip.com", APIKey: "Tr0ub4dor&3xyzzy"},
			{Email: "c.Plugh7xyz@zulip.com", APIKey: key},
			{Email: "C.PLUGH7XYZ@zulip.com"},
			{Email: "d.Plugh7xyz@zulip.com", APIKey: key},
			{Email: existing.Email},
			{Email: "e.Plugh7xyz@zulip.com", APIKey: existing.APIKey},
		}
		_, err = s.ImportUsers(t.Context(), users)
		var ie *sqlstore.ImportError
		if !errors.As(err, &ie) || len(ie.Refusals) != 6 {
			t.Fatalf("ImportUsers = %v, want 6 refusals", err)
		}
		var texts []string
		texts = append(texts, err.Error())
		for _, r := range ie.Refusals {
			texts = append(texts, r.Err.Error())
		}
		for _, text := range texts {
			for _, u := range users {
				for _, v := range []string{u.Realm, u.Email, u.APIKey} {
					if v != "" && strings.Contains(strings.ToLower(text), strings.ToLower(v)) {
						t.Errorf("refusal %q quotes %q", text, v)
					}
				}
			}
		}
	})
}
