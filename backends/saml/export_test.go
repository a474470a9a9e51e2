package saml

import "time"

// SetClock makes p check the assertions' times (and gosaml2 the IdP's
// certificates) at the times now tells.
func SetClock(p *Provider, now func() time.Time) { p.now = now }
