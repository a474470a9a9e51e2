package zulipauth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// FuzzFetchAPIKey sends arbitrary requests through the whole handler: never a
// panic, never a 5xx, always one valid Zulip JSON body.
func FuzzFetchAPIKey(f *testing.F) {
	seeds := []struct {
		method, ct, query, body string
	}{
		{"POST", "application/x-www-form-urlencoded", "", "username=Iago%40zulip.com&password=correct+horse+battery"},
		{"POST", "application/x-www-form-urlencoded", "", "username=Iago%40zulip.com&password=wrong"},
		{"POST", "multipart/form-data; boundary=XX", "", "--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nIago@zulip.com\r\n--XX\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nx\r\n--XX--\r\n"},
		{"POST", "application/json", "username=a@b.com&password=x", `{"username":1}`},
		{"POST", "", "username=%zz&password=%", ""},
		{"GET", "", "", ""},
		{"POST", "application/x-www-form-urlencoded", "client=x&a=b", "username=\xff\x00@x.com&password=\x00&&&=&"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.ct, s.query, s.body)
	}
	fx := newFixture(f, func(c *zulipauth.Config) {
		c.UsernameLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: 1})
		c.IPLimiter = zulipauth.NewMemoryLimiter(zulipauth.Budget{Events: 1 << 30, Per: 1})
	})
	h := fx.auth.FetchAPIKeyHandler()
	f.Fuzz(func(t *testing.T, method, ct, query, body string) {
		if !validMethod(method) {
			method = http.MethodPost
		}
		r := httptest.NewRequest(http.MethodPost, fetchURL, strings.NewReader(body))
		r.Method = method
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q %q %q %q: %s", w.Code, method, ct, query, body, w.Body)
		}
		m := decode(t, w.Body.Bytes())
		if (w.Code == 200) != (m["result"] == "success") {
			t.Fatalf("status %d with result %v", w.Code, m["result"])
		}
		if !utf8.Valid(w.Body.Bytes()) {
			t.Fatalf("body is not UTF-8: %q", w.Body)
		}
	})
}

// validMethod reports whether m is a token an HTTP request could carry.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
