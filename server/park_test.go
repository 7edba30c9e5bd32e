package server

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

// goroutinesSettle waits until the goroutine count stops falling and
// returns it.
func goroutinesSettle() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// With the poller, an idle subscribed connection holds no goroutine: the
// sessions park between messages, and still get every event and answer
// every message. Without it (DisablePoller), each holds one.
func TestIdleSessionsHoldNoGoroutine(t *testing.T) {
	const n = 40
	for _, disabled := range []bool{false, true} {
		t.Run(fmt.Sprintf("DisablePoller=%v", disabled), func(t *testing.T) {
			ts := startServer(t, Config{DisablePoller: disabled})
			if disabled != (ts.poller == nil) {
				t.Fatalf("poller %v with DisablePoller %v", ts.poller, disabled)
			}
			before := goroutinesSettle()
			peers := make([]*peer, n)
			for i := range peers {
				peers[i] = dial(t, ts.addr)
				peers[i].subscribe("idle/topic")
			}
			waitFor(t, "subscriptions", func() bool { return ts.hub.count("idle/topic") == n })
			grown := goroutinesSettle() - before
			if disabled && grown < n {
				t.Fatalf("%d goroutines for %d connections without the poller, want one each", grown, n)
			}
			if !disabled && grown >= n/4 {
				t.Fatalf("%d goroutines for %d idle connections with the poller", grown, n)
			}
			// Parked sessions still receive and still read.
			peers[0].send(`[7,"idle/topic","hello"]`)
			for _, p := range peers {
				p.expectText(eventFrame("idle/topic", `"hello"`))
			}
			peers[n-1].send(`[2,"c1","no/handler"]`)
			if op, _ := peers[n-1].next(); op != ws.OpText {
				t.Fatalf("answer to a CALL from a parked session: opcode %d", op)
			}
		})
	}
}

// A frame that arrives in pieces, with pauses between them, is read
// whole: a session parks only between messages.
func TestFrameInPiecesAcrossPauses(t *testing.T) {
	ts := startServer(t, Config{})
	p := dial(t, ts.addr)
	p.subscribe("pieces")
	waitFor(t, "subscription", func() bool { return ts.hub.count("pieces") == 1 })
	payload := []byte(`[7,"pieces","split across three writes"]`)
	key := [4]byte{1, 2, 3, 4}
	frame := ws.AppendMaskedFrame(nil, ws.OpText, payload, key)
	for _, part := range [][]byte{frame[:1], frame[1:9], frame[9:]} {
		if _, err := p.conn.Write(part); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.expectText(eventFrame("pieces", `"split across three writes"`))

	// A message fragmented over two frames, with a pause between them.
	first := ws.AppendMaskedFrame(nil, ws.OpText, []byte(`[7,"pieces",`), key)
	first[0] &^= 0x80 // not final
	if _, err := p.conn.Write(first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := p.conn.Write(ws.AppendMaskedFrame(nil, ws.OpContinuation, []byte(`"fragmented"]`), key)); err != nil {
		t.Fatal(err)
	}
	p.expectText(eventFrame("pieces", `"fragmented"`))
}

// Bytes sent in the same packet as the handshake are read before the
// socket, then the session parks as usual.
func TestMessagesPipelinedWithTheHandshake(t *testing.T) {
	ts := startServer(t, Config{})
	sub := dial(t, ts.addr)
	sub.subscribe("pipelined")
	waitFor(t, "subscription", func() bool { return ts.hub.count("pipelined") == 1 })
	key := [4]byte{9, 8, 7, 6}
	req := gosRequest(ts.addr, "wamp") +
		string(ws.AppendMaskedFrame(nil, ws.OpText, []byte(`[7,"pipelined","one"]`), key)) +
		string(ws.AppendMaskedFrame(nil, ws.OpText, []byte(`[7,"pipelined","two"]`), key))
	pub := connectRaw(t, ts.addr, req)
	if pub.resp.StatusCode != 101 {
		t.Fatalf("status %d", pub.resp.StatusCode)
	}
	sub.expectText(eventFrame("pipelined", `"one"`))
	sub.expectText(eventFrame("pipelined", `"two"`))
	pub.next() // the WELCOME
	pub.send(`[7,"pipelined","three"]`)
	sub.expectText(eventFrame("pipelined", `"three"`))
}

// A parked session learns of its end from the server's side too: a slow
// consumer reset, a keepalive timeout, a close from a handler.
func TestParkedSessionsFinishWhenClosedByTheServer(t *testing.T) {
	ts := startServer(t, Config{KeepalivePing: true, KeepaliveInterval: 100 * time.Millisecond, CloseGrace: 100 * time.Millisecond})
	p := dial(t, ts.addr) // never answers PINGs
	p.subscribe("t")
	waitFor(t, "the session", func() bool { return ts.Stats().Connections == 1 })
	waitFor(t, "the unanswered session to finish", func() bool { return ts.Stats().Connections == 0 })
	if ts.hub.count("t") != 0 {
		t.Fatal("a finished session is still subscribed")
	}

	q := dial(t, ts.addr)
	waitFor(t, "the second session", func() bool { return ts.Stats().Connections == 1 })
	ts.mu.Lock()
	var sess *session
	for _, s := range ts.byID {
		sess = s
	}
	ts.mu.Unlock()
	waitFor(t, "the session to park", sess.parked.Load)
	sess.closeSlow()
	waitFor(t, "the reset session to finish", func() bool { return ts.Stats().Connections == 0 })
	q.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [64]byte
	for {
		if _, err := q.conn.Read(buf[:]); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("the slow consumer's connection stayed open")
			}
			break // reset
		}
	}
}
