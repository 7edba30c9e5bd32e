package server

import (
	"context"
	"errors"
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
	p := Publication{Topic: "t", Event: []byte(`1`)}
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
