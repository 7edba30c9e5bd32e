package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

// testServer runs a Server behind httptest on loopback and shuts both
// down when the test ends.
type testServer struct {
	*Server
	http *httptest.Server
	addr string
}

func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ReadHeaderTimeout = srv.cfg.HandshakeTimeout
	// As `herald serve` does: upgrades through the upgrade listener, the
	// rest through net/http. httpServe keeps net/http for both.
	hs.Listener = srv.UpgradeListener(hs.Listener)
	hs.Start()
	ts := &testServer{Server: srv, http: hs, addr: hs.Listener.Addr().String()}
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && err != ErrServerClosed {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ts
}

// gosRequest is the upgrade request the Gos PHP WAMP client sends:
// absolute-form target, "Upgrade: WebSocket", a bare-host Origin.
func gosRequest(addr, protocols string) string {
	var key [16]byte
	rand.Read(key[:])
	req := "GET ws://" + addr + "/ HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"User-Agent: WebSocketClient/0.0.1\r\n" +
		"Upgrade: WebSocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Origin: 127.0.0.1\r\n"
	if protocols != "" {
		req += "Sec-WebSocket-Protocol: " + protocols + "\r\n"
	}
	return req + "\r\n"
}

// peer is a raw WebSocket client: it speaks frames, not messages, so tests
// can send anything and see exactly what the server sends back.
type peer struct {
	t        testing.TB
	conn     net.Conn
	br       *bufio.Reader
	rd       *ws.Reader
	resp     *http.Response
	session  string
	welcome  []any
	firstRaw []byte // the bytes of the first read after the request
	syncs    int
}

// dial connects with the Gos client's request and reads the handshake and
// the WELCOME.
func dial(t testing.TB, addr string) *peer {
	t.Helper()
	return dialRequest(t, addr, gosRequest(addr, "wamp"))
}

func dialRequest(t testing.TB, addr, request string) *peer {
	t.Helper()
	p := connectRaw(t, addr, request)
	if p.resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d, want 101", p.resp.StatusCode)
	}
	op, payload := p.next()
	if op != ws.OpText {
		t.Fatalf("first frame opcode %d, want text", op)
	}
	if err := json.Unmarshal(payload, &p.welcome); err != nil {
		t.Fatalf("WELCOME %q: %v", payload, err)
	}
	if len(p.welcome) != 4 || p.welcome[0] != 0.0 || p.welcome[2] != 1.0 {
		t.Fatalf("WELCOME %s, want [0, sid, 1, ident]", payload)
	}
	p.session = p.welcome[1].(string)
	return p
}

// connectRaw sends request and parses the HTTP response, keeping whatever
// followed it for the frame reader.
func connectRaw(t testing.TB, addr, request string) *peer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatalf("write request: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	first := make([]byte, 4096)
	n, err := conn.Read(first)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	first = first[:n]
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(first), conn))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("parse response %q: %v", first, err)
	}
	rd := ws.NewReader(br)
	return &peer{t: t, conn: conn, br: br, rd: rd, resp: resp, firstRaw: first}
}

// send writes one masked text frame.
func (p *peer) send(text string) {
	p.t.Helper()
	p.sendFrame(ws.OpText, []byte(text))
}

func (p *peer) sendFrame(op byte, payload []byte) {
	p.t.Helper()
	var key [4]byte
	rand.Read(key[:])
	if _, err := p.conn.Write(ws.AppendMaskedFrame(nil, op, payload, key)); err != nil {
		p.t.Fatalf("write frame: %v", err)
	}
}

// next returns the next frame or message, failing the test after 5 s.
func (p *peer) next() (byte, []byte) {
	p.t.Helper()
	op, payload, err := p.tryNext(5 * time.Second)
	if err != nil {
		p.t.Fatalf("read frame: %v", err)
	}
	return op, payload
}

func (p *peer) tryNext(timeout time.Duration) (byte, []byte, error) {
	p.conn.SetReadDeadline(time.Now().Add(timeout))
	op, payload, err := p.rd.ReadMessage()
	return op, bytes.Clone(payload), err
}

// expectText reads the next data message and compares it with want.
func (p *peer) expectText(want string) {
	p.t.Helper()
	op, payload := p.next()
	if op != ws.OpText || string(payload) != want {
		p.t.Fatalf("got opcode %d %q, want text %q", op, payload, want)
	}
}

// expectClose reads until a CLOSE frame and checks its code, then checks
// that the server ends the TCP connection.
func (p *peer) expectClose(code uint16) {
	p.t.Helper()
	p.expectCloseReason(code, "")
}

// expectCloseReason reads until a CLOSE frame and checks its code and that
// its reason contains want, then that the connection ends.
func (p *peer) expectCloseReason(code uint16, want string) {
	p.t.Helper()
	for {
		op, payload := p.next()
		if op != ws.OpClose {
			continue
		}
		got, reason, err := ws.ParseClosePayload(payload)
		if err != nil {
			p.t.Fatalf("close payload %x: %v", payload, err)
		}
		if got != code || !strings.Contains(reason, want) {
			p.t.Fatalf("close %d %q, want %d with a reason containing %q", got, reason, code, want)
		}
		break
	}
	p.expectEOF()
}

// expectEOF checks that the server ends the TCP connection promptly.
func (p *peer) expectEOF() {
	p.t.Helper()
	_, _, err := p.tryNext(5 * time.Second)
	if err == nil {
		p.t.Fatalf("got another frame, want the connection closed")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		p.t.Fatalf("connection still open after 5 s")
	}
}

// sync proves that everything sent to p before it has been processed: it
// sends a PING, which the server answers in order on the same queue as
// everything else, and waits for the PONG. Data messages that arrive before
// it are returned. It touches no topic and no route.
func (p *peer) sync() []string {
	p.t.Helper()
	p.syncs++
	payload := fmt.Sprintf("sync-%d", p.syncs)
	p.sendFrame(ws.OpPing, []byte(payload))
	var before []string
	for {
		op, data := p.next()
		switch {
		case op == ws.OpPong && string(data) == payload:
			return before
		case op == ws.OpText || op == ws.OpBinary:
			before = append(before, string(data))
		}
	}
}

// expectNothing checks that no data message is waiting for p.
func (p *peer) expectNothing() {
	p.t.Helper()
	if got := p.sync(); len(got) > 0 {
		p.t.Fatalf("unexpected messages: %q", got)
	}
}

func (p *peer) subscribe(topic string) {
	p.t.Helper()
	p.send(fmt.Sprintf(`[5,%q]`, topic))
}

func eventFrame(topic, event string) string {
	return fmt.Sprintf(`[8,%q,%s]`, topic, event)
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func metricValue(t testing.TB, ts *testServer, name string) string {
	t.Helper()
	_, body := httpGet(t, "http://"+ts.addr+"/metrics")
	for line := range strings.SplitSeq(body, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return rest
		}
	}
	return ""
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// httpServe serves srv on a loopback port without shutting srv down at the
// end (the test does), and returns the address.
func httpServe(t testing.TB, srv *Server) string {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}
