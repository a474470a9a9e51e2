package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"net"
	"net/url"
	"strconv"
	"testing"
)

// leanClient is a minimal HTTP/1.1 keep-alive client for load tests, built
// as load generators such as wrk are: it sends one prepared request and
// reads the status line and Content-Length, skipping the other headers, and
// discards the body. Go's client parses every response header into a map,
// work that grows with each header the server sends and that, in the same
// process, is counted against the server.
type leanClient struct {
	conns chan *leanConn
}

type leanConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// newLeanClient opens conns connections to base for GET path with HTTP
// Basic email:key.
func newLeanClient(tb testing.TB, base, path, email, key string, conns int) (*leanClient, []byte) {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nAuthorization: Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+key)) +
		"\r\nUser-Agent: zulipauth-load\r\n\r\n")
	c := &leanClient{conns: make(chan *leanConn, conns)}
	for range conns {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { conn.Close() })
		c.conns <- &leanConn{conn: conn, r: bufio.NewReader(conn)}
	}
	return c, req
}

// do sends req on a free connection and reports whether the answer was
// a complete 200.
func (c *leanClient) do(req []byte) bool {
	lc := <-c.conns
	defer func() { c.conns <- lc }()
	if _, err := lc.conn.Write(req); err != nil {
		return false
	}
	status, err := lc.r.ReadSlice('\n')
	if err != nil {
		return false
	}
	length := -1
	for {
		line, err := lc.r.ReadSlice('\n')
		if err != nil {
			return false
		}
		if len(line) <= 2 { // the blank line ending the headers
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(value)))
		}
	}
	if length < 0 {
		return false
	}
	if _, err := lc.r.Discard(length); err != nil {
		return false
	}
	return bytes.HasPrefix(status, []byte("HTTP/1.1 200 "))
}
