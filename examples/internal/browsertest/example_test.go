package browsertest_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/zulipauth/zulipauth-go/examples/internal/browsertest"
)

// A mobile login from end to end, as a test of a server writes it: open
// login_url with a fresh pad, log in at the identity provider's form, and
// check the zulip:// redirect as the app would.
func ExampleStart() {
	_ = func(t *testing.T, realmURI, loginURL string) { // func TestMobileLogin(t *testing.T) {
		b := browsertest.Start(t)
		otp := browsertest.NewOTP()
		if err := b.Open(t.Context(), loginURL+"?mobile_flow_otp="+otp); err != nil {
			t.Fatal(err)
		}
		err := b.Submit(t.Context(), map[string]string{"username": "hamlet", "password": "secret"})
		if err != nil {
			t.Fatal(err)
		}
		location, err := b.WaitForRedirect(t.Context(), "zulip")
		if err != nil {
			t.Fatal(err)
		}
		apiKey, email, userID, err := browsertest.CheckMobileRedirect(location, otp, realmURI)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _ = apiKey, email, userID // compare with the user's
	}
}

// The redirect of Zulip's own test of the encryption: the key "12ac"×8
// under the pad "7be38894"×8.
func ExampleCheckMobileRedirect() {
	location, _ := url.Parse("zulip://login?otp_encrypted_api_key=" +
		"4ad1e9f74ad1e9f74ad1e9f74ad1e9f74ad1e9f74ad1e9f74ad1e9f74ad1e9f7" +
		"&email=iago%40zulip.com&user_id=7&realm=https%3A%2F%2Fchat.example.com")
	otp := "7be388947be388947be388947be388947be388947be388947be388947be38894"
	apiKey, email, userID, err := browsertest.CheckMobileRedirect(location, otp, "https://chat.example.com/")
	fmt.Println(apiKey, email, userID, err)

	// The same redirect, to a phone that logged in to another server.
	_, _, _, err = browsertest.CheckMobileRedirect(location, otp, "https://zulip.example.org/")
	fmt.Println(err)
	// Output:
	// 12ac12ac12ac12ac12ac12ac12ac12ac iago@zulip.com 7 <nil>
	// browsertest: the mobile app refuses the redirect: realm "https://chat.example.com" is not on the origin of realm_uri, https://zulip.example.org
}
