package broker

import (
	"context"
	"sync"

	"github.com/heraldws/herald/internal/shrink"
)

// Memory is the broker of a single node: a publication is delivered at once
// to this node when it subscribes to the topic. It is the zero-config
// default.
type Memory struct {
	deliver Deliver

	mu sync.RWMutex
	// topics maps each subscribed topic to the lock that serializes its
	// deliveries: one publication at a time per topic, as the Deliver
	// contract says, while publications to different topics go in
	// parallel.
	topics map[string]*sync.Mutex
	peak   shrink.Peak
	closed bool
}

var _ Broker = (*Memory)(nil)

// NewMemory returns a Memory broker delivering to deliver.
func NewMemory(deliver Deliver) *Memory {
	return &Memory{deliver: deliver, topics: map[string]*sync.Mutex{}}
}

// Publish implements Broker. Delivery happens on the caller's goroutine,
// under a read lock, so nothing is delivered once Close has returned, and
// one publication at a time per topic.
func (m *Memory) Publish(_ context.Context, p Publication) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	if topic := m.topics[p.Topic]; topic != nil {
		topic.Lock()
		defer topic.Unlock()
		m.deliver(p)
	}
	return nil
}

// Subscribe implements Broker.
func (m *Memory) Subscribe(_ context.Context, topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.topics[topic] == nil {
		m.topics[topic] = &sync.Mutex{}
		m.peak.Grew(len(m.topics))
	}
	return nil
}

// Unsubscribe implements Broker.
func (m *Memory) Unsubscribe(_ context.Context, topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics, topic)
	m.topics = shrink.Map(m.topics, &m.peak)
	return nil
}

// Ready implements Broker: a Memory broker is always ready until closed.
func (m *Memory) Ready() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return !m.closed
}

// Close implements Broker.
func (m *Memory) Close(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.topics = map[string]*sync.Mutex{}
	return nil
}
