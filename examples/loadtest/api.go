package main

import (
	"context"
	"math"
	"strings"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// apiGoal is the goal: the middleware costs at most a tenth of a
// trivial route's throughput.
const apiGoal = 0.9

// apiPeakRate bounds the requests per second the api scenario expects on
// this kind of machine, to size its users (see apiUsers).
const apiPeakRate = 50000

// apiUsers is how many users the api scenario spreads its requests over:
// each may make zulipauth.DefaultUserBudget() (200 a minute, Zulip's
// api_by_user) and the server's budgets are not raised, so at apiPeakRate
// for the whole run none runs out.
func apiUsers(e *env) int {
	run := e.o.duration + 2*e.warmup()
	perUser := float64(zulipauth.DefaultUserBudget().Events) * (1 + run.Seconds()/zulipauth.DefaultUserBudget().Per.Seconds())
	return max(100, int(math.Ceil(apiPeakRate*run.Seconds()/perUser)))
}

// runAPI: GET /api/v1/users/me with HTTP Basic email:api_key, each request
// for the next user, through RequireAPIKey (the server's API-key cache on,
// its default), against the same route and answer without the middleware,
// with the same requests.
func runAPI(ctx context.Context, e *env, variant string) ([]*result, error) {
	ns := e.namespace()
	spec := subjectSpec{variant: variant, users: usersWithHash(ns, "api", apiUsers(e), e.hash)}
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
	subj := httpWorkers(e.o.workers, sub.host, get(sub.host), status(200))
	defer closeWorkers(subj)
	base := httpWorkers(e.o.workers, bareHost, get(bareHost), status(200))
	defer closeWorkers(base)
	c := e.measure(ctx, "api", subj, sub.pid, base, bare.pid())

	r := &result{Unit: "req/s"}
	fillComparison(r, c, "bare users/me")
	checkAnswers(r, c.subject, "200")
	ratioGoal(r, apiGoal)
	r.note("%d users, so that no user's budget (%d a minute) runs out at %d requests a second", len(auths), zulipauth.DefaultUserBudget().Events, apiPeakRate)
	measurePeakRSS(r, sub)
	return []*result{r}, nil
}
