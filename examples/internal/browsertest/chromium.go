package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// ErrNotInstalled is the error of Launch where Chromium is missing, wrapped
// with what to install.
var ErrNotInstalled = errors.New("browsertest: Chromium not found")

// DefaultPath is where Debian's chromium package installs the browser. The
// environment variable CHROMIUM, when set, names another.
const DefaultPath = "/usr/bin/chromium"

// flags are Chromium's command line: headless, as root in a container (no
// sandbox, no GPU), and quiet. This machine's network refuses Chromium's
// background connections (updates, sync, QUIC probes), and a browser that
// keeps trying to make them is slow to start and to stop; these flags turn
// them off. chromedp adds a new, empty --user-data-dir and removes it when
// the browser stops, and the pipe it talks to the browser over.
var flags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", true),
	chromedp.Flag("no-sandbox", true),
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("no-first-run", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
}

// findChromium returns the path of the browser, or an error wrapping
// ErrNotInstalled that says what to install.
func findChromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%w: CHROMIUM=%s is not an executable (unset it to use %s)", ErrNotInstalled, p, DefaultPath)
		}
		return p, nil
	}
	if _, err := exec.LookPath(DefaultPath); err != nil {
		return "", fmt.Errorf("%w: no browser to test with (install Debian's chromium package: apt-get install chromium; or set CHROMIUM to a Chromium binary)", ErrNotInstalled)
	}
	return DefaultPath, nil
}

// chromiumPath returns the path of the browser, or skips tb (fails it when
// CI=true) where it is missing.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	p, err := findChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err.Error() + "; CI=true, so this is a failure, not a skip")
		}
		tb.Skip(err.Error())
	}
	return p
}

// process is a running Chromium. ctx is the chromedp context of its first
// tab, which is never used: each Browser opens a tab of its own, in a
// browser context of its own, as a child of ctx.
type process struct {
	ctx         context.Context
	cancel      context.CancelFunc // closes the tab, stops the browser and waits for it
	cancelAlloc context.CancelFunc
}

// launch starts Chromium at path and waits until it answers.
func launch(path string) (*process, error) {
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(path)}, flags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first Run starts the browser and binds it to ctx, which has no
	// deadline: a start that hangs is ended by the test's own timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, fmt.Errorf("browsertest: starting %s: %w", path, err)
	}
	return &process{ctx: ctx, cancel: cancel, cancelAlloc: cancelAlloc}, nil
}

// close stops the browser, waits for it and removes its user data
// directory.
func (p *process) close() {
	p.cancel()
	p.cancelAlloc()
}

// alive reports whether the browser still runs: a crash or a lost pipe ends
// ctx.
func (p *process) alive() bool { return p.ctx.Err() == nil }

// shared is the one browser of a test binary whose TestMain calls Main.
var shared struct {
	mu      sync.Mutex
	enabled bool
	proc    *process
}

// Main runs the tests of a binary with one Chromium for all of them, and
// exits with their status. Call it from TestMain:
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
//
// Without it, each Start launches a browser of its own. With it, the first
// Start launches the browser (a test that starts none launches none), every
// Start opens a tab in a new browser context of it, as isolated as a
// browser of its own (cookies, storage, cache), and the browser stops when
// the tests end. Starting Chromium is most of the cost of a short browser
// test (see the package comment), which Main pays once.
//
// A browser that crashes is launched again by the next Start. A test that
// needs the whole browser to itself (one that kills it, say) should use
// Launch.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.enabled = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	if shared.proc != nil {
		shared.proc.close()
		shared.proc = nil
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// acquire returns the process a new Browser opens its tab in: the shared one
// under Main (launched if there is none, or it died), else a new one, which
// the Browser owns.
func acquire(path string) (p *process, owned bool, err error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.enabled {
		p, err := launch(path)
		return p, true, err
	}
	if shared.proc != nil && !shared.proc.alive() {
		shared.proc.close()
		shared.proc = nil
	}
	if shared.proc == nil {
		if shared.proc, err = launch(path); err != nil {
			return nil, false, err
		}
	}
	return shared.proc, false, nil
}
