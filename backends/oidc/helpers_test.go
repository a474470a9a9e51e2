package oidc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
	"github.com/zulipauth/zulipauth-go/backends/oidc"
	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// config is a Config for the client ClientID of op, logging everything
// (Debug included) into log.
func config(op *oidctest.Provider, log *logBuffer) oidc.Config {
	return oidc.Config{
		Issuer:       op.Issuer,
		ClientID:     op.ClientID,
		ClientSecret: op.ClientSecret,
		Logger:       slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// newProvider is New(cfg), failing the test on an error.
func newProvider(t *testing.T, cfg oidc.Config) *oidc.Provider {
	t.Helper()
	p, err := oidc.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// newFlow is a flow as the core makes one: a token, a nonce and a PKCE
// verifier, random, and the callback registered at the provider.
func newFlow() zulipauth.SSOFlow {
	return zulipauth.SSOFlow{
		Token:        oauth2.GenerateVerifier(), // 43 characters of base64url from crypto/rand, as the core's
		CallbackURL:  oidctest.DefaultRedirectURI,
		Nonce:        oauth2.GenerateVerifier(),
		CodeVerifier: oauth2.GenerateVerifier(),
		Expires:      time.Now().Add(10 * time.Minute),
	}
}

// answer starts f at p, logs username in at op, and returns the request
// that the provider's redirect makes the browser send to the callback.
func answer(t *testing.T, op *oidctest.Provider, p *oidc.Provider, f *zulipauth.SSOFlow, username, password string) *http.Request {
	t.Helper()
	authURL, err := p.Start(t.Context(), f)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return login(t, op, authURL, username, password)
}

// login logs username in at op for authURL and returns the request of the
// redirect to the callback.
func login(t *testing.T, op *oidctest.Provider, authURL, username, password string) *http.Request {
	t.Helper()
	cb, err := op.Login(t.Context(), authURL, username, password)
	if err != nil {
		t.Fatal(err)
	}
	return httptest.NewRequestWithContext(t.Context(), http.MethodGet, cb.String(), nil)
}

// callbackWith is a request to f's callback with the query q.
func callbackWith(t *testing.T, q string) *http.Request {
	return httptest.NewRequestWithContext(t.Context(), http.MethodGet, oidctest.DefaultRedirectURI+"?"+q, nil)
}

// wantInvalid fails the test unless err is ErrSSOInvalid (and not
// ErrSSODenied) with a message holding want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, zulipauth.ErrSSOInvalid) || errors.Is(err, zulipauth.ErrSSODenied) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Finish: %v, want ErrSSOInvalid with %q", err, want)
	}
}

// wantFault fails the test unless err is a fault: neither ErrSSOInvalid nor
// ErrSSODenied, with a message holding want.
func wantFault(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || errors.Is(err, zulipauth.ErrSSOInvalid) || errors.Is(err, zulipauth.ErrSSODenied) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Finish: %v, want a fault (neither ErrSSOInvalid nor ErrSSODenied) with %q", err, want)
	}
}

// logBuffer is a log that goroutines write while the test reads it.
type logBuffer = syncbuf.Buffer

// transport is an http.RoundTripper that lets a test change the requests a
// Provider sends to the real provider and the answers it gets: a provider
// that misbehaves, or a network that does.
type transport struct {
	// request, when set, may change req (a clone) before it is sent, or
	// answer it itself with a non-nil response or error.
	request func(req *http.Request) (*http.Response, error)
	// response, when set, may change the provider's answer to req.
	response func(req *http.Request, resp *http.Response)
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if tr.request != nil {
		if resp, err := tr.request(req); resp != nil || err != nil {
			return resp, err
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && tr.response != nil {
		tr.response(req, resp)
	}
	return resp, err
}

// setBody replaces resp's body with b.
func setBody(resp *http.Response, b []byte) {
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

// answerWith is an answer of the given status and body.
func answerWith(req *http.Request, status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/html"}},
		Body:    io.NopCloser(strings.NewReader(body)),
		Request: req, ContentLength: int64(len(body)),
	}
}

// hangUntilDone is a request answered only when its context ends.
func hangUntilDone(req *http.Request) (*http.Response, error) {
	<-req.Context().Done()
	return nil, context.Cause(req.Context())
}
