package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

// startFast serves srv through UpgradeListener, as `herald serve` does,
// and returns the address and a count of the connections net/http saw.
func startFast(t testing.TB, cfg Config) (*Server, string, *atomic.Int64) {
	t.Helper()
	return startHTTPServer(t, cfg, true)
}

// startHTTPServer serves a new Server with its HTTPServer on a loopback
// port, through UpgradeListener when fast (else every request goes
// through net/http and ServeHTTP), and shuts both down when the test ends.
// It returns the address and a count of the connections net/http saw.
func startHTTPServer(t testing.TB, cfg Config, fast bool) (*Server, string, *atomic.Int64) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer(ln.Addr().String())
	var seen atomic.Int64
	hs.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			seen.Add(1)
		}
	}
	served := make(chan error, 1)
	var serveLn net.Listener = ln
	if fast {
		serveLn = srv.UpgradeListener(ln)
	}
	go func() { served <- hs.Serve(serveLn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		srv.Shutdown(ctx)
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, ln.Addr().String(), &seen
}

// Upgrades through the listener behave as through net/http: the WELCOME
// in the same read as the 101, publications, frames sent with the
// request.
func TestUpgradeListenerUpgrades(t *testing.T) {
	srv, addr, seen := startFast(t, Config{})
	sub := dial(t, addr)
	if !strings.Contains(string(sub.firstRaw), "\r\n\r\n\x81") {
		t.Fatalf("the WELCOME did not come with the 101: %q", sub.firstRaw)
	}
	sub.subscribe("fast")
	waitFor(t, "subscription", func() bool { return srv.hub.count("fast") == 1 })
	key := [4]byte{1, 2, 3, 4}
	pub := connectRaw(t, addr, gosRequest(addr, "wamp")+string(ws.AppendMaskedFrame(nil, ws.OpText, []byte(`[7,"fast","pipelined"]`), key)))
	if pub.resp.StatusCode != 101 {
		t.Fatalf("status %d", pub.resp.StatusCode)
	}
	sub.expectText(eventFrame("fast", `"pipelined"`))
	if n := seen.Load(); n != 0 {
		t.Fatalf("net/http saw %d of the upgrades", n)
	}

	// A request head that arrives in pieces.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := gosRequest(addr, "wamp")
	for _, part := range []string{req[:10], req[10:60], req[60:]} {
		io.WriteString(c, part)
		time.Sleep(30 * time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("a head in pieces: %v %v", resp, err)
	}
}

// Refusals are answered and the connection closed; everything that is
// not an upgrade (the API, /metrics, a POST) is net/http's, keep-alive
// included; a head too large for the listener's buffer goes to net/http
// too, which upgrades it.
func TestUpgradeListenerHandsTheRestToNetHTTP(t *testing.T) {
	_, addr, seen := startFast(t, Config{OriginCheck: true})

	p := connectRaw(t, addr, strings.Replace(gosRequest(addr, "wamp"), "Origin: 127.0.0.1", "Origin: https://evil.example", 1))
	if p.resp.StatusCode != http.StatusForbidden || !p.resp.Close {
		t.Fatalf("a refused origin: %d %v", p.resp.StatusCode, p.resp.Header)
	}
	p = connectRaw(t, addr, strings.Replace(gosRequest(addr, "wamp"), "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", 1))
	if p.resp.StatusCode != http.StatusUpgradeRequired || p.resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("an old version: %d %v", p.resp.StatusCode, p.resp.Header)
	}

	// Two requests on one keep-alive connection.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for range 2 {
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("/healthz: %v %v", resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "ok\n" {
			t.Fatalf("/healthz body %q", body)
		}
	}
	if n := seen.Load(); n != 1 {
		t.Fatalf("net/http saw %d connections, want the keep-alive one", n)
	}

	p = connectRaw(t, addr, strings.Replace(gosRequest(addr, "wamp"), "GET ws://", "POST ws://", 1))
	if p.resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("a POST upgrade: %d", p.resp.StatusCode)
	}

	big := strings.Replace(gosRequest(addr, "wamp"), "\r\n\r\n", "\r\nCookie: c="+strings.Repeat("x", 5000)+"\r\n\r\n", 1)
	if q := dialRequest(t, addr, big); q.session == "" {
		t.Fatal("no session for a large request")
	}
}

// A client that sends part of a request head and stalls is dropped after
// HandshakeTimeout, as net/http drops it after ReadHeaderTimeout.
func TestUpgradeListenerDropsAStalledHead(t *testing.T) {
	_, addr, seen := startFast(t, Config{HandshakeTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [64]byte
	if n, err := c.Read(buf[:]); err == nil {
		t.Fatalf("a stalled head got an answer: %q", buf[:n])
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a stalled head was kept open")
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("dropped after %v, before HandshakeTimeout", d)
	}
	if n := seen.Load(); n != 0 {
		t.Fatalf("net/http saw %d connections", n)
	}
}
