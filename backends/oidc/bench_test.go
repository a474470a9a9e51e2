package oidc_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// What a completed single sign-on costs the server, against the same
// provider's bare relying-party work measured in the same run. Each round
// logs in at the provider first, untimed (the provider's login form is the
// person's time, not the server's), then times:
//
//   - flow: zulipauth's start (the flow kept in the store, the redirect) and
//     its callback (the flow taken, the code exchanged with PKCE, the ID
//     token verified, the userinfo read, the user found, the key encrypted
//     for zulip://login), through the handlers, over HTTP;
//   - bare: golang.org/x/oauth2's exchange of a code with PKCE and go-oidc's
//     verification of the ID token, then the userinfo request, as a relying
//     party that keeps nothing does.
//
// Run: go test -run '^$' -bench SSOLogin -benchtime 200x ./backends/oidc
// (the ratio is flow's ns/op over bare's).
func BenchmarkSSOLogin(b *testing.B) {
	b.Run("flow", func(b *testing.B) {
		// Every round comes from one address: a budget per address that
		// does not run out, so the benchmark measures logins, not refusals.
		s := newSSOServer(b, func(c *zulipauth.Config) {
			c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: time.Minute})
		})
		c := client(b)
		b.ResetTimer()
		for b.Loop() {
			resp, err := c.Get(s.url + "/accounts/login/social/oidc?mobile_flow_otp=" + otpForBench)
			if err != nil || resp.StatusCode != http.StatusFound {
				b.Fatalf("start: %v %v", resp, err)
			}
			resp.Body.Close()
			b.StopTimer()
			cb, err := s.op.Login(b.Context(), resp.Header.Get("Location"), oidctest.IagoEmail, oidctest.IagoPassword)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			resp, err = c.Get(cb.String())
			if err != nil || resp.StatusCode != http.StatusFound {
				b.Fatalf("callback: %v %v", resp, err)
			}
			resp.Body.Close()
		}
	})
	b.Run("bare", func(b *testing.B) {
		op := oidctest.Start(b, oidctest.Options{})
		ctx := b.Context()
		provider, err := gooidc.NewProvider(ctx, op.Issuer)
		if err != nil {
			b.Fatal(err)
		}
		conf := &oauth2.Config{ClientID: op.ClientID, ClientSecret: op.ClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: oidctest.DefaultRedirectURI, Scopes: []string{gooidc.ScopeOpenID, "email", "profile"}}
		verifier := provider.Verifier(&gooidc.Config{ClientID: op.ClientID})
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer()
			pkce, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
			authURL := conf.AuthCodeURL("state", oauth2.S256ChallengeOption(pkce), oauth2.SetAuthURLParam("nonce", nonce))
			cb, err := op.Login(ctx, authURL, oidctest.IagoEmail, oidctest.IagoPassword)
			if err != nil {
				b.Fatal(err)
			}
			code := cb.Query().Get("code")
			b.StartTimer()
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := verifier.Verify(ctx, raw)
			if err != nil || idt.Nonce != nonce {
				b.Fatalf("verify: %v", err)
			}
			if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// otpForBench is a fixed pad: the benchmark measures the flow, not
// crypto/rand.
var otpForBench = url.QueryEscape("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
