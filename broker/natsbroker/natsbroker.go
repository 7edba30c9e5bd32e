// Package natsbroker carries herald publications between nodes over core
// NATS (no JetStream: like every herald broker it is at most once, nothing
// is stored).
//
// Each topic is the subject Prefix + "." + base64url(topic) (see
// EncodeSubject), so any topic string is safe, whatever dots, wildcards,
// spaces or unicode it holds, and several clusters share one NATS under
// different prefixes. A node holds a NATS subscription only for the topics
// that have local subscribers.
//
// Delivery: every subscription feeds one channel, in the order the
// connection reads messages; one goroutine moves them at once into a queue
// bounded to 64 MiB (as nats.go bounds a subscription's pending messages),
// and another calls Deliver one publication at a time from it. So
// publications from one publisher arrive in the order NATS keeps (per
// publishing connection), across topics too. A publication that finds the
// queue full (Deliver slower than the traffic for a long while) is dropped,
// counted (Dropped) and logged, at most once a second.
//
// Outages: the connection reconnects forever with a capped exponential
// backoff. nats.go sends the subscriptions of the connection again on
// every reconnect, before the status is CONNECTED again, so the node's
// topics are restored by the time Ready reports true; TestOutage checks it
// against a NATS server it stops and starts. While not connected Publish
// and Subscribe return errors wrapping broker.ErrUnavailable: the reconnect
// buffer of nats.go is disabled (ReconnectBufSize -1), so nothing is queued
// in memory to be lost, or sent late, and the caller knows at once.
//
// Confirmation: core NATS publishing is fire and forget, so Publish waits
// for the server to confirm it: after writing the publication it joins the
// next flush round, a PING whose PONG proves the server has read
// everything written before it (the server hands a publication to its
// subscribers' connections as it reads it). One round serves every Publish
// that joined it, so concurrent publishers share one round trip. A
// publication whose round fails (the connection dropped under it) returns
// an error wrapping broker.ErrUnavailable, though the server may have
// delivered it: the caller sees a failure, never a silent loss. Only a NATS
// server that dies in the instant between confirming and writing to the
// other nodes' sockets loses a confirmed publication: that is at most
// once. A connection that dies without closing is found by pings (every
// 10 s, 3 unanswered).
// A topic subscribed before the outage stays subscribed through it;
// Unsubscribe works during it.
package natsbroker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldws/herald/broker"
)

// DefaultURL is the NATS server when Config.URL is empty.
const DefaultURL = "nats://127.0.0.1:4222"

// Config configures a Broker.
type Config struct {
	// URL of the NATS server, or several separated by commas; DefaultURL
	// when empty.
	URL string
	// Prefix leads every subject, so several clusters can share one NATS;
	// DefaultPrefix when empty. It may hold dots (several tokens) but no
	// wildcard or whitespace (see ValidPrefix).
	Prefix string
	// NodeID names the connection ("herald <NodeID>") and the logs.
	NodeID string
	// Logger receives connection events; slog.Default() when nil.
	Logger *slog.Logger

	// confirmTimeout bounds a flush round; flushTimeout when zero (tests
	// shorten it).
	confirmTimeout time.Duration
}

// Tuning. Subscribe and Close bound their round trip with flushTimeout
// when their context has no deadline.
const (
	chanLen        = 1 << 15
	queueBytes     = 64 << 20
	msgOverhead    = 128 // bytes counted per queued message beyond its data and subject
	logEvery       = time.Second
	flushTimeout   = 5 * time.Second
	reconnectFirst = 50 * time.Millisecond
	reconnectMax   = 2 * time.Second
	pingInterval   = 10 * time.Second
	maxPingsOut    = 3
)

// Broker is a broker.Broker over core NATS. It is safe for concurrent use.
type Broker struct {
	nc      *nats.Conn
	prefix  string
	deliver broker.Deliver
	log     *slog.Logger

	msgs chan *nats.Msg // fed by every subscription, read by pump
	stop chan struct{}  // closed by Close to stop pump and run
	done sync.WaitGroup // pump and run
	// The queue from pump to run.
	qMu    sync.Mutex
	q      []*nats.Msg
	qBytes int // of q and of the batch run is delivering
	qWake  chan struct{}
	// subDrops is what subDropped last saw of each subscription.
	subDrops map[*nats.Subscription]int
	// dropped counts the messages dropped on a full queue or channel;
	// lastLog is when a drop was last logged (UnixNano).
	dropped, lastLog atomic.Int64

	// Flush rounds confirming publications (see confirm).
	roundMu        sync.Mutex
	nextRound      *flushRound // the round Publish calls join; nil when none waits
	roundsEnd      bool        // set when the flusher has stopped
	roundWake      chan struct{}
	confirmTimeout time.Duration // bounds a flush round

	subM sync.Mutex   // serializes Subscribe and Unsubscribe
	mu   sync.RWMutex // guards subs and closed
	subs map[string]*nats.Subscription
	// closed is set by Close.
	closed bool
}

var _ broker.Pipeliner = (*Broker)(nil)

// New connects to NATS and returns a Broker that delivers the publications
// of its subscribed topics to deliver. An unreachable server is not an
// error: the Broker keeps trying, and is not Ready until it connects.
func New(cfg Config, deliver broker.Deliver) (*Broker, error) {
	if deliver == nil {
		return nil, errors.New("natsbroker: nil Deliver")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if err := ValidPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("broker", "nats", "prefix", cfg.Prefix)
	if cfg.NodeID != "" {
		log = log.With("node", cfg.NodeID)
	}
	b := &Broker{
		prefix:         cfg.Prefix,
		deliver:        deliver,
		log:            log,
		msgs:           make(chan *nats.Msg, chanLen),
		stop:           make(chan struct{}),
		qWake:          make(chan struct{}, 1),
		roundWake:      make(chan struct{}, 1),
		confirmTimeout: cmp.Or(cfg.confirmTimeout, flushTimeout),
		subs:           map[string]*nats.Subscription{},
	}
	name := "herald"
	if cfg.NodeID != "" {
		name += " " + cfg.NodeID
	}
	nc, err := nats.Connect(cfg.URL,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(reconnectDelay),
		// No reconnect buffer: Publish fails while disconnected instead
		// of queueing (and possibly losing) publications.
		nats.ReconnectBufSize(-1),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.NoCallbacksAfterClientClose(),
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info("nats: connected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats: disconnected; publications fail until reconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats: reconnected; subscriptions restored",
				"url", nc.ConnectedUrlRedacted(), "topics", b.topicCount())
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Debug("nats: reconnect attempt failed", "err", err)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) && sub != nil {
				// The channel to pump was full: nats.go dropped messages.
				b.drop(b.subDropped(sub))
				return
			}
			if sub != nil {
				log.Warn("nats: subscription error", "subject", sub.Subject, "err", err)
				return
			}
			log.Warn("nats: error", "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: connecting to %s: %w", cfg.URL, err)
	}
	b.nc = nc
	if nc.Status() != nats.CONNECTED {
		log.Warn("nats: not connected yet; retrying", "url", cfg.URL)
	}
	b.done.Add(3)
	go b.pump()
	go b.run()
	go b.flusher()
	return b, nil
}

// reconnectDelay is the wait before the attempt-th round of reconnection:
// 50ms doubling up to 2s, with up to 20% jitter.
func reconnectDelay(attempt int) time.Duration {
	d := reconnectMax
	if attempt >= 1 && attempt < 8 {
		d = min(reconnectFirst<<(attempt-1), reconnectMax)
	}
	return d + rand.N(d/5+1)
}

// pump moves what the subscriptions receive into the queue, at once, so
// that the connection's reading never waits for Deliver.
func (b *Broker) pump() {
	defer b.done.Done()
	for {
		select {
		case <-b.stop:
			return
		case m := <-b.msgs:
			size := len(m.Data) + len(m.Subject) + msgOverhead
			b.qMu.Lock()
			full := b.qBytes+size > queueBytes && len(b.q) > 0
			if !full {
				b.q = append(b.q, m)
				b.qBytes += size
			}
			b.qMu.Unlock()
			if full {
				b.drop(1)
				continue
			}
			select {
			case b.qWake <- struct{}{}:
			default:
			}
		}
	}
}

// drop counts n dropped messages and logs, at most once every logEvery.
func (b *Broker) drop(n int64) {
	total := b.dropped.Add(n)
	now := time.Now().UnixNano()
	last := b.lastLog.Load()
	if now-last < int64(logEvery) || !b.lastLog.CompareAndSwap(last, now) {
		return
	}
	b.log.Warn("nats: Deliver too slow for the traffic, publications dropped", "dropped_total", total)
}

// subDropped returns how many messages nats.go dropped for sub since the
// last call.
func (b *Broker) subDropped(sub *nats.Subscription) int64 {
	n, err := sub.Dropped()
	if err != nil {
		return 0
	}
	b.qMu.Lock()
	defer b.qMu.Unlock()
	if b.subDrops == nil {
		b.subDrops = map[*nats.Subscription]int{}
	}
	delta := n - b.subDrops[sub]
	b.subDrops[sub] = n
	return int64(max(delta, 0))
}

// Dropped returns how many publications this node received but dropped
// because Deliver fell too far behind (see the package documentation).
func (b *Broker) Dropped() int64 { return b.dropped.Load() }

// run delivers the queue, one publication at a time, in order.
func (b *Broker) run() {
	defer b.done.Done()
	var batch []*nats.Msg
	for {
		select {
		case <-b.stop:
			return
		case <-b.qWake:
		}
		// The batch counts against the bound until it is delivered.
		b.qMu.Lock()
		batch, b.q = b.q, batch[:0]
		batchBytes := b.qBytes
		b.qMu.Unlock()
		for i, m := range batch {
			select {
			case <-b.stop:
				return
			default:
			}
			b.handle(m)
			batch[i] = nil
		}
		b.qMu.Lock()
		b.qBytes -= batchBytes
		b.qMu.Unlock()
	}
}

func (b *Broker) handle(m *nats.Msg) {
	topic, err := DecodeSubject(b.prefix, m.Subject)
	if err != nil {
		b.log.Warn("nats: dropping a message", "err", err)
		return
	}
	b.mu.RLock()
	current := !b.closed && b.subs[topic] == m.Sub
	b.mu.RUnlock()
	if !current {
		// Unsubscribed (or closed) since it was queued.
		return
	}
	p, err := broker.Unmarshal(m.Data)
	if err != nil {
		b.log.Warn("nats: dropping a message", "subject", m.Subject, "err", err)
		return
	}
	if p.Topic != topic {
		b.log.Warn("nats: dropping a message whose topic is not its subject's",
			"subject", m.Subject, "topic", p.Topic)
		return
	}
	b.deliver(p)
}

func (b *Broker) topicCount() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs)
}

func (b *Broker) isClosed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.closed
}

// subject returns topic's subject, or an error when it is too long.
func (b *Broker) subject(topic string) (string, error) {
	s := EncodeSubject(b.prefix, topic)
	if len(s) > MaxSubjectLen {
		return "", fmt.Errorf("natsbroker: topic of %d bytes is too long for a NATS subject (at most %d bytes with prefix %q)",
			len(topic), MaxSubjectLen, b.prefix)
	}
	return s, nil
}

// unavailable returns an error wrapping broker.ErrUnavailable when the
// connection cannot carry anything now (broker.ErrClosed once Close has
// run), and nil when it can.
func (b *Broker) unavailable(op, topic string) error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		if b.isClosed() {
			return broker.ErrClosed // Close ran since the caller checked
		}
		return fmt.Errorf("natsbroker: %s %q: %w (nats connection %s)", op, topic, broker.ErrUnavailable, st)
	}
	return nil
}

// connErr maps a nats.go error of op to broker.ErrClosed or
// broker.ErrUnavailable where it is one of those.
func (b *Broker) connErr(op, topic string, err error) error {
	if b.isClosed() {
		return broker.ErrClosed
	}
	switch {
	case errors.Is(err, nats.ErrReconnectBufExceeded),
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrConnectionDraining):
		return fmt.Errorf("natsbroker: %s %q: %w: %w", op, topic, broker.ErrUnavailable, err)
	}
	return fmt.Errorf("natsbroker: %s %q: %w", op, topic, err)
}

// Publish implements broker.Broker. It returns once the NATS server has
// confirmed it (see Confirmation in the package documentation); NATS
// orders the publications of a connection. While disconnected it returns
// an error wrapping broker.ErrUnavailable and sends nothing.
func (b *Broker) Publish(ctx context.Context, p broker.Publication) error {
	return b.publish(ctx, p, true)
}

// PublishNoWait implements broker.Pipeliner: Publish without waiting for
// the server's confirmation.
func (b *Broker) PublishNoWait(ctx context.Context, p broker.Publication) error {
	return b.publish(ctx, p, false)
}

func (b *Broker) publish(ctx context.Context, p broker.Publication, confirm bool) error {
	if b.isClosed() {
		return broker.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.Topic == "" {
		return errors.New("natsbroker: publish: empty topic")
	}
	subj, err := b.subject(p.Topic)
	if err != nil {
		return err
	}
	if err := b.unavailable("publish", p.Topic); err != nil {
		return err
	}
	data, err := broker.Marshal(p)
	if err != nil {
		return fmt.Errorf("natsbroker: publish %q: %w", p.Topic, err)
	}
	if err := b.nc.Publish(subj, data); err != nil {
		return b.connErr("publish", p.Topic, err)
	}
	if !confirm {
		return nil
	}
	return b.confirm(ctx, p.Topic)
}

// flushRound is one PING/PONG round trip shared by the Publish calls that
// joined it; err is set before done is closed.
type flushRound struct {
	done chan struct{}
	err  error
}

// confirm waits until the NATS server has read what this connection wrote
// before the call (see the package documentation).
func (b *Broker) confirm(ctx context.Context, topic string) error {
	b.roundMu.Lock()
	if b.roundsEnd {
		b.roundMu.Unlock()
		return broker.ErrClosed
	}
	r := b.nextRound
	if r == nil {
		r = &flushRound{done: make(chan struct{})}
		b.nextRound = r
	}
	b.roundMu.Unlock()
	select {
	case b.roundWake <- struct{}{}:
	default:
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("natsbroker: publish %q: waiting for the server to confirm: %w", topic, ctx.Err())
	}
	if r.err != nil {
		if b.isClosed() {
			return broker.ErrClosed
		}
		return fmt.Errorf("natsbroker: publish %q: not confirmed: %w: %w", topic, broker.ErrUnavailable, r.err)
	}
	return nil
}

// flusher runs the flush rounds, one at a time: a round started while
// another is in flight waits for it, gathering every Publish meanwhile.
func (b *Broker) flusher() {
	defer b.done.Done()
	for {
		select {
		case <-b.stop:
			b.endRound(broker.ErrClosed)
			return
		case <-b.roundWake:
		}
		b.roundMu.Lock()
		r := b.nextRound
		b.nextRound = nil
		b.roundMu.Unlock()
		if r == nil {
			continue
		}
		if st := b.nc.Status(); st != nats.CONNECTED {
			// A PING written now would wait for a reconnection that
			// forgets it.
			r.err = fmt.Errorf("nats connection %s", st)
		} else {
			r.err = b.nc.FlushTimeout(b.confirmTimeout)
		}
		close(r.done)
	}
}

// endRound fails the round still gathering, when Close stops the flusher.
func (b *Broker) endRound(err error) {
	b.roundMu.Lock()
	r := b.nextRound
	b.nextRound = nil
	b.roundsEnd = true
	b.roundMu.Unlock()
	if r != nil {
		r.err = err
		close(r.done)
	}
}

// withDeadline gives ctx a deadline of flushTimeout when it has none
// (nats.go's FlushWithContext requires one).
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, flushTimeout)
}

// Subscribe implements broker.Broker. It returns once the NATS server has
// the subscription (a round trip), so a publication made anywhere after it
// returns is delivered. While disconnected it returns an error wrapping
// broker.ErrUnavailable and subscribes nothing.
func (b *Broker) Subscribe(ctx context.Context, topic string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	subj, err := b.subject(topic)
	if err != nil {
		return err
	}
	b.subM.Lock()
	defer b.subM.Unlock()
	b.mu.RLock()
	closed, has := b.closed, b.subs[topic] != nil
	b.mu.RUnlock()
	switch {
	case closed:
		return broker.ErrClosed
	case has:
		return nil
	}
	if err := b.unavailable("subscribe", topic); err != nil {
		return err
	}
	sub, err := b.nc.ChanSubscribe(subj, b.msgs)
	if err != nil {
		return b.connErr("subscribe", topic, err)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = sub.Unsubscribe()
		return broker.ErrClosed
	}
	b.subs[topic] = sub
	b.mu.Unlock()

	fctx, cancel := withDeadline(ctx)
	defer cancel()
	if err := b.nc.FlushWithContext(fctx); err != nil {
		// Undo: the caller takes the topic as not subscribed.
		b.mu.Lock()
		if b.subs[topic] == sub {
			delete(b.subs, topic)
		}
		b.mu.Unlock()
		_ = sub.Unsubscribe()
		switch {
		case b.isClosed():
			return broker.ErrClosed
		case ctx.Err() != nil:
			return fmt.Errorf("natsbroker: subscribe %q: %w", topic, ctx.Err())
		}
		// The connection dropped, or the server did not answer in time.
		return fmt.Errorf("natsbroker: subscribe %q: %w: %w", topic, broker.ErrUnavailable, err)
	}
	return nil
}

// Unsubscribe implements broker.Broker. Nothing of topic is delivered once
// it returns, except a publication whose Deliver call is under way. It
// needs no connection: while disconnected the server has already forgotten
// the subscription, and nats.go will not send it again.
func (b *Broker) Unsubscribe(_ context.Context, topic string) error {
	b.subM.Lock()
	defer b.subM.Unlock()
	b.mu.Lock()
	sub := b.subs[topic]
	delete(b.subs, topic)
	b.mu.Unlock()
	if sub == nil {
		return nil
	}
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
		b.log.Warn("nats: unsubscribing", "topic", topic, "err", err)
	}
	b.qMu.Lock()
	delete(b.subDrops, sub)
	b.qMu.Unlock()
	return nil
}

// Ready implements broker.Broker: the connection to NATS is up.
func (b *Broker) Ready() bool {
	return !b.isClosed() && b.nc.Status() == nats.CONNECTED
}

// Close implements broker.Broker. It flushes what was published (waiting
// for the server's acknowledgement, within ctx), closes the connection,
// which ends every subscription, drops the publications received but not
// yet delivered, and waits for a Deliver call under way:
// Deliver is not called after Close returns, unless ctx ends first, when
// Close returns ctx's error. Closing twice does nothing.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.subs = map[string]*nats.Subscription{}
	b.mu.Unlock()

	if b.nc.Status() == nats.CONNECTED {
		fctx, cancel := withDeadline(ctx)
		if err := b.nc.FlushWithContext(fctx); err != nil {
			b.log.Warn("nats: flushing before close", "err", err)
		}
		cancel()
	}
	b.nc.Close()
	close(b.stop)
	done := make(chan struct{})
	go func() {
		b.done.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	default:
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("natsbroker: close: waiting for a delivery: %w", ctx.Err())
	}
}
