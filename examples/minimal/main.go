// Command minimal is the smallest wiring of zulipauth into a stdlib ServeMux:
// users in memory, argon2id passwords, Zulip's login on /api/v1/fetch_api_key
// and one route of the application's own behind the API-key middleware.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9992", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(serve(ln, os.Stdout))
}

func serve(ln net.Listener, out io.Writer) error {
	ctx := context.Background()
	store := memstore.New()
	pw, err := password.New(store)
	if err != nil {
		return err
	}
	hash, err := pw.Hash(ctx, "opensesame")
	if err != nil {
		return err
	}
	if _, err := store.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com", FullName: "Iago", PasswordHash: hash}); err != nil {
		return err
	}
	auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	auth.Mount(mux) // fetch_api_key, server_settings
	mux.Handle("/api/v1/users/me", auth.RequireAPIKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := zulipauth.UserFrom(r.Context())
		zulipauth.WriteSuccess(w, map[string]any{"user_id": u.ID, "email": u.Email, "full_name": u.FullName})
	})))
	fmt.Fprintf(out, "curl -sSX POST http://%s/api/v1/fetch_api_key --data-urlencode username=iago@zulip.com --data-urlencode password=opensesame\n", ln.Addr())
	return http.Serve(ln, zulipauth.MergeSlashes(mux))
}
