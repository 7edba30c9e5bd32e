package server

import (
	"context"
	"errors"
	"github.com/heraldws/herald/wamp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
)

// flakyBroker is the in-memory broker with an outage switch: while down it
// is not ready and refuses to publish, as a real broker that lost its
// server. The real outages run in interop/TestThreeNodes and the broker
// packages; this one lets a test flip readiness at an exact instant.
type flakyBroker struct {
	*broker.Memory
	down atomic.Bool
}

func (f *flakyBroker) Ready() bool { return !f.down.Load() && f.Memory.Ready() }

func (f *flakyBroker) Publish(ctx context.Context, p broker.Publication) error {
	if f.down.Load() {
		return broker.ErrUnavailable
	}
	return f.Memory.Publish(ctx, p)
}

// A broker that comes back does not carry publications at once: the node
// first resubscribes its topics and waits the settle time, so the
// instant between the broker's return and the node handling it refuses
// publications too, and /readyz says not ready until it is over. That
// holds for an outage the node's polling saw and for one only a
// publication met.
func TestPublicationsWaitForTheBrokerToSettle(t *testing.T) {
	var fb *flakyBroker
	ts := startServer(t, Config{
		BrokerSettle: 200 * time.Millisecond,
		Broker: func(d broker.Deliver) (broker.Broker, error) {
			fb = &flakyBroker{Memory: broker.NewMemory(d)}
			return fb, nil
		},
	})
	p := Publication{Topic: "t", Payload: wamp.PayloadOfV1([]byte(`1`))}
	publish := func() error { return ts.Publish(context.Background(), p) }
	if err := publish(); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	for _, seenBy := range []string{"polling", "a publication"} {
		fb.down.Store(true)
		if seenBy == "polling" {
			waitFor(t, "herald_broker_ready 0", func() bool { return metricValue(t, ts, "herald_broker_ready") == "0" })
		} else if err := publish(); !errors.Is(err, broker.ErrUnavailable) {
			t.Fatalf("publishing during the outage: %v, want ErrUnavailable", err)
		}
		fb.down.Store(false)
		// The broker is back, whether or not the node has handled it yet.
		if err := publish(); !errors.Is(err, broker.ErrUnavailable) {
			t.Fatalf("outage seen by %s: publishing the instant the broker is back: %v, want ErrUnavailable", seenBy, err)
		}
		if code, _ := httpGet(t, "http://"+ts.addr+"/readyz"); code != 503 {
			t.Fatalf("outage seen by %s: /readyz the instant the broker is back: %d, want 503", seenBy, code)
		}
		waitFor(t, "publications resume after the settle time", func() bool { return publish() == nil })
		if code, _ := httpGet(t, "http://"+ts.addr+"/readyz"); code != 200 {
			t.Fatalf("outage seen by %s: /readyz after the settle time: %d, want 200", seenBy, code)
		}
		if v := metricValue(t, ts, "herald_broker_ready"); v != "1" {
			t.Fatalf("outage seen by %s: herald_broker_ready %s after it, want 1", seenBy, v)
		}
	}
}

// pipelinedBroker is the in-memory broker counting which way publications
// came: confirmed (Publish) or handed on without waiting (PublishNoWait).
type pipelinedBroker struct {
	*broker.Memory
	confirmed, noWait atomic.Int64
}

func (b *pipelinedBroker) Publish(ctx context.Context, p broker.Publication) error {
	if p.Topic != nodesTopic {
		b.confirmed.Add(1)
	}
	return b.Memory.Publish(ctx, p)
}

func (b *pipelinedBroker) PublishNoWait(ctx context.Context, p broker.Publication) error {
	b.noWait.Add(1)
	return b.Memory.Publish(ctx, p)
}

// A client's PUBLISH, which nobody acknowledges, is handed on without
// waiting for the broker's confirmation; the HTTP API, which answers, waits
// for it.
func TestClientPublicationsAreNotPacedByConfirmations(t *testing.T) {
	var pb *pipelinedBroker
	ts := startServer(t, Config{
		APIKey: "k3y",
		Broker: func(d broker.Deliver) (broker.Broker, error) {
			pb = &pipelinedBroker{Memory: broker.NewMemory(d)}
			return pb, nil
		},
	})
	sub := dial(t, ts.addr)
	sub.subscribe("relay")
	waitFor(t, "subscription", func() bool { return ts.hub.count("relay") == 1 })
	sub.send(`[7,"relay","from a client"]`)
	sub.expectText(eventFrame("relay", `"from a client"`))
	if code, _ := api(t, ts, "POST", "/api/publish", "header:k3y", `{"topic":"relay","data":"from the API"}`); code != 200 {
		t.Fatalf("API publish: %d", code)
	}
	sub.expectText(eventFrame("relay", `"from the API"`))
	if pb.noWait.Load() != 1 || pb.confirmed.Load() != 1 {
		t.Fatalf("%d publications without waiting, %d confirmed; want 1 and 1", pb.noWait.Load(), pb.confirmed.Load())
	}
}
