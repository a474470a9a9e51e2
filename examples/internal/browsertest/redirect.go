package browsertest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// WaitForRedirect waits for a redirect of the tab's page loads whose
// Location has the scheme ("zulip" for the mobile apps' zulip://login), and
// returns that Location, resolved against the URL that sent it: the first
// such redirect that no earlier call returned, so a test that logs in twice
// gets each login's in turn. The redirect may have come before the call
// (during Submit, typically).
//
// It fails when the Location does not parse, and, after the context's
// deadline or the Timeout, with what the tab loaded instead.
func (b *Browser) WaitForRedirect(ctx context.Context, scheme string) (*url.URL, error) {
	what := fmt.Sprintf("waiting for a redirect to a %s: URL", scheme)
	cctx, cancel := b.call(ctx)
	defer cancel()
	var found *Redirect
	err := b.waitUntil(cctx, func() bool {
		b.rec.mu.Lock()
		defer b.rec.mu.Unlock()
		for i, rd := range b.rec.redirects {
			if b.rec.taken[i] {
				continue
			}
			if s, _, ok := strings.Cut(rd.Location, ":"); ok && strings.EqualFold(s, scheme) {
				b.rec.taken[i] = true
				found = &rd
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, b.callError(ctx, what, err)
	}
	loc, err := url.Parse(found.Location)
	if err != nil {
		return nil, fmt.Errorf("browsertest: %s: %s answered %d with a Location that does not parse: %w", what, found.From, found.Status, err)
	}
	if from, err := url.Parse(found.From); err == nil {
		loc = from.ResolveReference(loc)
	}
	return loc, nil
}

// Redirects returns every redirect that answered the tab's page loads so
// far, in order, WaitForRedirect's included: for a test that checks that no
// redirect to zulip:// happened, say.
func (b *Browser) Redirects() []Redirect {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	return append([]Redirect(nil), b.rec.redirects...)
}
