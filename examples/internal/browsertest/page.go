package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Page is the document in a Browser's tab.
type Page struct {
	// URL is the document's URL, after redirects.
	URL string
	// Status and Header are of the HTTP response the document came in:
	// a 403 error page has Status 403. A document that came from no
	// response (about:blank) has Status 0 and no Header; Chromium gives a
	// data: URL Status 200.
	Status int
	Header http.Header
	// Text is the text a person sees: the body's innerText.
	Text string
	// HTML is the document as it is now (after its scripts ran), as HTML.
	HTML string
}

// Open loads rawURL in the tab, as a person typing it would, and waits
// until the page has loaded. A load that ends at a redirect to a scheme
// other than http and https (zulip://) is not an error: the tab keeps its
// page, and WaitForRedirect returns the redirect. Any other failure to load
// (a refused connection, say) is an error; an HTTP error status is not.
func (b *Browser) Open(ctx context.Context, rawURL string) error {
	what := "opening " + rawURL
	cctx, cancel := b.call(ctx)
	defer cancel()
	res, err := chromedp.Run(cctx, func(ctx context.Context, t *chromedp.Target) (page.NavigateResult, error) {
		return cdp.Call(ctx, t, page.Navigate, page.NavigateParams{URL: rawURL})
	})
	if err != nil {
		return b.callError(ctx, what, err)
	}
	if res.LoaderID == "" { // a same-document navigation (a #fragment): nothing loads
		if res.ErrorText != "" {
			return fmt.Errorf("browsertest: %s: %s", what, res.ErrorText)
		}
		return nil
	}
	nav, err := b.settle(cctx, func() int {
		for i, n := range b.rec.navs {
			if n.loaderID == res.LoaderID {
				return i
			}
		}
		return -1
	})
	if err != nil {
		return b.callError(ctx, what, err)
	}
	return b.outcome(what, nav)
}

// Submit fills a form's fields and clicks its submit button, as a person
// would, and waits for the page that the submission loads, as Open does.
// fields maps the fields' names (their name attributes) to the values to
// type; they must all be in one form, which is the one submitted. With no
// fields, the page must have one form.
//
// The values are set as the fields' value properties, with the input and
// change events a person's typing fires: right for text, password, email
// and hidden inputs, textareas and selects, not for checkboxes. The button
// is the form's first submit button, clicked with the mouse; a form without
// one, or whose button is hidden, is submitted as the Enter key would
// (requestSubmit).
//
// A login form at an identity provider, with fields named username and
// password:
//
//	err := b.Submit(ctx, map[string]string{"username": "hamlet", "password": "…"})
func (b *Browser) Submit(ctx context.Context, fields map[string]string) error {
	what := "submitting the form"
	if len(fields) > 0 {
		what = "submitting the form of " + strings.Join(slices.Sorted(maps.Keys(fields)), ", ")
	}
	cctx, cancel := b.call(ctx)
	defer cancel()
	if fields == nil {
		fields = map[string]string{} // an object for the script, not null
	}
	arg, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("browsertest: %s: %w", what, err)
	}
	problem, err := chromedp.Run(cctx, chromedp.Evaluate[string]("("+fillFormJS+")("+string(arg)+")"))
	if err != nil {
		return b.callError(ctx, what, err)
	}
	var click chromedp.Action[chromedp.Void]
	switch problem {
	case "":
		click = chromedp.Click(chromedp.JSPath(`window.__browsertestSubmit`))
	case "no button", "hidden button":
		click = chromedp.Evaluate[chromedp.Void](`window.__browsertestForm.requestSubmit(window.__browsertestSubmit)`)
	default:
		return fmt.Errorf("browsertest: %s: %s", what, problem)
	}
	return b.loadBy(ctx, cctx, what, click)
}

// fillFormJS fills the fields of one form, by name, and leaves the form in
// window.__browsertestForm and its first submit button in
// window.__browsertestSubmit, for a real click. It returns "" when there is
// a button to click, "hidden button" when it cannot be clicked (the form
// is submitted as if it were), "no button" when there is none, or what is
// wrong.
const fillFormJS = `function(fields) {
	let form = null;
	for (const [name, value] of Object.entries(fields)) {
		const field = Array.from(document.getElementsByName(name)).find(e => "form" in e && e.tagName !== "BUTTON");
		if (!field) return "the page has no field named " + JSON.stringify(name);
		if (!field.form) return "the field " + JSON.stringify(name) + " is in no form";
		if (form && field.form !== form) return "the fields are in different forms";
		form = field.form;
		field.focus();
		field.value = value;
		field.dispatchEvent(new Event("input", {bubbles: true}));
		field.dispatchEvent(new Event("change", {bubbles: true}));
	}
	if (!form) {
		if (document.forms.length !== 1) return "the page has " + document.forms.length + " forms; name a field to say which";
		form = document.forms[0];
	}
	window.__browsertestForm = form;
	const button = Array.from(form.elements).find(e => e.type === "submit" || (e.tagName === "INPUT" && e.type === "image"));
	window.__browsertestSubmit = button || null;
	if (!button) return "no button";
	if (button.getClientRects().length === 0 || button.disabled) return "hidden button";
	return "";
}`

// Click clicks the element the CSS selector finds first (a link, a button),
// with the mouse, once it is visible, and waits for the page the click
// loads, as Open does. It is for clicks that load a page: one that loads
// none ends in an error after the timeout.
func (b *Browser) Click(ctx context.Context, selector string) error {
	what := "clicking " + selector
	cctx, cancel := b.call(ctx)
	defer cancel()
	return b.loadBy(ctx, cctx, what, chromedp.Click(chromedp.CSS(selector)))
}

// loadBy runs the action, which makes the tab load a page, and waits for
// the first load that starts after it to end.
func (b *Browser) loadBy(ctx, cctx context.Context, what string, action chromedp.Action[chromedp.Void]) error {
	b.rec.mu.Lock()
	next := len(b.rec.navs)
	b.rec.mu.Unlock()
	if _, err := chromedp.Run(cctx, action); err != nil {
		return b.callError(ctx, what, err)
	}
	nav, err := b.settle(cctx, func() int {
		if len(b.rec.navs) > next {
			return next
		}
		return -1
	})
	if err != nil {
		return b.callError(ctx, what+" (waiting for the page it loads)", err)
	}
	return b.outcome(what, nav)
}

// settle waits until the load that first returns (an index of the record's
// navigations, or -1 while it has not started) has ended, or a later one
// has: a page's script may load another before the first has fired its load
// event (a form that posts itself), and the load that the page started
// stands for it then. It returns the last load that ended.
func (b *Browser) settle(ctx context.Context, first func() int) (*navigation, error) {
	var nav *navigation
	err := b.waitUntil(ctx, func() bool {
		b.rec.mu.Lock()
		defer b.rec.mu.Unlock()
		i := first()
		if i < 0 {
			return false
		}
		for _, n := range b.rec.navs[i:] {
			if n.done() {
				nav = n
			}
		}
		// Done when the latest has ended: a load still under way after an
		// ended one is the page's next, to wait for.
		last := b.rec.navs[len(b.rec.navs)-1]
		return nav != nil && nav == last
	})
	return nav, err
}

// outcome is the error of a load that ended: nil if it loaded, or if it
// stopped at a redirect to another scheme than http and https.
func (b *Browser) outcome(what string, n *navigation) error {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	if n.failed == "" {
		return nil
	}
	if len(n.redirects) > 0 {
		loc, err := url.Parse(n.redirects[len(n.redirects)-1].Location)
		if err == nil && loc.Scheme != "" && loc.Scheme != "http" && loc.Scheme != "https" {
			return nil
		}
	}
	return fmt.Errorf("browsertest: %s: %s %s did not load: %s", what, n.method, n.url, n.failed)
}

// Page returns the document in the tab once the tab is still: the
// document has fired its load event, or the last load the tab started has
// ended (one that stopped at a zulip:// redirect while the page was still
// loading leaves a page that never fires it). It returns the document's
// URL, HTTP status and headers, and its text and HTML as they are now.
// Where a script has started loading another page, Page waits for that
// load to end; to wait for a page a script has yet to load, use
// WaitForPage.
func (b *Browser) Page(ctx context.Context) (*Page, error) {
	cctx, cancel := b.call(ctx)
	defer cancel()
	var p *Page
	err := b.waitUntil(cctx, func() bool {
		b.rec.mu.Lock()
		defer b.rec.mu.Unlock()
		if c := b.rec.current; c != nil && b.rec.settled() {
			p = &Page{URL: c.url, Status: c.status, Header: c.header}
		}
		return p != nil
	})
	if err != nil {
		return nil, b.callError(ctx, "waiting for a page to load", err)
	}
	return b.readPage(ctx, cctx, p)
}

// WaitForPage waits until the tab shows a loaded document whose URL starts
// with urlPrefix, and returns it as Page does: for a page that a script
// loads (an identity provider's form that posts itself back to the
// server), or to wait for the end of a chain of redirects.
func (b *Browser) WaitForPage(ctx context.Context, urlPrefix string) (*Page, error) {
	cctx, cancel := b.call(ctx)
	defer cancel()
	var p *Page
	err := b.waitUntil(cctx, func() bool {
		b.rec.mu.Lock()
		defer b.rec.mu.Unlock()
		if c := b.rec.current; c != nil && b.rec.settled() && strings.HasPrefix(c.url, urlPrefix) {
			p = &Page{URL: c.url, Status: c.status, Header: c.header}
		}
		return p != nil
	})
	if err != nil {
		return nil, b.callError(ctx, "waiting for a page at "+urlPrefix, err)
	}
	return b.readPage(ctx, cctx, p)
}

// readPage fills in p's text and HTML from the tab.
func (b *Browser) readPage(ctx, cctx context.Context, p *Page) (*Page, error) {
	content, err := chromedp.Run(cctx, chromedp.Evaluate[struct{ Text, HTML string }](
		`({Text: document.body ? document.body.innerText : "", HTML: document.documentElement ? document.documentElement.outerHTML : ""})`))
	if err != nil {
		return nil, b.callError(ctx, "reading the page", err)
	}
	p.Text, p.HTML = content.Text, content.HTML
	return p, nil
}
