package redislimit_test

import (
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// Every instance of the application shares the login, per-address and
// per-user budgets through one Redis. (Not run: it needs a Redis server.)
func Example() {
	rdb := redis.NewClient(&redis.Options{
		Addr: "localhost:6379",
		// The limiter's timeout then bounds each call through its
		// context, which is cheaper than the alternative; see bounded in
		// the package documentation.
		ContextTimeoutEnabled: true,
	})
	defer rdb.Close()
	// One prefix per budget: the three must not share buckets.
	login, err := redislimit.New(rdb, zulipauth.DefaultUsernameBudget(), redislimit.WithPrefix("myapp:login:"))
	if err != nil {
		log.Fatal(err)
	}
	ip, err := redislimit.New(rdb, zulipauth.DefaultIPBudget(), redislimit.WithPrefix("myapp:ip:"))
	if err != nil {
		log.Fatal(err)
	}
	user, err := redislimit.New(rdb, zulipauth.DefaultUserBudget(), redislimit.WithPrefix("myapp:user:"))
	if err != nil {
		log.Fatal(err)
	}

	store := memstore.New() // sqlstore on PostgreSQL, for several instances
	pw, err := password.New(store)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := zulipauth.New(zulipauth.Config{
		Users:           store,
		Authenticator:   pw,
		UsernameLimiter: login,
		IPLimiter:       ip,
		UserLimiter:     user,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	auth.Mount(mux)
	log.Fatal(http.ListenAndServe(":8080", zulipauth.MergeSlashes(mux)))
}

// A limiter that refuses every login while Redis is unavailable, rather
// than limiting each instance on its own budget meanwhile. Clients get
// Zulip's 429 with a Retry-After of a second.
func ExampleWithFailClosed() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	login, err := redislimit.New(rdb, zulipauth.DefaultUsernameBudget(),
		redislimit.WithPrefix("myapp:login:"), redislimit.WithFailClosed())
	if err != nil {
		log.Fatal(err)
	}
	_ = zulipauth.Config{UsernameLimiter: login}
}
