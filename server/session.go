package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/heraldws/herald/internal/netpoll"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// session is one WAMP session on its WebSocket connection: who the client
// is, what it subscribes to, and the operations on topics and procedures
// that every WAMP dialect shares (this file). Its protocol (see protocol)
// turns the client's messages into those operations; the connection's
// mechanics are in conn.go.
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
	poll *netpoll.Handle
	out  outbox
	// proto is the WAMP dialect spoken; set before the session starts.
	proto protocol

	identity Identity
	// life, made on first use by a read turn, holds the context that ends
	// when the session does (few sessions need one: it is a pointer, so
	// that the others stay small).
	life *sessionLife

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
	// wire is the codec of proto's EVENTs, for fan-out (here, beside the
	// flags, it takes no word of its own).
	wire wireCodec
}

// sessionLife is a session's context and its cancel function.
type sessionLife struct {
	ctx    context.Context
	cancel context.CancelFunc
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

func newSession(srv *Server, id string, identity Identity, proto protocol, conn net.Conn, pre []byte) *session {
	s := &session{
		srv:      srv,
		id:       id,
		identity: identity,
		proto:    proto,
		wire:     proto.wire(),
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
	if s.life == nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.life = &sessionLife{ctx: ctx, cancel: cancel}
	}
	return s.life.ctx
}

// logger returns the server's logger with the session's id and remote
// address. It is built when something is logged, so that an idle session
// holds none.
func (s *session) logger() *slog.Logger {
	return s.srv.log.With("session", s.id, "remote", s.remote())
}

// remote is the client's address: the one a trusted proxy named, else the
// connection's peer.
func (s *session) remote() string {
	if s.extra != nil && s.extra.remote != "" {
		return s.extra.remote
	}
	return s.conn.RemoteAddr().String()
}

// errUnknownTopic closes the connection when a topic matches no route and
// the policy is close.
var errUnknownTopic = errors.New("server: no route matches the topic")

// refusal is an event the server turned down, for the client to be told
// in its protocol's form (WAMP v1: a CALLERROR, or the raw text frame of
// an Oro denial).
type refusal struct {
	// uri is the topic or procedure the answer names.
	uri    string
	denial *Denial
}

func (r *refusal) Error() string { return r.denial.Error() }

// unknown applies the unknown-topic policy to a name that matched no
// route: errUnknownTopic to close the connection, or a refusal (404).
func (s *session) unknown(name, what string) error {
	s.srv.logUnknown(s.logger(), name, what)
	if s.srv.cfg.UnknownTopic == UnknownClose {
		return fmt.Errorf("%w: %q", errUnknownTopic, name)
	}
	return &refusal{uri: name, denial: &Denial{Code: 404, Reason: fmt.Sprintf("No route matches %q.", name)}}
}

// refuse logs a topic event that err turned down and returns its
// refusal.
func (s *session) refuse(t *Topic, what string, err error) *refusal {
	d := denialOf(err)
	s.logger().Info("refused", "message", what, "topic", t.Name, "route", t.RouteName(), "code", d.code(), "reason", d.Error())
	return &refusal{uri: t.Name, denial: d}
}

// checkLength applies Config.MaxTopicLength to a URI.
func (s *session) checkLength(what, uri string) error {
	if limit := s.srv.cfg.MaxTopicLength; limit > 0 && len(uri) > limit {
		return overLimit(limitTopicLength, "a %s of %d bytes (at most %d)", what, len(uri), limit)
	}
	return nil
}

// subscribe subscribes the session to a topic through its route's policy
// and handler. It returns nil (subscribed, or already), a *refusal, or an
// error that closes the connection (a limit, an unknown topic under the
// close policy).
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
	if isMetaTopic(name) {
		// The meta API's events: no route, only the server publishes.
		t, b, ok = &Topic{srv: s.srv, Name: name}, Binding{}, true
	}
	if !ok {
		return s.unknown(name, "SUBSCRIBE")
	}
	if s.identity.Channels != nil && !channelAllowed(s.identity.Channels, name) {
		return s.refuse(t, "SUBSCRIBE", &Denial{Code: 403, Reason: fmt.Sprintf("Your token does not allow %q.", name)})
	}
	if !b.Policy.Subscribe.allows(s.identity) {
		return s.refuse(t, "SUBSCRIBE", &Denial{Code: 401, Reason: fmt.Sprintf("You are not authorized to subscribe to %q: %s only.", name, b.Policy.Subscribe)})
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
		return s.refuse(t, "SUBSCRIBE", &Denial{Code: 503, Reason: fmt.Sprintf("This server holds its maximum of %d topics.", s.srv.cfg.MaxTopics)})
	}
	if h, ok := b.Handler.(SubscribeHandler); ok {
		if err := h.OnSubscribe(s.context(), s, t); err != nil {
			s.leave(name)
			return s.refuse(t, "SUBSCRIBE", err)
		}
	}
	return nil
}

// subscriptionCount returns how many exact topics the session subscribes
// to.
func (s *session) subscriptionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics.len()
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

// unsubscribe leaves a topic and tells its handler; it reports whether
// the session was subscribed.
func (s *session) unsubscribe(name string) bool {
	sub, ok := s.leave(name)
	if !ok {
		return false
	}
	if h, ok := sub.binding.Handler.(UnsubscribeHandler); ok {
		h.OnUnsubscribe(s.context(), s, sub.topic)
	}
	return true
}

// publish hands a client's publication to its route's handler, under the
// route's policy. It returns nil, a *refusal, or an error that closes the
// connection.
func (s *session) publish(name string, ev *PublishEvent) error {
	if err := s.checkLength("topic", name); err != nil {
		return err
	}
	if strings.HasPrefix(name, metaTopicPrefix) && wamp.ReservedURI(name) {
		return &refusal{uri: name, denial: &Denial{Code: 403, URI: wamp.URIInvalidURI, Reason: fmt.Sprintf("%q is reserved for the router's meta events.", name)}}
	}
	t, b, ok := s.srv.resolve(name)
	if !ok {
		return s.unknown(name, "PUBLISH")
	}
	if !b.Policy.Publish.allows(s.identity) {
		return s.refuse(t, "PUBLISH", &Denial{Code: 401, Reason: fmt.Sprintf("You are not authorized to publish to %q: %s only.", name, b.Policy.Publish)})
	}
	if h, ok := b.Handler.(PublishHandler); ok {
		if err := h.OnPublish(s.context(), s, t, ev); err != nil {
			return s.refuse(t, "PUBLISH", err)
		}
	}
	return nil
}

// call runs a call of procedure proc through its route's handler and
// returns the handler's result; the error is a *refusal, or one that
// closes the connection (an unknown procedure under the close policy).
func (s *session) call(proc string, c *CallEvent) (wamp.Payload, error) {
	if limit := s.srv.cfg.MaxTopicLength; limit > 0 && len(proc) > limit {
		s.srv.metrics.limitRefusals.WithLabelValues(limitTopicLength).Inc()
		s.logger().Info("call refused: over a limit", "limit", "server."+limitTopicLength, "length", len(proc))
		// The answer echoes no more of the URI than the limit.
		return wamp.Payload{}, &refusal{uri: proc[:limit], denial: &Denial{Code: 414, Reason: fmt.Sprintf("The procedure URI is longer than %d bytes.", limit)}}
	}
	t, b, ok := s.srv.resolve(proc)
	if !ok {
		return wamp.Payload{}, s.unknown(proc, "CALL")
	}
	h, ok := b.Handler.(CallHandler)
	if !ok {
		reason := fmt.Sprintf("No RPC handler is registered for %q.", proc)
		if t.Route != nil {
			reason = fmt.Sprintf("A RPC handler for the %q route has not been registered.", t.Route.Name)
		}
		return wamp.Payload{}, &refusal{uri: proc, denial: &Denial{Code: 404, Reason: reason}}
	}
	result, err := h.OnCall(s.context(), s, t, c)
	if err != nil {
		d := denialOf(err)
		s.logger().Info("call failed", "procedure", proc, "route", t.RouteName(), "code", d.code(), "reason", d.Error())
		return wamp.Payload{}, &refusal{uri: proc, denial: d}
	}
	return result, nil
}

// ID implements Session.
func (s *session) ID() string { return s.id }

// Number implements Session.
func (s *session) Number() uint64 {
	n, _ := sessionNumber(s.id)
	return n
}

// Identity implements Session.
func (s *session) Identity() Identity { return s.identity }

// SendText implements Session.
func (s *session) SendText(text string) { s.send(ws.AppendFrame(nil, ws.OpText, []byte(text))) }

// Close implements Session.
func (s *session) Close(code uint16, reason string) { s.close(code, reason) }

func jsonString(s string) json.RawMessage { return wamp.AppendString(nil, s) }

// encodeFrame encodes m with codec into one complete text frame.
func encodeFrame(codec wamp.Codec, m wamp.Message) ([]byte, error) {
	buf := framePool.Get().(*[]byte)
	payload, err := codec.Append((*buf)[:0], m)
	if err != nil {
		framePool.Put(buf)
		return nil, err
	}
	op := byte(ws.OpText)
	if codec.Binary() {
		op = ws.OpBinary
	}
	frame := ws.AppendFrame(make([]byte, 0, ws.FrameSize(len(payload))), op, payload)
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
