package amqppush

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/topic"
)

// ErrClosed is returned by Push after Close.
var ErrClosed = errors.New("amqppush: pusher closed")

// ErrNacked is wrapped by Push's error when the broker refused the
// message (basic.nack).
var ErrNacked = errors.New("amqppush: the broker refused the message")

// Pusher is the AMQP pusher: it publishes {"topic", "data"} to the
// exchange as Gos's AmqpPusher does, on one connection and one channel in
// confirm mode, and waits for the broker's confirm. It connects on the
// first Push and reconnects on the next Push after a loss. It is safe for
// concurrent use.
type Pusher struct {
	cfg    Config
	router *topic.Router

	mu     sync.Mutex
	conn   *amqp.Connection
	ch     *amqp.Channel
	closed bool
}

var _ push.Pusher = (*Pusher)(nil)

// NewPusher checks cfg and returns a Pusher that generates channels with
// router (nil: the route given to Push is the channel itself). It does not
// connect: the first Push does.
func NewPusher(cfg Config, router *topic.Router) (*Pusher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Pusher{cfg: cfg, router: router}, nil
}

// Push implements push.Pusher: it generates the channel of route with
// params, encodes the envelope with push.Encode and publishes it to the
// exchange, then waits for the broker's confirm (bounded by ctx and by
// Config.ConfirmTimeout). opts is Gos's $context:
//   - "routing_key" (string): the routing key; absent or nil means
//     Config.RoutingKey ("" by default, as Gos).
//   - "attributes" (map): php-amqp's message attributes: content_type
//     (default application/json), content_encoding, delivery_mode (1 or
//     2; Config.Persistent makes 2 the default), priority, correlation_id,
//     reply_to, expiration, message_id, timestamp (Unix seconds), type,
//     user_id, app_id, headers (map).
//   - "persistent" (bool): delivery mode 2 for this message.
//
// A publication whose channel or connection died before the confirm is
// retried once on a new connection, so the broker may receive it twice.
func (p *Pusher) Push(ctx context.Context, data any, route string, params map[string]string, opts map[string]any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("amqppush: %w", err)
	}
	channel, err := push.Channel(p.router, route, params)
	if err != nil {
		return fmt.Errorf("amqppush: generating the channel of %q: %w", route, err)
	}
	body, err := push.Encode(channel, data)
	if err != nil {
		return fmt.Errorf("amqppush: encoding the message: %w", err)
	}
	key, msg, err := p.publishing(body, opts)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		ch, err := p.channel()
		if err != nil {
			return err
		}
		retry, err := p.publish(ctx, ch, key, msg)
		if err == nil || !retry || attempt == 2 {
			return err
		}
	}
}

// publish sends msg on ch and waits for its confirm. retry reports that
// ch died first, so publishing again on a new channel may succeed.
func (p *Pusher) publish(ctx context.Context, ch *amqp.Channel, key string, msg amqp.Publishing) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConfirmTimeout)
	defer cancel()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, p.cfg.ExchangeName, key, false, false, msg)
	if err != nil {
		return ctx.Err() == nil && ch.IsClosed(), fmt.Errorf("amqppush: publishing to exchange %q with key %q: %w", p.cfg.ExchangeName, key, err)
	}
	acked, err := dc.WaitContext(ctx)
	switch {
	case err != nil:
		return false, fmt.Errorf("amqppush: waiting for the broker to confirm a message to exchange %q: %w", p.cfg.ExchangeName, err)
	case acked:
		return false, nil
	case ch.IsClosed():
		// Pending confirms are nacked when the channel closes.
		return true, fmt.Errorf("amqppush: the channel closed before the broker confirmed a message to exchange %q", p.cfg.ExchangeName)
	}
	return false, fmt.Errorf("%w (exchange %q, key %q)", ErrNacked, p.cfg.ExchangeName, key)
}

// channel returns the open confirm channel, connecting (again) if needed.
func (p *Pusher) channel() (*amqp.Channel, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if p.conn != nil && !p.conn.IsClosed() && p.ch != nil && !p.ch.IsClosed() {
		return p.ch, nil
	}
	if p.conn == nil || p.conn.IsClosed() {
		conn, err := p.cfg.dial("-pusher")
		if err != nil {
			return nil, err
		}
		p.conn, p.ch = conn, nil
	}
	ch, err := p.openChannel()
	if err != nil {
		// Start over with a new connection next time.
		closeConn(p.conn)
		p.conn = nil
		return nil, err
	}
	p.ch = ch
	return ch, nil
}

// openChannel opens a channel in confirm mode and declares the exchange.
func (p *Pusher) openChannel() (*amqp.Channel, error) {
	ch, err := p.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqppush: opening a channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		return nil, fmt.Errorf("amqppush: enabling publisher confirms: %w", err)
	}
	if err := p.cfg.declareExchange(ch); err != nil {
		return nil, err
	}
	return ch, nil
}

// Close implements push.Pusher: it closes the connection. Pushes waiting
// for a confirm fail.
func (p *Pusher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.conn == nil || p.conn.IsClosed() {
		return nil
	}
	if err := p.conn.CloseDeadline(time.Now().Add(closeTimeout)); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("amqppush: closing the connection: %w", err)
	}
	return nil
}

// publishing builds the routing key and message from Push's options.
func (p *Pusher) publishing(body []byte, opts map[string]any) (string, amqp.Publishing, error) {
	key := p.cfg.RoutingKey
	msg := amqp.Publishing{Body: body, ContentType: "application/json"}
	if p.cfg.Persistent {
		msg.DeliveryMode = amqp.Persistent
	}
	for k := range opts {
		if k != "routing_key" && k != "persistent" && k != "attributes" {
			return "", msg, fmt.Errorf("amqppush: unknown push option %q (want routing_key, attributes or persistent)", k)
		}
	}
	if v := opts["routing_key"]; v != nil {
		s, ok := v.(string)
		if !ok {
			return "", msg, fmt.Errorf("amqppush: routing_key: want a string, got %T", v)
		}
		key = s
	}
	if v, ok := opts["persistent"]; ok && v != nil {
		b, err := push.Bool(v)
		if err != nil {
			return "", msg, fmt.Errorf("amqppush: persistent: %w", err)
		}
		msg.DeliveryMode = amqp.Transient
		if b {
			msg.DeliveryMode = amqp.Persistent
		}
	}
	// Attributes come last: their delivery_mode wins.
	if err := applyAttributes(&msg, opts["attributes"]); err != nil {
		return "", msg, err
	}
	return key, msg, nil
}

// applyAttributes sets php-amqp's message attributes on msg.
func applyAttributes(msg *amqp.Publishing, v any) error {
	var attrs map[string]any
	switch a := v.(type) {
	case nil:
		return nil
	case map[string]any:
		attrs = a
	case map[string]string:
		attrs = make(map[string]any, len(a))
		for k, s := range a {
			attrs[k] = s
		}
	default:
		return fmt.Errorf("amqppush: attributes: want a map, got %T", v)
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic errors
	for _, k := range keys {
		if err := applyAttribute(msg, k, attrs[k]); err != nil {
			return fmt.Errorf("amqppush: attribute %s: %w", k, err)
		}
	}
	return nil
}

func applyAttribute(msg *amqp.Publishing, k string, v any) error {
	var err error
	switch k {
	case "content_type":
		msg.ContentType, err = push.String(v)
	case "content_encoding":
		msg.ContentEncoding, err = push.String(v)
	case "correlation_id":
		msg.CorrelationId, err = push.String(v)
	case "reply_to":
		msg.ReplyTo, err = push.String(v)
	case "expiration":
		msg.Expiration, err = push.String(v)
	case "message_id":
		msg.MessageId, err = push.String(v)
	case "type":
		msg.Type, err = push.String(v)
	case "user_id":
		msg.UserId, err = push.String(v)
	case "app_id":
		msg.AppId, err = push.String(v)
	case "delivery_mode":
		var n int
		if n, err = push.Int(v); err == nil {
			if n != int(amqp.Transient) && n != int(amqp.Persistent) {
				return fmt.Errorf("want 1 (transient) or 2 (persistent), got %d", n)
			}
			msg.DeliveryMode = uint8(n)
		}
	case "priority":
		var n int
		if n, err = push.Int(v); err == nil {
			if n < 0 || n > math.MaxUint8 {
				return fmt.Errorf("%d is out of range (0..255)", n)
			}
			msg.Priority = uint8(n)
		}
	case "timestamp":
		if t, ok := v.(time.Time); ok {
			msg.Timestamp = t
			return nil
		}
		var n int
		if n, err = push.Int(v); err == nil {
			msg.Timestamp = time.Unix(int64(n), 0)
		}
	case "headers":
		var t amqp.Table
		if t, err = table(v); err == nil {
			if err = t.Validate(); err == nil {
				msg.Headers = t
			}
		}
	default:
		return errors.New("unknown attribute (want " + strings.Join(attributeNames, ", ") + ")")
	}
	return err
}

var attributeNames = []string{"content_type", "content_encoding", "delivery_mode", "priority", "correlation_id",
	"reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id", "headers"}

// table converts a decoded map into an AMQP field table.
func table(v any) (amqp.Table, error) {
	switch m := v.(type) {
	case nil:
		return nil, nil
	case amqp.Table:
		return m, nil
	case map[string]string:
		t := make(amqp.Table, len(m))
		for k, s := range m {
			t[k] = s
		}
		return t, nil
	case map[string]any:
		t := make(amqp.Table, len(m))
		for k, e := range m {
			t[k] = fieldValue(e)
		}
		return t, nil
	}
	return nil, fmt.Errorf("want a map, got %T", v)
}

// fieldValue converts nested decoded values into AMQP field values.
func fieldValue(v any) any {
	switch e := v.(type) {
	case map[string]any:
		t, _ := table(e)
		return t
	case map[string]string:
		t, _ := table(e)
		return t
	case []any:
		out := make([]any, len(e))
		for i, x := range e {
			out[i] = fieldValue(x)
		}
		return out
	case int:
		return int64(e)
	case uint64:
		if e <= math.MaxInt64 {
			return int64(e)
		}
	}
	return v
}
