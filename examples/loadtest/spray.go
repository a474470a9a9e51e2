package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The spray's goal: of sprayTries correct logins sent while it runs, at
// least sprayGoal succeed within sprayWithin.
const (
	sprayTries  = 10
	sprayGoal   = 9
	sprayWithin = 3 * time.Second
)

// hashQueue is what backends/password's defaults let into its hash queue:
// GOMAXPROCS slots and 64 waiting per slot (WithMaxConcurrent,
// WithMaxWaiting); the server's GOMAXPROCS is this process's.
func hashQueue() (slots, waiting int) {
	slots = runtime.GOMAXPROCS(0)
	return slots, 64 * slots
}

// tryResult is one correct login sent during the spray.
type tryResult struct {
	status  int
	busy    bool
	latency time.Duration
	err     error
}

// runSpray: every request a new username (unknown) from a new address, so
// neither budget ever refuses and every attempt must be verified, from
// twice as many connections as the hash queue holds, so it stays full.
// Every request must be answered: 401 once verified, or the busy answer
// when the queue is full. Meanwhile sprayTries returning users, each from
// the address it logged in from before the spray, log in correctly, one
// attempt each, spread over the spray.
func runSpray(ctx context.Context, e *env, variant string) ([]*result, error) {
	ns := e.namespace()
	spec := subjectSpec{variant: variant, users: usersWithHash(ns, "returning", sprayTries, e.hash)}
	sub, err := e.startSubject(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer sub.stop()
	host := sub.host
	login := func(i int) []byte {
		return appendLoginRequest(nil, host, spec.users[i].email, userPassword, ns.addr(uint64(i)))
	}
	for i := range sprayTries {
		c := newHTTPConn(host)
		a, err := c.roundTrip(login(i))
		c.close()
		if err != nil || a.status != 200 {
			return nil, fmt.Errorf("spray: the returning user's first login: %d %v; server log:\n%s", a.status, err, sub.serverLog())
		}
	}

	slots, waiting := hashQueue()
	sprayers := 2 * (slots + waiting)
	ws := httpWorkers(sprayers, host, func(buf []byte, seq uint64) []byte {
		return appendLoginRequest(buf, host, ns.email("nobody", int(seq)), wrongPassword, ns.addr(sprayTries+seq))
	}, func(a answer) bool { return a.status == 401 || a.busy() })
	defer closeWorkers(ws)
	sprayCtx, stopSpray := context.WithCancel(ctx)
	defer stopSpray()
	var seq atomic.Uint64
	sprayed := make(chan tally, 1)
	start := time.Now()
	go func() { sprayed <- runFor(sprayCtx, 24*time.Hour, ws, &seq) }()

	// The queue is full within milliseconds; the tries start after the
	// warm-up and are spread over the run.
	time.Sleep(e.warmup())
	interval := max(e.o.duration/sprayTries, 100*time.Millisecond)
	tries := make([]tryResult, sprayTries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * interval)
			c := newHTTPConn(host)
			defer c.close()
			req := login(i)
			begin := time.Now()
			a, err := c.roundTrip(req)
			tries[i] = tryResult{status: a.status, busy: a.busy(), latency: time.Since(begin), err: err}
		}()
	}
	wg.Wait()
	if left := e.o.duration - time.Since(start); left > 0 {
		time.Sleep(left)
	}
	stopSpray()
	t := <-sprayed

	r := &result{Unit: "answers/s"}
	fillTally(r, t)
	checkAnswers(r, t, "401 or busy")
	verified, busy := t.statuses["401"], t.statuses["429-busy"]
	secs := t.elapsed.Seconds()
	ok, answeredBusy, wrong := 0, 0, 0
	var worst time.Duration
	for _, tr := range tries {
		switch {
		case tr.err == nil && tr.status == 200 && tr.latency <= sprayWithin:
			ok++
		case tr.busy:
			answeredBusy++
		case tr.err != nil || tr.status != 200:
			wrong++
		}
		worst = max(worst, tr.latency)
	}
	r.hard("correct logins answered 200 or busy", wrong == 0, fmt.Sprintf("%d of %d answered otherwise", wrong, sprayTries))
	r.goal(fmt.Sprintf("%d of %d correct logins within %v", sprayGoal, sprayTries, sprayWithin), ok >= sprayGoal,
		fmt.Sprintf("%d succeeded, %d busy", ok, answeredBusy))
	r.Summary = fmt.Sprintf("%d connections; verified (401) %.1f/s, busy %.0f/s; correct logins: %d of %d within %v, %d busy, slowest %v",
		sprayers, float64(verified)/secs, float64(busy)/secs, ok, sprayTries, sprayWithin, answeredBusy, worst.Round(time.Millisecond))
	r.note("hash queue: %d slots, %d waiting (backends/password's defaults); the spray keeps %d requests in flight", slots, waiting, sprayers)
	for i, tr := range tries {
		r.note("correct login %d: status %d busy %v in %v (err %v)", i, tr.status, tr.busy, tr.latency.Round(time.Millisecond), tr.err)
	}
	measurePeakRSS(r, sub)
	return []*result{r}, nil
}
