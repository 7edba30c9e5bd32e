package amqppush

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/topic"
)

// pusherFixture declares a queue bound to the pusher's exchange with key,
// so the test can read what the pusher published, raw.
func pusherFixture(t *testing.T, key string) (Config, *admin) {
	t.Helper()
	cfg := testConfig(t, nil)
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	ch := a.channel()
	// The exchange as Gos and herald declare it.
	must(t, ch.ExchangeDeclare(cfg.ExchangeName, amqp.ExchangeDirect, true, false, false, false, nil))
	_, err := ch.QueueDeclare(cfg.QueueName, true, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind(cfg.QueueName, key, cfg.ExchangeName, false, nil))
	return cfg, a
}

func newTestPusher(t *testing.T, cfg Config, router *topic.Router) *Pusher {
	t.Helper()
	p, err := NewPusher(cfg, router)
	must(t, err)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// The routing key and the attributes of the options reach the message;
// the body is Gos's envelope; the broker confirmed it before Push
// returned.
func TestPusherRoutingKeyAndAttributes(t *testing.T) {
	cfg, a := pusherFixture(t, "rk-test")
	router, err := topic.NewRouter([]*topic.Route{{Name: "acme_route", Pattern: "acme/{id}", Callback: "acme"}}, topic.Options{})
	must(t, err)
	p := newTestPusher(t, cfg, router)
	ctx := context.Background()
	stamp := time.Unix(1700000000, 0)
	err = p.Push(ctx, map[string]any{"a": 1}, "acme_route", map[string]string{"id": "7"}, map[string]any{
		"routing_key": "rk-test",
		"attributes": map[string]any{
			"content_type":   "application/x-test",
			"headers":        map[string]any{"h": "v", "n": 1, "nested": map[string]any{"x": true}},
			"message_id":     "m1",
			"correlation_id": "c1",
			"app_id":         "herald-test",
			"type":           "t",
			"priority":       3,
			"delivery_mode":  1,
			"timestamp":      stamp.Unix(),
			"expiration":     "60000",
		},
	})
	must(t, err)
	// Confirmed: it is in the queue already.
	if q, err := a.inspect(cfg.QueueName); err != nil || q.Messages != 1 {
		t.Fatalf("queue after a confirmed push: %+v, %v", q, err)
	}
	d := a.get(cfg.QueueName)
	if string(d.Body) != `{"topic":"acme/7","data":{"a":1}}` {
		t.Errorf("body %s", d.Body)
	}
	if d.Exchange != cfg.ExchangeName || d.RoutingKey != "rk-test" {
		t.Errorf("exchange %q, routing key %q", d.Exchange, d.RoutingKey)
	}
	if d.ContentType != "application/x-test" || d.MessageId != "m1" || d.CorrelationId != "c1" || d.AppId != "herald-test" ||
		d.Type != "t" || d.Priority != 3 || d.DeliveryMode != amqp.Transient || !d.Timestamp.Equal(stamp) || d.Expiration != "60000" {
		t.Errorf("attributes %+v", d)
	}
	if d.Headers["h"] != "v" || d.Headers["n"] != int64(1) || d.Headers["nested"].(amqp.Table)["x"] != true {
		t.Errorf("headers %v", d.Headers)
	}

	// A message with a key nothing is bound to is confirmed and dropped by
	// the broker, as with Gos.
	must(t, p.Push(ctx, 1, "acme_route", map[string]string{"id": "8"}, map[string]any{"routing_key": "unbound"}))
	if q, _ := a.inspect(cfg.QueueName); q.Messages != 0 {
		t.Errorf("queue: %+v", q)
	}

	// Bad options fail before anything is sent.
	for _, opts := range []map[string]any{
		{"routing_kye": "x"},
		{"routing_key": 5},
		{"attributes": map[string]any{"delivery_mode": 3}},
		{"attributes": map[string]any{"colour": "blue"}},
		{"attributes": "content_type=x"},
	} {
		if err := p.Push(ctx, 1, "acme_route", map[string]string{"id": "9"}, opts); err == nil {
			t.Errorf("Push with %v: no error", opts)
		}
	}
	if _, err := push.Channel(router, "nope", nil); err == nil {
		t.Fatal("want an error for an unknown route")
	}
	if err := p.Push(ctx, 1, "nope", nil, nil); err == nil || !errors.Is(err, topic.ErrUnknownRoute) {
		t.Errorf("Push to an unknown route: %v", err)
	}
	if q, _ := a.inspect(cfg.QueueName); q.Messages != 0 {
		t.Errorf("queue after failed pushes: %+v", q)
	}
}

// Persistent makes delivery mode 2 the default; the default routing key
// is Config.RoutingKey; string data is wrapped in a list as Gos does.
func TestPusherPersistentAndDefaults(t *testing.T) {
	cfg, a := pusherFixture(t, "")
	cfg.Persistent = true
	p := newTestPusher(t, cfg, nil)
	must(t, p.Push(context.Background(), "hello", "acme/channel", nil, nil))
	d := a.get(cfg.QueueName)
	if string(d.Body) != `{"topic":"acme/channel","data":["hello"]}` || d.RoutingKey != "" ||
		d.DeliveryMode != amqp.Persistent || d.ContentType != "application/json" {
		t.Fatalf("message %+v", d)
	}
	// An explicit attribute wins over Persistent; so does persistent: false.
	must(t, p.Push(context.Background(), 1, "acme/channel", nil, map[string]any{"attributes": map[string]any{"delivery_mode": 1}}))
	must(t, p.Push(context.Background(), 2, "acme/channel", nil, map[string]any{"persistent": false}))
	for i := 0; i < 2; i++ {
		if d := a.get(cfg.QueueName); d.DeliveryMode != amqp.Transient {
			t.Fatalf("message %d: delivery mode %d", i, d.DeliveryMode)
		}
	}
	cfg.Persistent = false
	cfg.RoutingKey = "other"
	q := newTestPusher(t, cfg, nil)
	must(t, a.do(func(ch *amqp.Channel) error {
		return ch.QueueBind(cfg.QueueName, "other", cfg.ExchangeName, false, nil)
	}))
	must(t, q.Push(context.Background(), 3, "acme/channel", nil, map[string]any{"persistent": true}))
	if d := a.get(cfg.QueueName); d.RoutingKey != "other" || d.DeliveryMode != amqp.Persistent {
		t.Fatalf("message %+v", d)
	}
}

// A dead connection or channel is replaced on the next Push; after Close,
// Push fails.
func TestPusherReconnects(t *testing.T) {
	cfg, a := pusherFixture(t, "")
	p := newTestPusher(t, cfg, nil)
	ctx := context.Background()
	must(t, p.Push(ctx, 1, "acme/channel", nil, nil))

	must(t, currentConn(p).Close())
	must(t, p.Push(ctx, 2, "acme/channel", nil, nil))

	p.mu.Lock()
	ch := p.ch
	p.mu.Unlock()
	must(t, ch.Close())
	must(t, p.Push(ctx, 3, "acme/channel", nil, nil))

	// The broker closes the connection: the next Push reconnects.
	closeConnection(t, connectionPid(t, cfg.ConnectionName+"-pusher"))
	deadline := time.Now().Add(5 * time.Second)
	for !currentConn(p).IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	must(t, p.Push(ctx, 4, "acme/channel", nil, nil))

	for i := 1; i <= 4; i++ {
		if d := a.get(cfg.QueueName); !strings.Contains(string(d.Body), `"data":`+string(rune('0'+i))) {
			t.Fatalf("message %d: %s", i, d.Body)
		}
	}
	must(t, p.Close())
	if err := p.Push(ctx, 5, "acme/channel", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after Close: %v", err)
	}
}

// A confirm that does not come in time (or a cancelled context) is an
// error.
func TestPusherContext(t *testing.T) {
	cfg, _ := pusherFixture(t, "")
	p := newTestPusher(t, cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Push(ctx, 1, "acme/channel", nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Push with a cancelled context: %v", err)
	}
}

// currentConn returns the pusher's current connection.
func currentConn(p *Pusher) *amqp.Connection {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn
}
