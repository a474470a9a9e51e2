package password_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// An Authenticator over any UserStore: Hash makes the hash a new user's
// account stores, Authenticate checks an attempt (zulipauth's login handler
// calls it; it is called directly here). A hash imported from a Zulip
// server's database (Django's argon2) verifies too, and is upgraded to the
// current argon2id on its user's next correct login.
func ExampleNew() {
	ctx := context.Background()
	store := memstore.New()
	pw, err := password.New(store)
	if err != nil {
		log.Fatal(err)
	}
	hash, err := pw.Hash(ctx, "correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	store.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com", PasswordHash: hash})

	u, err := pw.Authenticate(ctx, zulipauth.Attempt{Username: "Iago@zulip.com", Password: "correct horse battery staple"})
	fmt.Println(u.Email, err)
	_, err = pw.Authenticate(ctx, zulipauth.Attempt{Username: "iago@zulip.com", Password: "wrong"})
	fmt.Println(errors.Is(err, zulipauth.ErrBadCredentials))
	// Output:
	// iago@zulip.com <nil>
	// true
}
