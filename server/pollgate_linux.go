//go:build linux

package server

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// pollGate lets goroutines that never block on their own wait until Go's
// network poller has run.
//
// Go polls the network only when a processor finds nothing else to run,
// or every 10 ms from its monitor thread. A goroutine that yields with
// runtime.Gosched stays runnable, so on a busy core the poller waits for
// the whole of its work: a request that arrives meanwhile (an HTTP
// publish, a WAMP client's next message) is not even read until a write
// pass over thousands of sockets, or a flood of PUBLISH from one client,
// ends. A pass through the gate parks the caller until the poller itself
// wakes it: the gate is an eventfd watched by Go's poller, the first
// caller makes it readable, and the gate's goroutine, made runnable by the
// poll that saw the eventfd, releases every caller waiting. Every
// goroutine that poll made runnable (the request's reader among them) is
// queued before they run again.
type pollGate struct {
	f    *os.File
	done chan struct{}

	mu      sync.Mutex
	through chan struct{} // closed by the next poll; nil when nobody waits
	closed  bool
}

// newPollGate starts a gate and its goroutine.
func newPollGate() (*pollGate, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("server: eventfd for the poll gate: %w", err)
	}
	g := &pollGate{f: os.NewFile(uintptr(fd), "herald-poll-gate"), done: make(chan struct{})}
	go g.run()
	return g, nil
}

func (g *pollGate) run() {
	defer close(g.done)
	var buf [8]byte
	for {
		_, err := g.f.Read(buf[:])
		g.mu.Lock()
		if g.through != nil {
			close(g.through)
			g.through = nil
		}
		if err != nil {
			g.closed = true
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
	}
}

// pass returns once the network poller has run.
func (g *pollGate) pass() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		runtime.Gosched()
		return
	}
	through := g.through
	if through == nil {
		through = make(chan struct{})
		g.through = through
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		if _, err := g.f.Write(one[:]); err != nil {
			g.through = nil
			g.mu.Unlock()
			runtime.Gosched()
			return
		}
	}
	g.mu.Unlock()
	<-through
}

// close stops the gate's goroutine, releasing whoever still waits.
func (g *pollGate) close() {
	g.f.Close()
	<-g.done
}
