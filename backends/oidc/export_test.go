package oidc

import "time"

// SetClock makes p check ID tokens' expiry at the times now tells.
func SetClock(p *Provider, now func() time.Time) { p.now = now }
