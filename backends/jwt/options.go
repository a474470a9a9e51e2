package jwt

import (
	"errors"
	"fmt"
	"time"
)

// Defaults and bounds of the options.
const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat when
	// [WithLeeway] is not given: a token is still accepted up to 10 seconds
	// after its exp, and from 10 seconds before its nbf or iat, so that an
	// issuer whose clock runs a little ahead or behind ours, or a token that
	// took a moment to arrive, still works. Zulip (PyJWT) allows none.
	DefaultLeeway = 10 * time.Second
	// MaxLeeway bounds [WithLeeway]: a larger skew would let a token live
	// well past its expiry; fix the clocks instead (NTP).
	MaxLeeway = 5 * time.Minute

	// DefaultMaxTokenBytes is the longest token accepted when
	// [WithMaxTokenBytes] is not given. A login token carries a few claims
	// and one signature (under 1 KiB even with RSA-4096); a longer one is
	// refused before it is decoded, so it costs no parsing.
	DefaultMaxTokenBytes = 8 << 10
	// MinMaxTokenBytes is the smallest bound [WithMaxTokenBytes] accepts:
	// below it no signed token with an email claim fits.
	MinMaxTokenBytes = 256
)

// Option configures a [Verifier]. Options are given to [New], which reports
// an invalid one as an error.
type Option func(*Verifier) error

// WithLeeway sets the clock skew allowed on the exp, nbf and iat claims
// (default [DefaultLeeway]). It must lie within [0, MaxLeeway]; 0 is
// Zulip's exact behaviour.
func WithLeeway(d time.Duration) Option {
	return func(v *Verifier) error {
		if d < 0 || d > MaxLeeway {
			return fmt.Errorf("jwt: WithLeeway(%v): the leeway must lie within [0, %v]", d, MaxLeeway)
		}
		v.leeway = d
		return nil
	}
}

// WithClock sets the clock against which exp, nbf and iat are checked
// (default time.Now). Tests pass a fixed or hand-moved clock, so that they
// check expiry at explicit instants and never sleep. It is called once per
// verified signature, from any goroutine: it must be safe for concurrent use.
// It must not be nil.
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) error {
		if now == nil {
			return errors.New("jwt: WithClock(nil): give a clock, or leave the option out for time.Now")
		}
		v.now = now
		return nil
	}
}

// WithMaxTokenBytes sets the longest token accepted (default
// [DefaultMaxTokenBytes]); a longer one is zulipauth.ErrBadToken before any
// decoding. It must be at least [MinMaxTokenBytes].
func WithMaxTokenBytes(n int) Option {
	return func(v *Verifier) error {
		if n < MinMaxTokenBytes {
			return fmt.Errorf("jwt: WithMaxTokenBytes(%d): the bound must be at least %d bytes, or no token fits", n, MinMaxTokenBytes)
		}
		v.maxTokenBytes = n
		return nil
	}
}
