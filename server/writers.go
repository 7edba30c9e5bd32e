package server

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// tryWriter writes without ever blocking: as much of bufs as the
// connection takes now. The plain TCP connections of Linux offer one (see
// newTryWriter); others are written by blocking goroutines.
type tryWriter interface {
	// tryWritev writes bufs (at most maxIovecs of them) in one call and
	// returns the bytes written, 0 when the socket is full. scratch is
	// the calling writer's reusable buffer.
	tryWritev(scratch *writevScratch, bufs [][]byte) (int, error)
}

// busySlice is how long a writer writes, or a read turn handles one
// client's messages, before it lets everything else run: the other
// readers, the HTTP API, the broker's and the push handlers' consumers. It
// bounds how long a request waits, unread, behind a write pass over
// thousands of sockets (about 4.5 µs each on loopback) or behind a client
// that floods PUBLISH to thousands of subscribers.
const busySlice = 500 * time.Microsecond

// maxIovecs is how many frames one vectored write takes (Linux's
// IOV_MAX).
const maxIovecs = 1024

// writers are the goroutines that write the outboxes: one per CPU, each
// serving a share of the connections in the order they became ready.
// Every connection has its writer for life, so its frames leave in order.
type writers struct {
	ws   []*writer
	stop chan struct{}
	done sync.WaitGroup
}

// writer is one writing goroutine and its queues of ready outboxes.
//
// A writer never blocks, so on its own it would keep its CPU for a whole
// pass; every busySlice it passes the server's poll gate instead, which lets
// every runnable goroutine run and Go's network poller see what arrived
// meanwhile. Outboxes whose first frame answers their own client (a PONG,
// a CALLRESULT, a CLOSE) wait in answers, which the writer serves before
// the next outbox of its pass, so a client that waits for its answer
// never waits for a fan-out to thousands of others.
type writer struct {
	gate *pollGate // the server's; nil: slices end with runtime.Gosched

	mu         sync.Mutex
	ready      []*outbox
	answers    []*outbox
	hasAnswers atomic.Bool // answers is not empty
	wake       chan struct{}
	scratch    writevScratch
}

// newWriters starts one writer per CPU; gate, when not nil, is where they
// end their slices.
func newWriters(gate *pollGate) *writers {
	n := runtime.GOMAXPROCS(0)
	w := &writers{stop: make(chan struct{})}
	for range n {
		wr := &writer{wake: make(chan struct{}, 1), gate: gate}
		w.ws = append(w.ws, wr)
		w.done.Go(func() { wr.run(w.stop) })
	}
	return w
}

// add queues a ready outbox with its writer; answer says that its first
// frame answers its own client.
func (w *writers) add(o *outbox, answer bool) {
	wr := w.ws[o.writer%uint32(len(w.ws))]
	if f := observeAdd.Load(); f != nil {
		(*f)(wr, o)
	}
	wr.mu.Lock()
	if answer {
		wr.answers = append(wr.answers, o)
		wr.hasAnswers.Store(true)
	} else {
		wr.ready = append(wr.ready, o)
	}
	first := len(wr.ready)+len(wr.answers) == 1
	wr.mu.Unlock()
	if first {
		select {
		case wr.wake <- struct{}{}:
		default:
		}
	}
}

// close stops the writers. Only outboxes of finished sessions may be left:
// every session waits for its outbox before it finishes.
func (w *writers) close() {
	close(w.stop)
	w.done.Wait()
}

func (wr *writer) run(stop chan struct{}) {
	var turn, answers []*outbox
	for {
		select {
		case <-stop:
			return
		case <-wr.wake:
		}
		sliceEnd := monotonic() + int64(busySlice)
		for {
			wr.mu.Lock()
			turn, wr.ready = wr.ready, turn[:0]
			idle := len(turn)+len(wr.answers) == 0
			wr.mu.Unlock()
			if idle {
				break
			}
			answers = wr.serveAnswers(answers)
			for i, o := range turn {
				if wr.hasAnswers.Load() {
					answers = wr.serveAnswers(answers)
				}
				if monotonic() >= sliceEnd {
					wr.yield()
					sliceEnd = monotonic() + int64(busySlice)
				}
				wr.serve(o)
				turn[i] = nil
			}
		}
		if cap(turn) > 4096 {
			turn = nil // a burst to many connections passed
		}
	}
}

// serveAnswers writes the outboxes waiting with an answer; buf is the
// slice to reuse for taking them, returned for the next call.
func (wr *writer) serveAnswers(buf []*outbox) []*outbox {
	wr.mu.Lock()
	buf, wr.answers = wr.answers, buf[:0]
	wr.hasAnswers.Store(false)
	wr.mu.Unlock()
	for i, o := range buf {
		wr.serve(o)
		buf[i] = nil
	}
	return buf[:0]
}

// serve gives a ready outbox its turn, queueing it again (behind the
// others) when more was pushed meanwhile.
func (wr *writer) serve(o *outbox) {
	if f := observeServe.Load(); f != nil {
		(*f)(wr, o)
	}
	if o.writeSome(wr) {
		wr.mu.Lock()
		wr.ready = append(wr.ready, o)
		wr.mu.Unlock()
	}
}

// observeServe and observeAdd, when a test sets them, see every outbox a
// writer serves, in order, and every outbox handed to a writer.
var observeServe, observeAdd atomic.Pointer[func(*writer, *outbox)]

// yield ends a slice: through the poll gate, so that the network is polled
// too, or with a plain Gosched without one.
func (wr *writer) yield() {
	if wr.gate != nil {
		wr.gate.pass()
		return
	}
	runtime.Gosched()
}

// writev writes batch with non-blocking vectored writes, IOV_MAX frames
// at a time. It returns how many frames and bytes went out, and rest: nil
// when all did, otherwise what is left, starting with the unwritten tail
// of a frame the socket took only part of.
func (wr *writer) writev(raw tryWriter, batch [][]byte) (frames, n int, rest [][]byte, err error) {
	for len(batch) > 0 {
		chunk := batch[:min(len(batch), maxIovecs)]
		size := 0
		for _, f := range chunk {
			size += len(f)
		}
		written, err := raw.tryWritev(&wr.scratch, chunk)
		n += written
		if err != nil {
			return frames, n, nil, err
		}
		if written == size {
			frames += len(chunk)
			batch = batch[len(chunk):]
			continue
		}
		// Partly written: count the whole frames, keep the rest.
		for len(batch) > 0 && written >= len(batch[0]) {
			written -= len(batch[0])
			batch = batch[1:]
			frames++
		}
		rest = make([][]byte, 0, len(batch))
		rest = append(rest, batch[0][written:])
		rest = append(rest, batch[1:]...)
		return frames, n, rest, nil
	}
	return frames, n, nil, nil
}
