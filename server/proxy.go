package server

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/heraldws/herald/internal/proxyproto"
)

// Running behind a reverse proxy or a load balancer, the TCP peer is the
// proxy, not the client. Two ways tell herald the client's address:
//
//   - HTTP headers (Config.TrustedProxies): a request from a trusted peer
//     has its client address taken from Forwarded (RFC 7239) or
//     X-Forwarded-For, and its scheme from Forwarded's proto or
//     X-Forwarded-Proto. A request from any other peer keeps the peer's
//     address: anyone can write these headers.
//   - The PROXY protocol (Config.ProxyProtocol): HAProxy's header, read
//     before anything else on each accepted connection (see Listener).
//
// Either way the address becomes the request's RemoteAddr, which the IP
// blocklist, backend_networks, the connection rate limit and the logs use.

// trusts reports whether addr is one of Config.TrustedProxies.
func (s *Server) trusts(addr netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// clientOf applies what a trusted proxy says about r's client: r.RemoteAddr
// becomes the client's address and, when the proxy reported it, r.URL.Scheme
// the scheme the client used ("http" or "https"). It returns the client's
// address (invalid when r.RemoteAddr cannot be read).
func (s *Server) clientOf(r *http.Request) netip.Addr {
	peer, ok := remoteAddr(r.RemoteAddr)
	if !ok || len(s.cfg.TrustedProxies) == 0 || !s.trusts(peer) {
		return peer
	}
	client, proto := forwardedClient(r.Header, peer, s.trusts)
	if client != peer {
		r.RemoteAddr = client.String()
	}
	if proto != "" {
		r.URL.Scheme = proto
	}
	return client
}

// requestScheme is the scheme the client used, as far as herald knows:
// a trusted proxy's word, else the request's own.
func requestScheme(r *http.Request) string {
	if p := normalizeProto(r.URL.Scheme); p != "" {
		return p
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// forwardedClient walks the hops that the Forwarded header (or, without
// it, X-Forwarded-For) lists, from the nearest to the farthest: the first
// hop that is not a trusted proxy is the client. When every hop is
// trusted, the farthest is. A hop that cannot be read (RFC 7239's
// "unknown", an obfuscated name, garbage) ends the walk at the last hop
// that could be. proto is the scheme that the chosen hop's proxy reported.
func forwardedClient(h http.Header, peer netip.Addr, trusted func(netip.Addr) bool) (client netip.Addr, proto string) {
	var hops []forwardedHop
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		hops = parseForwarded(fwd)
	} else {
		for _, v := range h.Values("X-Forwarded-For") {
			for part := range strings.SplitSeq(v, ",") {
				hops = append(hops, forwardedHop{addr: parseHopAddr(strings.TrimSpace(part))})
			}
		}
		if p := h.Values("X-Forwarded-Proto"); len(p) > 0 {
			// The nearest proxy's word: the last value.
			parts := strings.Split(p[len(p)-1], ",")
			proto = normalizeProto(parts[len(parts)-1])
		}
	}
	client = peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := hops[i]
		if !hop.addr.IsValid() {
			break
		}
		client = hop.addr
		if hop.proto != "" {
			proto = hop.proto
		}
		if !trusted(hop.addr) {
			break
		}
	}
	return client, proto
}

// forwardedHop is one element of a Forwarded header: its for= address
// (invalid when unreadable) and proto=.
type forwardedHop struct {
	addr  netip.Addr
	proto string
}

// parseForwarded reads RFC 7239 Forwarded header values: elements
// separated by commas, pairs by semicolons, values optionally quoted.
func parseForwarded(values []string) []forwardedHop {
	var hops []forwardedHop
	for _, v := range values {
		for elem := range splitOutsideQuotes(v, ',') {
			var hop forwardedHop
			for pair := range splitOutsideQuotes(elem, ';') {
				name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok {
					continue
				}
				value = strings.Trim(strings.TrimSpace(value), `"`)
				switch strings.ToLower(strings.TrimSpace(name)) {
				case "for":
					hop.addr = parseHopAddr(value)
				case "proto":
					hop.proto = normalizeProto(value)
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops
}

// splitOutsideQuotes yields the parts of s between sep characters that are
// not inside double quotes.
func splitOutsideQuotes(s string, sep byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		quoted, start := false, 0
		for i := 0; i < len(s); i++ {
			switch {
			case s[i] == '"':
				quoted = !quoted
			case s[i] == sep && !quoted:
				if !yield(s[start:i]) {
					return
				}
				start = i + 1
			}
		}
		yield(s[start:])
	}
}

// parseHopAddr reads a hop's address: an IP, an IP:port, or [IPv6]:port.
// Anything else (RFC 7239's "unknown", "_obfuscated" names) is invalid.
func parseHopAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil && a.Zone() == "" {
		return a.Unmap()
	}
	return netip.Addr{}
}

// normalizeProto keeps the two schemes a proxy can mean; WebSocket
// schemes map to their HTTP counterparts.
func normalizeProto(p string) string {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "http", "ws":
		return "http"
	case "https", "wss":
		return "https"
	}
	return ""
}

// proxyListener reads the PROXY protocol header of each connection it
// accepts (see Listener).
type proxyListener struct {
	net.Listener
	s *Server
}

func (l *proxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &proxyConn{Conn: c, s: l.s}, nil
}

// proxyConn is an accepted connection that starts with a PROXY protocol
// header. The header is read on the connection's first use (Read,
// RemoteAddr), by whichever goroutine serves it, never by the accepting
// one: a peer that sends nothing must not stall the listener. A
// connection whose header is missing, malformed, from an untrusted peer
// or from a blocked client is reset.
type proxyConn struct {
	net.Conn
	s      *Server
	once   sync.Once
	remote net.Addr // the client's address once the header is read
	err    error    // why the connection was refused
}

// errProxyRefused is what a refused proxyConn's reads return.
var errProxyRefused = errors.New("server: connection refused by the PROXY protocol check")

func (c *proxyConn) init() {
	c.once.Do(func() {
		c.remote = c.Conn.RemoteAddr()
		reason, why := c.readHeader()
		if reason == "" {
			return
		}
		s := c.s
		s.metrics.handshakeFailures.WithLabelValues(reason).Inc()
		s.log.Info("connection dropped", "reason", reason, "remote", c.remote.String(), "peer", c.Conn.RemoteAddr().String(), "detail", why)
		if tc := tcpConnOf(c.Conn); tc != nil {
			tc.SetLinger(0)
		}
		c.Conn.Close()
		c.err = errProxyRefused
	})
}

// readHeader reads the header and applies the checks; it returns the
// handshake failure reason and a detail, or "" when the connection may
// go on. The read deadline it sets stays: whoever reads next sets its own.
func (c *proxyConn) readHeader() (reason, detail string) {
	s := c.s
	peer, ok := remoteAddr(c.remote.String())
	if len(s.cfg.TrustedProxies) > 0 && (!ok || !s.trusts(peer)) {
		return failProxyProtocol, "the peer is not in server.trusted_proxies"
	}
	c.Conn.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	h, err := proxyproto.ReadHeader(c.Conn)
	if err != nil {
		return failProxyProtocol, err.Error()
	}
	if !h.Local {
		c.remote = net.TCPAddrFromAddrPort(netip.AddrPortFrom(h.Source.Addr().Unmap(), h.Source.Port()))
	}
	if a, ok := remoteAddr(c.remote.String()); ok && s.blocked(a) {
		return failBlockedIP, "a blocked address"
	}
	return "", ""
}

// Read reads after the header.
func (c *proxyConn) Read(p []byte) (int, error) {
	c.init()
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

// RemoteAddr is the client's address from the header (the peer's for a
// health check, or when the header was refused).
func (c *proxyConn) RemoteAddr() net.Addr {
	c.init()
	return c.remote
}

// SyscallConn gives the poller and the writers the descriptor, as for a
// plain TCP connection.
func (c *proxyConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite half-closes a TCP connection.
func (c *proxyConn) CloseWrite() error {
	if tc := tcpConnOf(c.Conn); tc != nil {
		return tc.CloseWrite()
	}
	return c.Conn.Close()
}

// proxiedTCP lets tcpConnOf see through the wrapper.
func (c *proxyConn) proxiedTCP() *net.TCPConn { return tcpConnOf(c.Conn) }

// tcpConnOf returns the TCP connection under c: c itself, or the one a
// proxyConn wraps; nil for anything else (TLS above all, whose bytes must
// never be written around it).
func tcpConnOf(c net.Conn) *net.TCPConn {
	switch c := c.(type) {
	case *net.TCPConn:
		return c
	case interface{ proxiedTCP() *net.TCPConn }:
		return c.proxiedTCP()
	}
	return nil
}
