// Package server is herald's WebSocket pub/sub server: WAMP v1 sessions as
// Ratchet and GosWebSocketBundle serve them, a hub that fans publications
// out to the exact-topic subscribers, and the HTTP endpoints beside them
// (/healthz, /metrics).
//
// A Server is an http.Handler. WebSocket upgrades are recognised on any
// path; other requests go to the HTTP endpoints. Embed it in any
// http.Server, or use HTTPServer for one with herald's timeouts, and call
// Shutdown to close every WebSocket connection: http.Server.Shutdown does
// not wait for hijacked connections.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/internal/dealer"
	"github.com/heraldws/herald/internal/netpoll"
	"github.com/heraldws/herald/internal/shrink"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// Version is herald's version, reported in WELCOME, X-Powered-By and
// `herald version`. Release builds set it with -ldflags -X.
var Version = "0.1.0-dev"

// ErrServerClosed is returned by Shutdown when it was already called.
var ErrServerClosed = errors.New("server: closed")

// Server serves WAMP over WebSocket. Create it with New; it is safe for
// concurrent use.
type Server struct {
	cfg       Config
	log       *slog.Logger
	ids       *sessionIDs
	hub       *hub
	metrics   *metrics
	origins   map[string]struct{}
	poweredBy string
	mux       *http.ServeMux
	bindings  map[string]Binding
	timers    topicTimers
	broker    broker.Broker
	connRate  *addrLimiter // nil without Config.MaxConnectionRate

	resyncStop chan struct{}
	resyncDone chan struct{}
	// settleUntil is when, in Unix nanoseconds, publications resume after
	// the broker came back (see Config.BrokerSettle).
	settleUntil atomic.Int64
	// brokerUp is the broker's readiness as resync last handled it: a
	// broker that is back but whose return resync has not handled yet
	// (topics resubscribed, settle time set) still refuses publications.
	brokerUp atomic.Bool

	nodes        nodes
	announceStop chan struct{}
	announceDone chan struct{}

	admitted atomic.Int64 // connection slots taken, handshakes included

	mu           sync.Mutex // guards byID and the shutting-down transition
	byID         map[string]*session
	byIDPeak     shrink.Peak
	shuttingDown atomic.Bool
	sessions     sync.WaitGroup // one per session, until it finishes

	keepaliveStop chan struct{}
	keepaliveDone chan struct{}
	pingPayload   atomic.Pointer[string]

	// poller wakes parked sessions; nil where unsupported or disabled.
	poller *netpoll.Poller
	// outboxes is what every session's outbox shares, the writers among
	// it; nextWriter deals connections out to the writers.
	outboxes   outboxEnv
	nextWriter atomic.Uint32
	// gate is where writers and busy read turns let the network in; nil
	// when it could not be made (they then yield with Gosched).
	gate *pollGate

	// registry holds the procedures WAMP v2 callees registered, calls the
	// calls in flight to them (see rpc.go).
	registry *dealer.Registry
	calls    *dealer.Calls
	// patterns holds the v2 prefix and wildcard subscriptions.
	patterns patternSubs

	trimStop chan struct{} // ends trim; nil when DisableMemoryTrim
	trimDone chan struct{}
}

// New returns a Server for cfg. It starts the keepalive goroutine when
// cfg.KeepalivePing is set; Shutdown stops it.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	ids, err := newSessionIDs(cfg.NodeID)
	if err != nil {
		return nil, err
	}
	binds, err := bindings(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		ids:       ids,
		hub:       newHub(cfg.MaxTopics),
		metrics:   newMetrics(),
		origins:   make(map[string]struct{}, len(cfg.Origins)),
		poweredBy: sanitizeHeaderValue(cfg.ServerIdent),
		byID:      make(map[string]*session),
		bindings:  binds,
		connRate:  newAddrLimiter(cfg.MaxConnectionRate),
	}
	for _, o := range cfg.Origins {
		s.origins[strings.ToLower(strings.TrimSpace(o))] = struct{}{}
	}
	empty := ""
	s.pingPayload.Store(&empty)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.registerAPI()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Powered-By", s.poweredBy)
		http.Error(w, "This is a WebSocket (WAMP) endpoint: connect with a WebSocket client.", http.StatusUpgradeRequired)
	})
	newBroker := cfg.Broker
	if newBroker == nil {
		newBroker = func(d broker.Deliver) (broker.Broker, error) { return broker.NewMemory(d), nil }
	}
	if s.broker, err = newBroker(s.deliver); err != nil {
		return nil, fmt.Errorf("server: starting the broker: %w", err)
	}
	if !cfg.DisablePoller {
		if s.poller, err = netpoll.New(); err != nil {
			s.log.Debug("no poller: one goroutine per connection", "err", err)
			s.poller = nil
		}
	}
	if s.gate, err = newPollGate(); err != nil {
		s.log.Warn("busy writers and readers yield without polling the network: requests may wait for a write pass", "err", err)
		s.gate = nil
	}
	s.outboxes = outboxEnv{writers: newWriters(s.gate), writeTimeout: cfg.WriteTimeout, bytesOut: s.metrics.bytesOut, messagesOut: s.metrics.messagesOut}
	if !cfg.DisableMemoryTrim {
		s.trimStop, s.trimDone = make(chan struct{}), make(chan struct{})
		go s.trim()
	}
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready() {
			http.Error(w, "not ready: the broker is unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	s.resyncStop, s.resyncDone = make(chan struct{}), make(chan struct{})
	s.brokerUp.Store(s.broker.Ready())
	s.metrics.brokerReady.Set(boolGauge(s.brokerUp.Load()))
	go s.resync()
	s.registry = dealer.NewRegistry()
	s.calls = dealer.NewCalls(s.callTimedOut)
	s.nodes.instance, s.nodes.interval = newInstanceID(), cfg.NodeAnnounceInterval
	s.nodes.kicks = make(chan struct{}, 1)
	if s.nodes.interval <= 0 {
		s.nodes.interval = DefaultNodeAnnounceInterval
	}
	s.announceStop, s.announceDone = make(chan struct{}), make(chan struct{})
	go s.announceLoop(s.announceStop, s.announceDone)
	if cfg.KeepalivePing {
		s.keepaliveStop = make(chan struct{})
		s.keepaliveDone = make(chan struct{})
		go s.keepalive()
	}
	return s, nil
}

// HTTPServer returns an http.Server that serves s on addr with the
// handshake timeout and a header limit. HTTP/2 is off: WebSocket upgrades
// need HTTP/1.1, also over TLS.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: s.cfg.HandshakeTimeout,
		MaxHeaderBytes:    8 << 10,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// ServeHTTP upgrades WebSocket requests on any path and serves the HTTP
// endpoints otherwise.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.TrustedProxies) > 0 || len(s.cfg.BlockedIPs) > 0 {
		if client := s.clientOf(r); client.IsValid() && s.blocked(client) {
			s.dropBlocked(w, r)
			return
		}
	}
	if isUpgrade(r) {
		s.upgrade(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Publication is an event for the subscribers of one exact topic.
type Publication struct {
	Topic string
	// Payload is what subscribers receive: WAMP v2 subscribers as it is,
	// v1 subscribers its v1 form (Payload.V1Event). A v1 event is a
	// payload's only positional argument (wamp.PayloadOfV1).
	Payload wamp.Payload
	// Audience narrows who receives it; exclusions apply first.
	Audience
	// Publisher, when not nil, is disclosed to WAMP v2 subscribers.
	Publisher *Publisher
	// ID is the publication's WAMP v2 id, the same on every node; zero
	// means one is drawn when it is first needed.
	ID uint64
}

// eligibleLookupMax is the eligible-list length up to which a publication
// looks its recipients up by session id instead of scanning the topic.
const eligibleLookupMax = 64

// Publish sends p through the broker to the subscribers of p.Topic on
// every node, this one included. It fails, wrapping broker.ErrUnavailable,
// while the broker cannot carry it; nothing is then delivered anywhere.
func (s *Server) Publish(ctx context.Context, p Publication) error {
	return s.publish(ctx, p, true)
}

// publish is Publish; without confirm, a broker.Pipeliner hands the
// publication on without waiting for its server (see Topic.Relay).
func (s *Server) publish(ctx context.Context, p Publication, confirm bool) error {
	if p.Topic == nodesTopic || p.Topic == patternsTopic {
		return fmt.Errorf("server: %q is reserved for herald's own use", p.Topic)
	}
	if !s.brokerUp.Load() || time.Now().UnixNano() < s.settleUntil.Load() {
		s.metrics.brokerFailures.Inc()
		return fmt.Errorf("server: publishing to %q: %w: the broker is down, or back while the nodes resubscribe", p.Topic, broker.ErrUnavailable)
	}
	bp := broker.Publication{
		Topic: p.Topic, ID: p.ID, Exclude: p.Exclude, Eligible: p.Eligible, Origin: s.ids.nodeID(),
		ExcludeAuthID: p.ExcludeAuthID, EligibleAuthID: p.EligibleAuthID,
		ExcludeAuthRole: p.ExcludeAuthRole, EligibleAuthRole: p.EligibleAuthRole,
	}
	if p.Publisher != nil {
		bp.Publisher = &broker.Publisher{Session: p.Publisher.Session, AuthID: p.Publisher.AuthID, AuthRole: p.Publisher.AuthRole}
	}
	if event, ok := p.Payload.SingleArg(); ok {
		bp.Payload = event
	} else {
		bp.Payload, bp.Args, bp.Kwargs = p.Payload.V1Event(), p.Payload.Args, p.Payload.Kwargs
	}
	var err error
	if pl, ok := s.broker.(broker.Pipeliner); ok && !confirm {
		err = pl.PublishNoWait(ctx, bp)
	} else {
		err = s.broker.Publish(ctx, bp)
	}
	if err == nil && s.clusterHasPatterns() {
		err = s.publishToPatterns(ctx, bp, confirm)
	}
	if err != nil {
		s.metrics.brokerFailures.Inc()
		if errors.Is(err, broker.ErrUnavailable) {
			// An outage seen here counts even if it ends before resync
			// polls: its end then brings the resubscription and settle
			// time like any other.
			s.brokerUp.Store(false)
			s.metrics.brokerReady.Set(0)
		}
		return fmt.Errorf("server: publishing to %q: %w", p.Topic, err)
	}
	return nil
}

// deliver is the broker's Deliver: a publication for a topic this node
// subscribes to, from any node.
func (s *Server) deliver(p broker.Publication) {
	switch p.Topic {
	case nodesTopic:
		s.heard(p)
		return
	case patternsTopic:
		inner, err := broker.Unmarshal(p.Payload)
		if err != nil {
			s.log.Error("a pattern publication from the broker is malformed", "err", err)
			return
		}
		pub := s.publicationOf(inner)
		s.fanoutPatterns(&pub, s.filterOrNil(&pub))
		return
	}
	s.fanoutExact(s.publicationOf(p))
}

// publicationOf is a broker publication as the server delivers it.
func (s *Server) publicationOf(p broker.Publication) Publication {
	payload := wamp.Payload{Args: p.Args, Kwargs: p.Kwargs}
	if payload.IsZero() {
		payload = wamp.PayloadOfV1(p.Payload)
	}
	pub := Publication{Topic: p.Topic, ID: p.ID, Payload: payload, Audience: Audience{
		Exclude: p.Exclude, Eligible: p.Eligible,
		ExcludeAuthID: p.ExcludeAuthID, EligibleAuthID: p.EligibleAuthID,
		ExcludeAuthRole: p.ExcludeAuthRole, EligibleAuthRole: p.EligibleAuthRole,
	}}
	if p.Publisher != nil {
		pub.Publisher = &Publisher{Session: p.Publisher.Session, AuthID: p.Publisher.AuthID, AuthRole: p.Publisher.AuthRole}
	}
	return pub
}

// fanout delivers p to the local subscribers of p.Topic and returns how
// many were sent the event. The event is encoded and framed once per wire
// codec its subscribers speak; every subscriber of a codec gets the same
// bytes. It never waits for a subscriber: one whose queue is full is
// closed as a slow consumer.
func (s *Server) fanout(p Publication) int {
	return s.fanoutExact(p) + s.fanoutPatterns(&p, s.filterOrNil(&p))
}

// fanoutExact delivers p to the subscribers of its exact topic only.
func (s *Server) fanoutExact(p Publication) int {
	s.metrics.publications.Inc()
	frames := eventFrames{p: &p}
	delivered := 0
	if p.everyone() {
		s.hub.subscribers(p.Topic, &frames.sub, func(sess *session) {
			if f := frames.frame(s, sess.wire); f != nil && sess.send(f) {
				delivered++
			}
		})
		return delivered
	}
	to := s.filter(&p.Audience)
	if n := len(p.Eligible); n > 0 && n <= eligibleLookupMax {
		ids := s.localIDs(p.Eligible)
		for i, id := range ids {
			if contains(ids[:i], id) {
				continue
			}
			// Subscribed first: a session's identity is only read once it
			// has joined (a WAMP v2 session sets it at AUTHENTICATE).
			if sess := s.lookup(id); sess != nil && s.hub.isSubscribed(p.Topic, sess) && to.admits(sess) {
				if f := frames.frame(s, sess.wire); f != nil && sess.send(f) {
					delivered++
				}
			}
		}
		return delivered
	}
	s.hub.subscribers(p.Topic, &frames.sub, func(sess *session) {
		if !to.admits(sess) {
			return
		}
		if f := frames.frame(s, sess.wire); f != nil && sess.send(f) {
			delivered++
		}
	})
	return delivered
}

// Stats is a snapshot of the server's state.
type Stats struct {
	Connections   int
	Topics        int
	Subscriptions int
}

// Stats returns the current connection, topic and subscription counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	conns := len(s.byID)
	s.mu.Unlock()
	subs := 0
	for i := range s.hub.shards {
		sh := &s.hub.shards[i]
		sh.mu.RLock()
		for _, t := range sh.topics {
			t.mu.RLock()
			subs += len(t.subs)
			t.mu.RUnlock()
		}
		sh.mu.RUnlock()
	}
	return Stats{Connections: conns, Topics: s.hub.topicCount(), Subscriptions: subs}
}

// Shutdown closes every WebSocket connection with 1001 (going away), gives
// each CloseGrace to answer, and waits for every session goroutine. New
// upgrades are refused from the start. When ctx ends first the remaining
// connections are dropped and ctx's error is returned. Shut the
// http.Server down first so that no new request arrives.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.shuttingDown.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.shuttingDown.Store(true)
	open := make([]*session, 0, len(s.byID))
	for _, sess := range s.byID {
		open = append(open, sess)
	}
	s.mu.Unlock()

	if s.keepaliveStop != nil {
		close(s.keepaliveStop)
		<-s.keepaliveDone
	}
	s.timers.close()
	if s.trimStop != nil {
		close(s.trimStop)
		<-s.trimDone
	}
	close(s.resyncStop)
	<-s.resyncDone
	close(s.announceStop)
	<-s.announceDone
	defer s.broker.Close(context.WithoutCancel(ctx))
	defer s.closeIO() // once every session has finished
	defer s.calls.Close()
	for _, sess := range open {
		sess.proto.goingAway(sess)
		sess.close(ws.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.sessions.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, sess := range open {
			sess.conn.Close()
			sess.wake()
		}
		<-done
		return ctx.Err()
	}
}

// watch registers conn with the poller, so that its session can park
// between messages; nil when it cannot (no poller, TLS).
func (s *Server) watch(conn net.Conn, wake func()) *netpoll.Handle {
	if s.poller == nil {
		return nil
	}
	h, err := s.poller.Register(conn, wake)
	if err != nil {
		if !errors.Is(err, netpoll.ErrUnsupported) {
			s.log.Debug("connection not parkable", "err", err)
		}
		return nil
	}
	return h
}

// closeIO stops the writers and the poller, once no session is left.
func (s *Server) closeIO() {
	s.outboxes.writers.close()
	if s.gate != nil {
		s.gate.close()
	}
	if s.poller != nil {
		if err := s.poller.Close(); err != nil {
			s.log.Warn("closing the poller", "err", err)
		}
	}
}

// admit takes a connection slot, or reports that none is free.
func (s *Server) admit() bool {
	if s.shuttingDown.Load() {
		return false
	}
	n := s.admitted.Add(1)
	if s.cfg.MaxConnections > 0 && n > int64(s.cfg.MaxConnections) {
		s.admitted.Add(-1)
		return false
	}
	return true
}

func (s *Server) release() { s.admitted.Add(-1) }

// addSession registers a session and starts its read loop, unless the
// server is shutting down.
func (s *Server) addSession(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown.Load() {
		return false
	}
	s.byID[sess.id] = sess
	s.byIDPeak.Grew(len(s.byID))
	s.metrics.connections.Inc()
	s.metrics.connectionsTotal.Inc()
	s.sessions.Add(1) // done by sess.finish
	sess.start()
	return true
}

func (s *Server) removeSession(sess *session) {
	s.release() // first, so that a session no longer listed never holds a slot
	s.mu.Lock()
	delete(s.byID, sess.id)
	s.byID = shrink.Map(s.byID, &s.byIDPeak)
	s.mu.Unlock()
	s.metrics.connections.Dec()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		sess.logger().Debug("session closed", "slow_consumer", sess.slow.Load())
	}
}

func (s *Server) lookup(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// subscribe adds sess to the subscribers of sub's topic. It reports false
// when the topic would be new and the node holds MaxTopics already.
func (s *Server) subscribe(sub subscription, sess *session) bool {
	added, newTopic, full := s.hub.subscribe(sub.topic.Name, sess)
	if full {
		return false
	}
	if added {
		s.metrics.subscriptions.Inc()
	}
	if newTopic {
		s.metrics.topics.Inc()
		if err := s.broker.Subscribe(context.Background(), sub.topic.Name); err != nil {
			// The resync loop subscribes it once the broker is back.
			s.log.Warn("broker subscribe failed; retried when the broker is back", "topic", sub.topic.Name, "err", err)
		}
		if h, ok := sub.binding.Handler.(TimerHandler); ok {
			s.timers.sync(sub.topic, h)
		}
	}
	return true
}

func (s *Server) unsubscribe(sub subscription, sess *session) {
	removed, gone := s.hub.unsubscribe(sub.topic.Name, sess)
	if removed {
		s.metrics.subscriptions.Dec()
	}
	if gone {
		s.metrics.topics.Dec()
		if sub.topic.Name != nodesTopic { // the server's own subscription stays
			s.broker.Unsubscribe(context.Background(), sub.topic.Name)
		}
		if h, ok := sub.binding.Handler.(TimerHandler); ok {
			s.timers.sync(sub.topic, h)
		}
	}
}

// keepalive pings every connection each KeepaliveInterval and closes the
// ones that did not answer the previous PING, as Ratchet's
// WsServer::enableKeepAlive does.
func (s *Server) keepalive() {
	defer close(s.keepaliveDone)
	t := time.NewTicker(s.cfg.KeepaliveInterval)
	defer t.Stop()
	var seq uint64
	for {
		select {
		case <-s.keepaliveStop:
			return
		case <-t.C:
		}
		seq++
		payload := strconv.FormatInt(time.Now().UnixMicro(), 16) + strconv.FormatUint(seq, 16)
		s.pingPayload.Store(&payload)
		frame := ws.AppendFrame(nil, ws.OpPing, []byte(payload))
		s.mu.Lock()
		open := make([]*session, 0, len(s.byID))
		for _, sess := range s.byID {
			open = append(open, sess)
		}
		s.mu.Unlock()
		for _, sess := range open {
			if sess.awaitPong.Swap(true) {
				sess.logger().Info("closing connection: no PONG since the last keepalive PING")
				sess.close(ws.CloseNormal, "keepalive timeout")
				continue
			}
			sess.send(frame)
		}
	}
}

func (s *Server) keepalivePayload() string { return *s.pingPayload.Load() }

// idSet answers membership for a session-id list; short lists are scanned.
type idSet struct {
	list []string
	m    map[string]struct{}
}

func newIDSet(ids []string) idSet {
	if len(ids) <= 8 {
		return idSet{list: ids}
	}
	m := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		m[id] = struct{}{}
	}
	return idSet{m: m}
}

func (s idSet) has(id string) bool {
	if s.m != nil {
		_, ok := s.m[id]
		return ok
	}
	return contains(s.list, id)
}

func contains(list []string, id string) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}

// resync subscribes the broker again to every local topic each time the
// broker becomes ready after an outage, so topics whose subscription
// failed while it was down receive publications again, then sets the
// settle time and brokerUp. It polls the broker's readiness; an outage too
// short for a poll to see counts as well when a Publish met it.
func (s *Server) resync() {
	defer close(s.resyncDone)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	settle := s.cfg.BrokerSettle
	if settle <= 0 {
		settle = DefaultBrokerSettle
	}
	for {
		select {
		case <-s.resyncStop:
			return
		case <-t.C:
		}
		ready := s.broker.Ready()
		if ready == s.brokerUp.Load() {
			continue
		}
		s.metrics.brokerReady.Set(boolGauge(ready))
		if !ready {
			s.brokerUp.Store(false)
			s.log.Warn("broker unavailable: publications fail until it is back")
			continue
		}
		topics := append(s.localTopics(), nodesTopic)
		if s.patterns.n.Load() > 0 {
			topics = append(topics, patternsTopic)
		}
		for _, topic := range topics {
			if err := s.broker.Subscribe(context.Background(), topic); err != nil {
				s.log.Warn("broker resubscribe failed", "topic", topic, "err", err)
			}
		}
		s.settleUntil.Store(time.Now().Add(settle).UnixNano())
		s.brokerUp.Store(true)
		s.log.Info("broker available again; publications resume after the settle time", "topics_resubscribed", len(topics)-1, "settle", settle)
	}
}

// DefaultBrokerSettle is Config.BrokerSettle's default.
const DefaultBrokerSettle = 3 * time.Second

// ready reports whether publications can go out: the broker is up and
// settled after any outage.
func (s *Server) ready() bool {
	return s.broker.Ready() && s.brokerUp.Load() && time.Now().UnixNano() >= s.settleUntil.Load()
}

func (s *Server) localTopics() []string {
	var out []string
	for i := range s.hub.shards {
		sh := &s.hub.shards[i]
		sh.mu.RLock()
		for name := range sh.topics {
			out = append(out, name)
		}
		sh.mu.RUnlock()
	}
	return out
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
