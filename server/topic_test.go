package server

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/wamp"
)

// contextKey marks the contexts a test passes down.
type contextKey struct{}

// contextBroker is the memory broker, noting the marker value of every
// context it is given to publish.
type contextBroker struct {
	*broker.Memory
	seen chan any
}

func (b *contextBroker) Publish(ctx context.Context, p broker.Publication) error {
	b.seen <- ctx.Value(contextKey{})
	return b.Memory.Publish(ctx, p)
}

func (b *contextBroker) PublishNoWait(ctx context.Context, p broker.Publication) error {
	b.seen <- ctx.Value(contextKey{})
	return b.Memory.Publish(ctx, p)
}

// Topic.Broadcast and Topic.Relay hand the handler's context to the
// broker: a request's deadline or cancellation bounds the publication.
func TestTopicPublishesWithTheCallersContext(t *testing.T) {
	cb := &contextBroker{seen: make(chan any, 2)}
	ts := startServer(t, Config{Broker: func(d broker.Deliver) (broker.Broker, error) {
		cb.Memory = broker.NewMemory(d)
		return cb, nil
	}})
	topic := &Topic{srv: ts.Server, Name: "acme/news"}
	ctx := context.WithValue(t.Context(), contextKey{}, "the handler's")
	if err := topic.Broadcast(ctx, wamp.PayloadOfV1(json.RawMessage(`1`)), Audience{}); err != nil {
		t.Fatal(err)
	}
	if err := topic.Relay(ctx, wamp.PayloadOfV1(json.RawMessage(`2`)), Audience{}); err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"Broadcast", "Relay"} {
		if got := <-cb.seen; got != "the handler's" {
			t.Errorf("%s: the broker got a context marked %v", what, got)
		}
	}
}
