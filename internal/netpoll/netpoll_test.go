//go:build linux

package netpoll

import (
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair returns both ends of a loopback TCP connection.
func pair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func expectCall(t *testing.T, calls chan struct{}, what string) {
	t.Helper()
	select {
	case <-calls:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no callback", what)
	}
}

func expectNoCall(t *testing.T, calls chan struct{}, what string) {
	t.Helper()
	select {
	case <-calls:
		t.Fatalf("%s: unexpected callback", what)
	case <-time.After(100 * time.Millisecond):
	}
}

// One call per arming: data arriving while disarmed waits for the next
// Arm, which fires at once because the data is still unread.
func TestArmIsOneShot(t *testing.T) {
	p := newPoller(t)
	srv, cli := pair(t)
	calls := make(chan struct{}, 10)
	h, err := p.Register(srv, func() { calls <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer h.Remove()

	cli.Write([]byte("x"))
	expectNoCall(t, calls, "registered but not armed")
	if err := h.Arm(); err != nil {
		t.Fatal(err)
	}
	expectCall(t, calls, "armed with data waiting")
	cli.Write([]byte("y"))
	expectNoCall(t, calls, "after the one call, before re-arming")

	buf := make([]byte, 8)
	if n, _ := srv.Read(buf); string(buf[:n]) != "xy" {
		t.Fatalf("read %q", buf[:n])
	}
	if err := h.Arm(); err != nil {
		t.Fatal(err)
	}
	expectNoCall(t, calls, "armed with nothing to read")
	cli.Write([]byte("z"))
	expectCall(t, calls, "armed, then data")
}

// A peer that closes wakes the armed connection, so its owner reads the
// EOF.
func TestHangUpWakes(t *testing.T) {
	p := newPoller(t)
	srv, cli := pair(t)
	calls := make(chan struct{}, 10)
	h, err := p.Register(srv, func() { calls <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer h.Remove()
	if err := h.Arm(); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	expectCall(t, calls, "peer closed")
}

// After Remove, nothing is called and Arm fails; after the connection is
// closed, Arm fails too, so its owner learns it at once.
func TestRemoveAndClosedConnection(t *testing.T) {
	p := newPoller(t)
	srv, cli := pair(t)
	calls := make(chan struct{}, 10)
	h, err := p.Register(srv, func() { calls <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	h.Remove()
	h.Remove() // twice is fine
	if err := h.Arm(); err == nil {
		t.Fatal("Arm after Remove succeeded")
	}
	cli.Write([]byte("x"))
	expectNoCall(t, calls, "removed")

	srv2, _ := pair(t)
	h2, err := p.Register(srv2, func() { calls <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	srv2.Close()
	if err := h2.Arm(); err == nil {
		t.Fatal("Arm on a closed connection succeeded")
	}
	h2.Remove()
}

// A freed slot's next tenant does not get the events meant for the old
// one: slots are reused, generations are not.
func TestSlotsAreReused(t *testing.T) {
	p := newPoller(t)
	calls := make([]chan struct{}, 3)
	var handles []*Handle
	var clients []net.Conn
	for i := range calls {
		calls[i] = make(chan struct{}, 10)
		srv, cli := pair(t)
		h, err := p.Register(srv, func() { calls[i] <- struct{}{} })
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
		clients = append(clients, cli)
	}
	slot := handles[1].slot
	handles[1].Remove()
	srv, cli := pair(t)
	reused := make(chan struct{}, 10)
	h, err := p.Register(srv, func() { reused <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer h.Remove()
	if h.slot != slot {
		t.Fatalf("slot %d, want the freed %d", h.slot, slot)
	}
	if h.gen == handles[1].gen {
		t.Fatal("a reused slot kept its generation")
	}
	h.Arm()
	cli.Write([]byte("x"))
	expectCall(t, reused, "the new tenant")
	handles[0].Arm()
	clients[0].Write([]byte("x"))
	expectCall(t, calls[0], "another connection")
	expectNoCall(t, calls[1], "the removed connection")
	handles[0].Remove()
	handles[2].Remove()
}

func TestRegisterNeedsADescriptor(t *testing.T) {
	p := newPoller(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := p.Register(a, func() {}); err != ErrUnsupported {
		t.Fatalf("Register(net.Pipe): %v, want ErrUnsupported", err)
	}
}

func TestRegisterAfterClose(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close() // twice is fine
	srv, _ := pair(t)
	if _, err := p.Register(srv, func() {}); err != ErrClosed {
		t.Fatalf("Register after Close: %v, want ErrClosed", err)
	}
}

// The Poller's goroutine waits in Go's network poller ("IO wait"), never
// in a blocking epoll_wait ("syscall"): a goroutine blocked in a system
// call keeps its processor until Go's monitor takes it back, up to 10 ms
// and more, and on one CPU nothing else runs meanwhile. It still delivers
// events after many waits.
func TestPollerWaitsInGosPoller(t *testing.T) {
	p := newPoller(t)
	server, client := pair(t)
	calls := make(chan struct{}, 1)
	h, err := p.Register(server, func() { calls <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer h.Remove()
	buf := make([]byte, 16)
	for round := range 50 {
		if err := h.Arm(); err != nil {
			t.Fatal(err)
		}
		if round%10 == 0 {
			state := pollerState(t)
			if state != "IO wait" {
				t.Fatalf("round %d: the Poller's goroutine is in state %q, want \"IO wait\"", round, state)
			}
		}
		client.Write([]byte{byte(round)})
		expectCall(t, calls, "data")
		if _, err := server.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

// pollerState returns the scheduling state of the Poller's goroutine once
// it is waiting, as the goroutine dump shows it ("IO wait", "syscall").
func pollerState(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		buf := make([]byte, 1<<20)
		dump := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(dump, "\n\n") {
			if !strings.Contains(g, "netpoll.(*Poller).loop") {
				continue
			}
			head := g[:strings.Index(g, "\n")] // goroutine N [state, …]:
			state := head[strings.Index(head, "[")+1 : strings.LastIndexAny(head, "]")]
			state, _, _ = strings.Cut(state, ",")
			if state != "running" && state != "runnable" {
				return state
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the Poller's goroutine never waited")
	return ""
}
