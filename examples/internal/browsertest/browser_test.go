package browsertest_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zulipauth/zulipauth-go/examples/internal/browsertest"
)

// One Chromium for the binary: see Main.
func TestMain(m *testing.M) { browsertest.Main(m) }

// loginServer is a small stand-in for a server's mobile web login, enough
// to drive the harness through what a real one does: GET /login checks
// mobile_flow_otp, binds the flow to the browser with a cookie and shows a
// login form; POST /login checks the password and redirects to /complete
// with the flow's state (an identity provider's callback); /complete, by
// GET or by a self-posting form (/autopost, as SAML's POST binding does),
// checks that the state is the cookie's, once, and answers 302 to
// zulip://login with the API key encrypted under the pad. Its failures are
// HTML pages with 4xx statuses.
type loginServer struct {
	*httptest.Server
	mu    sync.Mutex
	flows map[string]string // state → OTP, until used
}

const (
	userEmail    = "hamlet@zulip.test"
	userID       = 10
	userPassword = "correct horse"
	userAPIKey   = "Uy0TJ3wdFsYm1UqCbZXEuXfOkHbtXLro"
)

var otpPattern = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func startLoginServer(t *testing.T) *loginServer {
	s := &loginServer{flows: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		state, ok := s.begin(w, r)
		if !ok {
			return
		}
		_ = state
		page(w, http.StatusOK, `<h1>Log in</h1>
<form method="post" action="/login">
  <label>Username <input name="username" autocomplete="username"></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Log in</button>
</form>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != userEmail || r.PostFormValue("password") != userPassword {
			page(w, http.StatusUnauthorized, `<p>Wrong username or password.</p>`)
			return
		}
		c, err := r.Cookie("flow")
		if err != nil {
			page(w, http.StatusForbidden, `<p>This login did not start in this browser.</p>`)
			return
		}
		http.Redirect(w, r, "/complete?state="+url.QueryEscape(c.Value), http.StatusFound)
	})
	mux.HandleFunc("GET /autopost", func(w http.ResponseWriter, r *http.Request) {
		state, ok := s.begin(w, r)
		if !ok {
			return
		}
		if r.URL.Query().Has("tamper") {
			state += "x"
		}
		page(w, http.StatusOK, `<form method="post" action="/complete"><input type="hidden" name="state" value="`+html.EscapeString(state)+`"></form>
<script>document.forms[0].submit()</script>`)
	})
	mux.HandleFunc("/complete", s.complete)
	mux.HandleFunc("GET /forms", func(w http.ResponseWriter, r *http.Request) {
		page(w, http.StatusOK, `<form method="post" action="/echo"><input name="a"><textarea name="note"></textarea><input type="submit" value="Send A"></form>
<form method="post" action="/echo"><input name="b"><select name="pick"><option>one</option><option>two</option></select></form>
<form method="post" action="/echo"><input name="c"><button name="go" value="hidden" style="display: none">Go</button></form>
<a id="link" href="/echo?via=link">a link</a>`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		page(w, http.StatusOK, "<pre>"+html.EscapeString(r.Method+" "+r.Form.Encode())+"</pre>")
	})
	mux.HandleFunc("GET /forbidden", func(w http.ResponseWriter, r *http.Request) {
		page(w, http.StatusForbidden, `<h1>Forbidden</h1><p>Your organization does not allow this login.</p><!-- not shown -->`)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// begin checks mobile_flow_otp and starts a flow bound to the browser.
func (s *loginServer) begin(w http.ResponseWriter, r *http.Request) (state string, ok bool) {
	otp := r.URL.Query().Get("mobile_flow_otp")
	if !otpPattern.MatchString(otp) {
		page(w, http.StatusBadRequest, `<p>Invalid OTP</p>`)
		return "", false
	}
	state = browsertest.NewOTP()[:32]
	s.mu.Lock()
	s.flows[state] = otp
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "flow", Value: state, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return state, true
}

// complete ends a flow: the state must be the browser's and unused.
func (s *loginServer) complete(w http.ResponseWriter, r *http.Request) {
	state := r.FormValue("state")
	if c, err := r.Cookie("flow"); err != nil || c.Value != state {
		page(w, http.StatusForbidden, `<p>This login did not start in this browser.</p>`)
		return
	}
	s.mu.Lock()
	otp, ok := s.flows[state]
	delete(s.flows, state)
	s.mu.Unlock()
	if !ok {
		page(w, http.StatusBadRequest, `<p>This login has expired or was used.</p>`)
		return
	}
	q := url.Values{
		"otp_encrypted_api_key": {encrypt(userAPIKey, otp)},
		"email":                 {userEmail},
		"user_id":               {fmt.Sprint(userID)},
		"realm":                 {s.URL},
	}
	http.Redirect(w, r, "zulip://login?"+q.Encode(), http.StatusFound)
}

func page(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>Login</title>\n%s\n", body)
}

// testContext bounds a test's browser calls, far above what a passing run
// needs.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The whole mobile login, as the app sees it: open login_url with a fresh
// pad, log in through the form, catch the zulip:// redirect the browser
// cannot follow, and decrypt the key with the pad.
func TestMobileLogin(t *testing.T) {
	t.Parallel()
	s := startLoginServer(t)
	b := browsertest.Start(t)
	ctx := testContext(t)

	otp := browsertest.NewOTP()
	if err := b.Open(ctx, s.URL+"/login?mobile_flow_otp="+otp); err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(ctx, map[string]string{"username": userEmail, "password": userPassword}); err != nil {
		t.Fatal(err)
	}
	loc, err := b.WaitForRedirect(ctx, "zulip")
	if err != nil {
		t.Fatal(err)
	}
	key, email, id, err := browsertest.CheckMobileRedirect(loc, otp, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if key != userAPIKey || email != userEmail || id != userID {
		t.Fatalf("logged in with key %q, email %q, user ID %d; want %q, %q, %d", key, email, id, userAPIKey, userEmail, userID)
	}

	// The chain as recorded: the form's 302 to /complete, then the 302 the
	// browser did not follow. The tab keeps the form.
	rds := b.Redirects()
	if len(rds) != 2 || !strings.HasSuffix(rds[0].From, "/login") || rds[1].Status != http.StatusFound || rds[1].Location != loc.String() {
		t.Errorf("Redirects() = %+v", rds)
	}
	p, err := b.Page(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.URL, s.URL+"/login?") || p.Status != http.StatusOK {
		t.Errorf("after the redirect the tab shows %s (%d); want the login form", p.URL, p.Status)
	}
	// Each redirect is returned once.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if loc, err := b.WaitForRedirect(short, "zulip"); err == nil {
		t.Errorf("a second WaitForRedirect returned %s again", loc)
	}
}

// An identity provider's page that posts itself back (SAML's POST binding)
// ends in the redirect too, without a click.
func TestRedirectAfterSelfPostingForm(t *testing.T) {
	t.Parallel()
	s := startLoginServer(t)
	b := browsertest.Start(t)
	ctx := testContext(t)

	otp := browsertest.NewOTP()
	if err := b.Open(ctx, s.URL+"/autopost?mobile_flow_otp="+otp); err != nil {
		t.Fatal(err)
	}
	loc, err := b.WaitForRedirect(ctx, "zulip")
	if err != nil {
		t.Fatal(err)
	}
	if key, _, _, err := browsertest.CheckMobileRedirect(loc, otp, s.URL); err != nil || key != userAPIKey {
		t.Fatalf("CheckMobileRedirect = %q, %v", key, err)
	}
	// The page that posted itself never fires its load event; Page does
	// not wait for it.
	if p, err := b.Page(ctx); err != nil || !strings.HasPrefix(p.URL, s.URL+"/autopost?") {
		t.Errorf("Page = %+v, %v; want the self-posting page", p, err)
	}

	// A self-posted answer the server refuses: WaitForPage waits for it.
	if err := b.Open(ctx, s.URL+"/autopost?tamper&mobile_flow_otp="+otp); err != nil {
		t.Fatal(err)
	}
	p, err := b.WaitForPage(ctx, s.URL+"/complete")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusForbidden || !strings.Contains(p.Text, "did not start in this browser") {
		t.Errorf("WaitForPage = %d %q", p.Status, p.Text)
	}
}

// An error page: its status and the text a person sees.
func TestErrorPage(t *testing.T) {
	t.Parallel()
	s := startLoginServer(t)
	b := browsertest.Start(t)
	ctx := testContext(t)

	if err := b.Open(ctx, s.URL+"/forbidden"); err != nil {
		t.Fatal(err)
	}
	p, err := b.Page(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusForbidden || p.URL != s.URL+"/forbidden" {
		t.Errorf("Page: %s %d; want %s/forbidden 403", p.URL, p.Status, s.URL)
	}
	if want := "Forbidden\n\nYour organization does not allow this login."; strings.TrimSpace(p.Text) != want {
		t.Errorf("Text = %q; want %q", p.Text, want)
	}
	if !strings.Contains(p.HTML, "<!-- not shown -->") || strings.Contains(p.Text, "not shown") {
		t.Errorf("HTML or Text wrong:\nHTML %s\nText %s", p.HTML, p.Text)
	}
	if ct := p.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}

	// A bad OTP is refused before any form, with a 400 page.
	if err := b.Open(ctx, s.URL+"/login?mobile_flow_otp=1234"); err != nil {
		t.Fatal(err)
	}
	if p, err := b.Page(ctx); err != nil || p.Status != http.StatusBadRequest || strings.TrimSpace(p.Text) != "Invalid OTP" {
		t.Errorf("bad OTP: %+v, %v", p, err)
	}
	if rds := b.Redirects(); len(rds) != 0 {
		t.Errorf("Redirects() = %+v; want none", rds)
	}
}

// A wrong password: the form's answer is an error page, and no redirect.
func TestSubmitWrongPassword(t *testing.T) {
	t.Parallel()
	s := startLoginServer(t)
	b := browsertest.Start(t)
	ctx := testContext(t)

	if err := b.Open(ctx, s.URL+"/login?mobile_flow_otp="+browsertest.NewOTP()); err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(ctx, map[string]string{"username": userEmail, "password": "wrong"}); err != nil {
		t.Fatal(err)
	}
	p, err := b.Page(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Text, "Wrong username or password.") {
		t.Errorf("Page: %d %q", p.Status, p.Text)
	}
	if rds := b.Redirects(); len(rds) != 0 {
		t.Errorf("Redirects() = %+v; want none", rds)
	}
}

// Two Browsers have separate cookies: a flow started in one cannot be
// finished in the other, nor in the first once its cookies are cleared.
func TestCookiesBindTheFlowToTheBrowser(t *testing.T) {
	t.Parallel()
	s := startLoginServer(t)
	alice, other := browsertest.Start(t), browsertest.Start(t)
	ctx := testContext(t)

	if err := alice.Open(ctx, s.URL+"/login?mobile_flow_otp="+browsertest.NewOTP()); err != nil {
		t.Fatal(err)
	}
	cookies, err := alice.Cookies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 1 || cookies[0].Name != "flow" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode || !cookies[0].Expires.IsZero() {
		t.Fatalf("Cookies() = %+v; want the session cookie flow, HttpOnly, SameSite=Lax", cookies)
	}
	state := cookies[0].Value

	// The other browser has no cookie, and the state alone does not finish
	// the flow.
	if c, err := other.Cookies(ctx); err != nil || len(c) != 0 {
		t.Fatalf("the other browser's cookies: %+v, %v", c, err)
	}
	if err := other.Open(ctx, s.URL+"/complete?state="+state); err != nil {
		t.Fatal(err)
	}
	if p, err := other.Page(ctx); err != nil || p.Status != http.StatusForbidden || !strings.Contains(p.Text, "did not start in this browser") {
		t.Errorf("finishing in the other browser: %+v, %v", p, err)
	}

	// Nor does the first browser without its cookie.
	if err := alice.ClearCookies(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := alice.Cookies(ctx); err != nil || len(c) != 0 {
		t.Fatalf("cookies after ClearCookies: %+v, %v", c, err)
	}
	if err := alice.Submit(ctx, map[string]string{"username": userEmail, "password": userPassword}); err != nil {
		t.Fatal(err)
	}
	if p, err := alice.Page(ctx); err != nil || p.Status != http.StatusForbidden {
		t.Errorf("finishing without the cookie: %+v, %v", p, err)
	}
	if rds := alice.Redirects(); len(rds) != 0 {
		t.Errorf("Redirects() = %+v; want none", rds)
	}
}

// What goes wrong is said, promptly: a page that does not load, a form
// that is not there, a redirect that does not come.
func TestFailures(t *testing.T) {
	t.Parallel()
	s := startLoginServer(t)
	b := browsertest.Start(t)
	ctx := testContext(t)

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/"
	l.Close()
	if err := b.Open(ctx, closed); err == nil || !strings.Contains(err.Error(), "ERR_CONNECTION_REFUSED") {
		t.Errorf("Open(%s) = %v; want ERR_CONNECTION_REFUSED", closed, err)
	}

	if err := b.Open(ctx, s.URL+"/login?mobile_flow_otp="+browsertest.NewOTP()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		fields map[string]string
		want   string
	}{
		{"no such field", map[string]string{"user": "x"}, `no field named "user"`},
	} {
		if err := b.Submit(ctx, tt.fields); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Submit = %v; want %q", tt.name, err, tt.want)
		}
	}

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = b.WaitForRedirect(short, "zulip")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "GET "+s.URL+"/login?") {
		t.Errorf("WaitForRedirect without a redirect = %v; want the deadline and what the tab loaded", err)
	}

	b.Timeout = 300 * time.Millisecond
	if _, err := b.WaitForPage(context.Background(), s.URL+"/nowhere"); err == nil || !strings.Contains(err.Error(), "within 300ms") {
		t.Errorf("WaitForPage past Timeout = %v", err)
	}
}

// Submit finds the form by its fields, fills any kind of text field and
// select, and clicks the button, or submits a form that has none; Click
// follows a link.
func TestForms(t *testing.T) {
	t.Parallel()
	s := startLoginServer(t)
	b := browsertest.Start(t)
	ctx := testContext(t)

	tests := []struct {
		name   string
		fields map[string]string
		want   string // the page's text, or the error's
	}{
		{"the button of the first form", map[string]string{"a": "x y", "note": "line 1\nline 2"}, "POST a=x+y&note=line+1%0D%0Aline+2"},
		{"the second form, which has no button", map[string]string{"b": "é", "pick": "two"}, "POST b=%C3%A9&pick=two"},
		{"a hidden button, submitted all the same", map[string]string{"c": "3"}, "POST c=3&go=hidden"},
		{"fields of two forms", map[string]string{"a": "1", "b": "2"}, "the fields are in different forms"},
		{"no field and three forms", nil, "the page has 3 forms; name a field to say which"},
	}
	for _, tt := range tests {
		if err := b.Open(ctx, s.URL+"/forms"); err != nil {
			t.Fatal(err)
		}
		err := b.Submit(ctx, tt.fields)
		if strings.HasPrefix(tt.want, "POST") {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if p, err := b.Page(ctx); err != nil || strings.TrimSpace(p.Text) != tt.want {
				t.Errorf("%s: the server got %+v, %v; want %q", tt.name, p, err, tt.want)
			}
		} else if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Submit = %v; want %q", tt.name, err, tt.want)
		}
	}

	if err := b.Open(ctx, s.URL+"/forms"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(ctx, "#link"); err != nil {
		t.Fatal(err)
	}
	if p, err := b.Page(ctx); err != nil || strings.TrimSpace(p.Text) != "GET via=link" {
		t.Errorf("after the click: %+v, %v", p, err)
	}
}

// Launch and Close, for programs; and chromedp's own actions on Context.
func TestLaunch(t *testing.T) {
	t.Parallel()
	b, err := browsertest.Launch()
	if errors.Is(err, browsertest.ErrNotInstalled) {
		browsertest.Start(t) // skips, or fails in CI, with the same message
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := testContext(t)
	if err := b.Open(ctx, "data:text/html,<title>Hello</title><p>hi"); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(b.Context(), chromedp.Title())
	if err != nil || title != "Hello" {
		t.Errorf("Title = %q, %v", title, err)
	}
	if p, err := b.Page(ctx); err != nil || p.Status != http.StatusOK || p.Text != "hi" {
		t.Errorf("Page = %+v, %v", p, err)
	}
	b.Close()
	b.Close()
	if err := b.Open(ctx, "about:blank"); err == nil {
		t.Error("Open after Close succeeded")
	}
}
