//go:build linux

package server

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// pollGate lets a goroutine that never blocks wait until Go's network
// poller has run.
//
// Go polls the network only when a processor finds nothing else to run,
// or every 10 ms from its monitor thread. A writer that yields with
// runtime.Gosched stays runnable, so on a busy core the poller waits for
// the whole write pass: a request that arrives meanwhile (an HTTP publish,
// a WAMP client's next message) is not even read until the pass ends. A
// pass through the gate instead parks the writer until the poller itself
// wakes it: the gate is an eventfd watched by Go's poller, the writer
// makes it readable and waits, and the gate's goroutine, made runnable by
// the poll that saw the eventfd, lets the writer go on. Every goroutine
// that poll made runnable (the request's reader among them) runs no later
// than one yield after.
type pollGate struct {
	f      *os.File
	resume chan struct{}
	done   chan struct{}
}

// newPollGate starts a gate and its goroutine.
func newPollGate() (*pollGate, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("server: eventfd for the writers' poll gate: %w", err)
	}
	g := &pollGate{
		f:      os.NewFile(uintptr(fd), "herald-poll-gate"),
		resume: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go g.run()
	return g, nil
}

func (g *pollGate) run() {
	defer close(g.done)
	var buf [8]byte
	for {
		if _, err := g.f.Read(buf[:]); err != nil {
			return // closed
		}
		g.resume <- struct{}{}
	}
}

// pass returns once the network poller has run.
func (g *pollGate) pass() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	if _, err := g.f.Write(one[:]); err != nil {
		runtime.Gosched() // closed: yield as best we can
		return
	}
	<-g.resume
}

// close stops the gate's goroutine. No pass may be in progress.
func (g *pollGate) close() {
	g.f.Close()
	<-g.done
}
