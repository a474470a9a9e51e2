package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// httpConn is one keep-alive HTTP/1.1 connection of the load client, built
// as load generators such as wrk are: it writes a request the caller
// prepared and reads back the status line, the few headers the checks need
// and the body, without parsing headers into maps. Go's own client spends
// more per answer than a refusal costs the server, and on a machine the
// client shares with the server that would be counted against the server
// (BenchmarkAPIKeyMiddleware measures it: its cache and cache-leanclient).
// One goroutine uses a conn at a time.
type httpConn struct {
	addr    string // host:port
	timeout time.Duration
	c       net.Conn
	r       *bufio.Reader
	body    []byte
}

// answer is what one request got back. body is valid until the next
// roundTrip on the same conn.
type answer struct {
	status int
	// json: Content-Type application/json and a body that is one JSON
	// object, as every Zulip answer is.
	json bool
	// remaining is X-RateLimit-Remaining, -1 without it. A budget's refusal
	// says 0; the busy answer (no hash slot) carries the budgets' remaining
	// counts, which are not 0 for a fresh address and username.
	remaining int
	body      []byte
}

// busy reports whether a is the answer to a login the server had no
// hash slot for: 429 while the budgets still had room.
func (a answer) busy() bool { return a.status == 429 && a.remaining > 0 }

// refused reports whether a is a budget's refusal: 429 with nothing left.
func (a answer) refused() bool { return a.status == 429 && a.remaining == 0 }

// requestTimeout bounds one request: far above any answer the scenarios
// expect (the hash queue waits at most 5 s), so only a hung server hits it.
const requestTimeout = 30 * time.Second

// newHTTPConn is a conn to addr, opened by its first roundTrip (or
// connect).
func newHTTPConn(addr string) *httpConn {
	return &httpConn{addr: addr, timeout: requestTimeout}
}

// connect opens the connection now rather than on the first request, so that
// a scenario sending many requests at once (stampede) measures answers, not
// handshakes. It is a no-op on an open conn.
func (h *httpConn) connect() error {
	if h.c != nil {
		return nil
	}
	c, err := net.DialTimeout("tcp", h.addr, h.timeout)
	if err != nil {
		return err
	}
	h.c = c
	if h.r == nil {
		h.r = bufio.NewReaderSize(c, 4096)
	} else {
		h.r.Reset(c)
	}
	return nil
}

// close closes the connection; the next roundTrip opens a new one.
func (h *httpConn) close() {
	if h.c != nil {
		h.c.Close()
		h.c = nil
	}
}

// roundTrip sends req and reads its answer. An error is a transport error:
// no complete answer arrived (the connection is then closed). The API key
// of a successful login's answer is recorded in secrets.
func (h *httpConn) roundTrip(req []byte) (answer, error) {
	if err := h.connect(); err != nil {
		return answer{}, fmt.Errorf("connecting: %w", err)
	}
	h.c.SetDeadline(time.Now().Add(h.timeout))
	if _, err := h.c.Write(req); err != nil {
		h.close()
		return answer{}, fmt.Errorf("writing the request: %w", err)
	}
	a, keepAlive, err := h.read()
	if err != nil {
		h.close()
		return answer{}, fmt.Errorf("reading the answer: %w", err)
	}
	if !keepAlive {
		h.close()
	}
	recordAPIKey(a) // every key the harness receives joins the secrets
	return a, nil
}

// errMalformed is an answer this client cannot read as HTTP/1.1.
var errMalformed = errors.New("malformed HTTP answer")

// maxBody bounds the body the client reads: every answer of the scenarios
// is a few hundred bytes, and a length beyond this is a broken server, not
// a reason to allocate gigabytes.
const maxBody = 1 << 20

// read reads one answer: the status line, the headers it needs, and a body
// of Content-Length bytes (every answer of the server has one).
func (h *httpConn) read() (a answer, keepAlive bool, err error) {
	line, err := h.r.ReadSlice('\n')
	if err != nil {
		return a, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return a, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	if a.status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return a, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	length, keepAlive, contentJSON := -1, true, false
	a.remaining = -1
	for {
		line, err := h.r.ReadSlice('\n')
		if err != nil {
			return a, false, err
		}
		if len(line) <= 2 { // the blank line that ends the headers
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return a, false, fmt.Errorf("%w: header line %q", errMalformed, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 || length > maxBody {
				return a, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		case bytes.EqualFold(name, []byte("Content-Type")):
			contentJSON = bytes.HasPrefix(value, []byte("application/json"))
		case bytes.EqualFold(name, []byte("X-Ratelimit-Remaining")):
			if a.remaining, err = strconv.Atoi(string(value)); err != nil {
				return a, false, fmt.Errorf("%w: X-RateLimit-Remaining %q", errMalformed, value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			keepAlive = !bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return a, false, fmt.Errorf("%w: Transfer-Encoding %q (this client reads Content-Length bodies only)", errMalformed, value)
		}
	}
	if length < 0 {
		return a, false, fmt.Errorf("%w: no Content-Length", errMalformed)
	}
	if cap(h.body) < length {
		h.body = make([]byte, length)
	}
	a.body = h.body[:length]
	if _, err := io.ReadFull(h.r, a.body); err != nil {
		return a, false, err
	}
	a.json = contentJSON && length > 0 && a.body[0] == '{' && json.Valid(a.body)
	return a, keepAlive, nil
}

// userAgent names the harness in the server's log.
const userAgent = "zulipauth-loadtest"

// appendLoginRequest appends POST /api/v1/fetch_api_key with username and
// password as an urlencoded form, as zulip-terminal and the mobile apps send
// it, from client address ip (X-Forwarded-For, believed from the trusted
// proxy 127.0.0.1; none when ip is the zero Addr).
func appendLoginRequest(buf []byte, host, username, password string, ip netip.Addr) []byte {
	var form [512]byte
	body := append(form[:0], "username="...)
	body = appendFormValue(body, username)
	body = append(body, "&password="...)
	body = appendFormValue(body, password)
	return appendFormPost(buf, host, "/api/v1/fetch_api_key", body, ip)
}

// appendJWTLoginRequest appends POST /api/v1/jwt/fetch_api_key with token
// as an urlencoded form, from client address ip (see appendLoginRequest).
func appendJWTLoginRequest(buf []byte, host, token string, ip netip.Addr) []byte {
	body := appendFormValue([]byte("token="), token)
	return appendFormPost(buf, host, "/api/v1/jwt/fetch_api_key", body, ip)
}

// appendFormPost appends a POST of an urlencoded form body to path.
func appendFormPost(buf []byte, host, path string, body []byte, ip netip.Addr) []byte {
	buf = append(buf, "POST "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	buf = append(buf, "\r\nUser-Agent: "+userAgent+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = appendClientIP(buf, ip)
	buf = append(buf, "\r\n\r\n"...)
	return append(buf, body...)
}

// appendAPIRequest appends GET path with HTTP Basic email:apiKey, as every
// Zulip client authenticates its API calls.
func appendAPIRequest(buf []byte, host, path, authorization string) []byte {
	buf = append(buf, "GET "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	buf = append(buf, "\r\nUser-Agent: "+userAgent+"\r\nAuthorization: "...)
	buf = append(buf, authorization...)
	return append(buf, "\r\n\r\n"...)
}

// basicAuth is the Authorization header's value for email:apiKey.
func basicAuth(email, apiKey string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+apiKey))
}

// appendClientIP appends the X-Forwarded-For header line of ip, nothing
// for the zero Addr.
func appendClientIP(buf []byte, ip netip.Addr) []byte {
	if !ip.IsValid() {
		return buf
	}
	buf = append(buf, "\r\nX-Forwarded-For: "...)
	return ip.AppendTo(buf)
}

// appendFormValue appends s escaped for an urlencoded form: every byte but
// the unreserved ones as %XX.
func appendFormValue(buf []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			buf = append(buf, c)
			continue
		}
		buf = append(buf, '%', hex[c>>4], hex[c&15])
	}
	return buf
}
