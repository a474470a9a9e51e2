package browsertest_test

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/examples/internal/browsertest"
)

// The Location comes from the server under test, so CheckMobileRedirect
// parses untrusted bytes: it must never panic, and what it accepts must hold
// what the app relies on.
func FuzzCheckMobileRedirect(f *testing.F) {
	f.Add("zulip://login?" + goodQuery(nil))
	f.Add("ZULIP://Login:80?" + goodQuery(nil) + "&email=x")
	f.Add("zulip://login?" + goodQuery(map[string]string{"realm": "realm=https%3A%2F%2F%5B%3A%3A1%5D%3A443"}))
	f.Add("zulip://login?" + goodQuery(map[string]string{"user_id": "user_id=-0"}))
	f.Add("zulip://u:p@login/path?" + goodQuery(nil) + "#frag")
	f.Add("zulip:login")
	f.Add("")
	f.Fuzz(func(t *testing.T, location string) {
		loc, err := url.Parse(location)
		if err != nil {
			return
		}
		key, email, userID, err := browsertest.CheckMobileRedirect(loc, knownOTP, realmURI)
		if err != nil {
			if !errors.Is(err, browsertest.ErrRedirectRefused) {
				t.Fatalf("err = %v; want ErrRedirectRefused (the OTP and realm_uri are right)", err)
			}
			return
		}
		q, _ := url.ParseQuery(loc.RawQuery)
		if !strings.EqualFold(loc.Scheme, "zulip") || !strings.EqualFold(loc.Hostname(), "login") {
			t.Fatalf("accepted %q, not zulip://login", location)
		}
		if got := encrypt(key, knownOTP); !strings.EqualFold(got, q.Get("otp_encrypted_api_key")) {
			t.Fatalf("the key %q does not encrypt back to %s", key, q.Get("otp_encrypted_api_key"))
		}
		if email != q.Get("email") {
			t.Fatalf("email %q; the query says %q", email, q.Get("email"))
		}
		if id, err := strconv.ParseInt(q.Get("user_id"), 10, 64); err != nil || id != userID {
			t.Fatalf("user ID %d; the query says %q", userID, q.Get("user_id"))
		}
		realm, err := url.Parse(q.Get("realm"))
		if err != nil || !strings.EqualFold(realm.Hostname(), "chat.example.com") {
			t.Fatalf("accepted the realm %q for %s", q.Get("realm"), realmURI)
		}
	})
}
