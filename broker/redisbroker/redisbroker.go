// Package redisbroker is a broker.Broker over Redis Pub/Sub: every node of
// a herald cluster connects to one Redis and publishes each publication
// on the channel Prefix+topic; a node subscribes to the channels of the
// topics that have subscribers on it, and to nothing else.
//
// Channels are binary-safe in Redis, so any topic string is used as it
// is, with no escaping; there are no pattern subscriptions, so `*`, `?`
// and `[` in a topic mean nothing. Several clusters share one Redis under
// different prefixes; no prefix may be a prefix of another ("herald:" and
// "herald:x:" would meet on "herald:x:t"), and a node drops any message
// whose encoded topic is not the topic its channel names.
//
// Guarantees are those of broker: at most once, to the nodes subscribed
// when the publication passes through Redis; in order per publisher (a
// caller whose Publish returned before its next one); nothing stored.
// More precisely, a node receives everything one node published, in the
// order of the Publish calls that returned one after the other, across
// topics too, because each node reads one connection from one goroutine.
//
// Connections: a pool of connections for publishing and one Pub/Sub
// connection, owned by one goroutine that reads it, calls Deliver one
// publication at a time and pings Redis when idle. Publications from
// concurrent callers are sent in pipelines (one round trip for all that
// are waiting); no PUBLISH is retried, since a retry after a lost reply
// would deliver twice.
//
// Outages: when the Pub/Sub connection breaks, or Redis answers no ping
// for three health intervals, Ready turns false; Publish and Subscribe
// then fail at once with errors wrapping broker.ErrUnavailable (a Publish
// already under way fails with one when Redis does not answer it), and
// Unsubscribe still takes effect (the topic is not restored). The reader
// reconnects with backoff (50 ms to 1 s); go-redis's PubSub subscribes
// the new connection to every channel it holds before anything else is
// read on it, so when Ready turns true again the node's topics are
// subscribed again. Publications made during the outage are lost to this
// node's subscribers: Redis stores nothing.
package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/heraldws/herald/broker"
)

// DefaultURL is the Redis a Config with no URL connects to.
const DefaultURL = "redis://127.0.0.1:6379/0"

// DefaultPrefix is the channel prefix of a Config with no Prefix.
const DefaultPrefix = "herald:"

// Config configures a Broker.
type Config struct {
	// URL is the Redis to connect to, as go-redis's ParseURL reads it:
	// redis://[user:password@]host:port/db, rediss:// for TLS, and query
	// options such as dial_timeout=2s. Default DefaultURL.
	URL string
	// Prefix starts the name of every channel: Prefix + topic. Default
	// DefaultPrefix.
	Prefix string
	// NodeID names this node: the Origin of the publications published
	// without one, and the Redis client name. Default: host name and a
	// random suffix.
	NodeID string
	// Logger receives connection state changes. Default slog.Default().
	Logger *slog.Logger
}

// tuning holds the timings tests shorten.
type tuning struct {
	// health is how long the reader waits for a message before it pings
	// Redis; three of them without an answer and the connection is taken
	// for dead.
	health time.Duration
	// op bounds waiting for Redis to confirm a subscription.
	op time.Duration
	// minBackoff and maxBackoff bound the wait between reconnections.
	minBackoff, maxBackoff time.Duration
}

var defaultTuning = tuning{health: time.Second, op: 3 * time.Second, minBackoff: 50 * time.Millisecond, maxBackoff: time.Second}

// maxBatch is the most publications sent in one pipeline.
const maxBatch = 512

// healthToken is the payload of the reader's own pings.
const healthToken = "herald-health"

// Broker is a broker.Broker over Redis Pub/Sub. It is safe for concurrent
// use.
type Broker struct {
	prefix  string
	nodeID  string
	log     *slog.Logger
	deliver broker.Deliver
	tune    tuning
	client  *redis.Client

	// cmdMu orders changes to topics with the commands that make them
	// in Redis: SUBSCRIBE and UNSUBSCRIBE, replacing the PubSub.
	cmdMu sync.Mutex

	mu      sync.Mutex
	topics  map[string]*subscription
	ps      *redis.PubSub
	waiters map[string]chan error // ping token → its caller
	seq     uint64

	ready        atomic.Bool
	closed       atomic.Bool
	firstAttempt chan struct{} // closed once the first connection succeeded or failed
	attemptOnce  sync.Once

	pubq          chan *pubReq
	closing       chan struct{}
	stopReader    context.CancelFunc
	readerDone    chan struct{}
	publisherDone chan struct{}
	closeOnce     sync.Once
	clientOnce    sync.Once
}

var _ broker.Pipeliner = (*Broker)(nil)

// subscription is a topic subscribed on this node; done is closed once
// Redis confirmed it (err nil) or it failed (err set, topic removed).
type subscription struct {
	done chan struct{}
	err  error
}

type pubReq struct {
	topic   string
	channel string
	data    []byte
	done    chan error // nil for PublishNoWait
}

var errNotConnected = errors.New("not connected to Redis")

// New returns a Broker connected to the Redis of cfg.URL, delivering to
// deliver the publications of the topics it is subscribed to. It fails
// only on an invalid configuration: when Redis cannot be reached, New
// tries once (no longer than the dial timeout) and returns a Broker that
// is not Ready and keeps reconnecting.
func New(cfg Config, deliver broker.Deliver) (*Broker, error) {
	return newBroker(cfg, deliver, defaultTuning)
}

func newBroker(cfg Config, deliver broker.Deliver, tune tuning) (*Broker, error) {
	if deliver == nil {
		return nil, errors.New("redisbroker: nil Deliver")
	}
	url := cfg.URL
	if url == "" {
		url = DefaultURL
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisbroker: URL: %w", err)
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	nodeID := cfg.NodeID
	if nodeID == "" {
		nodeID = defaultNodeID()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("broker", "redis", "node", nodeID)
	if opt.DialTimeout == 0 {
		opt.DialTimeout = 2 * time.Second
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = 3 * time.Second
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = 3 * time.Second
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1 // the reader reconnects with its own backoff
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1 // a retried PUBLISH whose reply was lost is delivered twice
	}
	if opt.ClientName == "" {
		opt.ClientName = clientName(prefix + nodeID)
	}

	b := &Broker{
		prefix:        prefix,
		nodeID:        nodeID,
		log:           log,
		deliver:       deliver,
		tune:          tune,
		client:        redis.NewClient(opt),
		topics:        map[string]*subscription{},
		waiters:       map[string]chan error{},
		firstAttempt:  make(chan struct{}),
		pubq:          make(chan *pubReq, maxBatch),
		closing:       make(chan struct{}),
		readerDone:    make(chan struct{}),
		publisherDone: make(chan struct{}),
	}
	b.ps = b.client.Subscribe(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	b.stopReader = cancel
	go b.read(ctx)
	go b.publishLoop()

	timer := time.NewTimer(opt.DialTimeout + tune.op)
	defer timer.Stop()
	select {
	case <-b.firstAttempt:
	case <-timer.C:
	}
	if !b.ready.Load() {
		log.Warn("redisbroker: Redis not reachable yet; reconnecting in the background", "url", redactURL(url))
	}
	return b, nil
}

// NodeID returns the node id: Config.NodeID or the one generated.
func (b *Broker) NodeID() string { return b.nodeID }

// Ready implements broker.Broker: true while the Pub/Sub connection is
// up and Redis answers on it.
func (b *Broker) Ready() bool { return b.ready.Load() && !b.closed.Load() }

func unavailable(op string, topic string, err error) error {
	return fmt.Errorf("redisbroker: %s %q: %w: %w", op, topic, broker.ErrUnavailable, err)
}

func closedErr(op, topic string) error {
	return fmt.Errorf("redisbroker: %s %q: %w", op, topic, broker.ErrClosed)
}

// Subscribe implements broker.Broker. It returns once Redis has
// subscribed the node's connection, so that a publication made after it
// returns, on any node, is delivered. It fails with an error wrapping
// broker.ErrUnavailable while Redis is unreachable, and then the topic is
// not subscribed.
func (b *Broker) Subscribe(ctx context.Context, topic string) error {
	b.cmdMu.Lock()
	if b.closed.Load() {
		b.cmdMu.Unlock()
		return closedErr("subscribe", topic)
	}
	b.mu.Lock()
	if s, ok := b.topics[topic]; ok {
		b.mu.Unlock()
		b.cmdMu.Unlock()
		select {
		case <-s.done:
			return s.err
		case <-ctx.Done():
			return fmt.Errorf("redisbroker: subscribe %q: %w", topic, ctx.Err())
		}
	}
	if !b.ready.Load() {
		b.mu.Unlock()
		b.cmdMu.Unlock()
		return unavailable("subscribe", topic, errNotConnected)
	}
	s := &subscription{done: make(chan struct{})}
	b.topics[topic] = s
	ps := b.ps
	token, confirmed := b.waiterLocked()
	b.mu.Unlock()
	err := ps.Subscribe(ctx, b.prefix+topic)
	if err == nil {
		// Redis answers a connection's commands in order: the PONG comes
		// after the subscription is in place.
		err = ps.Ping(ctx, token)
	}
	b.cmdMu.Unlock()

	if err == nil {
		timer := time.NewTimer(b.tune.op)
		select {
		case err = <-confirmed:
		case <-timer.C:
			err = errors.New("no confirmation from Redis")
		case <-ctx.Done():
			err = ctx.Err()
		}
		timer.Stop()
	}
	if err != nil {
		b.mu.Lock()
		delete(b.waiters, token)
		b.mu.Unlock()
		b.rollback(topic, s)
		switch {
		case errors.Is(err, broker.ErrClosed) || b.closed.Load():
			err = closedErr("subscribe", topic)
		case ctx.Err() != nil:
			err = fmt.Errorf("redisbroker: subscribe %q: %w", topic, ctx.Err())
		default:
			err = unavailable("subscribe", topic, err)
		}
	}
	s.err = err
	close(s.done)
	return err
}

// rollback removes a subscription that failed, unless it was removed
// already.
func (b *Broker) rollback(topic string, s *subscription) {
	b.cmdMu.Lock()
	defer b.cmdMu.Unlock()
	b.mu.Lock()
	mine := b.topics[topic] == s
	if mine {
		delete(b.topics, topic)
	}
	ps := b.ps
	b.mu.Unlock()
	if mine && !b.closed.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), b.tune.op)
		defer cancel()
		// Also takes the channel out of the PubSub's own set, which it
		// would otherwise subscribe again on reconnection.
		_ = ps.Unsubscribe(ctx, b.prefix+topic)
	}
}

// waiterLocked registers a ping token whose PONG the reader reports (nil),
// or the loss of the connection (its error) or Close (broker.ErrClosed).
func (b *Broker) waiterLocked() (string, chan error) {
	b.seq++
	token := "herald-sync-" + strconv.FormatUint(b.seq, 10)
	ch := make(chan error, 1)
	b.waiters[token] = ch
	return token, ch
}

// Unsubscribe implements broker.Broker. It takes effect at once on this
// node, even while Redis is unreachable (the topic is not subscribed again
// on reconnection), and so always returns nil.
func (b *Broker) Unsubscribe(ctx context.Context, topic string) error {
	b.cmdMu.Lock()
	defer b.cmdMu.Unlock()
	b.mu.Lock()
	_, ok := b.topics[topic]
	delete(b.topics, topic)
	ps := b.ps
	b.mu.Unlock()
	if !ok || b.closed.Load() {
		return nil
	}
	if err := ps.Unsubscribe(ctx, b.prefix+topic); err != nil {
		b.log.Debug("redisbroker: UNSUBSCRIBE not sent; dropped with the connection", "topic", topic, "err", err)
	}
	return nil
}

// Publish implements broker.Broker. It returns once Redis has accepted the
// publication, and fails at once with an error wrapping
// broker.ErrUnavailable while Redis is unreachable. A publication without
// Origin gets the node id. When ctx ends first, Publish returns its error,
// and the publication may still be sent.
func (b *Broker) Publish(ctx context.Context, p broker.Publication) error {
	return b.publish(ctx, p, true)
}

// PublishNoWait implements broker.Pipeliner: the publication joins the
// same pipeline as Publish's, in order, and a failure to send it is
// logged.
func (b *Broker) PublishNoWait(ctx context.Context, p broker.Publication) error {
	return b.publish(ctx, p, false)
}

func (b *Broker) publish(ctx context.Context, p broker.Publication, wait bool) error {
	if b.closed.Load() {
		return closedErr("publish", p.Topic)
	}
	if p.Topic == "" {
		return errors.New("redisbroker: publish: empty topic")
	}
	if !b.ready.Load() {
		return unavailable("publish", p.Topic, errNotConnected)
	}
	if p.Origin == "" {
		p.Origin = b.nodeID
	}
	data, err := broker.Marshal(p)
	if err != nil {
		return fmt.Errorf("redisbroker: publish %q: %w", p.Topic, err)
	}
	req := &pubReq{topic: p.Topic, channel: b.prefix + p.Topic, data: data}
	if wait {
		req.done = make(chan error, 1)
	}
	select {
	case b.pubq <- req:
	case <-b.closing:
		return closedErr("publish", p.Topic)
	case <-ctx.Done():
		return fmt.Errorf("redisbroker: publish %q: %w", p.Topic, ctx.Err())
	}
	if !wait {
		return nil
	}
	select {
	case err := <-req.done:
		return err
	case <-b.publisherDone:
		select {
		case err := <-req.done:
			return err
		default:
			return closedErr("publish", p.Topic)
		}
	case <-ctx.Done():
		return fmt.Errorf("redisbroker: publish %q: %w", p.Topic, ctx.Err())
	}
}

// publishLoop sends the publications queued, all that are waiting in one
// pipeline, in the order they were queued.
func (b *Broker) publishLoop() {
	defer close(b.publisherDone)
	batch := make([]*pubReq, 0, maxBatch)
	for {
		select {
		case r := <-b.pubq:
			batch = append(batch[:0], r)
		case <-b.closing:
			for {
				select {
				case r := <-b.pubq:
					b.settle(r, closedErr("publish", r.topic))
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-b.pubq:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.flush(batch)
		clear(batch)
	}
}

func (b *Broker) flush(batch []*pubReq) {
	ctx, cancel := context.WithTimeout(context.Background(), b.tune.op+b.tune.op)
	defer cancel()
	if len(batch) == 1 {
		r := batch[0]
		b.settle(r, b.published(r, b.client.Publish(ctx, r.channel, r.data).Err()))
		return
	}
	cmds := make([]*redis.IntCmd, len(batch))
	_, _ = b.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, r := range batch {
			cmds[i] = pipe.Publish(ctx, r.channel, r.data)
		}
		return nil
	})
	for i, r := range batch {
		b.settle(r, b.published(r, cmds[i].Err()))
	}
}

// settle gives a publication's outcome to its waiting Publish, or logs a
// failure of a PublishNoWait.
func (b *Broker) settle(r *pubReq, err error) {
	if r.done != nil {
		r.done <- err
		return
	}
	if err != nil {
		b.log.Warn("redisbroker: a publication made without waiting was not sent", "topic", r.topic, "err", err)
	}
}

func (b *Broker) published(r *pubReq, err error) error {
	if err == nil {
		return nil
	}
	return unavailable("publish", r.topic, err)
}

// read owns the Pub/Sub connection: it delivers its messages, answers the
// subscription barriers, pings Redis when idle, and reconnects.
func (b *Broker) read(ctx context.Context) {
	defer close(b.readerDone)
	backoff := b.tune.minBackoff
	pause := func() {
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		backoff = min(2*backoff, b.tune.maxBackoff)
	}
	lastHeard := time.Now()
	ping := true
	for ctx.Err() == nil {
		b.mu.Lock()
		ps := b.ps
		b.mu.Unlock()
		if ping {
			pctx, cancel := context.WithTimeout(ctx, b.tune.op)
			err := ps.Ping(pctx, healthToken)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				b.down(err)
				pause()
				continue
			}
			ping = false
		}
		msg, err := ps.ReceiveTimeout(ctx, b.tune.health)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			ping = true
			if isTimeout(err) {
				if time.Since(lastHeard) > 3*b.tune.health {
					b.down(errors.New("no answer from Redis"))
					b.replace(ctx)
					lastHeard = time.Now()
				}
				continue
			}
			b.down(err)
			pause()
			continue
		}
		lastHeard = time.Now()
		backoff = b.tune.minBackoff
		b.up()
		switch m := msg.(type) {
		case *redis.Message:
			b.dispatch(m)
		case *redis.Pong:
			if m.Payload != healthToken {
				b.mu.Lock()
				ch := b.waiters[m.Payload]
				delete(b.waiters, m.Payload)
				b.mu.Unlock()
				if ch != nil {
					ch <- nil
				}
			}
		}
	}
}

// dispatch delivers a message if its topic is subscribed.
func (b *Broker) dispatch(m *redis.Message) {
	topic, ok := strings.CutPrefix(m.Channel, b.prefix)
	if !ok {
		return
	}
	b.mu.Lock()
	_, subscribed := b.topics[topic]
	b.mu.Unlock()
	if !subscribed || b.closed.Load() {
		return
	}
	p, err := broker.Unmarshal([]byte(m.Payload))
	if err != nil {
		b.log.Warn("redisbroker: dropping a message that is not a publication", "channel", m.Channel, "err", err)
		return
	}
	if p.Topic != topic {
		b.log.Warn("redisbroker: dropping a publication of another topic (a prefix shared with another cluster?)", "channel", m.Channel, "topic", p.Topic)
		return
	}
	b.deliver(p)
}

// replace swaps a Pub/Sub connection that stopped answering for a new one
// subscribed to every topic.
func (b *Broker) replace(ctx context.Context) {
	b.cmdMu.Lock()
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		b.cmdMu.Unlock()
		return
	}
	old := b.ps
	b.ps = b.client.Subscribe(ctx)
	channels := make([]string, 0, len(b.topics))
	for topic := range b.topics {
		channels = append(channels, b.prefix+topic)
	}
	ps := b.ps
	b.mu.Unlock()
	_ = old.Close()
	if len(channels) > 0 {
		// Recorded even when it fails: the PubSub subscribes them when it
		// connects.
		_ = ps.Subscribe(ctx, channels...)
	}
	b.cmdMu.Unlock()
}

func (b *Broker) up() {
	if !b.ready.Swap(true) {
		b.log.Info("redisbroker: connected to Redis")
	}
	b.attemptOnce.Do(func() { close(b.firstAttempt) })
}

func (b *Broker) down(err error) {
	if b.ready.Swap(false) {
		b.log.Warn("redisbroker: Redis unreachable; publications fail until it is back", "err", err)
	}
	b.attemptOnce.Do(func() { close(b.firstAttempt) })
	b.failWaiters(err)
}

func (b *Broker) failWaiters(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for token, ch := range b.waiters {
		ch <- err
		delete(b.waiters, token)
	}
}

// Close implements broker.Broker: it stops the reader and the publisher
// and waits for them (Deliver is not called after Close returns nil), then
// closes the connections. Publications queued and not sent fail with
// broker.ErrClosed. When ctx ends first, Close returns its error; calling
// Close again waits again.
func (b *Broker) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		b.cmdMu.Lock()
		b.mu.Lock()
		b.closed.Store(true)
		ps := b.ps
		b.mu.Unlock()
		b.cmdMu.Unlock()
		close(b.closing)
		b.stopReader()
		_ = ps.Close()
		b.failWaiters(broker.ErrClosed)
	})
	for _, done := range []chan struct{}{b.readerDone, b.publisherDone} {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("redisbroker: close: %w", ctx.Err())
		}
	}
	var err error
	b.clientOnce.Do(func() { err = b.client.Close() })
	if err != nil {
		return fmt.Errorf("redisbroker: close: %w", err)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func defaultNodeID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "node"
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	return host + "-" + hex.EncodeToString(r[:])
}

// clientName makes s a valid CLIENT SETNAME argument (no spaces or
// newlines).
func clientName(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' {
			return '_'
		}
		return r
	}, s)
}

// redactURL hides the password of a Redis URL for the logs.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	cred, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return u
}
