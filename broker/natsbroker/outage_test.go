package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
)

// TestOutage stops the embedded NATS server both nodes use and starts a
// new one on the same port: not ready and ErrUnavailable during, ready
// after, the subscription restored by nats.go, and nothing published
// during the outage delivered late.
func TestOutage(t *testing.T) {
	port := sparePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	srv := startServer(t, port)

	prefix := uniquePrefix()
	subCol, pubCol := newCollector(), newCollector()
	sub := newNode(t, url, prefix, subCol.deliver)
	pubr := newNode(t, url, prefix, pubCol.deliver)
	subscribe(t, sub, "t")
	subscribe(t, pubr, "self")
	publish(t, pubr, pub("t", 1))
	if got := subCol.waitN(t, 1); string(got[0].Payload) != "1" {
		t.Fatalf("before the outage: %v", got)
	}

	stopServer(srv)
	for _, b := range []*Broker{sub, pubr} {
		waitFor(t, "not ready during the outage", func() bool { return !b.Ready() })
	}
	if err := pubr.Publish(ctx(t), pub("t", 2)); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Publish during the outage: %v, want ErrUnavailable", err)
	}
	if err := pubr.PublishNoWait(ctx(t), pub("t", 2)); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("PublishNoWait during the outage: %v, want ErrUnavailable", err)
	}
	if err := sub.Subscribe(ctx(t), "new"); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Subscribe during the outage: %v, want ErrUnavailable", err)
	}
	if err := sub.Unsubscribe(ctx(t), "never"); err != nil {
		t.Fatalf("Unsubscribe during the outage: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // a few reconnect attempts fail

	startServer(t, port)
	for _, b := range []*Broker{sub, pubr} {
		waitFor(t, "ready after the outage", b.Ready)
	}
	// Ready means the subscriptions were sent again: the publisher's own
	// is there at once; the other node's, sent on its own connection, by
	// the time a round trip of that connection returns.
	publish(t, pubr, pub("self", 3))
	if got := pubCol.waitN(t, 1); string(got[0].Payload) != "3" {
		t.Fatalf("self delivery after the outage: %v", got)
	}
	if err := sub.nc.FlushTimeout(wait); err != nil {
		t.Fatal(err)
	}
	subscribe(t, sub, "new")
	publish(t, pubr, pub("t", 4))
	publish(t, pubr, pub("new", 5))
	got := subCol.waitN(t, 2)
	if got[0].Topic != "t" || string(got[0].Payload) != "4" || got[1].Topic != "new" || string(got[1].Payload) != "5" {
		t.Fatalf("after the outage got %v, want t 4 then new 5 (nothing from during the outage)", got)
	}
}

// TestStartUnreachable: New succeeds with the server down, is not ready
// and refuses to publish, and connects once the server is up.
func TestStartUnreachable(t *testing.T) {
	port := sparePort(t)
	col := newCollector()
	b := newNode(t, fmt.Sprintf("nats://127.0.0.1:%d", port), uniquePrefix(), col.deliver)
	if b.Ready() {
		t.Fatal("ready with no server")
	}
	if err := b.Publish(ctx(t), pub("t", 1)); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Publish with no server: %v, want ErrUnavailable", err)
	}
	startServer(t, port)
	waitFor(t, "ready once the server is up", b.Ready)
	subscribe(t, b, "t")
	publish(t, b, pub("t", 2))
	if got := col.waitN(t, 1); string(got[0].Payload) != "2" {
		t.Fatalf("got %v", got)
	}
}

// stallProxy forwards TCP between a client and the NATS server, and can
// hold back the server's bytes: the server still reads the client, but
// its answers (PONGs included) wait until the stall ends, as over a link
// that hangs one way.
type stallProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	stall  bool
	closed bool
	wg     sync.WaitGroup
}

func newStallProxy(tb testing.TB, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		p.cond.Broadcast()
		p.mu.Unlock()
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *stallProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *stallProxy) setStalled(on bool) {
	p.mu.Lock()
	p.stall = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

// wait blocks while the proxy is stalled; false once it is closed.
func (p *stallProxy) wait() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stall && !p.closed {
		p.cond.Wait()
	}
	return !p.closed
}

func (p *stallProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(s, c); s.Close() }()
		go func() {
			defer p.wg.Done()
			defer c.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := s.Read(buf)
				if err != nil || !p.wait() {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
}

// Publish returns only once the server has confirmed the publication: over
// a link whose answers stopped, it waits (here until its context ends)
// instead of reporting success for bytes that may never have arrived.
func TestPublishWaitsForTheServersConfirmation(t *testing.T) {
	port := sparePort(t)
	srv := startServer(t, port)
	defer stopServer(srv)
	proxy := newStallProxy(t, fmt.Sprintf("127.0.0.1:%d", port))
	b := newNodeConfig(t, Config{URL: proxy.url(), Prefix: uniquePrefix(), confirmTimeout: time.Second}, func(broker.Publication) {})
	publish(t, b, pub("t", 1))

	proxy.setStalled(true)
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := b.Publish(c, pub("t", 2))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish with the server's answers stalled: %v, want the context's deadline", err)
	}
	// Concurrent publishers each get their own answer from a shared round.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			errs[i] = b.Publish(c, pub("t", 3+i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("concurrent Publish %d while stalled: %v", i, err)
		}
	}
	proxy.setStalled(false)
	// The held-back answers arrive: publications are confirmed again.
	c2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := b.Publish(c2, pub("t", 99)); err != nil {
		t.Fatalf("Publish once the answers flow again: %v", err)
	}
}
