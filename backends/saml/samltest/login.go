package samltest

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// loginTimeout bounds each request of Login, when ctx does not end sooner.
const loginTimeout = 10 * time.Second

// The pages Login reads: samltest's login page (its return field and the
// message of a refused login), and samlidp's self-submitting form that
// carries the answer to the service provider.
var (
	loginReturn   = regexp.MustCompile(`<input type="hidden" name="return" value="([^"]*)">`)
	loginError    = regexp.MustCompile(`<p id="error" role="alert">([^<]*)</p>`)
	answerForm    = regexp.MustCompile(`<form method="post" action="([^"]*)" id="SAMLResponseForm">`)
	answerField   = regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)" />`)
	samlidpPrompt = regexp.MustCompile(`<input type="password" name="password"`)
)

// Login does what a person does in a browser at the IdP: it follows
// authURL, the redirect to the IdP's SingleSignOnService that a service
// provider's Start returned, fills the login page in with username and
// password and posts it, follows the IdP's redirects, and reads the page
// that carries the IdP's answer. It returns the request that the page's
// self-submitting form makes the browser send: a POST to the service
// provider's assertion consumer service with SAMLResponse and RelayState,
// application/x-www-form-urlencoded, ready to be sent (by an http.Client)
// or given to the service provider's Finish as it is. No browser is
// involved; the requests carry the cookies the IdP sets, and no script
// runs.
//
// The error says why no answer came: the IdP refused the login (its
// message, "Invalid username or password" for a wrong password), answered
// with an error (an AuthnRequest it refuses, from a service provider it
// does not know, with a bad signature, for an assertion consumer service
// that the metadata does not list: its status and the start of its body;
// IdP.Log says more), or could not be reached. A denied user's login is no
// error: the answer is the IdP's refusal.
func (i *IdP) Login(ctx context.Context, authURL, username, password string) (*http.Request, error) {
	u, err := url.Parse(authURL)
	if err != nil || !i.ours(u) {
		return nil, fmt.Errorf("samltest: Login: %s is not a URL of the IdP at %s", authURL, i.URL)
	}
	return i.drive(ctx, authURL, username, password)
}

// LoginUnsolicited is Login for an IdP-initiated login: the person starts
// at the IdP (samlidp's /login/<shortcut>, a shortcut to the service
// provider spEntityID, which LoginUnsolicited makes the first time) and
// the IdP answers the service provider's default assertion consumer
// service with a Response that answers no request (no InResponseTo) and
// has no RelayState. The service provider must be registered (Options.SPs
// or AddSP).
func (i *IdP) LoginUnsolicited(ctx context.Context, spEntityID, username, password string) (*http.Request, error) {
	name, err := i.shortcut(ctx, spEntityID)
	if err != nil {
		return nil, err
	}
	return i.drive(ctx, i.URL+"/login/"+name, username, password)
}

// shortcut returns the name of samlidp's shortcut to the service provider
// spEntityID, and makes it the first time (PUT /shortcuts/<name>).
func (i *IdP) shortcut(ctx context.Context, spEntityID string) (string, error) {
	i.mu.Lock()
	name, ok := i.shortcuts[spEntityID]
	i.mu.Unlock()
	if ok {
		return name, nil
	}
	name = serviceID(spEntityID)
	body, _ := json.Marshal(map[string]any{"service_provider": spEntityID})
	if _, err := i.do(ctx, http.MethodPut, "/shortcuts/"+name, body, http.StatusNoContent); err != nil {
		return "", fmt.Errorf("samltest: LoginUnsolicited: %w", err)
	}
	i.mu.Lock()
	i.shortcuts[spEntityID] = name
	i.mu.Unlock()
	return name, nil
}

// drive is Login from start, a URL of the IdP.
func (i *IdP) drive(ctx context.Context, start, username, password string) (*http.Request, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("samltest: Login: %w", err)
	}
	client := &http.Client{
		Jar:           jar,
		Timeout:       loginTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, start, nil)
	if err != nil {
		return nil, fmt.Errorf("samltest: Login: %w", err)
	}
	posted := false
	for range 20 {
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("samltest: Login: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("samltest: Login: reading %s: %w", req.URL.Path, err)
		}
		page := string(body)
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			next, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("samltest: Login: the redirect from %s: %w", req.URL.Path, err)
			}
			if !i.ours(next) {
				return nil, fmt.Errorf("samltest: Login: the IdP redirected to %s without an answer", next)
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil); err != nil {
				return nil, fmt.Errorf("samltest: Login: %w", err)
			}
		case resp.StatusCode == http.StatusOK && answerForm.MatchString(page):
			return answerRequest(ctx, page)
		case resp.StatusCode == http.StatusOK && loginReturn.MatchString(page):
			if posted {
				msg := "no message"
				if m := loginError.FindStringSubmatch(page); m != nil {
					msg = html.UnescapeString(m[1])
				}
				return nil, fmt.Errorf("samltest: Login: the IdP refused the login of %q: %s", username, msg)
			}
			form := url.Values{
				"user":     {username},
				"password": {password},
				"return":   {html.UnescapeString(loginReturn.FindStringSubmatch(page)[1])},
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodPost, i.URL+loginPath, strings.NewReader(form.Encode())); err != nil {
				return nil, fmt.Errorf("samltest: Login: %w", err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			posted = true
		case resp.StatusCode == http.StatusOK && samlidpPrompt.MatchString(page):
			return nil, fmt.Errorf("samltest: Login: the IdP sent samlidp's own login form for %s, which Login does not fill in", req.URL.Path)
		default:
			return nil, fmt.Errorf("samltest: Login: the IdP answered %s to %s %s: %s", resp.Status, req.Method, req.URL.Path, excerpt(body))
		}
	}
	return nil, fmt.Errorf("samltest: Login: more than 20 requests without an answer")
}

// answerRequest is the request that samlidp's self-submitting form page
// makes the browser send.
func answerRequest(ctx context.Context, page string) (*http.Request, error) {
	action := html.UnescapeString(answerForm.FindStringSubmatch(page)[1])
	form := url.Values{}
	for _, m := range answerField.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("SAMLResponse") == "" {
		return nil, fmt.Errorf("samltest: Login: the IdP's answer to %s has no SAMLResponse", action)
	}
	return postForm(ctx, action, form)
}

// postForm is a POST of form to to, as a browser sends a form.
func postForm(ctx context.Context, to string, form url.Values) (*http.Request, error) {
	u, err := url.Parse(to)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("samltest: the assertion consumer service %q is not an absolute URL", to)
	}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("samltest: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// ours reports whether u is on the IdP's scheme, host and port.
func (i *IdP) ours(u *url.URL) bool {
	base, _ := url.Parse(i.URL)
	return u.Scheme == base.Scheme && u.Host == base.Host
}
