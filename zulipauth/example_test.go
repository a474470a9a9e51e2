package zulipauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// A whole application: users in a store, passwords checked by
// backends/password, the login endpoints mounted on the application's own
// mux, and one API route of its own behind RequireAPIKey. A client logs in
// with fetch_api_key, then calls the route with HTTP Basic email:api_key.
func Example() {
	store := memstore.New() // or sqlstore.Open(ctx, "sqlite", "app.db"), or your own UserStore
	pw, err := password.New(store)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	auth.Mount(mux) // fetch_api_key, server_settings, ...
	mux.Handle("/api/v1/users/me", auth.RequireAPIKey(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			u, _ := zulipauth.UserFrom(r.Context())
			zulipauth.WriteSuccess(w, map[string]any{"user_id": u.ID, "email": u.Email})
		})))
	srv := httptest.NewServer(zulipauth.MergeSlashes(mux)) // http.ListenAndServe in a real application
	defer srv.Close()

	// A user, and a client logging in as a Zulip client does.
	hash, _ := pw.Hash(context.Background(), "opensesame")
	store.CreateUser(context.Background(), zulipauth.NewUser{Email: "iago@zulip.com", PasswordHash: hash})
	resp, err := http.PostForm(srv.URL+"/api/v1/fetch_api_key",
		url.Values{"username": {"iago@zulip.com"}, "password": {"opensesame"}})
	if err != nil {
		log.Fatal(err)
	}
	var login struct {
		APIKey string `json:"api_key"`
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/users/me", nil)
	req.SetBasicAuth("iago@zulip.com", login.APIKey)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	os.Stdout.ReadFrom(resp.Body)
	// Output: {"result":"success","msg":"","email":"iago@zulip.com","user_id":1}
}

// RequireAPIKey guards the application's own routes; UserFrom reads the user
// it authenticated. A request without credentials gets Zulip's 401.
func ExampleAuth_RequireAPIKey() {
	store := memstore.New()
	pw, _ := password.New(store)
	auth, _ := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw})
	me := auth.RequireAPIKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := zulipauth.UserFrom(r.Context())
		zulipauth.WriteSuccess(w, map[string]any{"full_name": u.FullName})
	}))

	u, _ := store.CreateUser(context.Background(), zulipauth.NewUser{Email: "iago@zulip.com", FullName: "Iago"})
	for _, creds := range [][2]string{{}, {u.Email, u.APIKey}} {
		r := httptest.NewRequest("GET", "/api/v1/users/me", nil)
		if creds[0] != "" {
			r.SetBasicAuth(creds[0], creds[1])
		}
		w := httptest.NewRecorder()
		me.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 401 {"result":"error","msg":"Not logged in: API authentication or user session required","code":"UNAUTHORIZED"}
	// 200 {"result":"success","msg":"","full_name":"Iago"}
}

// Chain tries authenticators as Zulip tries its backends: the first success
// wins; when all fail, the most specific failure is the answer.
func ExampleChain() {
	directory := zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
		return zulipauth.User{}, zulipauth.ErrBadCredentials // not in the directory
	})
	local := zulipauth.AuthenticatorFunc(func(context.Context, zulipauth.Attempt) (zulipauth.User, error) {
		return zulipauth.User{}, zulipauth.ErrUserDeactivated
	})
	_, err := zulipauth.Chain(directory, local).Authenticate(context.Background(), zulipauth.Attempt{Username: "iago@zulip.com"})
	fmt.Println(err)
	// Output: zulipauth: user deactivated
}

// HostRealms finds the organization in the Host header, as Zulip does:
// subdomains of the external host are realms, the host itself and "www"
// the root realm.
func ExampleHostRealms() {
	hr := zulipauth.HostRealms{Realms: memstore.New(), ExternalHost: "chat.example.com"}
	for _, host := range []string{"chat.example.com", "sales.chat.example.com", "www.chat.example.com", "SALES.chat.example.com:443"} {
		fmt.Printf("%q\n", hr.Subdomain(host))
	}
	// Output:
	// ""
	// "sales"
	// ""
	// "sales"
}

// A host application answers its own endpoints in Zulip's envelope.
func ExampleWriteSuccess() {
	w := httptest.NewRecorder()
	zulipauth.WriteSuccess(w, struct {
		UserID   int64  `json:"user_id"`
		FullName string `json:"full_name"`
	}{8, "Iago"})
	os.Stdout.Write(w.Body.Bytes())
	// Output: {"result":"success","msg":"","user_id":8,"full_name":"Iago"}
}

// Errors too: an *Error from a constructor, or a sentinel, answered as a
// login answers it.
func ExampleWriteError() {
	for _, err := range []error{zulipauth.MissingArgument("content"), zulipauth.ErrUserDeactivated} {
		w := httptest.NewRecorder()
		zulipauth.WriteError(w, err)
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 400 {"result":"error","msg":"Missing 'content' argument","var_name":"content","code":"REQUEST_VARIABLE_MISSING"}
	// 401 {"result":"error","msg":"Account is deactivated","code":"USER_DEACTIVATED"}
}

// A limiter takes the instant explicitly in AllowAt, so tests need no sleep.
func ExampleMemoryLimiter() {
	l := zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 2, Per: time.Minute})
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		d := l.AllowAt("iago@zulip.com", t)
		fmt.Println(d.Allowed, d.Remaining, d.RetryAfter)
	}
	d := l.AllowAt("iago@zulip.com", t.Add(30*time.Second))
	fmt.Println(d.Allowed, d.Remaining)
	// Output:
	// true 1 0s
	// true 0 0s
	// false 0 30s
	// true 0
}
