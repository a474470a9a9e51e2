package oidctest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
)

// startTimeout bounds how long the provider may take to answer discovery:
// seconds on a loaded machine, never a minute.
const startTimeout = 15 * time.Second

// errAddressInUse is a start that failed because another process took the
// port: launch tries another.
var errAddressInUse = errors.New("address already in use")

// process is the provider's running program.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startProcess runs bin with env added to this process's environment,
// writing its output to log, and waits until issuer answers discovery.
func startProcess(bin string, env []string, issuer string, log *syncbuf.Buffer) (*process, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	from := log.Len()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the provider: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	client := &http.Client{Timeout: time.Second}
	discovery := issuer + ".well-known/openid-configuration"
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.done:
			out := log.Since(from)
			if strings.Contains(out, "address already in use") {
				return nil, errAddressInUse
			}
			return nil, fmt.Errorf("the provider exited at start:\n%s", out)
		default:
		}
		if resp, err := client.Get(discovery); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
	p.kill()
	return nil, fmt.Errorf("the provider did not answer %s within %v:\n%s", discovery, startTimeout, log.Since(from))
}

// kill ends the program and waits until it has exited. It keeps nothing
// that a graceful stop would save.
func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// freePort returns a port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0") // every interface, as the provider listens
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
