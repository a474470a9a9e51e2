package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// maxAnswer bounds the body of an answer of discovery, the key set and
// userinfo, which go-oidc reads whole; x/oauth2 bounds the token
// endpoint's answer to the same.
const maxAnswer = 1 << 20

// clients returns the HTTP clients of a Provider, copies of base (or of
// the zero Client) with timeout: token for the token endpoint, whose
// refusals x/oauth2 reads from their bodies, and meta for discovery, the
// key set and userinfo, on which an answer with a status of 400 or more is
// an error (a *statusError) that carries the status and not the body, and
// a body is cut at maxAnswer.
func clients(base *http.Client, timeout time.Duration) (token, meta *http.Client) {
	var c http.Client
	if base != nil {
		c = *base
	}
	c.Timeout = timeout
	m := c
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	m.Transport = metaTransport{rt}
	return &c, &m
}

// statusError is the error of a request to the provider's discovery, key
// set or userinfo endpoint that it answered with a status of 400 or more.
// It carries the status code and nothing of the body, the provider's own
// text, which a Provider never puts in an error.
type statusError struct{ StatusCode int }

func (e *statusError) Error() string {
	return fmt.Sprintf("oidc: the provider answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// metaTransport turns an answer with a status of 400 or more into a
// *statusError, and cuts bodies at maxAnswer. Returning an error for a
// response goes against http.RoundTripper's contract; it is the one place
// where go-oidc's requests can be seen, and go-oidc otherwise quotes whole
// bodies in its errors. Redirects (3xx) pass, for the client to follow.
type metaTransport struct{ next http.RoundTripper }

func (t metaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // so the connection can be reused
		resp.Body.Close()
		return nil, &statusError{StatusCode: resp.StatusCode}
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxAnswer}
	return resp, nil
}

// errTooLarge is the error of reading more than maxAnswer bytes of a body.
var errTooLarge = fmt.Errorf("oidc: the provider's answer is larger than %d bytes", maxAnswer)

// cappedBody is a body that fails once more than left bytes are read.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n > 0 {
			return 0, errTooLarge
		} else {
			return 0, err
		}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// keySet is go-oidc's key set of the provider (cached, and fetched again
// when a token names a key ID it does not hold), which tells Finish when a
// signature could not be checked because the key set could not be fetched:
// a fault of the provider, not an invalid token. go-oidc's verifier
// reports both alike, in words, so the key set notes a failed fetch in the
// keyFault that Finish puts in the context of the verification.
type keySet struct{ remote gooidc.KeySet }

type keyFaultKey struct{}

// keyFault is where keySet notes the failure of a fetch.
type keyFault struct{ err error }

func (k keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if err != nil {
		// A failed request is a *url.Error (metaTransport's statusError
		// among them); a wait for a fetch that ctx ended is ctx's error.
		var ue *url.Error
		if errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			if f, ok := ctx.Value(keyFaultKey{}).(*keyFault); ok {
				f.err = err
				if ue != nil {
					f.err = ue
				}
			}
		}
	}
	return payload, err
}
