package oidctest_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
)

// rp is a relying party of p, on go-oidc and x/oauth2 directly: what the
// tests of this package check the provider with.
type rp struct {
	provider *gooidc.Provider
	config   oauth2.Config
}

func newRP(t *testing.T, p *oidctest.Provider, clientID, secret string) *rp {
	t.Helper()
	provider, err := gooidc.NewProvider(t.Context(), p.Issuer)
	if err != nil {
		t.Fatalf("discovery at %s: %v", p.Issuer, err)
	}
	return &rp{provider: provider, config: oauth2.Config{
		ClientID: clientID, ClientSecret: secret,
		Endpoint:    provider.Endpoint(),
		RedirectURL: p.RedirectURIs[0],
		Scopes:      []string{gooidc.ScopeOpenID, "email", "profile"},
	}}
}

// request is one authorization request: its URL and the values the relying
// party keeps for the answer.
type request struct {
	url, state, nonce, verifier string
}

func (r *rp) request(extra ...oauth2.AuthCodeOption) request {
	req := request{state: oauth2.GenerateVerifier(), nonce: oauth2.GenerateVerifier(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.verifier), gooidc.Nonce(req.nonce)}, extra...)
	req.url = r.config.AuthCodeURL(req.state, opts...)
	return req
}

// code logs username in for req and returns the code of the callback,
// after checking that the callback is the redirect URI with req's state.
func (r *rp) code(t *testing.T, p *oidctest.Provider, req request, username, password string) string {
	t.Helper()
	cb, err := p.Login(t.Context(), req.url, username, password)
	if err != nil {
		t.Fatal(err)
	}
	q := cb.Query()
	if base := strings.TrimSuffix(cb.String(), "?"+cb.RawQuery); base != r.config.RedirectURL {
		t.Fatalf("the callback is %s, want the redirect URI %s", base, r.config.RedirectURL)
	}
	if q.Get("state") != req.state || q.Get("code") == "" {
		t.Fatalf("the callback's query is %v, want a code and the state %q", q, req.state)
	}
	return q.Get("code")
}

// claims is what the tests read of an ID token or of userinfo.
type claims struct {
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Name          string `json:"name"`
	Nonce         string `json:"nonce"`
}

// exchange redeems code with req's verifier and returns the verified ID
// token's claims, and userinfo's.
func (r *rp) exchange(ctx context.Context, req request, code string) (idToken, userinfo claims, err error) {
	tok, err := r.config.Exchange(ctx, code, oauth2.VerifierOption(req.verifier))
	if err != nil {
		return idToken, userinfo, err
	}
	raw, _ := tok.Extra("id_token").(string)
	verified, err := r.provider.Verifier(&gooidc.Config{ClientID: r.config.ClientID}).Verify(ctx, raw)
	if err != nil {
		return idToken, userinfo, err
	}
	if err := verified.Claims(&idToken); err != nil {
		return idToken, userinfo, err
	}
	info, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return idToken, userinfo, err
	}
	err = info.Claims(&userinfo)
	return idToken, userinfo, err
}

// failure runs Start with a testing.TB that records the first Fatal or
// Skip and stops Start there, and returns what it recorded: "" when Start
// succeeded (the provider then ends with t).
func failure(t *testing.T, opts oidctest.Options) string {
	t.Helper()
	tb := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		oidctest.Start(tb, opts)
	}()
	<-done
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if strings.HasPrefix(tb.msg, "skip: ") {
		t.Skip(tb.msg) // no provider here: nothing to learn about its failures
	}
	return tb.msg
}

// recordingTB is t, except that Fatal and Skip record their message and
// end the goroutine that called them, as testing's own do.
type recordingTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (r *recordingTB) Fatal(args ...any)                 { r.stop(fmt.Sprint(args...)) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.stop(fmt.Sprintf(format, args...)) }
func (r *recordingTB) Skip(args ...any)                  { r.stop("skip: " + fmt.Sprint(args...)) }
func (r *recordingTB) Skipf(format string, args ...any) {
	r.stop("skip: " + fmt.Sprintf(format, args...))
}

func (r *recordingTB) stop(msg string) {
	r.mu.Lock()
	r.msg = msg
	r.mu.Unlock()
	runtime.Goexit()
}
