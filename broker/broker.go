// Package broker is the contract between herald nodes: a publication made
// on one node reaches the subscribers of its topic on every node. A Broker
// carries publications between nodes; each node's server delivers them to
// its own connections.
//
// Guarantees, as in every peer (Centrifugo, nexus, Crossbar): delivery is
// at most once to the subscribers connected when a publication passes
// through; publications from one publisher to one topic arrive in the
// order they were published; nothing is stored for subscribers that
// connect later. A node subscribes on the broker only to the topics that
// have local subscribers.
//
// Implementations: Memory (one node, the default), and in subpackages
// redisbroker (Redis Pub/Sub) and natsbroker (NATS). brokertest holds the
// conformance suite every implementation passes.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrUnavailable is wrapped by Publish and Subscribe errors while the
// broker cannot be reached. Callers report it (HTTP 503, AMQP requeue)
// rather than drop anything silently.
var ErrUnavailable = errors.New("broker: unavailable")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("broker: closed")

// Publication is what travels between nodes.
type Publication struct {
	// Topic is the exact topic.
	Topic string
	// Payload is the event as raw JSON: WAMP v1's event, which is also the
	// only positional argument of a WAMP v2 publication that has one.
	Payload json.RawMessage
	// Args (a JSON array) and Kwargs (a JSON object) carry a WAMP v2
	// publication that one event cannot: several positional arguments,
	// none, or keyword arguments. Payload then holds its v1 form. Both are
	// nil for a publication Payload carries whole, so that nodes that know
	// only Payload read it as before.
	Args   json.RawMessage
	Kwargs json.RawMessage
	// Exclude and Eligible are session-id lists applied on every node.
	Exclude  []string
	Eligible []string
	// ExcludeAuthID, EligibleAuthID, ExcludeAuthRole and EligibleAuthRole
	// are WAMP v2's authid and authrole lists, applied on every node.
	ExcludeAuthID    []string
	EligibleAuthID   []string
	ExcludeAuthRole  []string
	EligibleAuthRole []string
	// Publisher, when not nil, is the publishing session disclosed to
	// WAMP v2 subscribers.
	Publisher *Publisher
	// ID is the publication's WAMP v2 id (0: none was drawn).
	ID uint64
	// Origin is the node id of the node that published it.
	Origin string
}

// Publisher is a publishing session disclosed to subscribers.
type Publisher struct {
	Session  string `json:"s"`
	AuthID   string `json:"a,omitempty"`
	AuthRole string `json:"r,omitempty"`
}

// Deliver receives the publications of subscribed topics. It is called
// from the broker's own goroutine, one publication at a time per topic, and
// must not block for long.
type Deliver func(Publication)

// Broker carries publications between nodes. Implementations are safe for
// concurrent use.
type Broker interface {
	// Publish sends p to every node subscribed to p.Topic, this one
	// included when it is subscribed.
	Publish(ctx context.Context, p Publication) error
	// Subscribe starts delivering the publications of topic to this
	// node's Deliver. Subscribing twice is the same as once.
	Subscribe(ctx context.Context, topic string) error
	// Unsubscribe stops delivering topic. Unsubscribing a topic that is
	// not subscribed does nothing.
	Unsubscribe(ctx context.Context, topic string) error
	// Ready reports whether the broker can carry publications now.
	Ready() bool
	// Close releases everything; Deliver is not called after it returns.
	Close(ctx context.Context) error
}

// Pipeliner is a Broker whose Publish waits for its server's confirmation
// and which can also publish without waiting: PublishNoWait hands p to the
// connection and returns, ordered with the Publish and PublishNoWait calls
// that returned before it. It still fails at once, wrapping ErrUnavailable,
// while the broker is known to be unreachable; a failure after it returned
// is logged, not reported. Publishers that owe nobody an answer (a WAMP
// PUBLISH has no acknowledgement) use it, so that a stream of publications
// is not paced by round trips; those that must answer honestly (the HTTP
// API, AMQP acknowledgements) use Publish.
type Pipeliner interface {
	Broker
	PublishNoWait(ctx context.Context, p Publication) error
}

// wire is a Publication's encoding between nodes.
type wire struct {
	Topic    string          `json:"t"`
	Payload  json.RawMessage `json:"p"`
	Args     json.RawMessage `json:"a,omitempty"`
	Kwargs   json.RawMessage `json:"k,omitempty"`
	Exclude  []string        `json:"x,omitempty"`
	Eligible []string        `json:"e,omitempty"`
	// The authid and authrole lists and the publisher are WAMP v2's.
	ExcludeAuthID    []string   `json:"xa,omitempty"`
	EligibleAuthID   []string   `json:"ea,omitempty"`
	ExcludeAuthRole  []string   `json:"xr,omitempty"`
	EligibleAuthRole []string   `json:"er,omitempty"`
	Publisher        *Publisher `json:"pub,omitempty"`
	ID               uint64     `json:"id,omitempty"`
	Origin           string     `json:"o,omitempty"`
}

// Marshal encodes p for the wire.
func Marshal(p Publication) ([]byte, error) {
	if len(p.Payload) == 0 {
		p.Payload = json.RawMessage("null")
	}
	return json.Marshal(wire(p))
}

// Unmarshal decodes what Marshal encoded.
func Unmarshal(data []byte) (Publication, error) {
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return Publication{}, fmt.Errorf("broker: decoding a publication: %w", err)
	}
	if w.Topic == "" {
		return Publication{}, errors.New("broker: decoding a publication: no topic")
	}
	return Publication(w), nil
}
