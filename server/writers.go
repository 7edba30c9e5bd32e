package server

import (
	"runtime"
	"sync"
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

// yieldEvery is how many outboxes a writer serves between yields.
const yieldEvery = 32

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

// writer is one writing goroutine and its queue of ready outboxes.
type writer struct {
	mu      sync.Mutex
	ready   []*outbox
	wake    chan struct{}
	scratch writevScratch
}

func newWriters() *writers {
	n := runtime.GOMAXPROCS(0)
	w := &writers{stop: make(chan struct{})}
	for range n {
		wr := &writer{wake: make(chan struct{}, 1)}
		w.ws = append(w.ws, wr)
		w.done.Go(func() { wr.run(w.stop) })
	}
	return w
}

// add queues a ready outbox with its writer.
func (w *writers) add(o *outbox) {
	wr := w.ws[o.writer%uint32(len(w.ws))]
	wr.mu.Lock()
	wr.ready = append(wr.ready, o)
	first := len(wr.ready) == 1
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
	var turn []*outbox
	for {
		select {
		case <-stop:
			return
		case <-wr.wake:
		}
		for {
			wr.mu.Lock()
			turn, wr.ready = wr.ready, turn[:0]
			wr.mu.Unlock()
			if len(turn) == 0 {
				break
			}
			for i, o := range turn {
				if i%yieldEvery == yieldEvery-1 {
					// A writer never blocks, so on a single CPU it would
					// keep it for a whole pass over thousands of sockets;
					// let the readers, the API and the broker run, and
					// queue more for this pass to coalesce.
					runtime.Gosched()
				}
				if o.writeSome(wr) {
					wr.mu.Lock()
					wr.ready = append(wr.ready, o)
					wr.mu.Unlock()
				}
				turn[i] = nil
			}
		}
		if cap(turn) > 4096 {
			turn = nil // a burst to many connections passed
		}
	}
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
