package browsertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout is Browser.Timeout unless a test sets another.
const DefaultTimeout = 15 * time.Second

// Browser is one tab of a headless Chromium, in a browser context of its
// own: its cookies, storage and cache are its alone, as in a new incognito
// window, so two Browsers are two people (or one person's two browsers).
// Start gives a test one; Launch gives a program one.
//
// The methods that load a page (Open, Submit, Click) return when the page
// has loaded, or when the browser stopped at a redirect to a scheme it has
// no handler for, such as zulip://: Chromium does not follow it, but
// records it, and WaitForRedirect returns it. A page with an HTTP error
// status (a 403 with an HTML body) loads like any other; Page reads its
// status and its text.
//
// Every method that waits takes a context: a call ends when the context is
// done, or after Timeout where the context has no deadline. A Browser is
// one tab: call its methods from one goroutine at a time, except Redirects
// and Close, which any goroutine may call.
type Browser struct {
	// Timeout bounds each call whose context has no deadline; Start and
	// Launch set it to DefaultTimeout.
	Timeout time.Duration

	tab       context.Context // chromedp's context of the tab
	cancelTab context.CancelFunc
	proc      *process // the browser, closed with the tab if owned
	owned     bool
	rec       *recorder
	closeOnce sync.Once
}

// Start opens a tab for tb in a new browser context of a headless Chromium
// (Debian's, at DefaultPath, or where the environment variable CHROMIUM
// says) and closes it when tb ends; if tb failed, what the tab loaded is
// written to tb's log first. Under Main, the tests of the binary share one
// Chromium; otherwise Start launches one for tb and stops it at the end.
//
// Where Chromium is not installed Start skips tb, or fails it when the
// environment variable CI is "true": in CI a browser test that silently
// skips proves nothing. It fails tb when the browser does not start.
func Start(tb testing.TB) *Browser {
	tb.Helper()
	path := chromiumPath(tb)
	proc, owned, err := acquire(path)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := open(proc, owned)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("browsertest: what the tab loaded:\n%s", b.rec.history())
		}
		b.Close()
	})
	return b
}

// Launch is Start for a program: it launches a Chromium of its own and
// opens a tab in it. The caller must call Close, which stops the browser.
// The error wraps ErrNotInstalled where Chromium is missing.
func Launch() (*Browser, error) {
	path, err := findChromium()
	if err != nil {
		return nil, err
	}
	proc, err := launch(path)
	if err != nil {
		return nil, err
	}
	return open(proc, true)
}

// open opens a tab, in a new browser context of proc, that records what
// its main frame loads. It stops proc on failure if owned.
func open(proc *process, owned bool) (*Browser, error) {
	rec := newRecorder()
	tab, cancel := chromedp.NewContext(proc.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(rec.handle))
	b := &Browser{Timeout: DefaultTimeout, tab: tab, cancelTab: cancel, proc: proc, owned: owned, rec: rec}
	// The first Run opens the tab and binds it to the context it is given,
	// so that context is the tab's, without a deadline.
	tree, err := chromedp.Run(tab, func(ctx context.Context, t *chromedp.Target) (page.GetFrameTreeResult, error) {
		return cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("browsertest: opening a tab: %w", err)
	}
	rec.setMainFrame(tree.FrameTree.Frame.ID)
	return b, nil
}

// Close closes the tab and its browser context, and stops the browser if
// the Browser has one of its own (Launch, or Start without Main). It is
// safe to call more than once; later calls of other methods fail.
func (b *Browser) Close() {
	b.closeOnce.Do(func() {
		b.cancelTab()
		if b.owned {
			b.proc.close()
		}
	})
}

// Context returns chromedp's context of the tab, for chromedp actions this
// package does not wrap:
//
//	title, err := chromedp.Run(b.Context(), chromedp.Title())
//
// It has no deadline; to bound an action, derive a context from it with
// context.WithTimeout. It ends when the Browser is closed. What the actions
// load is recorded as Open's loads are.
func (b *Browser) Context() context.Context { return b.tab }

// call returns the context of one call: the tab's, ended by ctx, and by
// ctx's deadline or else Timeout.
func (b *Browser) call(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(b.tab)
	stop := context.AfterFunc(ctx, cancel)
	var cancelTimeout context.CancelFunc
	if deadline, ok := ctx.Deadline(); ok {
		cctx, cancelTimeout = context.WithDeadline(cctx, deadline)
	} else {
		cctx, cancelTimeout = context.WithTimeout(cctx, b.Timeout)
	}
	return cctx, func() {
		cancelTimeout()
		stop()
		cancel()
	}
}

// callError explains err, the end of a call that waited for what: the
// caller's cancellation, a deadline (the context's or Timeout; with what
// the tab loaded) or a failure.
func (b *Browser) callError(ctx context.Context, what string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("browsertest: %s: %w", what, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		limit := "by the context's deadline"
		if _, ok := ctx.Deadline(); !ok {
			limit = fmt.Sprintf("within %v (Browser.Timeout)", b.Timeout)
		}
		return fmt.Errorf("browsertest: %s: not done %s: %w; the tab loaded:\n%s", what, limit, context.DeadlineExceeded, b.rec.history())
	case b.tab.Err() != nil:
		return fmt.Errorf("browsertest: %s: the browser is closed: %w", what, err)
	default:
		return fmt.Errorf("browsertest: %s: %w", what, err)
	}
}

// waitUntil waits until cond, which reads the record under its lock, holds.
func (b *Browser) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		changed := b.rec.wait() // before cond, so no change is missed
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
