package oidctest

import (
	"context"
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

// The login page of zitadel's example provider (exampleop/templates/login.html):
// a form posted to /login/username with the hidden field id, and the
// message of a failed attempt in a red paragraph.
var (
	formID    = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]*)">`)
	formError = regexp.MustCompile(`(?s)<p style="color:red;[^"]*">(.*?)</p>`)
)

// Login does what a person does in a browser at the provider: it follows
// authURL, an authorization request to the provider (the URL a relying
// party sends the browser to), and the provider's redirects, fills the
// login form in with username and password and posts it, and follows the
// provider's redirects again until one leads away from the provider. It
// returns that redirect's URL, without requesting it: the relying party's
// callback with the code and state, or with an error and the state (for
// prompt=none, say). No browser is involved; the requests carry the cookies
// the provider sets.
//
// The error says why no redirect away from the provider came: the provider
// refused the login (its message, "username or password wrong" for a wrong
// password), answered with an error page (for a redirect_uri that is not
// registered, say: its status and the start of its body), or could not be
// reached.
func (p *Provider) Login(ctx context.Context, authURL, username, password string) (*url.URL, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("oidctest: Login: %w", err)
	}
	client := &http.Client{
		Jar:           jar,
		Timeout:       loginTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	issuer, err := url.Parse(p.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidctest: Login: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oidctest: Login: %w", err)
	}
	if !sameOrigin(req.URL, issuer) {
		return nil, fmt.Errorf("oidctest: Login: %s is not a URL of the provider at %s", authURL, p.Issuer)
	}
	posted := false
	for range 20 {
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("oidctest: Login: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("oidctest: Login: reading %s: %w", req.URL.Path, err)
		}
		page := string(body)
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			next, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("oidctest: Login: the redirect from %s: %w", req.URL.Path, err)
			}
			if !sameOrigin(next, issuer) {
				return next, nil
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil); err != nil {
				return nil, fmt.Errorf("oidctest: Login: %w", err)
			}
		case resp.StatusCode == http.StatusOK && formID.MatchString(page):
			if posted {
				msg := "no message"
				if m := formError.FindStringSubmatch(page); m != nil {
					msg = html.UnescapeString(strings.TrimSpace(m[1]))
				}
				return nil, fmt.Errorf("oidctest: Login: the provider refused the login of %q: %s", username, msg)
			}
			form := url.Values{
				"id":       {html.UnescapeString(formID.FindStringSubmatch(page)[1])},
				"username": {username},
				"password": {password},
			}
			action := issuer.ResolveReference(&url.URL{Path: "/login/username"})
			if req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode())); err != nil {
				return nil, fmt.Errorf("oidctest: Login: %w", err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			posted = true
		default:
			if len(page) > 500 {
				page = page[:500] + "..."
			}
			return nil, fmt.Errorf("oidctest: Login: the provider answered %s to %s %s: %s", resp.Status, req.Method, req.URL.Path, page)
		}
	}
	return nil, fmt.Errorf("oidctest: Login: more than 20 requests without a redirect away from the provider")
}

// sameOrigin reports whether u is on the provider's scheme, host and port.
func sameOrigin(u, issuer *url.URL) bool {
	return u.Scheme == issuer.Scheme && u.Host == issuer.Host
}
