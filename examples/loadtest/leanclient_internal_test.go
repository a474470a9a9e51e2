package main

import (
	"bufio"
	"bytes"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// readAnswer parses raw as the answer to one request.
func readAnswer(raw string) (answer, bool, error) {
	h := &httpConn{r: bufio.NewReader(strings.NewReader(raw))}
	return h.read()
}

func TestReadAnswer(t *testing.T) {
	t.Parallel()
	const body = `{"result":"error","msg":"API usage exceeded rate limit","code":"RATE_LIMIT_HIT","retry-after":1.0}` + "\n"
	head := func(status string, headers ...string) string {
		return "HTTP/1.1 " + status + "\r\n" + strings.Join(headers, "\r\n") + "\r\n\r\n"
	}
	for _, tc := range []struct {
		name          string
		raw           string
		wantErr       bool
		wantStatus    int
		wantJSON      bool
		wantBusy      bool
		wantRefused   bool
		wantKeepAlive bool
	}{
		{name: "busy: 429 with budget left",
			raw:        head("429 Too Many Requests", "Content-Type: application/json", "X-Ratelimit-Remaining: 4", "Content-Length: 98") + body,
			wantStatus: 429, wantJSON: true, wantBusy: true, wantKeepAlive: true},
		{name: "refused: 429 with nothing left",
			raw:        head("429 Too Many Requests", "content-type: application/json", "x-ratelimit-remaining: 0", "content-length: 98") + body,
			wantStatus: 429, wantJSON: true, wantRefused: true, wantKeepAlive: true},
		{name: "not JSON: a text body",
			raw:        head("404 Not Found", "Content-Type: text/plain", "Content-Length: 10") + "not found\n",
			wantStatus: 404, wantKeepAlive: true},
		{name: "not JSON: a JSON type on a broken body",
			raw:        head("200 OK", "Content-Type: application/json", "Content-Length: 2") + "{x",
			wantStatus: 200, wantKeepAlive: true},
		{name: "connection close",
			raw:        head("200 OK", "Content-Type: application/json", "Connection: close", "Content-Length: 2") + "{}",
			wantStatus: 200, wantJSON: true},
		{name: "no Content-Length", raw: head("200 OK", "Content-Type: application/json") + "{}", wantErr: true},
		{name: "chunked", raw: head("200 OK", "Transfer-Encoding: chunked") + "2\r\n{}\r\n0\r\n\r\n", wantErr: true},
		{name: "short body", raw: head("200 OK", "Content-Length: 10") + "{}", wantErr: true},
		{name: "not HTTP", raw: "SSH-2.0-OpenSSH\r\n", wantErr: true},
		{name: "bad status", raw: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: true},
		{name: "negative length", raw: head("200 OK", "Content-Length: -1"), wantErr: true},
		{name: "truncated headers", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, keepAlive, err := readAnswer(tc.raw)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if a.status != tc.wantStatus || a.json != tc.wantJSON || a.busy() != tc.wantBusy || a.refused() != tc.wantRefused || keepAlive != tc.wantKeepAlive {
				t.Errorf("got status %d json %v busy %v refused %v keep-alive %v", a.status, a.json, a.busy(), a.refused(), keepAlive)
			}
		})
	}
}

// FuzzReadAnswer: whatever a server sends, the client reports an answer or
// an error, never panics, and never reads a body longer than it says.
func FuzzReadAnswer(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 429 Too Many Requests\r\nX-Ratelimit-Remaining: 3\r\nContent-Length: 0\r\n\r\n")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 9999999999\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		a, _, err := readAnswer(raw)
		if err == nil && len(a.body) > len(raw) {
			t.Fatalf("a body of %d bytes from %d bytes of input", len(a.body), len(raw))
		}
	})
}

// TestLoginRequest: the request the client writes is one a server parses
// into the intended form and client address.
func TestLoginRequest(t *testing.T) {
	t.Parallel()
	ip := netip.MustParseAddr("10.1.2.3")
	for _, tc := range []struct {
		name, username, password string
	}{
		{"plain", "iago@zulip.com", "a long password"},
		{"reserved characters", "a+b&c=d@zulip.com", "p%ss w&rd=?#"},
		{"utf-8", "ünï@zulip.com", "pässwörd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := appendLoginRequest(nil, "127.0.0.1:9", tc.username, tc.password, ip)
			head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
			if !ok {
				t.Fatalf("no end of headers in %q", raw)
			}
			form, err := url.ParseQuery(string(body))
			if err != nil {
				t.Fatal(err)
			}
			if form.Get("username") != tc.username || form.Get("password") != tc.password {
				t.Errorf("form %v", form)
			}
			for _, want := range []string{"POST /api/v1/fetch_api_key HTTP/1.1", "X-Forwarded-For: 10.1.2.3", "Content-Length: " + strconv.Itoa(len(body))} {
				if !bytes.Contains(head, []byte(want)) {
					t.Errorf("headers lack %q:\n%s", want, head)
				}
			}
		})
	}
}

// TestJWTLoginRequest: the JWT login's request is a form a server parses
// into the token, sent to the JWT endpoint from the client address.
func TestJWTLoginRequest(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImFAemEudGVzdCJ9.c2lnbmF0dXJl-_x"
	raw := appendJWTLoginRequest(nil, "127.0.0.1:9", token, netip.MustParseAddr("10.4.5.6"))
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no end of headers in %q", raw)
	}
	if form, err := url.ParseQuery(string(body)); err != nil || form.Get("token") != token || len(form) != 1 {
		t.Errorf("form %v (%v), want the token alone", form, err)
	}
	for _, want := range []string{"POST /api/v1/jwt/fetch_api_key HTTP/1.1", "X-Forwarded-For: 10.4.5.6", "Content-Length: " + strconv.Itoa(len(body))} {
		if !bytes.Contains(head, []byte(want)) {
			t.Errorf("headers lack %q:\n%s", want, head)
		}
	}
}
