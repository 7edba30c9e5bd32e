package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

// This file is a session's connection: read turns, parking, the closing
// handshake and the outbox, whatever the protocol spoken on it.

// tryWriterOf returns conn's non-blocking writer: its own when it has
// one, else the descriptor's (plain TCP on Linux), else nil.
func tryWriterOf(conn net.Conn) tryWriter {
	if tw, ok := conn.(tryWriter); ok {
		return tw
	}
	return newTryWriter(conn)
}

// send queues one frame; a full queue closes the session as a slow
// consumer. It never blocks.
func (s *session) send(frame []byte) bool { return s.queued(s.out.push(frame)) }

// answer queues a frame that answers the client, as send does; it is
// written ahead of fan-out (see writer).
func (s *session) answer(frame []byte) bool { return s.queued(s.out.pushAnswer(frame)) }

// queued handles the outcome of a push.
func (s *session) queued(err error) bool {
	switch err {
	case nil:
		return true
	case errQueueFull:
		s.closeSlow()
	}
	return false
}

// closeSlow drops a connection that cannot keep up. Its socket is not
// reading, so no CLOSE frame could get through: the TCP connection is
// reset at once, which frees its kernel buffers and ends the read loop.
func (s *session) closeSlow() {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	s.slow.Store(true)
	s.srv.metrics.slowConsumers.Inc()
	s.logger().Warn("closing slow consumer", "queue_limit", s.srv.cfg.MaxQueueSize)
	s.out.close()
	s.reset()
}

// reset closes the TCP connection without lingering: unsent data is
// dropped and the peer gets a RST.
func (s *session) reset() {
	if tc := tcpConnOf(s.conn); tc != nil {
		tc.SetLinger(0)
	}
	s.conn.Close()
	s.wake() // a parked session reads the closed connection and finishes
}

// close starts the closing handshake: queue a CLOSE frame with code and
// reason, half-close TCP once it is written, and give the peer CloseGrace
// to answer. Safe from any goroutine; only the first call counts.
func (s *session) close(code uint16, reason string) {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	frame := ws.AppendFrame(nil, ws.OpClose, ws.ClosePayload(code, reason))
	s.out.pushFinal(frame)
	s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.CloseGrace))
	s.wake() // a closing session reads, under the deadline, until it ends
}

func (s *session) finalWritten() {
	if cw, ok := s.conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

func (s *session) writeFailed(err error) {
	if s.closing.CompareAndSwap(false, true) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.slow.Store(true)
			s.srv.metrics.slowConsumers.Inc()
			s.logger().Warn("closing slow consumer: write timed out", "timeout", s.srv.cfg.WriteTimeout)
		} else {
			s.logger().Debug("write failed", "err", err)
		}
	}
	s.reset()
}

// run is one read turn (see session). The last one finishes the session.
func (s *session) run() {
	if s.read() {
		return // parked
	}
	s.finish()
}

// start begins reading: parked at once when the session has a poller and
// the client sent nothing with its handshake, else in a read turn.
func (s *session) start() {
	if s.poll != nil && s.pre == nil {
		s.parked.Store(true)
		if s.poll.Arm() == nil || !s.parked.CompareAndSwap(true, false) {
			return
		}
	}
	go s.run()
}

// wake starts a read turn if the session is parked. The poller calls it
// when data arrives; close and reset call it so that a parked session
// notices its own end.
func (s *session) wake() {
	if s.parked.CompareAndSwap(true, false) {
		go s.run()
	}
}

// read handles messages until the connection ends (false) or, with a
// poller, until the session parks (true).
func (s *session) read() (parked bool) {
	if s.br == nil {
		s.br = getReader(s.source())
		s.rd.Reset(s.br)
	}
	var sliceEnd int64
	for {
		// A slice counts busy time: it starts again whenever the next
		// message has to come from the socket, where the turn may have
		// waited (a TLS connection's turn lasts as long as it does).
		fromSocket := s.br.Buffered() == 0
		op, payload, err := s.rd.ReadMessage()
		if fromSocket {
			sliceEnd = monotonic() + int64(busySlice)
		}
		if err != nil {
			var ce *ws.CloseError
			if errors.As(err, &ce) && !s.closing.Load() {
				s.logger().Info("closing connection", "code", ce.Code, "reason", ce.Reason)
				s.close(ce.Code, ce.Reason)
				s.drain()
			}
			return false
		}
		s.srv.metrics.bytesIn.Add(float64(len(payload)))
		switch op {
		case ws.OpClose:
			if s.closing.Load() {
				return false // the answer to our CLOSE: done
			}
			code, _, err := ws.ParseClosePayload(payload)
			if err != nil {
				var ce *ws.CloseError
				errors.As(err, &ce)
				code = ce.Code
			} else if code == ws.CloseNoStatus {
				code = ws.CloseNormal
			}
			s.close(code, "")
			s.drain()
			return false
		case ws.OpPing:
			s.answer(ws.AppendFrame(nil, ws.OpPong, payload))
		case ws.OpPong:
			if string(payload) == s.srv.keepalivePayload() {
				s.awaitPong.Store(false)
			}
		default:
			if s.closing.Load() {
				continue // data after our CLOSE is discarded
			}
			s.srv.metrics.messagesIn.Inc()
			err := s.checkRate()
			if err == nil {
				err = s.proto.handle(s, payload)
			}
			if err != nil {
				s.closeOnError(err, payload)
				s.drain()
				return false
			}
		}
		if s.park() {
			return true
		}
		if gate := s.srv.gate; gate != nil && monotonic() >= sliceEnd {
			// A client that sends without pause (a PUBLISH flood to
			// thousands of subscribers) would keep the CPU as long as it
			// sends; let the others in.
			gate.pass()
			sliceEnd = monotonic() + int64(busySlice)
		}
	}
}

// checkRate spends a token of the connection's message rate, when it has
// one (Config.MaxMessageRate).
func (s *session) checkRate() error {
	rate := s.srv.cfg.MaxMessageRate
	if rate <= 0 || s.extra.msgRate.take(monotonic(), rate, burstOf(rate)) {
		return nil
	}
	return overLimit(limitMessageRate, "more than %g messages per second", rate)
}

// closeOnError closes the connection for a message it could not act on:
// 1008 and the reason for a limit, 1007 (as Gos) for anything else.
func (s *session) closeOnError(err error, payload []byte) {
	var le *limitError
	if errors.As(err, &le) {
		s.srv.metrics.limitRefusals.WithLabelValues(le.limit).Inc()
		s.logger().Warn("closing connection: over a limit", "limit", "server."+le.limit, "reason", le.reason, "message", clip(payload))
		s.close(ws.ClosePolicyViolation, le.reason)
		return
	}
	s.logger().Info("closing connection: invalid message", "err", err, "message", clip(payload))
	s.close(ws.CloseInvalidPayload, "")
}

// source is what a read turn reads: the bytes of the handshake first,
// then the connection.
func (s *session) source() io.Reader {
	if s.pre != nil && s.pre.Len() > 0 {
		return io.MultiReader(s.pre, s.conn)
	}
	s.pre = nil
	return s.conn
}

// park ends the read turn when the session has a poller, is not closing,
// and sits between messages with nothing buffered: the read buffer goes
// back to the pool and the poller will start the next turn. It reports
// whether the turn must end.
func (s *session) park() bool {
	if s.poll == nil || s.closing.Load() || s.br.Buffered() > 0 || !s.rd.Idle() || (s.pre != nil && s.pre.Len() > 0) {
		return false
	}
	s.rd.Reset(nil)
	putReader(s.br)
	s.br = nil
	s.parked.Store(true)
	if err := s.poll.Arm(); err != nil {
		// The connection is closed: read on to see it end, unless a
		// wake took the turn over already.
		if !s.parked.CompareAndSwap(true, false) {
			return true
		}
		s.br = getReader(s.source())
		s.rd.Reset(s.br)
		return false
	}
	return true
}

// readBufferSize is the size of a read turn's buffer.
const readBufferSize = 4096

// readers is a small free list of read buffers. Unlike a sync.Pool, it
// never holds more than readersKept: after thousands of connections read
// at once (a reconnect storm), the buffers go back to the garbage
// collector instead of staying pinned until two collections have passed,
// which would raise the heap goal of an idle server.
var readers = make(chan *bufio.Reader, readersKept)

// readersKept bounds the free list: enough for the read turns that run at
// once in steady traffic.
const readersKept = 256

func getReader(r io.Reader) *bufio.Reader {
	select {
	case br := <-readers:
		br.Reset(r)
		return br
	default:
		return bufio.NewReaderSize(r, readBufferSize)
	}
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	select {
	case readers <- br:
	default:
	}
}

// drain reads and discards until the peer closes or CloseGrace passes, so
// a client that answers our CLOSE (or sends a second one) is not reset.
// After a framing error the stream is no longer parsable; its bytes are
// discarded raw.
func (s *session) drain() {
	for {
		op, _, err := s.rd.ReadMessage()
		if err != nil {
			var ce *ws.CloseError
			if errors.As(err, &ce) {
				io.Copy(io.Discard, s.br)
			}
			return
		}
		if op == ws.OpClose {
			return
		}
	}
}

// finish releases everything the session holds. It runs on the read loop.
// The writer is given the chance to flush what is queued (the CLOSE frame
// above all), bounded by WriteTimeout, before the connection is closed.
func (s *session) finish() {
	s.closing.Store(true)
	s.out.wait()
	s.out.close()
	if s.poll != nil {
		s.poll.Remove()
	}
	s.conn.Close()
	s.out.wait()
	if s.br != nil {
		s.rd.Reset(nil)
		putReader(s.br)
		s.br = nil
	}
	s.mu.Lock()
	topics := s.topics.all()
	s.topics = topicSet{}
	s.mu.Unlock()
	for _, sub := range topics {
		s.srv.unsubscribe(sub, s)
		if h, ok := sub.binding.Handler.(UnsubscribeHandler); ok {
			h.OnUnsubscribe(s.context(), s, sub.topic)
		}
	}
	s.srv.rpcSessionGone(s)
	if s.life != nil {
		s.life.cancel()
	}
	s.srv.removeSession(s)
	s.srv.metaLeft(s) // after: the meta API no longer lists it
	s.srv.sessions.Done()
}
