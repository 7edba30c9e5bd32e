package client_test

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

const fakeSessionID = "sid"

// fakeServer is a tiny WAMP v1 server in the manner of Ratchet:
//
//   - it writes the 101 response and WELCOME [0,"sid",1,"x"] in one write
//     (the query parameter first=event|close|binary|none changes that);
//   - PUBLISH comes back as EVENT, honouring exclude and eligible;
//   - CALL "echo" answers CALLRESULT with the params, "fail" CALLERROR
//     with details, "fail-nodetails" CALLERROR without, "never" nothing,
//     and any other procedure closes the connection with 1007;
//   - SUBSCRIBE "ping:P" makes it PING with payload P, and the PONG comes
//     back as EVENT ["pong", P]; "raw" sends a non-WAMP text frame; "big:N"
//     an EVENT of about N bytes; "close:N" closes with code N;
//   - with the query parameter deaf=1 it reads and discards everything;
//   - a message that is not WAMP closes the connection with 1007, and a
//     frame error with the Reader's code.
//
// Everything it decodes goes to received, and the codes of the client's
// CLOSE frames to closes.
type fakeServer struct {
	t        *testing.T
	srv      *httptest.Server
	received chan wamp.Message
	closes   chan uint16
	requests chan *http.Request

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newFakeServer(t *testing.T, tls bool) *fakeServer {
	f := &fakeServer{
		t:        t,
		received: make(chan wamp.Message, 100),
		closes:   make(chan uint16, 10),
		requests: make(chan *http.Request, 10),
		conns:    make(map[net.Conn]bool),
	}
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if tls {
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(func() {
		f.srv.Close() // waits for handlers that have not hijacked
		f.mu.Lock()
		for c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

// url returns the ws:// (or wss://) URL of the server with path.
func (f *fakeServer) url(path string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + path
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests <- r
	if r.URL.Query().Get("status") == "403" {
		http.Error(w, "Forbidden origin", http.StatusForbidden)
		return
	}
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		f.t.Errorf("hijack: %v", err)
		return
	}
	f.wg.Add(1)
	defer f.wg.Done()
	f.mu.Lock()
	f.conns[conn] = true
	f.mu.Unlock()
	defer conn.Close()

	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + ws.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n" +
		"X-Powered-By: Ratchet/0.4.4\r\n"
	for p := range strings.SplitSeq(r.Header.Get("Sec-WebSocket-Protocol"), ",") {
		if strings.TrimSpace(p) == "wamp" {
			resp += "Sec-WebSocket-Protocol: wamp\r\n"
		}
	}
	out := []byte(resp + "\r\n")
	switch r.URL.Query().Get("first") {
	case "":
		out = ws.AppendFrame(out, ws.OpText, []byte(`[0,"`+fakeSessionID+`",1,"x"]`))
	case "event":
		out = ws.AppendFrame(out, ws.OpText, []byte(`[8,"t",1]`))
	case "text":
		out = ws.AppendFrame(out, ws.OpText, []byte(`HTTP/1.0 200 OK`))
	case "close":
		out = ws.AppendFrame(out, ws.OpClose, ws.ClosePayload(ws.ClosePolicyViolation, "go away"))
	case "binary":
		out = ws.AppendFrame(out, ws.OpBinary, []byte{1})
	case "ping":
		out = ws.AppendFrame(out, ws.OpPing, []byte("early"))
		out = ws.AppendFrame(out, ws.OpText, []byte(`[0,"`+fakeSessionID+`",1,"x"]`))
	}
	if _, err := conn.Write(out); err != nil {
		return
	}
	if r.URL.Query().Get("deaf") != "" {
		// Read everything, answer nothing, never close.
		_, _ = io.Copy(io.Discard, brw.Reader)
		return
	}
	f.serve(conn, brw.Reader)
}

func (f *fakeServer) serve(conn net.Conn, br *bufio.Reader) {
	rd := ws.NewReader(br)
	rd.Masked = true
	rd.CheckUTF8 = true
	rd.MaxMessage = 1 << 16
	send := func(op byte, p []byte) { _, _ = conn.Write(ws.AppendFrame(nil, op, p)) }
	sendMsg := func(m wamp.Message) {
		b, err := wamp.V1{}.Append(nil, m)
		if err != nil {
			f.t.Errorf("fake server: %v", err)
			return
		}
		send(ws.OpText, b)
	}
	// closeWith sends a CLOSE, then waits (up to 2 s) for the client's
	// answer and records its code, as a well-behaved server does.
	awaitClose := func() {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			op, p, err := rd.ReadMessage()
			if err != nil {
				return
			}
			if op == ws.OpClose {
				code, _, err := ws.ParseClosePayload(p)
				if err != nil {
					code = 0
				}
				f.closes <- code
				return
			}
		}
	}
	closeWith := func(code uint16) {
		send(ws.OpClose, ws.ClosePayload(code, ""))
		awaitClose()
	}
	for {
		op, p, err := rd.ReadMessage()
		if err != nil {
			var ce *ws.CloseError
			if errors.As(err, &ce) {
				// The stream is broken: do not wait for an answer.
				send(ws.OpClose, ws.ClosePayload(ce.Code, ""))
			}
			return
		}
		switch op {
		case ws.OpClose:
			code, _, err := ws.ParseClosePayload(p)
			if err != nil {
				code = 0
			}
			f.closes <- code
			if code == ws.CloseNoStatus {
				send(ws.OpClose, nil)
			} else {
				closeWith(code)
			}
			return
		case ws.OpPing:
			send(ws.OpPong, p)
			continue
		case ws.OpPong:
			sendMsg(&wamp.Event{Topic: "pong", Event: wamp.AppendString(nil, string(p))})
			continue
		case ws.OpBinary:
			continue
		}
		m, err := wamp.V1{}.Decode(p)
		if err != nil {
			closeWith(ws.CloseInvalidPayload)
			return
		}
		f.received <- m
		switch m := m.(type) {
		case *wamp.Publish:
			if m.ExcludeMe || slices.Contains(m.Exclude, fakeSessionID) ||
				(len(m.Eligible) > 0 && !slices.Contains(m.Eligible, fakeSessionID)) {
				continue
			}
			sendMsg(&wamp.Event{Topic: m.Topic, Event: m.Event})
		case *wamp.Call:
			switch m.Procedure {
			case "echo":
				sendMsg(&wamp.CallResult{CallID: m.CallID, Result: m.Params()})
			case "fail":
				sendMsg(&wamp.CallError{CallID: m.CallID, ErrorURI: m.Procedure, Description: "RPC Error",
					Details: json.RawMessage(`{"code":500,"params":` + string(m.Params()) + `}`)})
			case "fail-nodetails":
				sendMsg(&wamp.CallError{CallID: m.CallID, ErrorURI: m.Procedure, Description: "Unable to find that command"})
			case "never":
			default:
				closeWith(ws.CloseInvalidPayload)
				return
			}
		case *wamp.Subscribe:
			switch verb, arg, _ := strings.Cut(m.Topic, ":"); verb {
			case "ping":
				send(ws.OpPing, []byte(arg))
			case "raw":
				send(ws.OpText, []byte(`You are not allowed to subscribe on topic "raw".`))
			case "big":
				n, _ := strconv.Atoi(arg)
				sendMsg(&wamp.Event{Topic: "big", Event: wamp.AppendString(nil, strings.Repeat("x", n))})
			case "close":
				n, _ := strconv.Atoi(arg)
				closeWith(uint16(n))
				return
			case "badclose":
				send(ws.OpClose, binary.BigEndian.AppendUint16(nil, 999))
				awaitClose()
				return
			case "emptyclose":
				send(ws.OpClose, nil)
				awaitClose()
				return
			case "welcome":
				send(ws.OpText, []byte(`[0,"again",1,"x"]`))
			}
		}
	}
}
