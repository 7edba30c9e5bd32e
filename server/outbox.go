package server

import (
	"errors"
	"net"
	"sync"
	"time"
)

var (
	errQueueFull   = errors.New("server: outbound queue full")
	errQueueClosed = errors.New("server: outbound queue closed")
)

// outbox is one connection's bounded outbound queue and its writer.
//
// Publishers push complete, already-framed WebSocket frames (the same byte
// slice is shared by every subscriber of a publication) and never wait: a
// push that would grow the queue past its byte limit fails with
// errQueueFull, and the caller closes the connection as a slow consumer.
//
// The writer goroutine exists only while there is something to write: the
// first push to an idle outbox starts it, and it exits when the queue is
// empty. Each turn it takes everything queued and hands it to the kernel in
// one vectored write, so a burst of small events costs one syscall, not one
// per event. An idle connection therefore holds no writer goroutine.
type outbox struct {
	conn    net.Conn
	limit   int
	timeout time.Duration
	// onWritten is called after each successful write with the number of
	// frames and bytes written.
	onWritten func(frames, bytes int)
	// onFailed is called once when a write fails; the writer then stops.
	onFailed func(error)
	// onFinal is called after the final frame (see pushFinal) was written.
	onFinal func()

	mu      sync.Mutex
	queue   [][]byte
	spare   [][]byte
	queued  int
	writing bool
	closed  bool          // no more pushes accepted
	final   bool          // call onFinal once the queue is drained
	idle    chan struct{} // closed when the running writer exits
}

// push queues one frame.
func (o *outbox) push(frame []byte) error {
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
	o.kickLocked()
	o.mu.Unlock()
	return nil
}

// pushFinal queues the last frame (a CLOSE), whatever the limit, and closes
// the queue. onFinal runs once everything before it has been written. It
// reports false when the queue was already closed.
func (o *outbox) pushFinal(frame []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	o.closed, o.final = true, true
	o.queue = append(o.queue, frame)
	o.queued += len(frame)
	o.kickLocked()
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

// wait blocks until the writer goroutine, if any, has exited.
func (o *outbox) wait() {
	o.mu.Lock()
	idle := o.idle
	o.mu.Unlock()
	if idle != nil {
		<-idle
	}
}

func (o *outbox) kickLocked() {
	if !o.writing {
		o.writing = true
		o.idle = make(chan struct{})
		go o.run(o.idle)
	}
}

func (o *outbox) run(idle chan struct{}) {
	defer close(idle)
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.writing = false
			final := o.final
			o.final = false
			o.mu.Unlock()
			if final && o.onFinal != nil {
				o.onFinal()
			}
			return
		}
		batch := o.queue
		o.queue, o.spare = o.spare[:0], nil
		o.queued = 0
		o.mu.Unlock()

		frames, n, err := o.write(batch)
		clear(batch)
		o.mu.Lock()
		o.spare = batch[:0]
		o.mu.Unlock()
		if err != nil {
			o.mu.Lock()
			o.closed, o.final, o.writing = true, false, false
			clear(o.queue)
			o.queue, o.queued = o.queue[:0], 0
			o.mu.Unlock()
			if o.onFailed != nil {
				o.onFailed(err)
			}
			return
		}
		if o.onWritten != nil {
			o.onWritten(frames, n)
		}
	}
}

// write sends a batch of frames with one deadline. On TCP, net.Buffers
// becomes a single writev; on other connections (TLS) the frames are
// copied into one buffer so they leave in as few records as possible.
func (o *outbox) write(batch [][]byte) (frames, n int, err error) {
	if err := o.conn.SetWriteDeadline(time.Now().Add(o.timeout)); err != nil {
		return 0, 0, err
	}
	frames = len(batch)
	if len(batch) == 1 {
		n, err = o.conn.Write(batch[0])
		return frames, n, err
	}
	if _, ok := o.conn.(*net.TCPConn); ok {
		bufs := net.Buffers(batch)
		written, err := bufs.WriteTo(o.conn)
		return frames, int(written), err
	}
	size := 0
	for _, f := range batch {
		size += len(f)
	}
	buf := make([]byte, 0, size)
	for _, f := range batch {
		buf = append(buf, f...)
	}
	n, err = o.conn.Write(buf)
	return frames, n, err
}
