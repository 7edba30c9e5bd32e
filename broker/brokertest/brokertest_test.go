package brokertest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/broker/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hub is an in-process cluster: the suite's multi-node checks run on it
// without a server.
type hub struct {
	mu    sync.Mutex
	nodes map[*hubNode]struct{}
}

type hubNode struct {
	hub     *hub
	deliver broker.Deliver
	topics  map[string]struct{} // under hub.mu
	closed  bool                // under hub.mu
}

func (n *hubNode) Publish(_ context.Context, p broker.Publication) error {
	n.hub.mu.Lock()
	defer n.hub.mu.Unlock()
	if n.closed {
		return fmt.Errorf("hub: %w", broker.ErrClosed)
	}
	for other := range n.hub.nodes {
		if _, ok := other.topics[p.Topic]; ok {
			other.deliver(p)
		}
	}
	return nil
}

func (n *hubNode) Subscribe(_ context.Context, topic string) error {
	n.hub.mu.Lock()
	defer n.hub.mu.Unlock()
	if n.closed {
		return fmt.Errorf("hub: %w", broker.ErrClosed)
	}
	n.topics[topic] = struct{}{}
	return nil
}

func (n *hubNode) Unsubscribe(_ context.Context, topic string) error {
	n.hub.mu.Lock()
	defer n.hub.mu.Unlock()
	delete(n.topics, topic)
	return nil
}

func (n *hubNode) Ready() bool {
	n.hub.mu.Lock()
	defer n.hub.mu.Unlock()
	return !n.closed
}

func (n *hubNode) Close(context.Context) error {
	n.hub.mu.Lock()
	defer n.hub.mu.Unlock()
	n.closed = true
	delete(n.hub.nodes, n)
	return nil
}

func TestRunOnInProcessCluster(t *testing.T) {
	h := &hub{nodes: map[*hubNode]struct{}{}}
	brokertest.Run(t, func(t *testing.T, deliver broker.Deliver) broker.Broker {
		n := &hubNode{hub: h, deliver: deliver, topics: map[string]struct{}{}}
		h.mu.Lock()
		h.nodes[n] = struct{}{}
		h.mu.Unlock()
		t.Cleanup(func() { _ = n.Close(context.Background()) })
		return n
	})
}
