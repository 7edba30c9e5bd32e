package server

import (
	"fmt"
	"testing"
	"time"
)

// A client that stops reading fills its socket: the writer hands its
// outbox to a goroutine of its own, which finishes the partly written
// frame and the rest when the client reads again; later events go back
// through the writers. Every event arrives once, in order, whole.
func TestWritersHandOffAFullSocket(t *testing.T) {
	ts := startServer(t, Config{MaxQueueSize: 64 << 20})
	p := dial(t, ts.addr)
	p.subscribe("full")
	waitFor(t, "subscription", func() bool { return ts.hub.count("full") == 1 })
	pad := make([]byte, 1000)
	for i := range pad {
		pad[i] = 'x'
	}
	const burst = 8000 // ~8 MB: more than the socket buffers hold (4 MB send at most)
	event := func(i int) string { return fmt.Sprintf(`"%06d %s"`, i, pad) }
	for i := range burst {
		ts.fanout(Publication{Topic: "full", Event: []byte(event(i))})
	}
	// The socket fills up and the rest waits in the outbox, written by a
	// goroutine of its own.
	ts.mu.Lock()
	var sess *session
	for _, s := range ts.byID {
		sess = s
	}
	ts.mu.Unlock()
	waitFor(t, "the outbox to be handed to a goroutine of its own", func() bool {
		sess.out.mu.Lock()
		defer sess.out.mu.Unlock()
		return sess.out.state == outboxBlocking
	})
	p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := range burst {
		p.expectText(eventFrame("full", event(i)))
	}
	waitFor(t, "the outbox to go idle", func() bool {
		sess.out.mu.Lock()
		defer sess.out.mu.Unlock()
		return sess.out.state == outboxIdle
	})
	for i := burst; i < burst+10; i++ {
		ts.fanout(Publication{Topic: "full", Event: []byte(event(i))})
	}
	for i := burst; i < burst+10; i++ {
		p.expectText(eventFrame("full", event(i)))
	}
}

// writev reports whole frames written and returns the unwritten tail of
// a frame the connection took only part of, then the frames after it.
func TestWritevSplitsAPartialFrame(t *testing.T) {
	var wr writer
	batch := [][]byte{[]byte("aaaa"), []byte("bbbb"), []byte("cccc")}
	frames, n, rest, err := wr.writev(&limitedWriter{room: 6}, batch)
	if err != nil || frames != 1 || n != 6 {
		t.Fatalf("frames %d, bytes %d, err %v; want 1, 6, nil", frames, n, err)
	}
	if len(rest) != 2 || string(rest[0]) != "bb" || string(rest[1]) != "cccc" {
		t.Fatalf("rest %q, want [bb cccc]", rest)
	}
	frames, n, rest, err = wr.writev(&limitedWriter{room: 100}, batch)
	if err != nil || frames != 3 || n != 12 || rest != nil {
		t.Fatalf("everything fits: frames %d, bytes %d, rest %q, err %v", frames, n, rest, err)
	}
	many := make([][]byte, maxIovecs+5)
	for i := range many {
		many[i] = []byte("z")
	}
	lw := &limitedWriter{room: 1 << 20}
	if frames, _, rest, _ := wr.writev(lw, many); frames != len(many) || rest != nil || lw.calls != 2 {
		t.Fatalf("%d frames in %d calls, rest %d; want %d in 2", frames, lw.calls, len(rest), len(many))
	}
}

// limitedWriter takes at most room bytes in all.
type limitedWriter struct {
	room, calls int
}

func (l *limitedWriter) tryWritev(_ *writevScratch, bufs [][]byte) (int, error) {
	l.calls++
	if len(bufs) > maxIovecs {
		return 0, fmt.Errorf("%d buffers in one call", len(bufs))
	}
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	n = min(n, l.room)
	l.room -= n
	return n, nil
}
