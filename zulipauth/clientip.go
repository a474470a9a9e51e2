package zulipauth

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP resolves the address a request came from.
//
// By default that is the peer of the TCP connection (RemoteAddr): headers
// are set by the client and prove nothing. Only when the peer is one of the
// trusted proxies is header believed, and only that one header: a proxy
// overwrites the header it sets, but passes others through as the client
// sent them.
//
// X-Forwarded-For is read from the right, skipping addresses that are
// themselves trusted proxies: the first untrusted one is the client, and
// anything to its left was written by the client. If every entry is trusted,
// the leftmost is the client. Any other header (X-Real-IP, say) holds one
// address. A missing or unparseable header leaves the peer.
func clientIP(r *http.Request, trusted []netip.Prefix, header string) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	if header != "X-Forwarded-For" {
		if a := parseAddr(strings.TrimSpace(r.Header.Get(header))); a.IsValid() {
			return a
		}
		return peer
	}
	var leftmost netip.Addr
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a := parseAddr(strings.TrimSpace(hops[j]))
			if !a.IsValid() {
				// Garbage where an address should be: whoever wrote it
				// is not a proxy we trust, so stop at the last good hop.
				if leftmost.IsValid() {
					return leftmost
				}
				return peer
			}
			if !isTrusted(a, trusted) {
				return a
			}
			leftmost = a
		}
	}
	if leftmost.IsValid() {
		return leftmost
	}
	return peer
}

// parseAddr parses "ip", "ip:port" or "[ipv6]:port", unmapping IPv4-in-IPv6.
func parseAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
