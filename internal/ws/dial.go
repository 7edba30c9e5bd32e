package ws

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// HandshakeOptions configures the client side of the opening handshake.
// The zero value asks for no subprotocol and sends no extra headers.
type HandshakeOptions struct {
	// Header holds extra request headers, such as Origin or Cookie. A Host
	// entry replaces the host taken from the URL. Entries for the headers
	// the handshake sets itself (Upgrade, Connection, Sec-WebSocket-*) are
	// ignored.
	Header http.Header
	// Protocols lists the subprotocols to offer, most preferred first. None
	// are offered when it is empty.
	Protocols []string
}

// HandshakeResult describes an accepted handshake.
type HandshakeResult struct {
	// Protocol is the subprotocol the server chose; empty if none.
	Protocol string
	// Header holds the headers of the server's 101 response.
	Header http.Header
	// Reader buffers the connection. It holds whatever the server sent
	// after the 101 response in the same read (herald and Ratchet send the
	// WAMP WELCOME frame in the same TCP segment), so every later read of
	// the connection must go through it.
	Reader *bufio.Reader
}

// HandshakeError is a handshake the server refused with an HTTP status
// other than 101.
type HandshakeError struct {
	StatusCode int
	// Status is the status line's text, such as "403 Forbidden".
	Status string
	// Body holds the first 512 bytes of the response body.
	Body string
}

func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return "websocket: handshake refused: " + e.Status
	}
	return fmt.Sprintf("websocket: handshake refused: %s: %q", e.Status, e.Body)
}

// handshakeBodyLimit bounds HandshakeError.Body.
const handshakeBodyLimit = 512

// Handshake performs the client side of the opening handshake on conn, an
// established (and, for wss, already TLS-wrapped) connection. u supplies
// the request-target (path and query) and the Host header; its scheme is
// not looked at.
//
// The request and the response are bounded by ctx: when it ends, the
// handshake is interrupted and returns ctx.Err(), and conn is left with a
// deadline in the past. On success conn has no deadline set. Handshake never closes
// conn: on error the caller must.
func Handshake(ctx context.Context, conn net.Conn, u *url.URL, opts HandshakeOptions) (*HandshakeResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// When ctx ends (its deadline included), a deadline in the past wakes
	// the blocked Read or Write. Setting conn's deadline from ctx's instead
	// could fire first and report a net timeout rather than ctx.Err().
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0))
	})
	res, err := handshake(conn, u, opts)
	if !stop() {
		// ctx ended during the handshake and conn's deadline is in the
		// past (or about to be): the connection is unusable either way.
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return res, nil
}

// handshakeHeaders are set by the handshake itself; HandshakeOptions.Header
// cannot override them.
var handshakeHeaders = []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Sec-Websocket-Accept"}

func handshake(conn net.Conn, u *url.URL, opts HandshakeOptions) (*HandshakeResult, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	key := base64.StdEncoding.EncodeToString(nonce[:])

	host := u.Host
	if h := opts.Header.Get("Host"); h != "" {
		host = h
	}
	target := u.RequestURI()
	if !strings.HasPrefix(target, "/") {
		target = "/" + target // an opaque URL such as ws:x
	}
	if strings.ContainsAny(target+host, "\r\n ") {
		return nil, errors.New("websocket: invalid request target or host")
	}

	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\n")
	b.WriteString("Host: " + host + "\r\n")
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Key: " + key + "\r\n")
	b.WriteString("Sec-WebSocket-Version: 13\r\n")
	if len(opts.Protocols) > 0 {
		b.WriteString("Sec-WebSocket-Protocol: " + strings.Join(opts.Protocols, ", ") + "\r\n")
	}
	for name, values := range opts.Header {
		name = http.CanonicalHeaderKey(name)
		if name == "Host" || slices.Contains(handshakeHeaders, name) {
			continue
		}
		for _, v := range values {
			if strings.ContainsAny(name, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("websocket: invalid request header %q", name)
			}
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}

	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		return nil, fmt.Errorf("websocket: reading the handshake response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, handshakeBodyLimit))
		resp.Body.Close()
		return nil, &HandshakeError{StatusCode: resp.StatusCode, Status: resp.Status, Body: string(body)}
	}
	// A 101 response has no body: http.ReadResponse leaves the bytes that
	// follow it in br.
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, errors.New("websocket: handshake response lacks Upgrade: websocket")
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return nil, errors.New("websocket: handshake response lacks Connection: Upgrade")
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != AcceptKey(key) {
		return nil, fmt.Errorf("websocket: handshake response has Sec-WebSocket-Accept %q, want %q", got, AcceptKey(key))
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		return nil, fmt.Errorf("websocket: server chose extension %q, which was not offered", ext)
	}
	proto := resp.Header.Get("Sec-WebSocket-Protocol")
	if proto != "" && !slices.Contains(opts.Protocols, proto) {
		return nil, fmt.Errorf("websocket: server chose subprotocol %q, which was not offered", proto)
	}
	return &HandshakeResult{Protocol: proto, Header: resp.Header, Reader: br}, nil
}

// headerHasToken reports whether a comma-separated header contains token,
// compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
