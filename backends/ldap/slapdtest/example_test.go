package slapdtest_test

import (
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
)

// A test starts its own slapd and points the authenticator at it: hamlet's
// entry then binds with slapdtest.HamletPassword.
func ExampleStart() {
	_ = func(t *testing.T) { // func TestLogin(t *testing.T) {
		d := slapdtest.Start(t, slapdtest.Options{})
		auth, err := ldap.New(ldap.Config{
			Users:          memstore.New(),
			URL:            d.URL,
			UserDNTemplate: slapdtest.UserDNTemplate,
			AppendDomain:   "example.org",
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { auth.Close() })
	}
}
