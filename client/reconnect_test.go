package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/server"
)

// subscribed dials url, subscribes to topic and waits until the server
// has processed the subscription (a CALL answered after it).
func subscribed(t *testing.T, url, topic string) *recorder {
	t.Helper()
	rec := newRecorder()
	c := dialHerald(t, url, rec.options())
	if err := c.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c.Call(ctx, "sync")
	return rec
}

// A Reconnecting publishes, survives the server going away and a new one
// starting on the same port, publishes there, and its subscriptions are
// restored on the new server.
func TestReconnecting(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	h1 := serveHerald(t, server.Config{}, ln)

	mine := newRecorder()
	r := client.NewReconnecting(h1.url, mine.options(), client.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond})
	defer r.Close()
	if r.Connected() {
		t.Fatal("connected before first use")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	sub1 := subscribed(t, h1.url, "acme/t")
	if err := r.Subscribe("acme/mine"); err != nil {
		t.Fatal(err)
	}
	if err := r.Publish(ctx, "acme/t", map[string]int{"n": 1}); err != nil {
		t.Fatalf("first Publish: %v", err)
	}
	if got := sub1.nextEvent(t); got != (event{"acme/t", `{"n":1}`}) {
		t.Fatalf("sub1 got %+v", got)
	}
	if !r.Connected() {
		t.Error("not connected after a Publish")
	}
	// Its own subscription works: a publication on its own connection
	// follows the SUBSCRIBE.
	if err := r.Publish(ctx, "acme/mine", "a"); err != nil {
		t.Fatal(err)
	}
	if got := mine.nextEvent(t); got != (event{"acme/mine", `"a"`}) {
		t.Fatalf("own subscription got %+v", got)
	}

	h1.stop()
	deadline := time.Now().Add(5 * time.Second)
	for r.Connected() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r.Connected() {
		t.Fatal("still connected after the server went away")
	}

	// While no server listens, Publish gives up when its context ends.
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	err := r.Publish(short, "acme/t", 0)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish with no server = %v, want DeadlineExceeded", err)
	}

	h2 := serveHerald(t, server.Config{}, listen(t, addr))
	sub2 := subscribed(t, h2.url, "acme/t")
	if err := r.Publish(ctx, "acme/t", map[string]int{"n": 2}); err != nil {
		t.Fatalf("Publish after the restart: %v", err)
	}
	if got := sub2.nextEvent(t); got != (event{"acme/t", `{"n":2}`}) {
		t.Fatalf("sub2 got %+v", got)
	}
	// The subscription to acme/mine was restored on the new server.
	if err := r.Publish(ctx, "acme/mine", "b"); err != nil {
		t.Fatal(err)
	}
	if got := mine.nextEvent(t); got != (event{"acme/mine", `"b"`}) {
		t.Fatalf("restored subscription got %+v", got)
	}
	// And other sessions' publications reach it.
	pub := dialHerald(t, h2.url, client.Options{})
	if err := pub.Publish("acme/mine", "c"); err != nil {
		t.Fatal(err)
	}
	if got := mine.nextEvent(t); got != (event{"acme/mine", `"c"`}) {
		t.Fatalf("restored subscription got %+v", got)
	}
	// Unsubscribe is remembered too.
	if err := r.Unsubscribe("acme/mine"); err != nil {
		t.Fatal(err)
	}
	if err := r.Publish(ctx, "acme/mine", "d"); err != nil {
		t.Fatal(err)
	}
	mine.noEvent(t)

	// A restart the Reconnecting has not noticed yet when it publishes:
	// the write fails or finds the connection gone, and the publication
	// is retried once on the next connection.
	h2.stop()
	h3 := serveHerald(t, server.Config{}, listen(t, addr))
	sub3 := subscribed(t, h3.url, "acme/t")
	if err := r.Publish(ctx, "acme/t", 3); err != nil {
		t.Fatalf("Publish right after a restart: %v", err)
	}
	if got := sub3.nextEvent(t); got != (event{"acme/t", `3`}) {
		t.Fatalf("sub3 got %+v", got)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if r.Connected() {
		t.Error("connected after Close")
	}
	if err := r.Publish(ctx, "acme/t", 3); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if err := r.Subscribe("x"); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// Close stops a Reconnecting that is still trying to dial, promptly, and
// one that was never used costs nothing.
func TestReconnectingCloseWhileDialing(t *testing.T) {
	r := client.NewReconnecting("ws://"+closedPort(t)+"/", client.Options{}, client.Backoff{Initial: time.Hour})
	if err := r.Subscribe("t"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := r.Publish(ctx, "t", 1)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Publish = %v, want DeadlineExceeded naming the last attempt's error", err)
	}
	start := time.Now()
	r.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	client.NewReconnecting("ws://127.0.0.1:1/", client.Options{}, client.Backoff{}).Close()
}
