package main

import (
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
)

// Two server processes sharing one Redis enforce one budget: five failed
// logins spread over both spend it, and the sixth attempt on either is 429
// even with the right password; a success on one clears it on both. While
// Redis is down or hung, logins are still answered, and still limited.
func TestInstancesShareOneBudgetInRedis(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	db := tempDB(t)
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")
	mustAdmin(t, db, "lear's long password\n", "create-user", "-email", "lear@zulip.com")
	// A generous bound on each call: a slow answer on a loaded test machine
	// would count as an outage and hand each instance its own budget.
	a := startServer(t, "-db", db, "-redis", redis.Addr(), "-redis-timeout", "5s")
	b := startServer(t, "-db", db, "-redis", redis.Addr(), "-redis-timeout", "5s")
	instances := []string{a.base, b.base}

	for i := range 5 {
		if code, _ := login(t, instances[i%2], "iago@zulip.com", "wrong"); code != 401 {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	for _, base := range instances {
		if code, _ := login(t, base, "iago@zulip.com", "a long password"); code != 429 {
			t.Errorf("6th attempt on %s with the right password: %d, want 429", base, code)
		}
	}

	// Four failures on both, a success on one: the budget is full on both.
	for i := range 4 {
		login(t, instances[i%2], "lear@zulip.com", "wrong")
	}
	if code, _ := login(t, a.base, "lear@zulip.com", "lear's long password"); code != 200 {
		t.Fatalf("success: %d", code)
	}
	for i := range 5 {
		if code, _ := login(t, b.base, "lear@zulip.com", "wrong"); code != 401 {
			t.Errorf("failure %d on the other instance after the success: %d, want 401 (the budget cleared)", i, code)
		}
	}

	// The outage, on an instance with the default 100 ms bound.
	c := startServer(t, "-db", db, "-redis", redis.Addr())
	for _, outage := range []struct {
		name       string
		down, back func()
	}{
		{"stopped", redis.Kill, redis.Restart},
		{"hung", redis.Pause, redis.Resume},
	} {
		outage.down()
		start := time.Now()
		code, body := login(t, c.base, "lear@zulip.com", "lear's long password")
		if code != 200 && code != 401 && code != 429 {
			t.Errorf("Redis %s: %d %v, want a Zulip answer", outage.name, code, body)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Redis %s: the login took %v", outage.name, took)
		}
		// Still limited: the in-process budget takes over.
		limited := false
		for range 7 {
			if code, _ := login(t, c.base, "nobody@zulip.com", "wrong"); code == 429 {
				limited = true
			}
		}
		if !limited {
			t.Errorf("Redis %s: seven failures for one username were not limited", outage.name)
		}
		outage.back()
	}
	if !strings.Contains(c.stderr.String(), "Redis") {
		t.Errorf("the outage was not logged:\n%s", c.stderr.String())
	}
}
