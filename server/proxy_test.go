package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"github.com/heraldws/herald/wamp"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldws/herald/internal/ws"
)

func prefixes(list ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestForwardedClient(t *testing.T) {
	trusted := prefixes("10.0.0.0/8", "127.0.0.1/32")
	trusts := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	peer := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name      string
		header    http.Header
		wantAddr  string
		wantProto string
	}{
		{"no header", http.Header{}, "127.0.0.1", ""},
		{"one hop", http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"https"}}, "203.0.113.7", "https"},
		{"client-written hops are skipped from the right",
			http.Header{"X-Forwarded-For": {"198.51.100.1, 203.0.113.7, 10.1.2.3"}}, "203.0.113.7", ""},
		{"several header lines", http.Header{"X-Forwarded-For": {"198.51.100.1", "203.0.113.7"}}, "203.0.113.7", ""},
		{"every hop trusted: the farthest", http.Header{"X-Forwarded-For": {"10.9.9.9, 10.1.1.1"}}, "10.9.9.9", ""},
		{"with ports", http.Header{"X-Forwarded-For": {"203.0.113.7:5555, [2001:db8::1]:443"}}, "2001:db8::1", ""},
		{"garbage stops at the last readable hop", http.Header{"X-Forwarded-For": {"203.0.113.7, nonsense, 10.1.1.1"}}, "10.1.1.1", ""},
		{"proto: the nearest proxy's word", http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"http, https"}}, "203.0.113.7", "https"},
		{"Forwarded", http.Header{"Forwarded": {`for=203.0.113.7;proto=https;by=10.0.0.1`}}, "203.0.113.7", "https"},
		{"Forwarded IPv6 quoted with port", http.Header{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17", ""},
		{"Forwarded chain", http.Header{"Forwarded": {`for=198.51.100.1, for=203.0.113.7;proto=wss`, `for=10.1.1.1`}}, "203.0.113.7", "https"},
		{"Forwarded wins over X-Forwarded-For", http.Header{"Forwarded": {`for=203.0.113.7`}, "X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.7", ""},
		{"Forwarded unknown", http.Header{"Forwarded": {`for=unknown`}}, "127.0.0.1", ""},
		{"Forwarded obfuscated behind a trusted hop", http.Header{"Forwarded": {`for=_hidden, for=10.1.1.1`}}, "10.1.1.1", ""},
		{"quoted comma", http.Header{"Forwarded": {`for="203.0.113.7";host="a,b"`}}, "203.0.113.7", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, proto := forwardedClient(tc.header, peer, trusts)
			if addr.String() != tc.wantAddr || proto != tc.wantProto {
				t.Errorf("forwardedClient = %s, %q; want %s, %q", addr, proto, tc.wantAddr, tc.wantProto)
			}
		})
	}
}

// logBuffer collects a server's log lines, safe for its goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startListening serves cfg as `herald serve` does: the server's own
// listener (PROXY protocol, blocklist), then the upgrade listener.
func startListening(t *testing.T, cfg Config) (*testServer, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ReadHeaderTimeout = srv.cfg.HandshakeTimeout
	hs.Listener = srv.UpgradeListener(srv.Listener(hs.Listener))
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &testServer{Server: srv, http: hs, addr: hs.Listener.Addr().String()}, logs
}

// rawDial connects from src and writes pre (a PROXY header, or nothing)
// then request; it returns the connection and its reader.
func rawDial(t *testing.T, src, addr string, pre []byte, request string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		// Dropped so fast that the connect saw it: nothing to read.
		return nil, bufio.NewReader(strings.NewReader(""))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(append(pre, request...))
	return c, bufio.NewReader(c)
}

// withHeader adds a header line to an upgrade request.
func withHeader(request, line string) string {
	return strings.Replace(request, "\r\n\r\n", "\r\n"+line+"\r\n\r\n", 1)
}

// statusOrDrop reads the response status; 0 when the server closed the
// connection without one.
func statusOrDrop(t *testing.T, br *bufio.Reader) int {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("no response and no close within 5 s")
		}
		return 0
	}
	return resp.StatusCode
}

func TestTrustedProxyHeaders(t *testing.T) {
	ts, logs := startListening(t, Config{
		TrustedProxies:    prefixes("127.0.0.1/32"),
		BlockedIPs:        prefixes("203.0.113.9/32"),
		MaxConnectionRate: 1,
	})
	req := func() string { return gosRequest(ts.addr, "wamp") }

	// Through the trusted proxy, the client named in X-Forwarded-For is
	// the one the log shows and the rate limit counts.
	_, br := rawDial(t, "127.0.0.1", ts.addr, nil, withHeader(req(), "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https"))
	if got := statusOrDrop(t, br); got != http.StatusSwitchingProtocols {
		t.Fatalf("first client: %d, want 101", got)
	}
	waitFor(t, "the session's log line", func() bool {
		return strings.Contains(logs.String(), `msg="session opened"`) && strings.Contains(logs.String(), "remote=203.0.113.7") && strings.Contains(logs.String(), "scheme=https")
	})
	_, br = rawDial(t, "127.0.0.1", ts.addr, nil, withHeader(req(), "X-Forwarded-For: 203.0.113.8"))
	if got := statusOrDrop(t, br); got != http.StatusSwitchingProtocols {
		t.Fatalf("another client through the same proxy: %d, want 101 (its own bucket)", got)
	}
	_, br = rawDial(t, "127.0.0.1", ts.addr, nil, withHeader(req(), "X-Forwarded-For: 203.0.113.7"))
	if got := statusOrDrop(t, br); got != http.StatusTooManyRequests {
		t.Fatalf("the first client again: %d, want 429", got)
	}
	// A blocked client is dropped without a response.
	_, br = rawDial(t, "127.0.0.1", ts.addr, nil, withHeader(req(), "X-Forwarded-For: 203.0.113.9"))
	if got := statusOrDrop(t, br); got != 0 {
		t.Fatalf("blocked client: status %d, want the connection dropped", got)
	}
	// From a peer that is not trusted, the header is the client's own
	// words: ignored. 127.0.0.2's own bucket lets it in.
	_, br = rawDial(t, "127.0.0.2", ts.addr, nil, withHeader(req(), "X-Forwarded-For: 203.0.113.9"))
	if got := statusOrDrop(t, br); got != http.StatusSwitchingProtocols {
		t.Fatalf("untrusted peer naming a blocked address: %d, want 101", got)
	}
	if got := metricValue(t, ts, `herald_handshake_failures_total{reason="blocked_ip"}`); got != "1" {
		t.Errorf("blocked_ip failures = %q, want 1", got)
	}
}

func proxyV1(src string) []byte {
	return []byte("PROXY TCP4 " + src + " 127.0.0.1 40000 8080\r\n")
}

func proxyV2(src string) []byte {
	a := netip.MustParseAddr(src).As4()
	b := append([]byte("\r\n\r\n\x00\r\nQUIT\n"), 0x21, 0x11, 0, 12)
	b = append(b, a[:]...)
	b = append(b, 127, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, 40000)
	return binary.BigEndian.AppendUint16(b, 8080)
}

func TestProxyProtocol(t *testing.T) {
	ts, logs := startListening(t, Config{
		ProxyProtocol:  true,
		TrustedProxies: prefixes("127.0.0.1/32"),
		BlockedIPs:     prefixes("203.0.113.9/32"),
	})
	for _, v := range []struct {
		name   string
		header []byte
	}{{"v1", proxyV1("203.0.113.7")}, {"v2", proxyV2("203.0.113.8")}} {
		t.Run(v.name, func(t *testing.T) {
			c, br := rawDial(t, "127.0.0.1", ts.addr, v.header, gosRequest(ts.addr, "wamp"))
			if got := statusOrDrop(t, br); got != http.StatusSwitchingProtocols {
				t.Fatalf("status %d, want 101", got)
			}
			// The session works through the wrapper (parked, then woken).
			p := &peer{t: t, conn: c, br: br}
			p.rd = ws.NewReader(br)
			p.next() // WELCOME
			p.subscribe("pp")
			p.expectNothing()
			ts.Publish(context.Background(), Publication{Topic: "pp", Payload: wamp.PayloadOfV1([]byte(`1`))})
			p.expectText(eventFrame("pp", "1"))
		})
	}
	if !strings.Contains(logs.String(), "remote=203.0.113.7") || !strings.Contains(logs.String(), "remote=203.0.113.8") {
		t.Errorf("the log does not name the clients of the PROXY headers:\n%s", logs)
	}

	// Plain HTTP on the same port: the API and /healthz need the header too.
	_, br := rawDial(t, "127.0.0.1", ts.addr, proxyV1("198.51.100.1"), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := statusOrDrop(t, br); got != http.StatusOK {
		t.Fatalf("/healthz through the proxy: %d", got)
	}

	drops := []struct {
		name, src string
		header    []byte
	}{
		{"no header", "127.0.0.1", nil},
		{"from an untrusted peer", "127.0.0.2", proxyV1("198.51.100.1")},
		{"a blocked client", "127.0.0.1", proxyV2("203.0.113.9")},
		{"a malformed header", "127.0.0.1", []byte("PROXY TCP4 nonsense\r\n")},
	}
	for _, d := range drops {
		t.Run(d.name, func(t *testing.T) {
			_, br := rawDial(t, d.src, ts.addr, d.header, gosRequest(ts.addr, "wamp"))
			if got := statusOrDrop(t, br); got != 0 {
				t.Fatalf("status %d, want the connection dropped", got)
			}
		})
	}
	// (/metrics itself would need a PROXY header: read the counters.)
	failures := func(reason string) float64 {
		return testutil.ToFloat64(ts.metrics.handshakeFailures.WithLabelValues(reason))
	}
	waitFor(t, "the refusals to be counted", func() bool { return failures(failProxyProtocol) == 3 })
	if got := failures(failBlockedIP); got != 1 {
		t.Errorf("blocked_ip failures = %g, want 1", got)
	}
}

func TestProxyProtocolSilentPeerDoesNotStallAccept(t *testing.T) {
	ts, _ := startListening(t, Config{ProxyProtocol: true, HandshakeTimeout: 300 * time.Millisecond})
	silent, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// While the first connection says nothing, another is served.
	_, br := rawDial(t, "127.0.0.1", ts.addr, proxyV1("198.51.100.1"), gosRequest(ts.addr, "wamp"))
	if got := statusOrDrop(t, br); got != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", got)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(silent); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the silent connection was not closed after the handshake timeout")
		}
	}
}
