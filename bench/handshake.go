package bench

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldws/herald/internal/ws"
)

// request is a target's upgrade request, built once per run: the part
// before the Sec-WebSocket-Key value and the part after it.
type request struct {
	head, tail []byte
}

// newRequest builds t's upgrade request with the run's extra headers and
// subprotocols.
func newRequest(t *target, header http.Header, protocols []string) (*request, error) {
	target := t.url.RequestURI()
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	host := t.url.Host
	if h := header.Get("Host"); h != "" {
		host = h
	}
	if strings.ContainsAny(target+host, "\r\n ") {
		return nil, errors.New("websocket: invalid request target or host")
	}
	head := "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
	var tail strings.Builder
	tail.WriteString("\r\nSec-WebSocket-Version: 13\r\n")
	if len(protocols) > 0 {
		tail.WriteString("Sec-WebSocket-Protocol: " + strings.Join(protocols, ", ") + "\r\n")
	}
	for name, values := range header {
		name = http.CanonicalHeaderKey(name)
		if name == "Host" || strings.HasPrefix(name, "Sec-Websocket-") || name == "Upgrade" || name == "Connection" {
			continue
		}
		for _, v := range values {
			if strings.ContainsAny(name, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("websocket: invalid request header %q", name)
			}
			tail.WriteString(name + ": " + v + "\r\n")
		}
	}
	tail.WriteString("\r\n")
	return &request{head: []byte(head), tail: []byte(tail.String())}, nil
}

// maxResponseHead bounds the handshake response's status line and headers.
const maxResponseHead = 16 << 10

// handshake is the client side of the opening handshake, lean because at
// 20,000 connections a second the load generator's own core is the limit:
// the request is prebuilt, the key comes from a fast (not cryptographic)
// generator, which is all a load test needs, and the response is parsed
// in fr's buffer, where the bytes after it (the WELCOME that came with the
// 101) stay for fr to read. conn's deadline bounds it.
func (r *runner) handshake(conn net.Conn, req *request, fr *frameReader) error {
	var nonce [16]byte
	binary.LittleEndian.PutUint64(nonce[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(nonce[8:], rand.Uint64())
	var key [24]byte
	base64.StdEncoding.Encode(key[:], nonce[:])

	msg := make([]byte, 0, len(req.head)+len(key)+len(req.tail))
	msg = append(append(append(msg, req.head...), key[:]...), req.tail...)
	if _, err := conn.Write(msg); err != nil {
		return err
	}

	fr.conn = conn
	fr.buf = make([]byte, initialReadBuffer)
	fr.r, fr.w = 0, 0
	end := -1
	for end < 0 {
		if fr.w == len(fr.buf) {
			if len(fr.buf) >= maxResponseHead {
				return fmt.Errorf("websocket: handshake response head over %d bytes", maxResponseHead)
			}
			fr.buf = append(fr.buf, make([]byte, len(fr.buf))...)
		}
		n, err := conn.Read(fr.buf[fr.w:])
		fr.w += n
		end = bytes.Index(fr.buf[:fr.w], []byte("\r\n\r\n"))
		if end < 0 && err != nil {
			return fmt.Errorf("websocket: reading the handshake response: %w", err)
		}
	}
	head := fr.buf[:end]
	fr.r = end + 4
	if err := checkResponse(head, fr.buf[fr.r:fr.w], string(key[:]), r.protocols); err != nil {
		return err
	}
	return nil
}

// checkResponse checks a handshake response head: a 101 whose headers
// accept the key and choose nothing that was not offered. body is what
// followed the head, for the error of a refusal.
func checkResponse(head, body []byte, key string, protocols []string) error {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	proto, status, ok := bytes.Cut(line, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(status) < 3 {
		return fmt.Errorf("websocket: malformed handshake response status line %q", line)
	}
	code, err := strconv.Atoi(string(status[:3]))
	if err != nil {
		return fmt.Errorf("websocket: malformed handshake response status line %q", line)
	}
	if code != http.StatusSwitchingProtocols {
		if len(body) > 512 {
			body = body[:512]
		}
		return &ws.HandshakeError{StatusCode: code, Status: string(status), Body: string(body)}
	}
	var upgrade, connection, accept, chosen, extensions string
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		v := string(bytes.TrimSpace(value))
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "upgrade":
			upgrade = v
		case "connection":
			connection = v
		case "sec-websocket-accept":
			accept = v
		case "sec-websocket-protocol":
			chosen = v
		case "sec-websocket-extensions":
			extensions = v
		}
	}
	switch {
	case !strings.EqualFold(upgrade, "websocket"):
		return errors.New("websocket: handshake response lacks Upgrade: websocket")
	case !hasToken(connection, "upgrade"):
		return errors.New("websocket: handshake response lacks Connection: Upgrade")
	case accept != ws.AcceptKey(key):
		return fmt.Errorf("websocket: handshake response has Sec-WebSocket-Accept %q, want %q", accept, ws.AcceptKey(key))
	case extensions != "":
		return fmt.Errorf("websocket: server chose extension %q, which was not offered", extensions)
	}
	if chosen != "" {
		for _, p := range protocols {
			if p == chosen {
				return nil
			}
		}
		return fmt.Errorf("websocket: server chose subprotocol %q, which was not offered", chosen)
	}
	return nil
}

// hasToken reports whether a comma-separated header value holds token,
// compared case-insensitively.
func hasToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}
