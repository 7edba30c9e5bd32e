package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heraldws/herald/internal/ws"
)

func TestMain(m *testing.M) {
	// The tests choose their own addresses; an inherited DSN would
	// override them.
	os.Unsetenv("ORO_WEBSOCKET_SERVER_DSN")
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait in these tests.
const waitTimeout = 5 * time.Second

// syncBuffer is an io.Writer safe for concurrent use, for Run's output
// streams, which the server writes from its own goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// writeConfig writes a YAML configuration file into a temporary directory
// and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herald.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// assertClosed checks that nothing accepts connections on addr.
func assertClosed(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		t.Errorf("%s still accepts connections", addr)
	}
}

// runErr runs the command line and expects it to fail without serving.
func runErr(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, args, &stdout, &stderr) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("Run(%q) = nil, want an error", args)
		}
		return err
	case <-time.After(waitTimeout):
		cancel()
		err := <-done
		t.Fatalf("Run(%q) did not fail within %v (returned %v after cancel); log:\n%s", args, waitTimeout, err, stderr.String())
		return nil
	}
}

// serveRun is a `herald serve` running in a goroutine.
type serveRun struct {
	t      *testing.T
	log    *syncBuffer
	addr   string // from the "herald listening" line
	url    string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

var addrRE = regexp.MustCompile(`msg="herald listening" addr=(\S+) url=(\S+)`)

// startServe runs `herald serve args...` and waits until it listens. The
// server is stopped, and its nil result asserted, when the test ends if
// the test did not call stop itself.
func startServe(t *testing.T, args ...string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &serveRun{t: t, log: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, append([]string{"serve"}, args...), io.Discard, r.log) }()
	t.Cleanup(func() { r.stop() })

	deadline := time.Now().Add(waitTimeout)
	for {
		if m := addrRE.FindStringSubmatch(r.log.String()); m != nil {
			r.addr, r.url = m[1], m[2]
			return r
		}
		select {
		case err := <-r.done:
			r.once.Do(func() { r.err = err })
			t.Fatalf("serve %q returned %v before listening; log:\n%s", args, err, r.log.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve %q: no \"herald listening\" line within %v; log:\n%s", args, waitTimeout, r.log.String())
		}
	}
}

// stop cancels the context, as SIGTERM does in main, and asserts that Run
// returns nil within waitTimeout and that the port is closed.
func (r *serveRun) stop() {
	r.t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(waitTimeout):
			r.err = errors.New("Run did not return within the timeout")
			r.t.Errorf("Run did not return within %v of the cancellation; log:\n%s", waitTimeout, r.log.String())
			return
		}
		if r.err != nil {
			r.t.Errorf("Run = %v, want nil; log:\n%s", r.err, r.log.String())
		}
		if r.addr != "" {
			assertClosed(r.t, r.addr)
		}
	})
}

// client is a raw WebSocket client over TCP or TLS.
type client struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	rd   *ws.Reader
}

// dial opens a connection to addr, over TLS when tlsConf is not nil, and
// sends a WebSocket upgrade request with the given Origin and the wamp
// subprotocol. It returns the HTTP response and, for a 101, the client,
// whose next frame is the WELCOME.
func dial(t *testing.T, addr, origin string, tlsConf *tls.Config) (*http.Response, *client) {
	t.Helper()
	return dialPath(t, addr, origin, "/", tlsConf)
}

// dialPath is dial with a request target, such as /ws?ticket=….
func dialPath(t *testing.T, addr, origin, path string, tlsConf *tls.Config) (*http.Response, *client) {
	t.Helper()
	d := &net.Dialer{Timeout: waitTimeout}
	var conn net.Conn
	var err error
	if tlsConf != nil {
		conn, err = tls.DialWithDialer(d, "tcp", addr, tlsConf)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitTimeout))

	var key [16]byte
	rand.Read(key[:])
	req := "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: wamp\r\n" +
		"Origin: " + origin + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("writing the upgrade request: %v", err)
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("reading the upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		conn.Close()
		return resp, nil
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), ws.AcceptKey(base64.StdEncoding.EncodeToString(key[:])); got != want {
		t.Errorf("Sec-WebSocket-Accept = %q, want %q", got, want)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "wamp" {
		t.Errorf("Sec-WebSocket-Protocol = %q, want wamp", got)
	}
	c.rd = ws.NewReader(c.br)
	return resp, c
}

// upgrade is dial that requires a 101 and reads and checks the WELCOME.
func upgrade(t *testing.T, addr string, tlsConf *tls.Config) *client {
	t.Helper()
	resp, c := dial(t, addr, "127.0.0.1", tlsConf)
	if c == nil {
		t.Fatalf("upgrade: status %d, want 101", resp.StatusCode)
	}
	c.expectWelcome()
	return c
}

// upgradePath is upgrade with a request target.
func upgradePath(t *testing.T, addr, path string) *client {
	t.Helper()
	resp, c := dialPath(t, addr, "127.0.0.1", path, nil)
	if c == nil {
		t.Fatalf("upgrade: status %d, want 101", resp.StatusCode)
	}
	c.expectWelcome()
	return c
}

// expectWelcome reads [0,"<sid>",1,"herald/..."].
func (c *client) expectWelcome() {
	c.t.Helper()
	p := c.read(ws.OpText)
	var msg []any
	if err := json.Unmarshal(p, &msg); err != nil {
		c.t.Fatalf("WELCOME %q: %v", p, err)
	}
	if len(msg) != 4 || msg[0] != float64(0) || msg[2] != float64(1) {
		c.t.Fatalf("WELCOME = %s, want [0,sid,1,ident]", p)
	}
	if sid, _ := msg[1].(string); sid == "" {
		c.t.Errorf("WELCOME session id is empty: %s", p)
	}
	if ident, _ := msg[3].(string); !strings.HasPrefix(ident, "herald/") {
		c.t.Errorf("WELCOME server ident = %v, want herald/...", msg[3])
	}
}

// read returns the next message, which must have opcode op.
func (c *client) read(op byte) []byte {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	got, p, err := c.rd.ReadMessage()
	if err != nil {
		c.t.Fatalf("reading a frame (want opcode %d): %v", op, err)
	}
	if got != op {
		c.t.Fatalf("got opcode %d %q, want opcode %d", got, p, op)
	}
	return bytes.Clone(p)
}

// send writes one masked frame.
func (c *client) send(op byte, payload []byte) {
	c.t.Helper()
	var key [4]byte
	rand.Read(key[:])
	c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := c.conn.Write(ws.AppendMaskedFrame(nil, op, payload, key)); err != nil {
		c.t.Fatalf("writing a frame: %v", err)
	}
}

func (c *client) sendText(s string) { c.t.Helper(); c.send(ws.OpText, []byte(s)) }

// expectClose reads a CLOSE with the given code, answers it, and waits
// for the server to end the connection.
func (c *client) expectClose(code uint16) {
	c.t.Helper()
	p := c.read(ws.OpClose)
	got, reason, err := ws.ParseClosePayload(p)
	if err != nil {
		c.t.Fatalf("CLOSE payload %q: %v", p, err)
	}
	if got != code {
		c.t.Errorf("CLOSE code = %d (%q), want %d", got, reason, code)
	}
	c.send(ws.OpClose, ws.ClosePayload(got, ""))
	c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.Copy(io.Discard, c.br); err != nil {
		c.t.Errorf("waiting for the server to close the connection: %v", err)
	}
	c.conn.Close()
}

// yamlQuote quotes s as a YAML double-quoted scalar.
func yamlQuote(s string) string { return fmt.Sprintf("%q", s) }
