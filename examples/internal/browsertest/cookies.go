package browsertest

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// Cookies returns every cookie of the Browser's browser context, for every
// site: what a server set during a login (a session, a flow's binding
// cookie), with its attributes.
func (b *Browser) Cookies(ctx context.Context) ([]*http.Cookie, error) {
	cctx, cancel := b.call(ctx)
	defer cancel()
	c := chromedp.FromContext(b.tab)
	res, err := cdp.Call(cctx, c.Browser, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: c.BrowserContextID})
	if err != nil {
		return nil, b.callError(ctx, "reading the cookies", err)
	}
	cookies := make([]*http.Cookie, 0, len(res.Cookies))
	for _, c := range res.Cookies {
		cookies = append(cookies, toCookie(c))
	}
	return cookies, nil
}

// ClearCookies deletes every cookie of the Browser's browser context, as a
// person clearing their browser's cookies does; the tab keeps its page.
func (b *Browser) ClearCookies(ctx context.Context) error {
	cctx, cancel := b.call(ctx)
	defer cancel()
	c := chromedp.FromContext(b.tab)
	if _, err := cdp.Call(cctx, c.Browser, storage.ClearCookies, storage.ClearCookiesParams{BrowserContextID: c.BrowserContextID}); err != nil {
		return b.callError(ctx, "clearing the cookies", err)
	}
	return nil
}

// toCookie converts a DevTools cookie. A session cookie has a zero Expires.
func toCookie(c *network.Cookie) *http.Cookie {
	hc := &http.Cookie{
		Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path,
		Secure: c.Secure, HttpOnly: c.HTTPOnly,
	}
	if !c.Session && c.Expires > 0 && !math.IsInf(c.Expires, 0) {
		sec, frac := math.Modf(c.Expires)
		hc.Expires = time.Unix(int64(sec), int64(frac*1e9))
	}
	switch c.SameSite {
	case network.CookieSameSiteStrict:
		hc.SameSite = http.SameSiteStrictMode
	case network.CookieSameSiteLax:
		hc.SameSite = http.SameSiteLaxMode
	case network.CookieSameSiteNone:
		hc.SameSite = http.SameSiteNoneMode
	}
	return hc
}
