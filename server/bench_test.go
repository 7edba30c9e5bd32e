package server

import (
	"encoding/json"
	"fmt"
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
				sessions[i] = newSession(srv, srv.ids.next(), Identity{Anonymous: true}, conns[i], nil)
				srv.subscribe(subscription{topic: &Topic{srv: srv, Name: "bench/topic"}, binding: openBinding}, sessions[i])
			}
			event := json.RawMessage(`{"seq":123456,"ts":1732600000000000}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if got := srv.fanout(Publication{Topic: "bench/topic", Event: event}); got != n {
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
				ts.fanout(Publication{Topic: "bench/topic", Event: event})
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
