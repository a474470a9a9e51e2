package zulipauth_test

import (
	"context"
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

// The README's wiring: users in a store, argon2id passwords, the login
// mounted on the application's own mux.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	pw, err := password.New(store)
	if err != nil {
		log.Fatal(err)
	}
	hash, _ := pw.Hash(ctx, "opensesame")
	store.CreateUser(ctx, zulipauth.NewUser{Email: "iago@zulip.com", PasswordHash: hash})

	auth, err := zulipauth.New(zulipauth.Config{Users: store, Authenticator: pw})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	auth.Mount(mux)
	srv := httptest.NewServer(zulipauth.MergeSlashes(mux)) // http.ListenAndServe in a real app
	defer srv.Close()

	resp, err := http.PostForm(srv.URL+"/api/v1/fetch_api_key",
		url.Values{"username": {"iago@zulip.com"}, "password": {"opensesame"}})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	// Output: 200 OK application/json
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

// Errors too: every Zulip error has a constructor.
func ExampleWriteError() {
	w := httptest.NewRecorder()
	zulipauth.WriteError(w, zulipauth.MissingArgument("content"))
	fmt.Print(w.Code, " ", w.Body)
	// Output: 400 {"result":"error","msg":"Missing 'content' argument","var_name":"content","code":"REQUEST_VARIABLE_MISSING"}
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
