package server

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	errQueueFull   = errors.New("server: outbound queue full")
	errQueueClosed = errors.New("server: outbound queue closed")
)

// outbox is one connection's bounded outbound queue.
//
// Publishers push complete, already-framed WebSocket frames (the same byte
// slice is shared by every subscriber of a publication) and never wait: a
// push that would grow the queue past its byte limit fails with
// errQueueFull, and the caller closes the connection as a slow consumer.
//
// Writing: the first push to an idle outbox hands it to the server's
// writers (see writers), a few goroutines that serve every connection.
// A writer takes everything queued and hands it to the kernel in one
// vectored write that never blocks, so a burst of small events costs one
// syscall per connection, not one per event, and costs no goroutine and no
// allocation per connection. When the socket cannot take everything (the
// client reads slowly) or the connection cannot be written without
// blocking (TLS), the outbox gets a goroutine of its own that writes with
// blocking calls under WriteTimeout until the queue is empty, then returns
// to idle.
type outbox struct {
	env   *outboxEnv
	owner outboxOwner
	conn  net.Conn
	raw   tryWriter // nil when the connection offers no non-blocking write
	limit int
	// writer picks the writer of the writers that serves this outbox.
	writer uint32

	mu     sync.Mutex
	queue  [][]byte
	spare  [][]byte
	queued int
	state  outboxState
	closed bool          // no more pushes accepted
	final  bool          // call finalWritten once the queue is drained
	idle   chan struct{} // made by wait, closed when the outbox is idle
}

// outboxEnv is what the outboxes of one server share: who writes them,
// under what timeout, and the counters of what they wrote.
type outboxEnv struct {
	// writers serve outboxes whose connection has a non-blocking write;
	// nil makes every outbox write on a goroutine of its own.
	writers *writers
	// writeTimeout bounds each blocking write (Config.WriteTimeout).
	writeTimeout time.Duration
	// bytesOut and messagesOut count what reached the kernel.
	bytesOut, messagesOut prometheus.Counter
}

// outboxOwner is the connection an outbox writes for, told about the
// ends of its writing.
type outboxOwner interface {
	// finalWritten runs once the final frame (see pushFinal) is written.
	finalWritten()
	// writeFailed runs when a write failed; the outbox is closed and
	// empty by then.
	writeFailed(err error)
}

// outboxState says who writes an outbox.
type outboxState uint8

const (
	outboxIdle     outboxState = iota // nothing queued, nobody writing
	outboxReady                       // queued with a writer, or being written by it
	outboxBlocking                    // written by a goroutine of its own
)

// spareMax is the capacity beyond which an idle outbox drops its queue's
// backing arrays, so that a connection that once took a burst does not
// keep the memory for it.
const spareMax = 64

// push queues one frame.
func (o *outbox) push(frame []byte) error { return o.pushAs(frame, false) }

// pushAnswer queues one frame that answers the client (a PONG, a
// CALLRESULT): when nothing is queued before it, the writer serves it
// ahead of fan-out.
func (o *outbox) pushAnswer(frame []byte) error { return o.pushAs(frame, true) }

func (o *outbox) pushAs(frame []byte, answer bool) error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return errQueueClosed
	}
	if o.queued+len(frame) > o.limit {
		o.mu.Unlock()
		return errQueueFull
	}
	o.queue = append(o.queue, frame)
	o.queued += len(frame)
	start := o.state == outboxIdle
	if start {
		o.state = outboxReady
	}
	o.mu.Unlock()
	if start {
		o.schedule(answer)
	}
	return nil
}

// pushFinal queues the last frame (a CLOSE), whatever the limit, and closes
// the queue. finalWritten runs once everything before it has been
// written. It reports false when the queue was already closed.
func (o *outbox) pushFinal(frame []byte) bool {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	o.closed, o.final = true, true
	o.queue = append(o.queue, frame)
	o.queued += len(frame)
	start := o.state == outboxIdle
	if start {
		o.state = outboxReady
	}
	o.mu.Unlock()
	if start {
		o.schedule(true)
	}
	return true
}

// close refuses further pushes and drops what is queued.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed, o.final = true, false
	clear(o.queue)
	o.queue = o.queue[:0]
	o.queued = 0
	o.mu.Unlock()
}

// wait blocks until nobody writes the outbox.
func (o *outbox) wait() {
	o.mu.Lock()
	if o.state == outboxIdle {
		o.mu.Unlock()
		return
	}
	if o.idle == nil {
		o.idle = make(chan struct{})
	}
	idle := o.idle
	o.mu.Unlock()
	<-idle
}

// schedule hands a ready outbox to a writer (answer: ahead of fan-out), or
// to a goroutine of its own when its connection has no non-blocking write.
func (o *outbox) schedule(answer bool) {
	if o.raw == nil || o.env.writers == nil {
		o.mu.Lock()
		o.state = outboxBlocking
		o.mu.Unlock()
		go o.writeBlocking(nil)
		return
	}
	o.env.writers.add(o, answer)
}

// take moves the queue into a batch for writing, or makes the outbox idle
// (running the final step) when there is nothing left. It reports false
// in the latter case.
func (o *outbox) take() (batch [][]byte, ok bool) {
	o.mu.Lock()
	if len(o.queue) == 0 {
		o.becomeIdleLocked()
		return nil, false
	}
	batch = o.queue
	o.queue, o.spare = o.spare[:0], nil
	o.queued = 0
	o.mu.Unlock()
	return batch, true
}

// becomeIdleLocked marks the outbox idle, wakes waiters, releases large
// queue arrays, unlocks, and then half-closes the connection when the
// final frame has gone out.
func (o *outbox) becomeIdleLocked() {
	o.state = outboxIdle
	final := o.final
	o.final = false
	if cap(o.queue) > spareMax {
		o.queue = nil
	}
	if cap(o.spare) > spareMax {
		o.spare = nil
	}
	if o.idle != nil {
		close(o.idle)
		o.idle = nil
	}
	o.mu.Unlock()
	if final {
		o.owner.finalWritten()
	}
}

// recycle gives a written batch's array back for the next one.
func (o *outbox) recycle(batch [][]byte) {
	clear(batch)
	o.mu.Lock()
	if o.spare == nil {
		o.spare = batch[:0]
	}
	o.mu.Unlock()
}

// failed drops everything after a write error and closes the connection.
func (o *outbox) failed(err error) {
	o.mu.Lock()
	o.closed, o.final = true, false
	clear(o.queue)
	o.queue, o.queued = o.queue[:0], 0
	o.becomeIdleLocked()
	o.owner.writeFailed(err)
}

// writeSome is a writer's turn on a ready outbox: one non-blocking
// vectored write of everything queued. It reports whether the outbox must
// be served again (more was queued meanwhile); when the socket took only
// part, the rest goes to a goroutine of the outbox's own.
func (o *outbox) writeSome(w *writer) (again bool) {
	batch, ok := o.take()
	if !ok {
		return false
	}
	frames, n, rest, err := w.writev(o.raw, batch)
	if n > 0 {
		o.env.bytesOut.Add(float64(n))
	}
	if frames > 0 {
		o.env.messagesOut.Add(float64(frames))
	}
	if err != nil {
		o.recycle(batch)
		o.failed(err)
		return false
	}
	if rest != nil {
		// The socket is full: wait for it on a goroutine of our own.
		o.mu.Lock()
		o.state = outboxBlocking
		o.mu.Unlock()
		go o.writeBlocking(rest)
		return false
	}
	o.recycle(batch)
	o.mu.Lock()
	if len(o.queue) == 0 {
		o.becomeIdleLocked()
		return false
	}
	o.mu.Unlock()
	return true
}

// writeBlocking writes first (the rest of a batch, or nothing), then the
// queue, with blocking writes under WriteTimeout, until the queue is
// empty.
func (o *outbox) writeBlocking(first [][]byte) {
	if len(first) > 0 {
		if err := o.writeAll(first); err != nil {
			o.failed(err)
			return
		}
	}
	for {
		batch, ok := o.take()
		if !ok {
			return
		}
		err := o.writeAll(batch)
		o.recycle(batch)
		if err != nil {
			o.failed(err)
			return
		}
	}
}

// writeAll sends a batch of frames with one deadline. On TCP, net.Buffers
// becomes a single writev; on other connections (TLS) the frames are
// copied into one buffer so they leave in as few records as possible.
func (o *outbox) writeAll(batch [][]byte) error {
	conn := o.conn
	if err := conn.SetWriteDeadline(time.Now().Add(o.env.writeTimeout)); err != nil {
		return err
	}
	var n int
	var err error
	switch {
	case len(batch) == 1:
		n, err = conn.Write(batch[0])
	case isTCP(conn):
		bufs := net.Buffers(batch)
		var written int64
		written, err = bufs.WriteTo(conn)
		n = int(written)
	default:
		size := 0
		for _, f := range batch {
			size += len(f)
		}
		buf := make([]byte, 0, size)
		for _, f := range batch {
			buf = append(buf, f...)
		}
		n, err = conn.Write(buf)
	}
	o.env.bytesOut.Add(float64(n))
	if err != nil {
		return err
	}
	o.env.messagesOut.Add(float64(len(batch)))
	return nil
}

func isTCP(c net.Conn) bool { return tcpConnOf(c) != nil }
