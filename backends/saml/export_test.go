package saml

import "time"

// SetClock makes p check the assertions' times (and gosaml2 the IdP's
// certificates) at the times now tells.
func SetClock(p *Provider, now func() time.Time) { p.now = now }

// SkipAssertionCount makes p skip its count of the assertions before it
// verifies the answer: the attack suite shows that verification alone
// stops each wrapping.
func SkipAssertionCount(p *Provider) { p.uncounted = true }
