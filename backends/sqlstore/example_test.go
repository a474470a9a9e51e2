package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// An application opens its SQLite file once at start-up and hands the store
// to zulipauth as its UserStore (and, since a Store is a RealmStore, as the
// source of its realms).
func Example() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "sqlite", filepath.Join(dir, "zulipauth.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	u, err := store.CreateUser(ctx, zulipauth.NewUser{Email: "Iago@Zulip.com", FullName: "Iago"})
	if err != nil {
		log.Fatal(err)
	}
	found, err := store.UserByEmail(ctx, "", "  iago@zulip.COM")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found.ID == u.ID, found.Email, found.FullName)

	_, err = store.CreateUser(ctx, zulipauth.NewUser{Email: "IAGO@zulip.com"})
	fmt.Println(errors.Is(err, zulipauth.ErrUserExists))

	_, err = store.UserByAPIKey(ctx, zulipauth.GenerateAPIKey())
	fmt.Println(errors.Is(err, zulipauth.ErrUserNotFound))
	// Output:
	// true Iago@Zulip.com Iago
	// true
	// true
}

// A PostgreSQL store is opened the same way; every application instance
// using the database sees the same users.
func ExampleOpen_postgres() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "postgres", "postgres://app:secret@db.internal:5432/app?sslmode=verify-full")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
