package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/zulipauth/zulipauth-go/backends/password"
)

// memoryHeadroom is what the server may hold beyond its hash slots: the
// runtime, the store, the limiters and the connections of a stampede.
const memoryHeadroom = 64 << 20

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
	return limit, fmt.Sprintf("serve: %d hash slots x %d MiB + %d MiB (set GOMEMLIMIT to choose another)",
		runtime.GOMAXPROCS(0), password.DefaultParams().Memory>>10, memoryHeadroom>>20)
}

// memoryLimitText writes a memory limit for the start-up line: in MiB, or
// "off" for GOMEMLIMIT=off.
func memoryLimitText(limit int64) string {
	if limit == math.MaxInt64 {
		return "off"
	}
	return fmt.Sprintf("%dMiB", limit>>20)
}
