package jwt_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmark measures the handler rather than a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

// bareParse is golang-jwt's own verification of an HS256 token with the
// options a Verifier gives it: the baseline of the benchmarks.
func bareParse(token string) func() error {
	parser := gojwt.NewParser(gojwt.WithValidMethods([]string{"HS256"}), gojwt.WithLeeway(jwt.DefaultLeeway),
		gojwt.WithTimeFunc(clock), gojwt.WithIssuedAt(), gojwt.WithStrictDecoding())
	key := []byte(hmacSecret)
	keyFunc := func(*gojwt.Token) (any, error) { return key, nil }
	return func() error {
		_, err := parser.ParseWithClaims(token, gojwt.MapClaims{}, keyFunc)
		return err
	}
}

// BenchmarkJWTLogin times a whole JWT login through the handler (HS256,
// memstore, the client's budget unlimited) against the bare golang-jwt
// verification of the same token, both in the same loop, alternating, so
// that drift in the machine's speed falls on both alike. overhead-ns/op is
// what the handler, the verifier's checks and the user lookup add to the
// signature check (target: under 10 µs); the handler's allocations include
// the bare ones' share.
//
// Run: go test -run '^$' -bench JWTLogin -benchtime 2s ./backends/jwt
func BenchmarkJWTLogin(b *testing.B) {
	s := newServer(b)
	token := hs256(iago())
	body := "token=" + token
	rd := strings.NewReader(body)
	r, _ := http.NewRequest(http.MethodPost, "http://"+externalHost+"/api/v1/jwt/fetch_api_key", io.NopCloser(rd))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "192.0.2.1:1234"
	w := &discardWriter{h: make(http.Header)}
	login := func() {
		rd.Reset(body)
		r.ContentLength = int64(len(body))
		clear(w.h)
		w.status = 0
		s.mux.ServeHTTP(w, r)
	}
	bare := bareParse(token)
	login()
	if w.status != http.StatusOK || bare() != nil {
		b.Fatalf("status %d, bare %v", w.status, bare())
	}
	var handlerTime, bareTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if bare() != nil {
			b.Fatal("the bare verification failed")
		}
		t1 := time.Now()
		login()
		handlerTime += time.Since(t1)
		bareTime += t1.Sub(t0)
	}
	b.StopTimer()
	if w.status != http.StatusOK {
		b.Fatalf("status %d", w.status)
	}
	handler, baseline := float64(handlerTime.Nanoseconds())/float64(b.N), float64(bareTime.Nanoseconds())/float64(b.N)
	b.ReportMetric(handler, "handler-ns/op")
	b.ReportMetric(baseline, "bare-ns/op")
	b.ReportMetric(handler-baseline, "overhead-ns/op")
}

// BenchmarkVerifyToken times Verifier.VerifyToken alone against the bare
// golang-jwt verification, likewise: what the verifier's own checks (size,
// realm, header, aud, exp 0, email) cost, in verifier-overhead-ns/op.
//
// Run: go test -run '^$' -bench VerifyToken -benchtime 2s ./backends/jwt
func BenchmarkVerifyToken(b *testing.B) {
	v := newVerifier(b)
	token := hs256(iago())
	bare := bareParse(token)
	ctx := context.Background()
	var verifierTime, bareTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if bare() != nil {
			b.Fatal("the bare verification failed")
		}
		t1 := time.Now()
		if _, err := v.VerifyToken(ctx, zulipauth.Realm{}, token); err != nil {
			b.Fatal(err)
		}
		verifierTime += time.Since(t1)
		bareTime += t1.Sub(t0)
	}
	b.StopTimer()
	verifier, baseline := float64(verifierTime.Nanoseconds())/float64(b.N), float64(bareTime.Nanoseconds())/float64(b.N)
	b.ReportMetric(verifier, "verifier-ns/op")
	b.ReportMetric(baseline, "bare-ns/op")
	b.ReportMetric(verifier-baseline, "verifier-overhead-ns/op")
}
