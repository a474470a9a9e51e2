package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
)

// Redirect is an HTTP redirect that answered a page load in a Browser's
// tab, followed or not: Chromium does not follow one to a scheme it has no
// handler for (zulip://), and the load ends there, but the redirect is
// recorded all the same.
type Redirect struct {
	// From is the URL that answered with the redirect.
	From string
	// Status is its status: 301, 302, 303, 307 or 308.
	Status int
	// Location is its Location header, as the server sent it.
	Location string
}

// navigation is one load of a document in the tab's main frame: the first
// request, its redirects and how it ended.
type navigation struct {
	requestID network.RequestID // the document request's; "" for a document from no request
	loaderID  cdp.LoaderID      // the loader's, which Page events name
	method    string
	url       string // the last URL requested, after redirects
	redirects []Redirect

	status    int         // of the response that was not a redirect; 0 before it
	header    http.Header // of that response
	failed    string      // Chromium's error, such as net::ERR_ABORTED; "" if none
	committed bool        // the document replaced the one in the tab
	loaded    bool        // and its load event fired
}

// done reports whether the navigation has ended, loaded or failed.
func (n *navigation) done() bool { return n.loaded || n.failed != "" }

// recorder keeps what the tab's main frame loaded, from the DevTools events
// of its Network and Page domains. handle runs on chromedp's goroutine that
// reads the tab's messages, so it only updates the record under mu and wakes
// the waiters.
type recorder struct {
	mu        sync.Mutex
	mainFrame cdp.FrameID // "" until the tab has opened: events before are ignored
	navs      []*navigation
	byRequest map[network.RequestID]*navigation
	current   *navigation // the committed document; nil for the first about:blank
	redirects []Redirect  // every navigation's, in order
	taken     []bool      // which redirects WaitForRedirect has returned
	changed   chan struct{}
}

func newRecorder() *recorder {
	return &recorder{byRequest: map[network.RequestID]*navigation{}, changed: make(chan struct{})}
}

// setMainFrame starts the record at the tab's main frame.
func (r *recorder) setMainFrame(id cdp.FrameID) {
	r.mu.Lock()
	r.mainFrame = id
	r.mu.Unlock()
}

// handle updates the record with one event of the tab.
func (r *recorder) handle(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mainFrame == "" {
		return
	}
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Type != network.ResourceTypeDocument || ev.FrameID != r.mainFrame {
			return
		}
		n := r.byRequest[ev.RequestID]
		if n != nil && ev.RedirectResponse != nil {
			rd := Redirect{
				From:     ev.RedirectResponse.URL,
				Status:   int(ev.RedirectResponse.Status),
				Location: headerValue(ev.RedirectResponse.Headers, "Location"),
			}
			n.redirects = append(n.redirects, rd)
			r.redirects = append(r.redirects, rd)
			r.taken = append(r.taken, false)
			n.url = ev.Request.URL
		} else {
			n = &navigation{requestID: ev.RequestID, loaderID: ev.LoaderID, method: ev.Request.Method, url: ev.Request.URL}
			r.navs = append(r.navs, n)
			r.byRequest[ev.RequestID] = n
		}
	case *network.EventResponseReceived:
		if n := r.byRequest[ev.RequestID]; n != nil {
			n.status = int(ev.Response.Status)
			n.header = toHeader(ev.Response.Headers)
			n.url = ev.Response.URL
		}
	case *network.EventLoadingFailed:
		if n := r.byRequest[ev.RequestID]; n != nil {
			n.failed = ev.ErrorText
		}
	case *page.EventFrameNavigated:
		if ev.Frame.ID != r.mainFrame {
			return
		}
		// A document that came from no request (about:blank) is
		// recorded here, with status 0.
		var n *navigation
		for i := len(r.navs) - 1; i >= 0 && n == nil; i-- {
			if r.navs[i].loaderID == ev.Frame.LoaderID && !r.navs[i].committed {
				n = r.navs[i]
			}
		}
		if n == nil {
			n = &navigation{method: "GET", url: ev.Frame.URL}
			r.navs = append(r.navs, n)
		}
		n.committed = true
		r.current = n
	case *page.EventLoadEventFired:
		if r.current != nil {
			r.current.loaded = true
		}
	default:
		return
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// settled reports, under mu, whether the tab is still: the last load it
// started has ended (loaded, or failed and left the page before it).
func (r *recorder) settled() bool {
	return len(r.navs) > 0 && r.navs[len(r.navs)-1].done()
}

// wait returns the channel closed at the record's next change.
func (r *recorder) wait() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// history is the record as lines, one per navigation, for a failing test's
// log and for errors.
func (r *recorder) history() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.navs) == 0 {
		return "  (nothing loaded)\n"
	}
	var b strings.Builder
	for _, n := range r.navs {
		from := n.url
		if len(n.redirects) > 0 {
			from = n.redirects[0].From
		}
		fmt.Fprintf(&b, "  %s %s", n.method, from)
		for _, rd := range n.redirects {
			fmt.Fprintf(&b, " → %d %s", rd.Status, rd.Location)
		}
		switch {
		case n.status != 0:
			fmt.Fprintf(&b, " → %d", n.status)
		case n.requestID == "":
			b.WriteString(" (no request)")
		}
		if n.failed != "" {
			fmt.Fprintf(&b, " (not loaded: %s)", n.failed)
		} else if !n.loaded {
			b.WriteString(" (loading)")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// headerValue is the named header of a DevTools response, "" if absent.
// DevTools joins repeated headers with newlines; names keep the server's
// case.
func headerValue(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// toHeader converts a DevTools response's headers.
func toHeader(h network.Headers) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		s, _ := v.(string)
		for _, line := range strings.Split(s, "\n") {
			out.Add(k, line)
		}
	}
	return out
}
