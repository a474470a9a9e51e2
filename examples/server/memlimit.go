package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// memoryHeadroom is what the server may hold beyond its hash slots: the
// runtime, the store, the limiters and the connections of a stampede. At 64
// MiB the collector ran, and the runtime gave pages back to the kernel,
// often enough that a login cost about a millisecond more than its argon2id
// (the load harness's logins at 0.93 of raw argon2id; 0.96 at 80 MiB, with
// the stampede's peak still under its bound).
const memoryHeadroom = 80 << 20

// memoryLimit is the soft memory limit serve gives the Go runtime: every
// hash slot's argon2id memory (backends/password runs GOMAXPROCS
// verifications at once by default, each allocating Params.Memory KiB) plus
// memoryHeadroom. An imported hash with more memory (up to
// password.MaxParams().Memory, 128 MiB) is verified alone, above the limit
// for as long as it runs: the collector then works harder, and the
// resident set stays within that hash's memory plus the headroom.
func memoryLimit() int64 {
	return int64(runtime.GOMAXPROCS(0))*int64(password.DefaultParams().Memory)<<10 + memoryHeadroom
}

// setMemoryLimit sets memoryLimit as the runtime's soft limit, unless the
// operator set GOMEMLIMIT, and returns the limit in force and where it came
// from, for the start-up line (announce): "GOMEMLIMIT", or how serve
// computed it. Why a limit: each verification leaves its argon2id memory
// as garbage, and with the default GOGC the heap may grow to twice what is
// live before it is collected, so a burst of logins (1,000 at once) raised
// the resident set well past what the slots hold at one time. The limit
// makes the collector run earlier instead; it is soft, so a server that
// needs more still gets it, at the cost of more collection.
func setMemoryLimit() (limit int64, from string) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT" // -1 reads the limit the runtime took from it
	}
	limit = memoryLimit()
	debug.SetMemoryLimit(limit)
	return limit, fmt.Sprintf("serve: %d hash slots x %d MiB + %d MiB + %d bytes per key the caches and budgets hold (set GOMEMLIMIT to choose another)",
		runtime.GOMAXPROCS(0), password.DefaultParams().Memory>>10, memoryHeadroom>>20, perKeyMemory)
}

// perKeyMemory is what the limit allows for each key the API-key cache and
// the budgets kept in this process hold: a cached user is about 650 bytes,
// an unknown key about 110, a budget's bucket about 200. With 100,000 active
// users cached (the cache's default bound) the live heap alone passed the
// fixed limit, and the collector ran without pause: the load harness's
// api/100k answered at a fifth of the bare route's rate, and at 0.7 with
// GOMEMLIMIT=1GiB. A limit fixed high enough for them would let a stampede's
// argon2id garbage grow the heap with no users cached; so the limit follows
// what is held instead.
const perKeyMemory = 1 << 10

// heldKeys is how many keys the caches and in-process budgets of a hold.
func heldKeys(s zulipauth.Stats) int {
	return s.APIKeyCacheKeys + max(s.UsernameLimiterKeys, 0) + max(s.IPLimiterKeys, 0) + max(s.UserLimiterKeys, 0)
}

// followMemoryLimit sets the soft limit to base plus perKeyMemory for each
// key auth holds, every second until ctx ends (not at all where the
// operator set GOMEMLIMIT: from is then "GOMEMLIMIT").
func followMemoryLimit(ctx context.Context, base int64, from string, auth func() *zulipauth.Auth) {
	if from == "GOMEMLIMIT" {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if a := auth(); a != nil {
				debug.SetMemoryLimit(base + int64(heldKeys(a.Stats()))*perKeyMemory)
			}
		}
	}
}

// memoryLimitText writes a memory limit for the start-up line: in MiB, or
// "off" for GOMEMLIMIT=off.
func memoryLimitText(limit int64) string {
	if limit == math.MaxInt64 {
		return "off"
	}
	return fmt.Sprintf("%dMiB", limit>>20)
}
