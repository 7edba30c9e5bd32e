package server

import (
	"encoding/json"
	"fmt"
	"github.com/heraldws/herald/wamp"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

// discardConn is a net.Conn whose writes vanish. The in-process fan-out
// benchmarks use it so they measure herald's own work (encoding, the hub,
// the queues, the writers) at subscriber counts whose sockets would not fit
// in this machine's file limit; BenchmarkPublishLoopback measures the same
// path over real sockets.
type discardConn struct {
	net.Conn
	written atomic.Int64
}

func (c *discardConn) Write(b []byte) (int, error) {
	c.written.Add(int64(len(b)))
	return len(b), nil
}
func (c *discardConn) SetWriteDeadline(time.Time) error { return nil }

// tryWritev lets the writers write it as they write a TCP socket.
func (c *discardConn) tryWritev(_ *writevScratch, bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	c.written.Add(int64(n))
	return n, nil
}
func (c *discardConn) Close() error         { return nil }
func (c *discardConn) RemoteAddr() net.Addr { return &net.TCPAddr{} }

// BenchmarkPublish fans one ~40-byte event out to n subscribers, in
// process. ns/op is the cost of one publication to all of them.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			srv, err := New(Config{Logger: discardLogger(), MaxQueueSize: 64 << 20})
			if err != nil {
				b.Fatal(err)
			}
			conns := make([]*discardConn, n)
			sessions := make([]*session, n)
			for i := range n {
				conns[i] = &discardConn{}
				sessions[i] = newSession(srv, srv.ids.next(), Identity{Anonymous: true}, newWAMPV1(0), conns[i], nil)
				srv.subscribe(subscription{topic: &Topic{srv: srv, Name: "bench/topic"}, binding: openBinding}, sessions[i])
			}
			event := json.RawMessage(`{"seq":123456,"ts":1732600000000000}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if got := srv.fanout(Publication{Topic: "bench/topic", Payload: wamp.PayloadOfV1(event)}); got != n {
					b.Fatalf("delivered %d, want %d", got, n)
				}
			}
			b.StopTimer()
			for _, s := range sessions {
				s.out.wait()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			frame := int64(ws.FrameSize(len(`[8,"bench/topic",]`) + len(event)))
			for i, c := range conns {
				if c.written.Load() != frame*int64(b.N) {
					b.Fatalf("subscriber %d got %d bytes, want %d", i, c.written.Load(), frame*int64(b.N))
				}
			}
			srv.Shutdown(b.Context())
		})
	}
}

// BenchmarkPublishLoopback bursts events to n real WebSocket clients on
// loopback, each reading in its own goroutine, and stops the clock when
// every client has received every event: burst fan-out throughput.
func BenchmarkPublishLoopback(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			ts := startServer(b, Config{MaxQueueSize: 256 << 20})
			peers := make([]*peer, n)
			for i := range n {
				peers[i] = dial(b, ts.addr)
				peers[i].subscribe("bench/topic")
				peers[i].conn.SetReadDeadline(time.Time{})
			}
			waitFor(b, "subscriptions", func() bool { return ts.hub.count("bench/topic") == n })
			event := json.RawMessage(`{"seq":123456,"ts":1732600000000000}`)
			var received atomic.Int64
			var readers sync.WaitGroup
			for _, p := range peers {
				readers.Go(func() {
					for {
						if _, _, err := p.rd.ReadMessage(); err != nil {
							return
						}
						received.Add(1)
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			published := 0
			for b.Loop() {
				ts.fanout(Publication{Topic: "bench/topic", Payload: wamp.PayloadOfV1(event)})
				published++
			}
			for received.Load() < int64(n*published) {
				time.Sleep(100 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(n*published)/b.Elapsed().Seconds(), "deliveries/s")
			for _, p := range peers {
				p.conn.Close()
			}
			readers.Wait()
		})
	}
}

// BenchmarkHubSubscribe subscribes and unsubscribes sessions to topics
// spread over the shards: the cost of a SUBSCRIBE/UNSUBSCRIBE pair in the
// hub, with 10,000 topics held.
func BenchmarkHubSubscribe(b *testing.B) {
	h := newHub(0)
	sessions := make([]*session, 64)
	for i := range sessions {
		sessions[i] = &session{id: fmt.Sprint(i)}
	}
	topics := make([]string, 10000)
	for i := range topics {
		topics[i] = fmt.Sprintf("acme/room/%d", i)
		h.subscribe(topics[i], sessions[0])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t, s := topics[i%len(topics)], sessions[1+i%63]
		h.subscribe(t, s)
		h.unsubscribe(t, s)
		i++
	}
}

// BenchmarkHubSubscribers walks a topic's 10,000 subscribers, as a
// publication does before queueing to each.
func BenchmarkHubSubscribers(b *testing.B) {
	h := newHub(0)
	for i := range 10000 {
		h.subscribe("acme/busy", &session{id: fmt.Sprint(i)})
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		h.subscribers("acme/busy", nil, func(*session) { n++ })
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "subscribers/s")
}

// BenchmarkOutboxPush queues frames into an outbox whose writer drains it
// into a discarded connection: the per-delivery cost of queueing.
func BenchmarkOutboxPush(b *testing.B) {
	srv, err := New(Config{Logger: discardLogger(), MaxQueueSize: 64 << 20, DisableMemoryTrim: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(b.Context())
	s := newSession(srv, srv.ids.next(), Identity{Anonymous: true}, newWAMPV1(0), &discardConn{}, nil)
	frame := ws.AppendFrame(nil, ws.OpText, []byte(`[8,"t",{"seq":1}]`))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.out.push(frame); err != nil {
			b.Fatal(err)
		}
	}
	s.out.wait()
}

// BenchmarkWritev is the writers' batching: 64 queued frames leave in one
// vectored write to a real loopback socket whose peer discards them.
func BenchmarkWritev(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1<<20)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	raw := tryWriterOf(conn)
	if raw == nil {
		b.Skip("no non-blocking writer on this system")
	}
	frame := ws.AppendFrame(nil, ws.OpText, []byte(`[8,"bench/topic",{"seq":123456,"ts":1732600000000000}]`))
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = frame
	}
	var wr writer
	b.ReportAllocs()
	b.SetBytes(int64(len(frame) * len(batch)))
	for b.Loop() {
		rest := batch
		for len(rest) > 0 {
			_, _, r, err := wr.writev(raw, rest)
			if err != nil {
				b.Fatal(err)
			}
			if r == nil {
				break
			}
			rest = r
			time.Sleep(10 * time.Microsecond) // the socket is full: let the reader catch up
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "frames/s")
	conn.Close()
	<-done
}
