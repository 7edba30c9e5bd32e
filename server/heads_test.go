package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wsLines are the headers of a valid WebSocket upgrade but Host.
const wsLines = "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

// Where a row's refusal is counted as herald_handshake_failures_total
// {reason="bad_request"}.
const (
	notCounted     = iota
	countedByHead  // by the upgrade listener, which reads heads under 4 KiB
	countedHandler // by the upgrade handler, on both paths
)

// headCase is a request head, with the status net/http's server gives it.
type headCase struct {
	name    string
	head    string
	status  int
	counted int
	// listener: the upgrade listener answers the head itself (else it
	// hands it to net/http).
	listener bool
}

var headCases = []headCase{
	{"good upgrade", "GET / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "\r\n", 101, notCounted, true},
	{"header line without a colon", "GET / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "bogus line\r\n\r\n", 400, countedByHead, true},
	{"NUL in a header value", "GET / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "X-Note: a\x00b\r\n\r\n", 400, countedByHead, true},
	{"DEL in a header value", "GET / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "X-Note: a\x7fb\r\n\r\n", 400, countedByHead, true},
	{"bare LF, good upgrade", lf("GET / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "\r\n"), 101, notCounted, true},
	{"bare LF after the request line only", "GET / HTTP/1.1\nHost: herald.test\r\n" + wsLines + "\r\n", 101, notCounted, true},
	{"bare LF, line without a colon", lf("GET / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "bogus\r\n\r\n"), 400, countedByHead, true},
	{"bare LF, no Host", lf("GET / HTTP/1.1\r\n" + wsLines + "\r\n"), 400, countedByHead, true},
	{"obs-fold continuation line", "GET / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "X-Note: a\r\n b\r\n\r\n", 101, notCounted, true},
	{"leading whitespace before the first header", "GET / HTTP/1.1\r\n Host: herald.test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"space before a header's colon", "GET / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "X-Note : b\r\n\r\n", 400, countedByHead, true},
	{"invalid method token", "G(T / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "\r\n", 400, notCounted, false},
	{"lowercase method", "get / HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "\r\n", 405, notCounted, false},
	{"missing Host with HTTP/1.1", "GET / HTTP/1.1\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"absolute-form target without Host", "GET ws://herald.test/ HTTP/1.1\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"missing Host with HTTP/1.0", "GET / HTTP/1.0\r\n" + wsLines + "\r\n", 400, countedHandler, true},
	{"lowercase host header", "GET / HTTP/1.1\r\nhost: herald.test\r\n" + wsLines + "\r\n", 101, notCounted, true},
	{"empty Host", "GET / HTTP/1.1\r\nHost:\r\n" + wsLines + "\r\n", 101, notCounted, true},
	{"Host folded onto a second line", "GET / HTTP/1.1\r\nHost: herald\r\n .test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"empty Host folded onto a second line", "GET / HTTP/1.1\r\nHost:\r\n\therald.test\r\n" + wsLines + "\r\n", 101, notCounted, true},
	{"absolute-form target with Host", "GET ws://herald.test/ HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "\r\n", 101, notCounted, true},
	{"absolute-form target with a malformed Host", "GET ws://herald.test/ HTTP/1.1\r\nHost: herald test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"malformed Host", "GET / HTTP/1.1\r\nHost: herald test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"two Host headers", "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: herald.test\r\n" + wsLines + "\r\n", 505, countedByHead, true},
	{"HTTP/0.9", "GET / HTTP/0.9\r\nHost: herald.test\r\n" + wsLines + "\r\n", 505, countedByHead, true},
	{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: herald.test\r\n" + wsLines + "\r\n", 101, notCounted, true},
	{"version not a number", "GET / HTTP/1.x\r\nHost: herald.test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"lowercase version", "GET / http/1.1\r\nHost: herald.test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"no version", "GET /\r\nHost: herald.test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"target not a path", "GET x HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"control byte in the target", "GET /\x01 HTTP/1.1\r\nHost: herald.test\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"unknown transfer coding", "GET / HTTP/1.1\r\nHost: herald.test\r\nTransfer-Encoding: gzip\r\n" + wsLines + "\r\n", 501, countedByHead, true},
	{"Content-Length beside chunked", "GET / HTTP/1.1\r\nHost: herald.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n" + wsLines + "\r\n", 101, notCounted, true},
	{"bad Content-Length", "GET / HTTP/1.1\r\nHost: herald.test\r\nContent-Length: abc\r\n" + wsLines + "\r\n", 400, countedByHead, true},
	{"oversized header line", "GET / HTTP/1.1\r\nHost: herald.test\r\nX-Big: " + strings.Repeat("a", 13000) + "\r\n" + wsLines + "\r\n", 431, notCounted, false},
}

// lf turns a head's line endings into bare "\n".
func lf(head string) string { return strings.ReplaceAll(head, "\r\n", "\n") }

// oversized returns c's head with a 5,000-byte Cookie header as its last
// header, past the upgrade listener's buffer: net/http reads it on both
// paths, and only the handler counts a refusal.
func (c headCase) oversized() headCase {
	eol := "\n"
	if strings.HasSuffix(c.head, "\r\n") {
		eol = "\r\n"
	}
	c.name += ", over 4 KiB"
	c.head = strings.TrimSuffix(c.head, eol) + "Cookie: c=" + strings.Repeat("x", 5000) + eol + eol
	if c.counted == countedByHead {
		c.counted = notCounted
	}
	c.listener = false
	return c
}

// TestMalformedHeadsAnswerLikeNetHTTP sends every head to a server behind
// the upgrade listener and to one on plain net/http (ServeHTTP), and
// checks that both give net/http's status and body, that the listener
// closes the connection after a refusal and counts it as a bad request,
// and which heads the listener answers itself.
func TestMalformedHeadsAnswerLikeNetHTTP(t *testing.T) {
	_, fastAddr, fastSeen := startHTTPServer(t, Config{}, true)
	_, plainAddr, _ := startHTTPServer(t, Config{}, false)
	var cases []headCase
	for _, c := range headCases {
		cases = append(cases, c)
		if len(c.head) < 4096 {
			cases = append(cases, c.oversized())
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fastBefore, plainBefore := badRequests(t, fastAddr), badRequests(t, plainAddr)

			seenBefore := fastSeen.Load()
			fast := exchange(t, fastAddr, c.head)
			seen := fastSeen.Load() - seenBefore
			plain := exchange(t, plainAddr, c.head)

			if fast.status != c.status || plain.status != c.status {
				t.Fatalf("status: listener %d, net/http %d; want %d", fast.status, plain.status, c.status)
			}
			if fast.body != plain.body {
				t.Fatalf("body: listener %q, net/http %q", fast.body, plain.body)
			}
			if c.listener && c.status != 101 && !fast.closed {
				t.Fatal("the listener kept the connection open after a refusal")
			}
			if c.listener && seen != 0 || !c.listener && seen != 1 {
				t.Fatalf("net/http saw %d connections; the listener should answer itself: %v", seen, c.listener)
			}
			wantFast, wantPlain := 0.0, 0.0
			switch c.counted {
			case countedByHead:
				wantFast = 1
			case countedHandler:
				wantFast, wantPlain = 1, 1
			}
			if d := badRequests(t, fastAddr) - fastBefore; d != wantFast {
				t.Fatalf("listener: %v bad requests counted, want %v", d, wantFast)
			}
			if d := badRequests(t, plainAddr) - plainBefore; d != wantPlain {
				t.Fatalf("net/http: %v bad requests counted, want %v", d, wantPlain)
			}
		})
	}
}

// TestHeadLength checks where a request head ends, with either line ending.
func TestHeadLength(t *testing.T) {
	for _, c := range []struct {
		p    string
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest", 27},
		{"GET / HTTP/1.1\nHost: x\n\nrest", 24},
		{"GET / HTTP/1.1\r\nHost: x\n\r\n", 26},
		{"GET / HTTP/1.1\nHost: x\r\n\n", 25},
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r", 0},
		{"GET / HTTP/1.1\r\nX: a\r\r\n\r\n", 0 + len("GET / HTTP/1.1\r\nX: a\r\r\n\r\n")},
		{"GET / HTTP/1.1\r\nX: \r\n\r\n", 23},
		{"", 0},
	} {
		if got := headLength([]byte(c.p)); got != c.want {
			t.Errorf("headLength(%q) = %d, want %d", c.p, got, c.want)
		}
	}
}

// TestReadHostHeader: the Host header as net/http's reader takes it, and
// the head it was read from left as it was.
func TestReadHostHeader(t *testing.T) {
	for _, c := range []struct {
		head  string
		count int
		value string
	}{
		{"GET / HTTP/1.1\r\nHost: a.test\r\nX: y\r\n\r\n", 1, "a.test"},
		{"GET / HTTP/1.1\nhOsT:\ta.test \nX: y\n\n", 1, "a.test"},
		{"GET / HTTP/1.1\r\nHost: a\r\n  b \r\n\tc\r\nX: y\r\n\r\n", 1, "a b c"},
		{"GET / HTTP/1.1\r\nHost:\r\n b\r\n\r\n", 1, "b"},
		{"GET / HTTP/1.1\r\nX-Host: a\r\nHost : b\r\n\r\nHost: c\r\n", 0, ""},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 2, "b"},
		{"GET host: x HTTP/1.1\r\n\r\n", 0, ""},
	} {
		head := []byte(c.head)
		h := readHostHeader(head)
		if h.count != c.count || string(h.value) != c.value {
			t.Errorf("%q: %d Host headers, the last %q; want %d, %q", c.head, h.count, h.value, c.count, c.value)
		}
		if string(head) != c.head {
			t.Errorf("the head was changed to %q", head)
		}
	}
}

// TestLooksLikeUpgradeBareLF: the cheap test reads headers whatever their
// line ending.
func TestLooksLikeUpgradeBareLF(t *testing.T) {
	for _, head := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\nUpgrade: websocket\n\n",
		"GET / HTTP/1.1\nUpgrade:websocket\r\n\n",
	} {
		if !looksLikeUpgrade([]byte(head)) {
			t.Errorf("%q: not taken for an upgrade", head)
		}
	}
	for _, head := range []string{
		"GET / HTTP/1.1\nHost: x\nUpgrade: h2c\n\n",
		"POST / HTTP/1.1\nUpgrade: websocket\n\n",
		"GET / HTTP/1.1\nX-Upgrade: websocket\n\n",
	} {
		if looksLikeUpgrade([]byte(head)) {
			t.Errorf("%q: taken for an upgrade", head)
		}
	}
}

// headAnswer is what a server answered to a request head.
type headAnswer struct {
	status int
	body   string // "" for a 101
	closed bool   // the response said Connection: close
}

// exchange sends head on a new connection and reads the response: the
// head of a 101, or a refusal through its body's end.
func exchange(t *testing.T, addr, head string) headAnswer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatalf("write head: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	a := headAnswer{status: resp.StatusCode, closed: resp.Close}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, err := io.ReadAll(resp.Body)
		// net/http closes a connection it has not read to the end, which
		// resets it: the reset, after the body, ends it as well.
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read body: %v", err)
		}
		a.body = string(body)
	}
	return a
}

// badRequests reads herald_handshake_failures_total{reason="bad_request"}
// from the server's /metrics, on a connection of its own.
func badRequests(t *testing.T, addr string) float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	const name = `herald_handshake_failures_total{reason="bad_request"} `
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %q: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// BenchmarkUpgradeHandshake is one WebSocket handshake through the upgrade
// listener, as `herald serve` takes it: dial, send the Gos client's
// request, read the 101 and the WELCOME (one read), reset the connection
// (no TIME_WAIT left behind).
func BenchmarkUpgradeHandshake(b *testing.B) {
	_, addr, _ := startFast(b, Config{})
	req := []byte(gosRequest(addr, "wamp"))
	buf := make([]byte, 4096)
	for b.Loop() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 101 ")) || !bytes.Contains(buf[:n], []byte("\r\n\r\n\x81")) {
			b.Fatalf("handshake: %q, %v", buf[:n], err)
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
}
