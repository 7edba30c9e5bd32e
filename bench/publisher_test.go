package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/server"
)

// The publisher latency summary: percentiles of known values, merged
// from several publishers' histograms, with the same code as the
// delivery latency.
func TestPublisherLatencySummary(t *testing.T) {
	var empty histogram
	if s := empty.summary(); s != (LatencySummary{}) {
		t.Errorf("empty summary %+v", s)
	}
	// 1 µs .. 1000 µs over three publishers, and a negative value (a clock
	// step), counted as 0.
	hists := make([]histogram, 3)
	for i := 1; i <= 1000; i++ {
		hists[i%3].record(int64(i) * int64(time.Microsecond))
	}
	hists[0].record(-5)
	var h histogram
	for i := range hists {
		h.add(&hists[i])
	}
	s := h.summary()
	if s.Count != 1001 || s.Max != 1000 {
		t.Fatalf("summary %+v", s)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", s.P50, 500}, {"p90", s.P90, 900}, {"p99", s.P99, 990}, {"p99.9", s.P999, 999}, {"mean", s.Mean, 500500.0 / 1001}} {
		if math.Abs(c.got-c.want)/c.want > 0.01 {
			t.Errorf("%s = %v µs, want %v within 1%%", c.name, c.got, c.want)
		}
	}
	// Exact below 256 ns: three values, each its own bucket.
	var small histogram
	for _, v := range []int64{100, 200, 250} {
		small.record(v)
	}
	if s := small.summary(); s.P50 != 0.2 || s.P90 != 0.25 || s.Max != 0.25 || math.Abs(s.Mean-0.183) > 1e-9 {
		t.Errorf("small values: %+v", s)
	}

	for _, tc := range []struct {
		via  string
		ack  bool
		want string
	}{{ViaWAMP, false, "written"}, {ViaWAMP, true, "acknowledged"}, {ViaHTTP, false, "answered"}, {ViaHTTP, true, "answered"}, {ViaAMQP, true, "confirmed"}} {
		if got := PublisherLatencyEnd(tc.via, tc.ack); got != tc.want {
			t.Errorf("PublisherLatencyEnd(%s, %v) = %s, want %s", tc.via, tc.ack, got, tc.want)
		}
	}
	sum := &Summary{Via: ViaWAMP, Ack: true, Publishers: 2, Publish: PublishSummary{Latency: s}}
	var text strings.Builder
	sum.WriteText(&text)
	for _, want := range []string{"2 publishers waiting for each acknowledgement,", "\npublisher:   p50 5", "max 1.00ms  (mean 500µs, 1001 samples; time from publish to acknowledged)\ndeliveries:  "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "answers:") {
		t.Errorf("an answers line without answer times:\n%s", text.String())
	}
}

// Via HTTP, one publisher: each publication's latency is the API's
// response time. --ack changes nothing there.
func TestPublisherLatencyViaHTTP(t *testing.T) {
	h := startHerald(t, server.Config{APIKey: "k"})
	for _, ack := range []bool{false, true} {
		sum, err := Run(t.Context(), Config{URL: h.url, Conns: 20, Topics: 2, Messages: 25, Via: ViaHTTP, APIKey: "k", Publishers: 1, Ack: ack,
			MetricsURL: "off", Duration: 20 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkComplete(t, sum, 20, 2, 25)
		l, a := sum.Publish.Latency, sum.Publish.Response
		if l.Count != 50 || l.P50 <= 0 || l.P50 > l.Max {
			t.Errorf("ack %v: publisher latency %+v", ack, l)
		}
		// Each answer time lies inside its publication's latency: the
		// write starts after the publish call, the kernel has the answer
		// before the read returns it.
		if a.Count != 50 || a.P50 <= 0 || a.Max > l.Max {
			t.Errorf("ack %v: answer times %+v, publisher latency %+v", ack, a, l)
		}
		var text strings.Builder
		sum.WriteText(&text)
		if !strings.Contains(text.String(), "50 samples; time from publish to answered)") ||
			!strings.Contains(text.String(), "\nanswers:     p50 ") {
			t.Errorf("ack %v: summary:\n%s", ack, text.String())
		}
	}
}

// --ack over WAMP v1 against herald: a PING after every PUBLISH, and the
// publication counts as sent when its PONG came back.
func TestAckViaWAMP1(t *testing.T) {
	h := startHerald(t, server.Config{})
	sum, err := Run(t.Context(), Config{URL: h.url, Conns: 50, Topics: 2, Messages: 40, Publishers: 2, Ack: true, Duration: 20 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkComplete(t, sum, 50, 2, 40)
	if p := sum.Publish; !sum.Ack || p.Sent != p.Intended || p.Latency.Count != int64(p.Intended) ||
		p.Response.Count != int64(p.Intended) || p.Response.Max > p.Latency.Max {
		t.Errorf("ack %v, publish %+v", sum.Ack, p)
	}
	var text strings.Builder
	sum.WriteText(&text)
	if !strings.Contains(text.String(), "80 samples; time from publish to acknowledged)") {
		t.Errorf("summary:\n%s", text.String())
	}
}

// With --ack, a publication the server refuses (a CALLERROR before the
// PONG, here from a deny route) fails, and the publisher goes on.
func TestAckRefusedViaWAMP1(t *testing.T) {
	h := startHeraldWithDenyRoute(t)
	sum, err := Run(t.Context(), Config{URL: h.url, Conns: 20, Topics: 2, Messages: 30, Ack: true,
		SubscribeTimeout: 500 * time.Millisecond, Drain: 200 * time.Millisecond, MetricsURL: "off", Duration: 20 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := sum.Publish
	if p.Sent != 30 || p.Failed != 30 || p.Unsent != 0 || p.Refused < 30 || p.Latency.Count != 60 || p.Response.Count != 60 {
		t.Errorf("publish %+v", p)
	}
	if d := sum.Delivery; d.Unique != 300 || d.Lost != 300 || d.LostUnpublished != 300 {
		t.Errorf("delivery %+v", d)
	}
	if errs := strings.Join(sum.Errors, "\n"); !strings.Contains(errs, "publisher 0: the server answered [4,") {
		t.Errorf("errors %q", sum.Errors)
	}
}

// swallowServer is a WebSocket server that completes the handshake, sends
// a WELCOME, and then reads every frame and answers none: no PONG, no
// PUBLISHED. With closeAfterRead (WAMP v1 only) it closes a connection at
// the first bytes it reads after the WELCOME instead.
type swallowServer struct {
	ln    net.Listener
	url   string
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startSwallowServer(t testing.TB, protocol string, closeAfterRead bool) *swallowServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &swallowServer{ln: ln, url: "ws://" + ln.Addr().String() + "/"}
	welcome := []byte(`[0,"s1",1,"swallow"]`)
	switch protocol {
	case WAMP2:
		welcome = []byte(`[2,1,{"roles":{"broker":{}}}]`)
	case WAMP2MsgPack:
		welcome = mpAppendArray(nil, 3)
		welcome = mpAppendInt(welcome, v2Welcome)
		welcome = mpAppendInt(welcome, 1)
		welcome = mpAppendMap(mpAppendStr(mpAppendMap(welcome, 1), "roles"), 1)
		welcome = mpAppendMap(mpAppendStr(welcome, "broker"), 0)
	}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
					ws.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\nSec-WebSocket-Protocol: " + subprotocol(protocol) + "\r\n\r\n"
				if _, err := c.Write(append([]byte(resp), ws.AppendFrame(nil, frameOp(protocol), welcome)...)); err != nil {
					return
				}
				if closeAfterRead {
					var b [1]byte
					br.Read(b[:])
					return
				}
				io.Copy(io.Discard, br)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.closeAll()
		s.wg.Wait()
	})
	return s
}

// closeAll closes the connections accepted so far.
func (s *swallowServer) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// testRunner prepares a run of cfg without starting it, for the tests
// that drive one publisher by hand.
func testRunner(t testing.TB, cfg Config) *runner {
	t.Helper()
	r, err := newRunner(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// An acknowledgement that never comes fails the publication within the
// bound (--connect-timeout) and ends the publisher, instead of hanging; a
// lost connection fails it at once; the run's end stops the wait and
// leaves the publication without an outcome.
func TestAckNeverComes(t *testing.T) {
	event := appendPayload(nil, 0, time.Now().UnixNano(), 0)
	const bound = 300 * time.Millisecond
	for _, protocol := range []string{WAMP1, WAMP2, WAMP2MsgPack} {
		t.Run(protocol+"/timeout", func(t *testing.T) {
			s := startSwallowServer(t, protocol, false)
			r := testRunner(t, Config{URL: s.url, Protocol: protocol, Conns: 1, Topics: 1, Messages: 1, Ack: true, ConnectTimeout: bound, MetricsURL: "off"})
			p, err := r.newWAMPPublisher(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = p.publish(t.Context(), 0, false, event, start.UnixNano())
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "publisher 0: no acknowledgement of a publication within 300ms") {
				t.Errorf("publish: %v", err)
			}
			if took < bound || took > bound+time.Second {
				t.Errorf("the publication failed after %v, want about %v", took, bound)
			}
			if r.pubFailed.Load() != 1 || r.sent.Load() != 0 || r.pubHists[0].total != 1 || time.Duration(r.pubHists[0].max) < bound {
				t.Errorf("failed %d, sent %d, latency samples %d (max %v)", r.pubFailed.Load(), r.sent.Load(), r.pubHists[0].total, time.Duration(r.pubHists[0].max))
			}
			// The publisher is done: the next publication is not attempted.
			if err := p.publish(t.Context(), 0, false, event, time.Now().UnixNano()); err == nil || r.pubFailed.Load() != 1 || r.pubHists[0].total != 1 {
				t.Errorf("a publication after the timeout: %v, failed %d", err, r.pubFailed.Load())
			}
			start = time.Now()
			r.stopping.Store(true)
			p.close()
			if took := time.Since(start); took > 500*time.Millisecond {
				t.Errorf("close took %v", took)
			}
		})
	}

	t.Run("lost connection", func(t *testing.T) {
		s := startSwallowServer(t, WAMP1, true)
		r := testRunner(t, Config{URL: s.url, Conns: 1, Topics: 1, Messages: 1, Ack: true, ConnectTimeout: 10 * time.Second, MetricsURL: "off"})
		p, err := r.newWAMPPublisher(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = p.publish(t.Context(), 0, false, event, start.UnixNano())
		if err == nil || !strings.Contains(err.Error(), "publisher 0 lost its connection") || time.Since(start) > 5*time.Second {
			t.Errorf("publish: %v after %v", err, time.Since(start))
		}
		if r.pubFailed.Load() != 1 || r.pubHists[0].total != 1 {
			t.Errorf("failed %d, latency samples %d", r.pubFailed.Load(), r.pubHists[0].total)
		}
		r.stopping.Store(true)
		p.close()
	})

	t.Run("run ends", func(t *testing.T) {
		s := startSwallowServer(t, WAMP1, false)
		r := testRunner(t, Config{URL: s.url, Conns: 1, Topics: 1, Messages: 1, Ack: true, ConnectTimeout: 10 * time.Second, MetricsURL: "off"})
		p, err := r.newWAMPPublisher(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = p.publish(ctx, 0, false, event, start.UnixNano())
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Errorf("publish: %v after %v", err, time.Since(start))
		}
		if r.pubFailed.Load() != 0 || r.sent.Load() != 0 || r.pubHists[0].total != 0 {
			t.Errorf("failed %d, sent %d, latency samples %d: an interrupted publication has no outcome", r.pubFailed.Load(), r.sent.Load(), r.pubHists[0].total)
		}
		r.stopping.Store(true)
		s.closeAll() // the server would never answer close's CLOSE
		p.close()
	})

	// A whole run against it ends: the first probe's acknowledgement never
	// comes, the publisher gives up, nothing is sent.
	t.Run("run", func(t *testing.T) {
		s := startSwallowServer(t, WAMP1, false)
		start := time.Now()
		sum, err := Run(t.Context(), Config{URL: s.url, Conns: 3, Topics: 1, Messages: 10, Ack: true, ConnectTimeout: bound,
			SubscribeTimeout: 5 * time.Second, Drain: 100 * time.Millisecond, MetricsURL: "off", Duration: 20 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("the run took %v", took)
		}
		if sum.OK || sum.EndedBy != EndedDrain || sum.Publish.Sent != 0 || sum.Publish.Unsent != 10 || sum.Publish.Latency.Count != 0 {
			t.Errorf("ok %v, ended by %s, publish %+v", sum.OK, sum.EndedBy, sum.Publish)
		}
		if errs := strings.Join(sum.Errors, "\n"); !strings.Contains(errs, "publishing a probe to bench/0: publisher 0: no acknowledgement of a publication within 300ms") {
			t.Errorf("errors %q", sum.Errors)
		}
	})
}

// BenchmarkWAMPPublish is a pipelined WAMP publisher's cost per
// publication, latency recording included, in each protocol: it must not
// allocate (it writes 8 KB batches to a server that reads and discards
// them).
func BenchmarkWAMPPublish(b *testing.B) {
	for _, protocol := range []string{WAMP1, WAMP2, WAMP2MsgPack} {
		b.Run(protocol, func(b *testing.B) {
			s := startSwallowServer(b, protocol, false)
			r := testRunner(b, Config{URL: s.url, Protocol: protocol, Conns: 1, Topics: 1, Messages: 1, MetricsURL: "off"})
			p, err := r.newWAMPPublisher(b.Context(), 0)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				r.stopping.Store(true)
				s.closeAll()
				p.close()
			}()
			var event []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				now := time.Now().UnixNano()
				event = r.appendEvent(event[:0], int64(i), now, 40)
				if err := p.publish(b.Context(), 0, false, event, now); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.flush(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if r.pubHists[0].total != uint64(b.N) {
				b.Fatalf("%d latency samples for %d publications", r.pubHists[0].total, b.N)
			}
		})
	}
}
