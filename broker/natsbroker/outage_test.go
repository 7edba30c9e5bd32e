package natsbroker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
)

// TestOutage stops the embedded NATS server both nodes use and starts a
// new one on the same port: not ready and ErrUnavailable during, ready
// after, the subscription restored by nats.go, and nothing published
// during the outage delivered late.
func TestOutage(t *testing.T) {
	port := sparePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	srv := startServer(t, port)

	prefix := uniquePrefix()
	subCol, pubCol := newCollector(), newCollector()
	sub := newNode(t, url, prefix, subCol.deliver)
	pubr := newNode(t, url, prefix, pubCol.deliver)
	subscribe(t, sub, "t")
	subscribe(t, pubr, "self")
	publish(t, pubr, pub("t", 1))
	if got := subCol.waitN(t, 1); string(got[0].Payload) != "1" {
		t.Fatalf("before the outage: %v", got)
	}

	stopServer(srv)
	for _, b := range []*Broker{sub, pubr} {
		waitFor(t, "not ready during the outage", func() bool { return !b.Ready() })
	}
	if err := pubr.Publish(ctx(t), pub("t", 2)); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Publish during the outage: %v, want ErrUnavailable", err)
	}
	if err := sub.Subscribe(ctx(t), "new"); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Subscribe during the outage: %v, want ErrUnavailable", err)
	}
	if err := sub.Unsubscribe(ctx(t), "never"); err != nil {
		t.Fatalf("Unsubscribe during the outage: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // a few reconnect attempts fail

	startServer(t, port)
	for _, b := range []*Broker{sub, pubr} {
		waitFor(t, "ready after the outage", b.Ready)
	}
	// Ready means the subscriptions were sent again: the publisher's own
	// is there at once; the other node's, sent on its own connection, by
	// the time a round trip of that connection returns.
	publish(t, pubr, pub("self", 3))
	if got := pubCol.waitN(t, 1); string(got[0].Payload) != "3" {
		t.Fatalf("self delivery after the outage: %v", got)
	}
	if err := sub.nc.FlushTimeout(wait); err != nil {
		t.Fatal(err)
	}
	subscribe(t, sub, "new")
	publish(t, pubr, pub("t", 4))
	publish(t, pubr, pub("new", 5))
	got := subCol.waitN(t, 2)
	if got[0].Topic != "t" || string(got[0].Payload) != "4" || got[1].Topic != "new" || string(got[1].Payload) != "5" {
		t.Fatalf("after the outage got %v, want t 4 then new 5 (nothing from during the outage)", got)
	}
}

// TestStartUnreachable: New succeeds with the server down, is not ready
// and refuses to publish, and connects once the server is up.
func TestStartUnreachable(t *testing.T) {
	port := sparePort(t)
	col := newCollector()
	b := newNode(t, fmt.Sprintf("nats://127.0.0.1:%d", port), uniquePrefix(), col.deliver)
	if b.Ready() {
		t.Fatal("ready with no server")
	}
	if err := b.Publish(ctx(t), pub("t", 1)); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Publish with no server: %v, want ErrUnavailable", err)
	}
	startServer(t, port)
	waitFor(t, "ready once the server is up", b.Ready)
	subscribe(t, b, "t")
	publish(t, b, pub("t", 2))
	if got := col.waitN(t, 1); string(got[0].Payload) != "2" {
		t.Fatalf("got %v", got)
	}
}
