package amqppush

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/server"
)

// Name is the name both sides register under and the provider string the
// Handler passes to route handlers' OnPush, as Gos's "amqp" alias.
const Name = "amqp"

// ErrUnavailable may be wrapped by a Sink's error to say that the message
// is not at fault and must be retried: the Handler requeues it instead of
// rejecting it. It is broker.ErrUnavailable, which herald's server wraps
// while its broker is down, so RabbitMQ redelivers those messages. Errors
// wrapping context.Canceled or server.ErrServerClosed, and any error
// returned once Run's context has ended, are treated the same way.
var ErrUnavailable = broker.ErrUnavailable

// closeTimeout bounds the closing handshake of a connection.
const closeTimeout = 2 * time.Second

// Handler is the AMQP push handler: it consumes the queue and hands each
// message to the sink (see the package documentation). Create it with
// NewHandler; its Run may be called again after it returned, but not
// concurrently.
type Handler struct {
	cfg            Config
	log            *slog.Logger
	running        atomic.Bool
	loggedFallback atomic.Bool

	delivered, redelivered, acked, ackFrames, rejected, requeued, reconnects atomic.Uint64
}

var _ push.Handler = (*Handler)(nil)

// Stats counts what a Handler did since it was created.
type Stats struct {
	// Delivered counts the messages received from the broker, including
	// redeliveries.
	Delivered uint64
	// Redelivered counts those the broker flagged as redelivered: they
	// were delivered before to a consumer that did not acknowledge them
	// (herald may have published some of them already).
	Redelivered uint64
	// Acked counts the messages acknowledged after the sink accepted them
	// (push_success).
	Acked uint64
	// AckFrames counts the basic.ack frames that acknowledged them: one
	// covers every message accepted since the previous one.
	AckFrames uint64
	// Rejected counts the messages rejected without requeue because they
	// could not be decoded, routed, or were refused by their handler
	// (push_fail); a dead-letter exchange on the queue receives them.
	Rejected uint64
	// Requeued counts the messages given back to the queue because the
	// sink was unavailable (push_fail, then delivered again).
	Requeued uint64
	// Reconnects counts the recoveries after a connection, channel or
	// consumer loss.
	Reconnects uint64
}

// NewHandler checks cfg and returns a Handler. It does not connect: Run
// does.
func NewHandler(cfg Config) (*Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, log: cfg.Logger.With("push_handler", Name)}, nil
}

// Name implements push.Handler: "amqp".
func (h *Handler) Name() string { return Name }

// Stats returns the Handler's counters.
func (h *Handler) Stats() Stats {
	return Stats{
		Delivered:   h.delivered.Load(),
		Redelivered: h.redelivered.Load(),
		Acked:       h.acked.Load(),
		AckFrames:   h.ackFrames.Load(),
		Rejected:    h.rejected.Load(),
		Requeued:    h.requeued.Load(),
		Reconnects:  h.reconnects.Load(),
	}
}

// Run implements push.Handler. It connects, declares the exchange (durable,
// direct), the queue (durable, no arguments) and, when Config.Bind is
// set, the binding, then consumes with manual acknowledgements and a
// window of Config.Prefetch messages. Each message goes through
// push.Deliver and is then
//   - acknowledged once the sink accepted it (push_success). Accepted
//     messages are acknowledged together (basic.ack multiple) as soon as
//     no further delivery is waiting, after at most 64 (or half the
//     prefetch window), and before any rejection; their events are
//     reported after the ack was sent;
//   - requeued (basic.nack, requeue) when the sink was unavailable: its
//     error wraps ErrUnavailable, context.Canceled or
//     server.ErrServerClosed, or ctx has ended;
//   - rejected without requeue otherwise (undecodable, no route, refused
//     by its handler), so a dead-letter exchange on the queue gets it.
//
// report, when not nil, receives every outcome, in delivery order, one at
// a time, from Run's goroutine; it must not block for long. A requeued
// message is reported as a failure and reported again when it comes back.
//
// A queue that already exists with other arguments (typically an
// x-dead-letter-exchange an operator added) makes the broker refuse the
// declaration with PRECONDITION_FAILED; Run then checks that the queue
// exists (passive declaration) and consumes it as it is.
//
// With Config.ConsumeDelay, Run connects and declares at once but starts
// consuming only when the delay has passed since Run began; the messages
// wait in the queue meanwhile. A reconnection after that consumes at once.
//
// On a connection, channel or consumer loss Run reconnects with backoff
// and declares everything again; unacknowledged messages are redelivered
// by the broker. Before the first successful connection, an error that
// retrying cannot fix (credentials, vhost access, an exchange of another
// type) is returned; after it, Run retries until ctx ends. Run returns nil
// when ctx ends, after closing its connection: messages received but not
// yet acknowledged are then redelivered by the broker to the next
// consumer.
func (h *Handler) Run(ctx context.Context, sink push.Sink, report func(push.Event)) error {
	if sink == nil {
		return errors.New("amqppush: Run needs a sink")
	}
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("amqppush: the handler is already running")
	}
	defer h.running.Store(false)
	if report == nil {
		report = func(push.Event) {}
	}

	var (
		everUp    bool
		attempt   int // failed attempts since the last successful connection
		lostAt    time.Time
		consumeAt = time.Now().Add(h.cfg.ConsumeDelay)
	)
	up := func() {
		if everUp {
			h.reconnects.Add(1)
			h.log.Info("amqp: reconnected", "broker", h.cfg.addr(), "queue", h.cfg.QueueName,
				"down_for", time.Since(lostAt).Round(time.Millisecond), "attempts", attempt)
		} else {
			h.log.Info("amqp: consuming", "broker", h.cfg.addr(), "vhost", h.cfg.Vhost, "queue", h.cfg.QueueName,
				"exchange", h.cfg.ExchangeName, "bind", h.cfg.Bind, "routing_key", h.cfg.RoutingKey, "prefetch", h.cfg.Prefetch)
		}
		everUp, attempt = true, 0
	}
	for {
		err := h.session(ctx, consumeAt, sink, report, up)
		if ctx.Err() != nil {
			return nil
		}
		if !everUp && permanent(err) {
			return err
		}
		attempt++
		delay := h.cfg.backoff(attempt)
		if everUp && attempt == 1 {
			lostAt = time.Now()
			h.log.Warn("amqp: connection lost", "broker", h.cfg.addr(), "queue", h.cfg.QueueName, "retry_in", delay.Round(time.Millisecond), "err", err)
		} else {
			h.log.Warn("amqp: cannot connect", "broker", h.cfg.addr(), "attempt", attempt, "retry_in", delay.Round(time.Millisecond), "err", err)
		}
		if !sleep(ctx, delay) {
			return nil
		}
	}
}

// backoff is the delay before the attempt-th retry: ReconnectMin doubled
// per attempt up to ReconnectMax, with jitter (uniform in [d/2, d]).
func (c Config) backoff(attempt int) time.Duration {
	d := c.ReconnectMax
	if shift := attempt - 1; shift < 32 {
		if e := c.ReconnectMin << shift; e > 0 && e < d {
			d = e
		}
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// session runs one connection: it returns why the connection, channel or
// consumer ended, or nil when ctx ended. It consumes from consumeAt on,
// and calls up once consuming.
func (h *Handler) session(ctx context.Context, consumeAt time.Time, sink push.Sink, report func(push.Event), up func()) error {
	conn, err := h.cfg.dial("")
	if err != nil {
		return err
	}
	// Closing the connection closes its channel; unacknowledged deliveries
	// go back to the queue.
	defer closeConn(conn)
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))

	ch, err := h.setup(conn)
	if err != nil {
		return err
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	cancelled := ch.NotifyCancel(make(chan string, 1))
	if err := h.holdBack(ctx, consumeAt, connClosed, chClosed); err != nil || ctx.Err() != nil {
		return err
	}
	deliveries, err := ch.Consume(h.cfg.QueueName, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("amqppush: consuming queue %q: %w", h.cfg.QueueName, err)
	}
	up()

	acks := &acker{h: h, ch: ch, report: report, max: max(1, min(h.cfg.Prefetch/2, maxAckBatch))}
	// Acknowledge what was accepted before leaving: on ctx's end the
	// connection is still up, and fewer messages are redelivered.
	defer acks.flush()
	unavailable := 0 // consecutive requeues, to back off
	linger := time.NewTimer(h.cfg.ackLinger)
	linger.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		var (
			d   amqp.Delivery
			ok  bool
			got bool
		)
		// Take the next delivery if one is ready, or arrives within
		// ackLinger while acknowledgements are pending; otherwise
		// acknowledge what was accepted so far, then wait.
		select {
		case d, ok = <-deliveries:
			got = true
		default:
		}
		if !got && acks.waiting() {
			linger.Reset(h.cfg.ackLinger)
			select {
			case d, ok = <-deliveries:
				got = true
			case <-linger.C:
			case <-ctx.Done():
				return nil
			}
			linger.Stop()
		}
		if !got {
			if err := acks.flush(); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case e := <-connClosed:
				return closeError("the connection closed", e)
			case e := <-chClosed:
				return closeError("the channel closed", e)
			case tag := <-cancelled:
				return fmt.Errorf("amqppush: the broker cancelled consumer %q (queue %q deleted?)", tag, h.cfg.QueueName)
			case d, ok = <-deliveries:
			}
		}
		if !ok {
			// Prefer the reason the connection or channel gives.
			select {
			case e := <-connClosed:
				return closeError("the connection closed", e)
			case e := <-chClosed:
				return closeError("the channel closed", e)
			case <-time.After(100 * time.Millisecond):
				return errors.New("amqppush: the broker ended the delivery stream")
			}
		}
		requeued, err := h.handle(ctx, d, sink, acks)
		if err != nil {
			return err
		}
		if !requeued {
			unavailable = 0
			continue
		}
		// The sink is unavailable but Run goes on: wait before taking the
		// next message, which would likely fail the same way.
		unavailable++
		if !sleep(ctx, h.cfg.backoff(unavailable)) {
			return nil
		}
	}
}

// holdBack waits until consumeAt while watching the connection and the
// channel: it returns their loss, or nil once consumeAt has come or ctx
// ended.
func (h *Handler) holdBack(ctx context.Context, consumeAt time.Time, connClosed, chClosed <-chan *amqp.Error) error {
	wait := time.Until(consumeAt)
	if wait <= 0 {
		return nil
	}
	h.log.Info("amqp: queue declared; consuming after consume_delay, so that reconnecting clients are subscribed first",
		"broker", h.cfg.addr(), "queue", h.cfg.QueueName, "consume_in", wait.Round(time.Millisecond))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return nil
	case e := <-connClosed:
		return closeError("the connection closed", e)
	case e := <-chClosed:
		return closeError("the channel closed", e)
	}
}

// maxAckBatch bounds the accepted messages acknowledged together.
const maxAckBatch = 64

// ackLinger is how long accepted messages wait for the next delivery
// before they are acknowledged: at a steady few thousand messages a second
// one basic.ack then covers tens of them instead of one, which halves
// RabbitMQ's and herald's work per message. Events are delivered at once;
// only the acknowledgement waits (a crash meanwhile means redelivery, as
// for any unacknowledged message).
const ackLinger = 2 * time.Millisecond

// acker acknowledges accepted messages in batches (basic.ack with
// multiple): when no further delivery is waiting, when max are pending,
// and before any other settlement. Their push_success events are reported
// after the ack was sent.
type acker struct {
	h       *Handler
	ch      *amqp.Channel
	report  func(push.Event)
	max     int
	tag     uint64
	pending []push.Event
}

// accept records an accepted delivery.
func (a *acker) accept(tag uint64, ev push.Event) error {
	a.tag = tag
	a.pending = append(a.pending, ev)
	if len(a.pending) >= a.max {
		return a.flush()
	}
	return nil
}

// waiting reports whether accepted deliveries await their ack.
func (a *acker) waiting() bool { return len(a.pending) > 0 }

// flush acknowledges the pending deliveries and reports them.
func (a *acker) flush() error {
	if len(a.pending) == 0 {
		return nil
	}
	err := a.ch.Ack(a.tag, true)
	if err == nil {
		a.h.acked.Add(uint64(len(a.pending)))
		a.h.ackFrames.Add(1)
	}
	for i, ev := range a.pending {
		a.report(ev)
		a.pending[i] = push.Event{}
	}
	a.pending = a.pending[:0]
	if err != nil {
		return fmt.Errorf("amqppush: acknowledging accepted messages (the broker will redeliver them): %w", err)
	}
	return nil
}

// setup opens the channel and declares the exchange, the queue and the
// binding, and sets the prefetch window.
func (h *Handler) setup(conn *amqp.Connection) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqppush: opening a channel: %w", err)
	}
	if err := h.cfg.declareExchange(ch); err != nil {
		return nil, err
	}
	q := h.cfg.QueueName
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		if !isAMQPCode(err, amqp.PreconditionFailed) {
			return nil, fmt.Errorf("amqppush: declaring queue %q (durable): %w", q, err)
		}
		// The queue exists with other properties or arguments (a
		// dead-letter exchange, a length limit...): the broker closed the
		// channel; use the queue as it is.
		if ch, err = conn.Channel(); err != nil {
			return nil, fmt.Errorf("amqppush: opening a channel: %w", err)
		}
		if _, perr := ch.QueueDeclarePassive(q, true, false, false, false, nil); perr != nil {
			return nil, fmt.Errorf("amqppush: queue %q: %w (declaring it: %v)", q, perr, err)
		}
		level := slog.LevelDebug
		if h.loggedFallback.CompareAndSwap(false, true) {
			level = slog.LevelInfo
		}
		h.log.Log(context.Background(), level, "amqp: the queue exists with other arguments; consuming it as it is", "queue", q, "broker_said", err)
	}
	if h.cfg.Bind {
		if err := ch.QueueBind(q, h.cfg.RoutingKey, h.cfg.ExchangeName, false, nil); err != nil {
			return nil, fmt.Errorf("amqppush: binding queue %q to exchange %q with key %q: %w", q, h.cfg.ExchangeName, h.cfg.RoutingKey, err)
		}
	}
	if err := ch.Qos(h.cfg.Prefetch, 0, false); err != nil {
		return nil, fmt.Errorf("amqppush: setting prefetch %d: %w", h.cfg.Prefetch, err)
	}
	return ch, nil
}

// handle delivers one message and settles it: an accepted one through
// acks, a failed one at once (after the pending acks). It reports whether
// the message was requeued; an error means the channel is unusable.
func (h *Handler) handle(ctx context.Context, d amqp.Delivery, sink push.Sink, acks *acker) (requeued bool, err error) {
	h.delivered.Add(1)
	if d.Redelivered {
		h.redelivered.Add(1)
	}
	ev := push.Deliver(ctx, Name, d.Body, sink)
	if ev.Err == nil {
		return false, acks.accept(d.DeliveryTag, ev)
	}
	if err := acks.flush(); err != nil {
		return false, err
	}
	defer acks.report(ev)
	if sinkUnavailable(ctx, ev.Err) {
		if err := d.Nack(false, true); err != nil {
			return false, fmt.Errorf("amqppush: requeueing a message: %w", err)
		}
		h.requeued.Add(1)
		if ctx.Err() == nil {
			h.log.Warn("amqp: the sink is unavailable; message requeued", "topic", ev.Topic, "err", ev.Err)
		}
		return true, nil
	}
	if err := d.Reject(false); err != nil {
		return false, fmt.Errorf("amqppush: rejecting a message: %w", err)
	}
	h.rejected.Add(1)
	h.log.Warn("amqp: push failed; message rejected", "topic", ev.Topic, "err", ev.Err, "body", clip(d.Body, 200))
	return false, nil
}

// sinkUnavailable reports whether a sink's error is not the message's
// fault: herald is stopping (ctx ended, the sink saw a cancelled context
// or a closed server) or the sink said so (ErrUnavailable).
func sinkUnavailable(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, server.ErrServerClosed) ||
		errors.Is(err, ErrUnavailable)
}

// closeError describes a NotifyClose outcome (nil: closed on purpose).
func closeError(what string, e *amqp.Error) error {
	if e == nil {
		return fmt.Errorf("amqppush: %s", what)
	}
	return fmt.Errorf("amqppush: %s: %w", what, e)
}

// closeConn closes conn, bounding the closing handshake.
func closeConn(conn *amqp.Connection) {
	if conn.IsClosed() {
		return
	}
	_ = conn.CloseDeadline(time.Now().Add(closeTimeout))
}

// clip shortens a body for the log.
func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
