package broker_test

import (
	"context"
	"testing"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/broker/brokertest"
)

var _ broker.Broker = (*broker.Memory)(nil)

// TestMemoryConformance runs the single-node suite: a Memory broker shares
// nothing with any other.
func TestMemoryConformance(t *testing.T) {
	brokertest.RunSingleNode(t, func(t *testing.T, deliver broker.Deliver) broker.Broker {
		m := broker.NewMemory(deliver)
		t.Cleanup(func() { _ = m.Close(context.Background()) })
		return m
	})
}
