package main

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The api scenario's goals, the issue's: the middleware costs at most a
// tenth of a trivial route's throughput with 10,000 active users, at most
// 15 % with 100,000, and at most a fifth with the per-user budget leased
// from Redis.
const (
	apiGoal      = 0.9
	apiWideGoal  = 0.85
	apiRedisGoal = 0.8
)

// The api scenario's spreads: how many users it sends requests for, round
// robin. apiSpread is a busy server's active users, the 10,000;
// apiWideSpread, the 100k variant's, is ten times as many, as many keys as
// a MemoryLimiter holds (zulipauth.DefaultMaxKeys), so that the API-key
// cache and the per-user budgets are measured at the size where their
// bounds, evictions and misses show. Under -short the 100k variant has
// apiWideShortSpread users: seeding 100,000 and sending each one request
// takes 20 to 25 s on a 2-core machine, most of a short run's budget for a
// scenario; 30,000 still outnumber the api scenario's users three to one,
// and take under 10 s.
const (
	apiSpread          = 10_000
	apiWideSpread      = 100_000
	apiWideShortSpread = 30_000
)

// apiPeakRate bounds the requests per second the api scenario expects on
// this kind of machine, to check its spread (see apiBudgetUsers).
const apiPeakRate = 50000

// apiBudgetUsers is how many users the api scenario needs at least so that
// none runs out of its budget: each may make zulipauth.DefaultUserBudget()
// (200 a minute, Zulip's api_by_user), less the one request of the filling
// pass, and the server's budgets are not raised, so at apiPeakRate for the
// whole run none runs out. Only a run of minutes needs more than apiSpread.
func apiBudgetUsers(e *env) int {
	run := e.o.duration + 2*e.warmup()
	b := zulipauth.DefaultUserBudget()
	perUser := float64(b.Events)*(1+run.Seconds()/b.Per.Seconds()) - 1
	return int(math.Ceil(apiPeakRate * run.Seconds() / perUser))
}

// runAPI: GET /api/v1/users/me with HTTP Basic email:api_key, each request
// for the next user (apiSpread of them; 100k variant: apiWideSpread),
// through RequireAPIKey (the server's API-key cache on, its default),
// against the same route without the middleware answering for one of these
// users (refserver.BareHandler, the same bytes), with the same requests,
// keys included. Before the rounds, one request for every user fills the
// server's API-key cache and budgets as far as they hold, so that the
// rounds measure a server with all its users active, and checks that every
// key is accepted.
func runAPI(ctx context.Context, e *env, variant string) ([]*result, error) {
	spread, goal, label := apiSpread, apiGoal, "api"
	if variant == "redis" {
		goal = apiRedisGoal
	}
	if variant == "100k" {
		spread, goal, label = apiWideSpread, apiWideGoal, "api-100k"
		if e.o.short {
			spread = apiWideShortSpread
		}
		variant = "" // the default server, with more users
	}
	ns := e.namespace()
	n := max(spread, apiBudgetUsers(e))
	spec := subjectSpec{variant: variant, users: usersWithHash(ns, "api", n, e.hash)}
	sub, err := e.startSubject(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer sub.stop()
	// The typical user's email and id have as many digits as those of 9
	// users in 10: for them, the server's answer and the baseline's are as
	// long.
	bare, bareHost, err := e.startBaseline(ctx, "users-me", "-baseline-user", baselineUserFlag(sub.typical))
	if err != nil {
		return nil, err
	}
	defer bare.stop()

	auths := make([]string, len(sub.users))
	for i, u := range sub.users {
		auths[i] = basicAuth(u.Email, u.APIKey)
		secrets.add(secretBasicCredentials, strings.TrimPrefix(auths[i], "Basic "))
	}
	get := func(host string) func([]byte, uint64) []byte {
		return func(buf []byte, seq uint64) []byte {
			return appendAPIRequest(buf, host, "/api/v1/users/me", auths[seq%uint64(len(auths))])
		}
	}
	r := &result{Unit: "req/s"}
	e.logf("filling: one request for each of %d users", len(auths))
	fill := runCount(ctx, sub.host, e.o.workers, uint64(len(auths)), get(sub.host), status(200))
	checkPhase(r, fill, "filling: ", "200")
	filled, err := sub.rssMiB()
	if err != nil {
		r.note("RSS not read: %v", err)
	}

	subj := httpWorkers(e.o.workers, sub.host, get(sub.host), status(200))
	defer closeWorkers(subj)
	base := httpWorkers(e.o.workers, bareHost, get(bareHost), status(200))
	defer closeWorkers(base)
	c := e.measure(ctx, label, subj, sub.pid, base, bare.pid())

	fillComparison(r, c, "bare users/me")
	checkAnswers(r, c.subject, "200")
	ratioGoal(r, goal)
	measurePeakRSS(r, sub)
	r.Summary = fmt.Sprintf("%d users, each key used once first (%.0f/s)", len(auths), fill.rate())
	if filled > 0 {
		r.Summary += fmt.Sprintf(", rss %.0f MiB then", filled)
	}
	r.note("%d users round robin, each sent one request before the rounds; no user's budget (%d a minute) runs out below %d requests a second", len(auths), zulipauth.DefaultUserBudget().Events, apiPeakRate)
	return []*result{r}, nil
}
