package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldws/herald/internal/netpoll"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// session is one WebSocket connection speaking WAMP v1.
//
// Reading happens in turns: one goroutine at a time (run) decodes messages
// and changes the subscriptions; publishers on other goroutines only push
// frames into its outbox. With a poller (plain TCP on Linux) a turn ends
// when the peer has nothing more to say: the session parks, giving back its
// goroutine and read buffer, and the poller starts the next turn when data
// arrives. An idle connection then costs no goroutine and no buffer.
// Without a poller (TLS, other systems) one turn lasts as long as the
// connection. The last turn finishes the session: it waits for the
// outbox's writer and releases everything.
type session struct {
	srv  *Server
	id   string
	conn net.Conn
	br   *bufio.Reader // the read turn's buffer; nil while parked
	rd   ws.Reader
	// pre holds the bytes the client sent with its handshake, read before
	// anything from the socket; nil when there were none.
	pre *bytes.Reader
	// poll wakes a parked session; nil without a poller.
	poll  *netpoll.Handle
	out   outbox
	codec wamp.V1

	prefixes wamp.Prefixes
	identity Identity
	// ctx, made on first use by a read turn, ends when the session does.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	topics topicSet

	// extra holds what only some sessions need; nil for the others, so
	// that an idle connection stays small. Set before the session starts,
	// never changed after.
	extra *sessionExtra

	parked    atomic.Bool // no read turn runs; the poller starts the next
	closing   atomic.Bool // a CLOSE was queued or the connection dropped
	slow      atomic.Bool // closed as a slow consumer
	awaitPong atomic.Bool // a keepalive PING is unanswered
}

// sessionExtra is the part of a session that only some need.
type sessionExtra struct {
	// remote is the client's address as a trusted proxy named it; empty
	// when it is the connection's peer.
	remote string
	// msgRate limits the messages the client sends (Config.MaxMessageRate);
	// only read turns use it.
	msgRate tokenBucket
}

// subscription is one topic a session subscribes to, with the route and
// handler resolved when it subscribed.
type subscription struct {
	topic   *Topic
	binding Binding
}

func newSession(srv *Server, id string, identity Identity, conn net.Conn, pre []byte) *session {
	s := &session{
		srv:      srv,
		id:       id,
		identity: identity,
		conn:     conn,
	}
	if len(pre) > 0 {
		s.pre = bytes.NewReader(pre)
	}
	if srv.cfg.MaxMessageRate > 0 {
		s.extra = &sessionExtra{}
	}
	s.rd.Masked = true
	s.rd.CheckUTF8 = true
	s.rd.MaxMessage = srv.cfg.MaxMessageSize
	s.prefixes.Mode = srv.cfg.PrefixMode
	s.out = outbox{
		env:    &srv.outboxes,
		owner:  s,
		conn:   conn,
		raw:    tryWriterOf(conn),
		limit:  srv.cfg.MaxQueueSize,
		writer: srv.nextWriter.Add(1),
	}
	return s
}

// context returns the session's context, which ends when it does. Only
// read turns call it (handlers run there), one at a time.
func (s *session) context() context.Context {
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
	return s.ctx
}

// tryWriterOf returns conn's non-blocking writer: its own when it has
// one, else the descriptor's (plain TCP on Linux), else nil.
func tryWriterOf(conn net.Conn) tryWriter {
	if tw, ok := conn.(tryWriter); ok {
		return tw
	}
	return newTryWriter(conn)
}

// logger returns the server's logger with the session's id and remote
// address. It is built when something is logged, so that an idle session
// holds none.
func (s *session) logger() *slog.Logger {
	remote := s.conn.RemoteAddr().String()
	if s.extra != nil && s.extra.remote != "" {
		remote = s.extra.remote
	}
	return s.srv.log.With("session", s.id, "remote", remote)
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
				err = s.handle(payload)
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
	if s.cancel != nil {
		s.cancel()
	}
	s.srv.removeSession(s)
	s.srv.sessions.Done()
}

// errUnknownTopic closes the connection when a topic matches no route and
// the policy is close.
var errUnknownTopic = errors.New("server: no route matches the topic")

// handle decodes and acts on one WAMP message. An error closes the
// connection with 1007, as GosWebSocketBundle does for any exception.
func (s *session) handle(payload []byte) error {
	msg, err := s.codec.Decode(payload)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *wamp.Prefix:
		return s.prefix(m)
	case *wamp.Subscribe:
		return s.subscribe(s.prefixes.Resolve(m.Topic))
	case *wamp.Unsubscribe:
		s.unsubscribe(s.prefixes.Resolve(m.Topic))
	case *wamp.Publish:
		exclude := m.Exclude
		if m.ExcludeMe {
			exclude = []string{s.id}
		}
		return s.publish(s.prefixes.Resolve(m.Topic), &PublishEvent{Event: m.Event, Exclude: exclude, Eligible: m.Eligible})
	case *wamp.Call:
		return s.call(m)
	default:
		return fmt.Errorf("%w: a client may not send %s", wamp.ErrInvalidMessage, msg.Kind())
	}
	return nil
}

// unknown applies the unknown-topic policy to a name that matched no
// route: an error to close the connection, or a CALLERROR.
func (s *session) unknown(name, what string, callID json.RawMessage) error {
	s.srv.logUnknown(s.logger(), name, what)
	if s.srv.cfg.UnknownTopic == UnknownClose {
		return fmt.Errorf("%w: %q", errUnknownTopic, name)
	}
	if callID == nil {
		callID = jsonString(name)
	}
	s.sendMessage(&wamp.CallError{
		CallID:      callID,
		ErrorURI:    name,
		Description: fmt.Sprintf("No route matches %q.", name),
		Details:     json.RawMessage(`{"code":404}`),
	})
	return nil
}

// deny reports a refused topic event to the client: a raw text frame when
// the denial carries one (Oro), otherwise a CALLERROR whose call id and
// error URI are the topic, as Gos's TopicDispatcher sends.
func (s *session) deny(t *Topic, what string, err error) {
	d := denialOf(err)
	s.logger().Info("refused", "message", what, "topic", t.Name, "route", t.RouteName(), "code", d.code(), "reason", d.Error())
	if d.Text != "" {
		s.SendText(d.Text)
		return
	}
	s.sendMessage(&wamp.CallError{
		CallID:      jsonString(t.Name),
		ErrorURI:    t.Name,
		Description: d.Error(),
		Details:     d.details(),
	})
}

// prefix records a PREFIX within the connection's limits.
func (s *session) prefix(m *wamp.Prefix) error {
	if err := s.checkLength("prefix", m.Prefix); err != nil {
		return err
	}
	if err := s.checkLength("prefix URI", m.URI); err != nil {
		return err
	}
	if limit := s.srv.cfg.MaxPrefixes; limit > 0 && s.prefixes.Len() >= limit && !s.prefixes.Has(m.Prefix) {
		return overLimit(limitPrefixes, "more than %d prefixes", limit)
	}
	s.prefixes.Set(m.Prefix, m.URI)
	return nil
}

// checkLength applies Config.MaxTopicLength to a URI.
func (s *session) checkLength(what, uri string) error {
	if limit := s.srv.cfg.MaxTopicLength; limit > 0 && len(uri) > limit {
		return overLimit(limitTopicLength, "a %s of %d bytes (at most %d)", what, len(uri), limit)
	}
	return nil
}

func (s *session) subscribe(name string) error {
	if err := s.checkLength("topic", name); err != nil {
		return err
	}
	s.mu.Lock()
	_, already := s.topics.get(name)
	count := s.topics.len()
	s.mu.Unlock()
	if already {
		return nil
	}
	if limit := s.srv.cfg.MaxSubscriptions; limit > 0 && count >= limit {
		return overLimit(limitSubscriptions, "more than %d subscriptions", limit)
	}
	t, b, ok := s.srv.resolve(name)
	if !ok {
		return s.unknown(name, "SUBSCRIBE", nil)
	}
	if s.identity.Channels != nil && !channelAllowed(s.identity.Channels, name) {
		s.deny(t, "SUBSCRIBE", &Denial{Code: 403, Reason: fmt.Sprintf("Your token does not allow %q.", name)})
		return nil
	}
	if !b.Policy.Subscribe.allows(s.identity) {
		s.deny(t, "SUBSCRIBE", &Denial{Code: 401, Reason: fmt.Sprintf("You are not authorized to subscribe to %q: %s only.", name, b.Policy.Subscribe)})
		return nil
	}
	sub := subscription{topic: t, binding: b}
	s.mu.Lock()
	s.topics.add(name, sub)
	s.mu.Unlock()
	if !s.srv.subscribe(sub, s) {
		s.mu.Lock()
		s.topics.remove(name)
		s.mu.Unlock()
		s.srv.metrics.limitRefusals.WithLabelValues(limitTopics).Inc()
		s.logger().Warn("subscription refused: the node holds server.max_topics topics", "topic", name, "max_topics", s.srv.cfg.MaxTopics)
		s.deny(t, "SUBSCRIBE", &Denial{Code: 503, Reason: fmt.Sprintf("This server holds its maximum of %d topics.", s.srv.cfg.MaxTopics)})
		return nil
	}
	if h, ok := b.Handler.(SubscribeHandler); ok {
		if err := h.OnSubscribe(s.context(), s, t); err != nil {
			s.leave(name)
			s.deny(t, "SUBSCRIBE", err)
		}
	}
	return nil
}

// leave removes a subscription without telling its handler.
func (s *session) leave(name string) (subscription, bool) {
	s.mu.Lock()
	sub, ok := s.topics.remove(name)
	s.mu.Unlock()
	if ok {
		s.srv.unsubscribe(sub, s)
	}
	return sub, ok
}

func (s *session) unsubscribe(name string) {
	sub, ok := s.leave(name)
	if !ok {
		return
	}
	if h, ok := sub.binding.Handler.(UnsubscribeHandler); ok {
		h.OnUnsubscribe(s.context(), s, sub.topic)
	}
}

func (s *session) publish(name string, ev *PublishEvent) error {
	if err := s.checkLength("topic", name); err != nil {
		return err
	}
	t, b, ok := s.srv.resolve(name)
	if !ok {
		return s.unknown(name, "PUBLISH", nil)
	}
	if !b.Policy.Publish.allows(s.identity) {
		s.deny(t, "PUBLISH", &Denial{Code: 401, Reason: fmt.Sprintf("You are not authorized to publish to %q: %s only.", name, b.Policy.Publish)})
		return nil
	}
	if h, ok := b.Handler.(PublishHandler); ok {
		if err := h.OnPublish(s.context(), s, t, ev); err != nil {
			s.deny(t, "PUBLISH", err)
		}
	}
	return nil
}

// call answers a CALL through the route of its procedure URI, with Gos's
// shapes: CALLRESULT [3, id, result] where a result that is not a JSON
// array or object is wrapped in a list, and CALLERROR [4, id, procURI,
// description, {"code": …}].
func (s *session) call(m *wamp.Call) error {
	proc := s.prefixes.Resolve(m.Procedure)
	callErr := func(desc string, details json.RawMessage) {
		s.sendMessage(&wamp.CallError{CallID: m.CallID, ErrorURI: proc, Description: desc, Details: details})
	}
	if limit := s.srv.cfg.MaxTopicLength; limit > 0 && len(proc) > limit {
		s.srv.metrics.limitRefusals.WithLabelValues(limitTopicLength).Inc()
		s.logger().Info("call refused: over a limit", "limit", "server."+limitTopicLength, "length", len(proc))
		proc = proc[:limit] // the error URI echoes no more than the limit
		callErr(fmt.Sprintf("The procedure URI is longer than %d bytes.", limit), json.RawMessage(`{"code":414}`))
		return nil
	}
	t, b, ok := s.srv.resolve(proc)
	if !ok {
		return s.unknown(proc, "CALL", m.CallID)
	}
	h, ok := b.Handler.(CallHandler)
	if !ok {
		if t.Route == nil {
			callErr(fmt.Sprintf("No RPC handler is registered for %q.", proc), json.RawMessage(`{"code":404}`))
		} else {
			callErr(fmt.Sprintf("A RPC handler for the %q route has not been registered.", t.Route.Name), json.RawMessage(`{"code":404}`))
		}
		return nil
	}
	result, err := h.OnCall(s.context(), s, t, m.Params())
	if err != nil {
		d := denialOf(err)
		s.logger().Info("call failed", "procedure", proc, "route", t.RouteName(), "code", d.code(), "reason", d.Error())
		callErr(d.Error(), d.details())
		return nil
	}
	switch r := bytes.TrimSpace(result); {
	case len(r) == 0 || string(r) == "null" || string(r) == "false":
		callErr("RPC Error", json.RawMessage(`{"code":500}`))
		return nil
	case r[0] != '[' && r[0] != '{':
		result = append(append([]byte{'['}, r...), ']')
	}
	s.sendMessage(&wamp.CallResult{CallID: m.CallID, Result: result})
	return nil
}

// ID implements Session.
func (s *session) ID() string { return s.id }

// Identity implements Session.
func (s *session) Identity() Identity { return s.identity }

// SendText implements Session.
func (s *session) SendText(text string) { s.send(ws.AppendFrame(nil, ws.OpText, []byte(text))) }

// Close implements Session.
func (s *session) Close(code uint16, reason string) { s.close(code, reason) }

func jsonString(s string) json.RawMessage { return wamp.AppendString(nil, s) }

func (s *session) sendMessage(m wamp.Message) {
	frame, err := encodeFrame(s.codec, m)
	if err != nil {
		s.logger().Error("encoding message", "kind", m.Kind(), "err", err)
		return
	}
	s.answer(frame)
}

// encodeFrame encodes m with codec into one complete text frame.
func encodeFrame(codec wamp.Codec, m wamp.Message) ([]byte, error) {
	buf := framePool.Get().(*[]byte)
	payload, err := codec.Append((*buf)[:0], m)
	if err != nil {
		framePool.Put(buf)
		return nil, err
	}
	frame := ws.AppendFrame(make([]byte, 0, ws.FrameSize(len(payload))), ws.OpText, payload)
	if cap(payload) <= 64<<10 {
		*buf = payload
		framePool.Put(buf)
	}
	return frame, nil
}

var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func clip(b []byte) string {
	if len(b) > 200 {
		return strconv.Quote(string(b[:200])) + "…"
	}
	return strconv.Quote(string(b))
}

// topicSet is a session's subscriptions by topic name: a slice, scanned,
// while it is small (most sessions hold a few topics, and a map's first
// bucket costs far more than a few entries), and a map beyond.
type topicSet struct {
	list []namedSub
	m    map[string]subscription
}

type namedSub struct {
	name string
	sub  subscription
}

// topicSetListMax is the size up to which a topicSet scans a slice.
const topicSetListMax = 16

func (t *topicSet) get(name string) (subscription, bool) {
	if t.m != nil {
		sub, ok := t.m[name]
		return sub, ok
	}
	for _, e := range t.list {
		if e.name == name {
			return e.sub, true
		}
	}
	return subscription{}, false
}

// len returns the number of subscriptions.
func (t *topicSet) len() int {
	if t.m != nil {
		return len(t.m)
	}
	return len(t.list)
}

// add sets name's subscription.
func (t *topicSet) add(name string, sub subscription) {
	if t.m != nil {
		t.m[name] = sub
		return
	}
	for i := range t.list {
		if t.list[i].name == name {
			t.list[i].sub = sub
			return
		}
	}
	if len(t.list) < topicSetListMax {
		t.list = append(t.list, namedSub{name, sub})
		return
	}
	t.m = make(map[string]subscription, 2*topicSetListMax)
	for _, e := range t.list {
		t.m[e.name] = e.sub
	}
	t.m[name] = sub
	t.list = nil
}

func (t *topicSet) remove(name string) (subscription, bool) {
	if t.m != nil {
		sub, ok := t.m[name]
		delete(t.m, name)
		return sub, ok
	}
	for i, e := range t.list {
		if e.name == name {
			last := len(t.list) - 1
			t.list[i] = t.list[last]
			t.list[last] = namedSub{}
			t.list = t.list[:last]
			return e.sub, true
		}
	}
	return subscription{}, false
}

// all returns every subscription.
func (t *topicSet) all() []subscription {
	var out []subscription
	if t.m != nil {
		out = make([]subscription, 0, len(t.m))
		for _, sub := range t.m {
			out = append(out, sub)
		}
		return out
	}
	out = make([]subscription, 0, len(t.list))
	for _, e := range t.list {
		out = append(out, e.sub)
	}
	return out
}
