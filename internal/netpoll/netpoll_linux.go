//go:build linux

package netpoll

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Poller watches registered connections with one epoll instance and one
// goroutine. It is safe for concurrent use.
//
// The goroutine never blocks in epoll_wait: the epoll descriptor is itself
// watched by Go's network poller (an epoll instance is readable while it
// has events), and the goroutine collects events without waiting once Go
// says there are some. A goroutine blocked in a system call keeps its
// processor until Go's monitor thread takes it back, which can be 10 ms
// or more; on one CPU that stopped the whole server.
type Poller struct {
	epfd   int
	ep     *os.File        // epfd, for Go's network poller
	eprc   syscall.RawConn // waits on ep
	wakefd int             // an eventfd that ends the wait loop on Close
	done   chan struct{}

	mu      sync.Mutex
	handles []*Handle // by slot; nil when free
	free    []int32
	closed  bool
}

// Handle is one registered connection.
type Handle struct {
	p          *Poller
	rc         syscall.RawConn
	onReadable func()
	slot       int32
	gen        int32 // matches the epoll data, so stale events are ignored
	mu         sync.Mutex
	removed    bool
}

// armEvents: readable, peer hang-up, one event per arming. Errors and
// hang-ups are reported by epoll regardless.
const armEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// New starts a Poller.
func New() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: epoll_ctl: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: epoll descriptor: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "netpoll-epoll")
	eprc, err := ep.SyscallConn()
	if err != nil {
		unix.Close(wakefd)
		ep.Close()
		return nil, fmt.Errorf("netpoll: epoll descriptor: %w", err)
	}
	p := &Poller{epfd: epfd, ep: ep, eprc: eprc, wakefd: wakefd, done: make(chan struct{})}
	go p.loop()
	return p, nil
}

// Register adds conn, disarmed. onReadable is called once per Arm, when
// conn is readable or hung up. conn must offer its file descriptor
// (syscall.Conn): *net.TCPConn and *net.UnixConn do, TLS does not.
func (p *Poller) Register(conn any, onReadable func()) (*Handle, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	h := &Handle{p: p, rc: rc, onReadable: onReadable}
	if n := len(p.free); n > 0 {
		h.slot = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		h.slot = int32(len(p.handles))
		p.handles = append(p.handles, nil)
	}
	p.handles[h.slot] = h
	h.gen = nextGen()
	p.mu.Unlock()

	if err := h.ctl(unix.EPOLL_CTL_ADD, 0); err != nil {
		p.forget(h)
		return nil, err
	}
	return h, nil
}

// gens numbers registrations, so an event for a freed slot is not taken
// for its next tenant's.
var gens atomic.Int32

func nextGen() int32 { return gens.Add(1) }

// ctl runs epoll_ctl on the connection's descriptor while Go guarantees it
// is open.
func (h *Handle) ctl(op int, events uint32) error {
	var cerr error
	err := h.rc.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: events, Fd: h.slot, Pad: h.gen}
		cerr = unix.EpollCtl(h.p.epfd, op, int(fd), &ev)
	})
	if err != nil {
		return fmt.Errorf("netpoll: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("netpoll: epoll_ctl: %w", cerr)
	}
	return nil
}

// Arm asks for one call of onReadable, as soon as the connection is
// readable (at once if it already is). It fails once the connection is
// closed or removed: the caller then reads it itself, which reports the
// closed connection.
func (h *Handle) Arm() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.removed {
		return ErrClosed
	}
	return h.ctl(unix.EPOLL_CTL_MOD, armEvents)
}

// Remove stops watching the connection; onReadable is not called after it
// returns, except by an event already being dispatched. Removing twice
// does nothing. Closing the connection also removes it from epoll, but
// Remove must still be called to free its slot.
func (h *Handle) Remove() {
	h.mu.Lock()
	if h.removed {
		h.mu.Unlock()
		return
	}
	h.removed = true
	h.mu.Unlock()
	// The descriptor may be closed already (epoll then dropped it).
	_ = h.ctl(unix.EPOLL_CTL_DEL, 0)
	h.p.forget(h)
}

func (p *Poller) forget(h *Handle) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if int(h.slot) < len(p.handles) && p.handles[h.slot] == h {
		p.handles[h.slot] = nil
		p.free = append(p.free, h.slot)
	}
}

func (p *Poller) lookup(slot, gen int32) *Handle {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slot < 0 || int(slot) >= len(p.handles) {
		return nil
	}
	h := p.handles[slot]
	if h == nil || h.gen != gen {
		return nil
	}
	return h
}

func (p *Poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := p.wait(events)
		if err != nil {
			fmt.Fprintf(os.Stderr, "netpoll: epoll_wait: %v\n", err)
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == -1 {
				return // Close
			}
			if h := p.lookup(ev.Fd, ev.Pad); h != nil {
				h.mu.Lock()
				removed := h.removed
				h.mu.Unlock()
				if !removed {
					h.onReadable()
				}
			}
		}
	}
}

// wait returns the next events, parked in Go's network poller (holding
// no thread and no processor) while there are none.
func (p *Poller) wait(events []unix.EpollEvent) (n int, err error) {
	var werr error
	rerr := p.eprc.Read(func(fd uintptr) bool {
		for {
			n, werr = unix.EpollWait(int(fd), events, 0)
			if !errors.Is(werr, unix.EINTR) {
				break
			}
		}
		return n > 0 || werr != nil // nothing yet: wait until epfd is readable
	})
	if rerr != nil {
		return 0, rerr
	}
	return n, werr
}

// Close stops the Poller's goroutine and releases epoll. Registered
// connections are not closed; their callbacks are no longer called.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	var one = [8]byte{1}
	if _, err := unix.Write(p.wakefd, one[:]); err != nil {
		return fmt.Errorf("netpoll: waking the poller: %w", err)
	}
	<-p.done
	unix.Close(p.wakefd)
	return p.ep.Close()
}
