package oidctest

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// program is the provider's package, a tool of the module (see the package
// comment).
const program = "github.com/zitadel/oidc/v3/example/server"

// built is the provider's binary, found or built once per process.
var built struct {
	once sync.Once
	path string
	err  error
}

// binary returns the path of the provider's program, or an error wrapping
// ErrNotBuilt. "go tool -n" builds the program into Go's build cache (the
// first time: seconds) and prints its path there, so that later test
// processes reuse it and nothing is left in a temporary directory.
func binary() (string, error) {
	built.once.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("%w: the go command is not on PATH (install Go 1.26 or later)", ErrNotBuilt)
			return
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(goCmd, "tool", "-n", program)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			built.err = fmt.Errorf("%w: go tool -n %s: %v\n%s(the module must require github.com/zitadel/oidc/v3 and list %s in a tool directive; its modules must be downloadable or in the module cache)",
				ErrNotBuilt, program, err, stderr.String(), program)
			return
		}
		built.path = strings.TrimSpace(stdout.String())
	})
	return built.path, built.err
}
