package natsbroker

import (
	"context"
	"fmt"
	"testing"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/broker/brokertest"
)

// TestConformance runs the broker conformance suite on the shared NATS,
// every node of a run under one fresh prefix.
func TestConformance(t *testing.T) {
	needNATS(t)
	prefix := uniquePrefix()
	brokertest.Run(t, func(t *testing.T, deliver broker.Deliver) broker.Broker {
		b, err := New(Config{URL: realURL, Prefix: prefix, NodeID: t.Name(), Logger: testLogger()}, deliver)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		return b
	})
}

// TestConformanceEmbedded runs it on an embedded NATS server.
func TestConformanceEmbedded(t *testing.T) {
	port := sparePort(t)
	startServer(t, port)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	brokertest.Run(t, func(t *testing.T, deliver broker.Deliver) broker.Broker {
		b, err := New(Config{URL: url, NodeID: t.Name(), Logger: testLogger()}, deliver)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		return b
	})
}
