package ws_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

// serveOnce accepts one connection on a loopback listener, reads the
// handshake request and hands it to handle. It returns the ws:// URL of the
// listener; the server goroutine is waited for when the test ends.
func serveOnce(t *testing.T, handle func(conn net.Conn, req *http.Request)) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			return // the client gave up before sending a request
		}
		handle(conn, req)
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	u, _ := url.Parse("ws://" + ln.Addr().String())
	return u
}

func dialTCP(t *testing.T, u *url.URL) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// accept writes a 101 response for req followed by extra, in one write.
func accept(conn net.Conn, req *http.Request, protocol string, extra []byte) error {
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + ws.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n" +
		"X-Powered-By: Ratchet/0.4.4\r\n"
	if protocol != "" {
		resp += "Sec-WebSocket-Protocol: " + protocol + "\r\n"
	}
	_, err := conn.Write(append([]byte(resp+"\r\n"), extra...))
	return err
}

const welcome = `[0,"5f0b2d2a1c7d3412345678",1,"Ratchet\/0.4.4"]`

func TestHandshake(t *testing.T) {
	t.Parallel()
	reqs := make(chan *http.Request, 1)
	u := serveOnce(t, func(conn net.Conn, req *http.Request) {
		reqs <- req
		frames := ws.AppendFrame(nil, ws.OpText, []byte(welcome))
		frames = ws.AppendFrame(frames, ws.OpText, []byte(`[8,"t",1]`))
		if err := accept(conn, req, "wamp", frames); err != nil {
			t.Errorf("server: %v", err)
		}
		// Keep the connection open until the client is done.
		_, _ = conn.Read(make([]byte, 1))
	})
	u.Path = "/ws"
	u.RawQuery = "ticket=abc%3D"
	conn := dialTCP(t, u)
	res, err := ws.Handshake(t.Context(), conn, u, ws.HandshakeOptions{
		Header:    http.Header{"Origin": {"https://example.com"}, "X-Extra": {"a", "b"}, "Upgrade": {"h2c"}},
		Protocols: []string{"wamp", "other"},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := <-reqs
	if req.Method != "GET" || req.RequestURI != "/ws?ticket=abc%3D" || req.Proto != "HTTP/1.1" {
		t.Errorf("request line: %s %s %s", req.Method, req.RequestURI, req.Proto)
	}
	if req.Host != u.Host {
		t.Errorf("Host = %q, want %q", req.Host, u.Host)
	}
	for name, want := range map[string]string{
		"Upgrade":                "websocket",
		"Connection":             "Upgrade",
		"Sec-WebSocket-Version":  "13",
		"Sec-WebSocket-Protocol": "wamp, other",
		"Origin":                 "https://example.com",
	} {
		if got := req.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("request header %s = %q, want %q", name, got, want)
		}
	}
	if got := req.Header.Values("X-Extra"); strings.Join(got, ",") != "a,b" {
		t.Errorf("X-Extra = %q", got)
	}
	if key, err := base64.StdEncoding.DecodeString(req.Header.Get("Sec-WebSocket-Key")); err != nil || len(key) != 16 {
		t.Errorf("Sec-WebSocket-Key %q is not 16 bytes of base64", req.Header.Get("Sec-WebSocket-Key"))
	}
	if res.Protocol != "wamp" {
		t.Errorf("Protocol = %q", res.Protocol)
	}
	if res.Header.Get("X-Powered-By") != "Ratchet/0.4.4" {
		t.Errorf("response headers: %v", res.Header)
	}
	// The frames sent with the 101 must be readable from res.Reader.
	r := ws.NewReader(res.Reader)
	for _, want := range []string{welcome, `[8,"t",1]`} {
		op, p, err := r.ReadMessage()
		if err != nil || op != ws.OpText || string(p) != want {
			t.Fatalf("frame after the 101: %d %q %v, want %q", op, p, err, want)
		}
	}
}

func TestHandshakeKeysDiffer(t *testing.T) {
	t.Parallel()
	keys := make(chan string, 2)
	for range 2 {
		u := serveOnce(t, func(conn net.Conn, req *http.Request) {
			keys <- req.Header.Get("Sec-WebSocket-Key")
			_ = accept(conn, req, "", nil)
		})
		if _, err := ws.Handshake(t.Context(), dialTCP(t, u), u, ws.HandshakeOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := <-keys, <-keys; a == b {
		t.Fatalf("two handshakes used the same key %q", a)
	}
}

func TestHandshakeDefaults(t *testing.T) {
	t.Parallel()
	reqs := make(chan *http.Request, 1)
	u := serveOnce(t, func(conn net.Conn, req *http.Request) {
		reqs <- req
		_ = accept(conn, req, "", nil)
	})
	res, err := ws.Handshake(t.Context(), dialTCP(t, u), u, ws.HandshakeOptions{Header: http.Header{"Host": {"example.com:8080"}}})
	if err != nil {
		t.Fatal(err)
	}
	req := <-reqs
	if req.RequestURI != "/" {
		t.Errorf("request-target %q, want /", req.RequestURI)
	}
	if req.Host != "example.com:8080" {
		t.Errorf("Host %q, want the override", req.Host)
	}
	if _, ok := req.Header["Sec-Websocket-Protocol"]; ok {
		t.Error("Sec-WebSocket-Protocol sent with no protocols")
	}
	if res.Protocol != "" {
		t.Errorf("Protocol = %q", res.Protocol)
	}
}

func TestHandshakeRefused(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("Forbidden origin. ", 100)
	u := serveOnce(t, func(conn net.Conn, req *http.Request) {
		fmt.Fprintf(conn, "HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
	_, err := ws.Handshake(t.Context(), dialTCP(t, u), u, ws.HandshakeOptions{})
	var he *ws.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("got %v, want a *HandshakeError", err)
	}
	if he.StatusCode != 403 || he.Status != "403 Forbidden" || he.Body != body[:512] {
		t.Fatalf("got %d %q body %d bytes", he.StatusCode, he.Status, len(he.Body))
	}
	if !strings.Contains(he.Error(), "403") {
		t.Fatalf("Error() = %q", he.Error())
	}
}

func TestHandshakeBadResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		protocols []string
		respond   func(conn net.Conn, req *http.Request)
	}{
		{"wrong accept", nil, func(conn net.Conn, req *http.Request) {
			fmt.Fprint(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		}},
		{"no accept", nil, func(conn net.Conn, req *http.Request) {
			fmt.Fprint(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		}},
		{"no upgrade", nil, func(conn net.Conn, req *http.Request) {
			fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", ws.AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
		}},
		{"no connection", nil, func(conn net.Conn, req *http.Request) {
			fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: %s\r\n\r\n", ws.AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
		}},
		{"protocol not offered", []string{"wamp"}, func(conn net.Conn, req *http.Request) {
			_ = accept(conn, req, "wamp.2.json", nil)
		}},
		{"extension not offered", nil, func(conn net.Conn, req *http.Request) {
			fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", ws.AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
		}},
		{"not HTTP", nil, func(conn net.Conn, req *http.Request) {
			fmt.Fprint(conn, "SSH-2.0-OpenSSH\r\n\r\n")
		}},
		{"closed", nil, func(conn net.Conn, req *http.Request) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := serveOnce(t, tt.respond)
			res, err := ws.Handshake(t.Context(), dialTCP(t, u), u, ws.HandshakeOptions{Protocols: tt.protocols})
			if err == nil {
				t.Fatalf("handshake succeeded: %+v", res)
			}
			var he *ws.HandshakeError
			if errors.As(err, &he) {
				t.Fatalf("got a HandshakeError for a 101: %v", err)
			}
		})
	}
}

func TestHandshakeInvalidHeader(t *testing.T) {
	t.Parallel()
	u := serveOnce(t, func(conn net.Conn, req *http.Request) {})
	conn := dialTCP(t, u)
	_, err := ws.Handshake(t.Context(), conn, u, ws.HandshakeOptions{Header: http.Header{"Origin": {"x\r\nEvil: 1"}}})
	if err == nil {
		t.Fatal("a header with CRLF was sent")
	}
	conn.Close()
}

func TestHandshakeContext(t *testing.T) {
	t.Parallel()
	silent := func(conn net.Conn, req *http.Request) {
		_, _ = conn.Read(make([]byte, 1)) // never answer; wait for the client to go
	}
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		u := serveOnce(t, silent)
		conn := dialTCP(t, u)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := ws.Handshake(ctx, conn, u, ws.HandshakeOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("the deadline was not applied")
		}
		conn.Close()
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		u := serveOnce(t, silent)
		conn := dialTCP(t, u)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := ws.Handshake(ctx, conn, u, ws.HandshakeOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		conn.Close()
	})
	t.Run("already cancelled", func(t *testing.T) {
		t.Parallel()
		u := serveOnce(t, silent)
		conn := dialTCP(t, u)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := ws.Handshake(ctx, conn, u, ws.HandshakeOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		conn.Close()
	})
	t.Run("deadline cleared on success", func(t *testing.T) {
		t.Parallel()
		u := serveOnce(t, func(conn net.Conn, req *http.Request) {
			_ = accept(conn, req, "", nil)
			time.Sleep(150 * time.Millisecond)
			_, _ = conn.Write(ws.AppendFrame(nil, ws.OpText, []byte("late")))
		})
		conn := dialTCP(t, u)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		res, err := ws.Handshake(ctx, conn, u, ws.HandshakeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, p, err := ws.NewReader(res.Reader).ReadMessage()
		if err != nil || string(p) != "late" {
			t.Fatalf("read after the handshake's deadline: %q %v", p, err)
		}
	})
}
