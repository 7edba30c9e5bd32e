// Package push is herald's side of GosWebSocketBundle's pushers and push
// handlers: the message envelope every transport carries, the interfaces
// of a push handler (the receiving side, inside herald serve) and of a
// pusher (the sending side, for backends and `herald push`), the events
// they report, and registration by name so a program that embeds herald
// adds its own transports.
//
// Transports live in subpackages, each importing its heavy client library
// alone: amqppush (RabbitMQ, both directions) and zmqpush (ZeroMQ, both
// directions). The HTTP and WAMP pushers are in this package.
package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/topic"
	"github.com/heraldws/herald/wamp"
)

// Message is the envelope on every queue, as Gos's pushers serialize it:
// {"topic": "<channel>", "data": <data>}.
type Message struct {
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

// ErrInvalidMessage is wrapped by Decode's errors.
var ErrInvalidMessage = errors.New("push: invalid message")

// Decode reads an envelope. The topic must be a non-empty string and data
// must be present (it may be null).
func Decode(body []byte) (Message, error) {
	var m struct {
		Topic *string         `json:"topic"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	switch {
	case m.Topic == nil || *m.Topic == "":
		return Message{}, fmt.Errorf("%w: no topic", ErrInvalidMessage)
	case m.Data == nil:
		return Message{}, fmt.Errorf("%w: no data", ErrInvalidMessage)
	}
	return Message{Topic: *m.Topic, Data: m.Data}, nil
}

// Encode builds the envelope for topic and data. data is JSON already
// (json.RawMessage) or any value encoding/json marshals. As Gos 2.x/3.x's
// AbstractPusher does, a string is sent wrapped in a list (["s"]).
func Encode(topic string, data any) ([]byte, error) {
	raw, err := Data(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Message{Topic: topic, Data: raw})
}

// Data turns a pushed value into the envelope's data, applying Gos's rule
// that a string becomes a one-element list.
func Data(data any) (json.RawMessage, error) {
	var raw json.RawMessage
	switch d := data.(type) {
	case json.RawMessage:
		if !json.Valid(d) {
			return nil, fmt.Errorf("push: data is not valid JSON")
		}
		raw = d
	case []byte:
		return Data(json.RawMessage(d))
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("push: encoding data: %w", err)
		}
		raw = b
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '"' {
		raw = append(append(json.RawMessage{'['}, t...), ']')
	}
	return raw, nil
}

// Sink accepts the messages a push handler receives: herald's server
// (server.Server implements it). An error means the message was not
// accepted (no route, or its handler refused it).
type Sink interface {
	Push(ctx context.Context, topic string, ev *server.PushEvent) error
}

// Event reports the outcome of one pushed message, as GosWebSocketBundle's
// gos_web_socket.push_success and gos_web_socket.push_fail events do.
type Event struct {
	// Provider names the push handler ("amqp", "zmq", …).
	Provider string
	// Body is the raw message as received.
	Body []byte
	// Topic is the decoded topic ("" when the body could not be decoded).
	Topic string
	// Err is nil for push_success, the reason for push_fail.
	Err error
}

// Success reports whether the event is a push_success.
func (e Event) Success() bool { return e.Err == nil }

// Handler is a push handler: it receives messages from a transport and
// hands them to the sink until ctx ends, reporting each outcome to report.
// Run returns nil when ctx ends, or an error it could not recover from.
type Handler interface {
	Name() string
	Run(ctx context.Context, sink Sink, report func(Event)) error
}

// Deliver decodes one message body and pushes it to sink, returning the
// event to report. Push handlers share it so every transport treats
// messages alike.
func Deliver(ctx context.Context, provider string, body []byte, sink Sink) Event {
	ev := Event{Provider: provider, Body: body}
	m, err := Decode(body)
	if err != nil {
		ev.Err = err
		return ev
	}
	ev.Topic = m.Topic
	ev.Err = sink.Push(ctx, m.Topic, &server.PushEvent{Payload: wamp.PayloadOfV1(m.Data), Provider: provider})
	return ev
}

// Pusher is the sending side: it generates the channel of route with
// params through the routing files and sends {"topic": channel, "data":
// data}. opts carries transport options (Gos's $context): for AMQP the
// routing key and message attributes.
type Pusher interface {
	Push(ctx context.Context, data any, route string, params map[string]string, opts map[string]any) error
	Close() error
}

// Channel generates the channel of route with params, or returns route
// itself when router is nil (a channel given directly).
func Channel(router *topic.Router, route string, params map[string]string) (string, error) {
	if router == nil {
		return route, nil
	}
	return router.Generate(route, params)
}

// HandlerFactory builds a push handler from its configuration (decoded
// YAML, a map).
type HandlerFactory func(config map[string]any) (Handler, error)

// PusherFactory builds a pusher from its configuration.
type PusherFactory func(config map[string]any, router *topic.Router) (Pusher, error)

var (
	registryMu sync.Mutex
	handlers   = map[string]HandlerFactory{}
	pushers    = map[string]PusherFactory{}
)

// RegisterHandler makes a push handler available under name (the key of
// its section under `pushers:`). It panics if name is taken, like
// database/sql.Register.
func RegisterHandler(name string, f HandlerFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := handlers[name]; dup {
		panic("push: handler " + name + " registered twice")
	}
	handlers[name] = f
}

// RegisterPusher makes a pusher available under name (`herald push --via
// name`). It panics if name is taken.
func RegisterPusher(name string, f PusherFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := pushers[name]; dup {
		panic("push: pusher " + name + " registered twice")
	}
	pushers[name] = f
}

// NewHandler builds the push handler registered under name.
func NewHandler(name string, config map[string]any) (Handler, error) {
	registryMu.Lock()
	f, ok := handlers[name]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("push: no push handler %q (registered: %v)", name, HandlerNames())
	}
	return f(config)
}

// NewPusher builds the pusher registered under name.
func NewPusher(name string, config map[string]any, router *topic.Router) (Pusher, error) {
	registryMu.Lock()
	f, ok := pushers[name]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("push: no pusher %q (registered: %v)", name, PusherNames())
	}
	return f(config, router)
}

// HandlerNames lists the registered push handlers.
func HandlerNames() []string { return names(handlers) }

// PusherNames lists the registered pushers.
func PusherNames() []string { return names(pushers) }

func names[V any](m map[string]V) []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
