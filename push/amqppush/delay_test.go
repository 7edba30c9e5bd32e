package amqppush

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/server"
)

const holdBackLog = "consuming after consume_delay"

// With a consume delay the handler declares the queue at once but leaves
// the backlog in it, unconsumed, until the delay has passed: a client
// that connects meanwhile, as a browser reconnects to a restarted server,
// receives all of it. A reconnection afterwards consumes at once.
func TestConsumeDelayKeepsTheBacklogForReconnectingClients(t *testing.T) {
	const backlog = 50
	const delay = 2 * time.Second
	logs := &syncBuffer{}
	cfg := testConfig(t, logs)
	cfg.ConsumeDelay = delay
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	srv, url := startHerald(t, server.Config{})
	h, err := NewHandler(cfg)
	must(t, err)
	start := time.Now()
	runHandler(t, h, srv, nil)

	// Declared at once: the queue exists, bound, before the delay is over.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := a.inspect(cfg.QueueName); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s not declared:\n%s", cfg.QueueName, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range backlog {
		a.publish(cfg.ExchangeName, "", fmt.Appendf(nil, `{"topic":"acme/channel","data":%d}`, i))
	}
	st, err := a.inspect(cfg.QueueName)
	must(t, err)
	if time.Since(start) >= delay {
		t.Fatalf("the test took longer than the delay (%v) to publish: it proves nothing", delay)
	}
	if st.Messages != backlog || st.Consumers != 0 {
		t.Fatalf("during the delay the queue holds %d messages and has %d consumers; want %d and 0", st.Messages, st.Consumers, backlog)
	}

	sub := subscribe(t, url, "acme/channel")
	got := sub.wait(t, 10*time.Second, func(ev []string) bool { return len(ev) >= backlog })
	if first := time.Since(start); first < delay {
		t.Errorf("the backlog arrived %v after Run started, before the %v delay", first, delay)
	}
	for i, ev := range got {
		if ev != strconv.Itoa(i) {
			t.Fatalf("event %d = %s; want the backlog in order, complete: %v", i, ev, got)
		}
	}

	// A new session (the broker cancels the consumer of a deleted queue)
	// consumes at once: the delay is for the start only.
	must(t, a.do(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(cfg.QueueName, false, false, false); return err }))
	a.waitConsumers(cfg.QueueName, 1)
	a.publish(cfg.ExchangeName, "", []byte(`{"topic":"acme/channel","data":"after"}`))
	sub.wait(t, 5*time.Second, func(ev []string) bool { return len(ev) == backlog+1 && ev[backlog] == `"after"` })
	if n := strings.Count(logs.String(), holdBackLog); n != 1 {
		t.Errorf("%q logged %d times; want once, at the start:\n%s", holdBackLog, n, logs)
	}
	if st := h.Stats(); st.Reconnects != 1 || st.Delivered != backlog+1 || st.Redelivered != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A configuration error shows at once, not after the delay.
func TestConsumeDelayDoesNotDelayConfigurationErrors(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.Password = "not the password"
	cfg.ConsumeDelay = time.Hour
	h, err := NewHandler(cfg)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Run(ctx, sinkFunc(nil), nil); err == nil || !isAMQPCode(err, amqp.AccessRefused) {
		t.Fatalf("Run: %v; want ACCESS_REFUSED before the context's end", err)
	}
}

// Run ends during the delay without having consumed anything.
func TestConsumeDelayEndsWithTheContext(t *testing.T) {
	logs := &syncBuffer{}
	cfg := testConfig(t, logs)
	cfg.ConsumeDelay = time.Hour
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	h, err := NewHandler(cfg)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, sinkFunc(nil), nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), holdBackLog) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q line:\n%s", holdBackLog, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.publish(cfg.ExchangeName, "", []byte(`{"topic":"acme/channel","data":1}`))
	cancel()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of its context's end")
	}
	if st, err := a.inspect(cfg.QueueName); err != nil || st.Messages != 1 {
		t.Fatalf("queue after Run: %+v, %v; want the message still in it", st, err)
	}
	if st := h.Stats(); st.Delivered != 0 {
		t.Fatalf("stats %+v", st)
	}
}
