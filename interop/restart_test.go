package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/client"
)

// restartTopic is the channel the restart test pushes to: without routing
// files every topic is an open broadcast topic.
const restartTopic = "acme/restart"

// herald is killed with SIGKILL while it consumes a backlog from RabbitMQ,
// then started again with a consume delay: a subscriber that reconnects
// within the delay receives every message that was still in the queue,
// including those the killed process had received but not acknowledged
// (at least once: those may reach a subscriber twice, and are counted).
func TestRestartLosesNoQueuedMessage(t *testing.T) {
	const (
		total       = 5000
		killAfter   = 200 // events the first subscriber receives before the kill
		firstDelay  = "2s"
		secondDelay = 3 * time.Second
		prefetch    = 256
	)
	rmq := dialRabbit(t)
	queue := fmt.Sprintf("herald_restart_%d", time.Now().UnixNano())
	rmq.declare(queue)

	// The backlog, confirmed by the broker before herald starts.
	rmq.publish(queue, total)
	if st := rmq.inspect(queue); st.Messages != total {
		t.Fatalf("the queue holds %d messages, want %d", st.Messages, total)
	}

	// The first herald: a subscriber connects during its consume delay;
	// once it has received killAfter events, herald is killed.
	first := startKillable(t, restartConfig(t, queue, "first", firstDelay, prefetch))
	s1 := newTally()
	reached := make(chan struct{})
	var once sync.Once
	c1 := s1.subscribe(t, first.wsURL(), func(n int) {
		if n >= killAfter {
			once.Do(func() { close(reached) })
		}
	})
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatalf("the first subscriber got %d events; herald log:\n%s", s1.distinct(), first.log.String())
	}
	first.kill(t)
	c1.Close()

	// Once the broker has seen the connection die, the messages herald had
	// not acknowledged are back in the queue, in their places: the queue
	// holds the last `queued` messages published.
	var queued int
	eventually(t, "the killed consumer's messages are back in the queue", 10*time.Second, func() bool {
		st := rmq.inspect(queue)
		queued = st.Messages
		return st.Consumers == 0
	})
	acked := total - queued
	if queued == 0 || acked == 0 {
		t.Fatalf("at the kill %d messages were acknowledged and %d queued: the test needs both", acked, queued)
	}

	// The second herald connects to RabbitMQ and declares the queue, then
	// holds the backlog back; only then does the subscriber come back, as
	// a browser does some time after the restart. It receives the backlog.
	second := startHerald(t, "-c", restartConfig(t, queue, "second", secondDelay.String(), prefetch))
	eventually(t, "the second herald has declared the queue and waits", 10*time.Second, func() bool {
		return strings.Contains(second.log.String(), "consuming after consume_delay")
	})
	s2 := newTally()
	c2 := s2.subscribe(t, second.wsURL(), nil)
	defer c2.Close()
	if st := rmq.inspect(queue); st.Consumers != 0 || st.Messages != queued {
		t.Fatalf("with the subscriber back and the queue declared, the queue had %d consumers and %d messages; want 0 and %d (consume_delay %v not honoured, or starting took longer)",
			st.Consumers, st.Messages, queued, secondDelay)
	}
	s2.waitAll(t, acked, total, 20*time.Second)

	var early, dup []int
	for i := range total {
		switch n := s2.count(i); {
		case i < acked && n > 0:
			early = append(early, i)
		case n > 1:
			dup = append(dup, i)
		}
	}
	if len(early) > 0 {
		t.Errorf("the second subscriber got %d messages that were acknowledged before the kill (first: %d)", len(early), early[0])
	}
	if len(dup) > 0 {
		t.Errorf("the second herald delivered %d messages twice to one subscriber (first: %d)", len(dup), dup[0])
	}
	// Redeliveries: messages the killed herald had published to the first
	// subscriber but not yet acknowledged. At most one prefetch window.
	again := 0
	for i := acked; i < total; i++ {
		if s1.count(i) > 0 {
			again++
		}
	}
	if again > prefetch {
		t.Errorf("%d messages reached both subscribers; at most the prefetch window (%d) can be redelivered", again, prefetch)
	}
	t.Logf("killed after %d acknowledgements (the first subscriber saw %d events); %d messages were still queued; "+
		"all reached the reconnected subscriber, %d of them redelivered after the first subscriber had them",
		acked, s1.distinct(), queued, again)
}

// restartConfig writes a configuration consuming queue with the given
// consume delay.
func restartConfig(t *testing.T, queue, name, delay string, prefetch int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herald.yaml")
	yaml := fmt.Sprintf(`pushers:
  amqp:
    host: 127.0.0.1
    login: guest
    password: guest
    queue_name: %s
    exchange_name: herald_restart_test
    routing_key: %s
    connection_name: %s-%s
    prefetch: %d
    consume_delay: %s
`, queue, queue, queue, name, prefetch, delay)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// killable is a `herald serve` the test kills with SIGKILL.
type killable struct {
	*herald
	cmd    *exec.Cmd
	exited chan error
	killed bool
}

// startKillable runs `herald serve -c cfg` on a free port and waits until
// it accepts connections. It is killed at the end of the test if the test
// did not kill it.
func startKillable(t *testing.T, cfg string) *killable {
	t.Helper()
	h := &herald{host: "127.0.0.1", port: freePort(t), log: &syncBuffer{}, config: cfg}
	cmd := exec.Command(heraldBin, "serve", "-a", h.host, "-p", h.port, "-c", cfg)
	cmd.Stdout, cmd.Stderr = h.log, h.log
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start herald: %v", err)
	}
	k := &killable{herald: h, cmd: cmd, exited: make(chan error, 1)}
	go func() { k.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if !k.killed {
			k.kill(t)
		}
		if t.Failed() {
			t.Logf("killed herald's log:\n%s", h.log.String())
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", h.addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return k
		}
		select {
		case err := <-k.exited:
			k.exited <- err
			t.Fatalf("herald exited during start-up: %v\n%s", err, h.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("herald not accepting on %s after %v: %v", h.addr(), startTimeout, err)
		}
	}
}

// kill sends SIGKILL and reaps the process.
func (k *killable) kill(t *testing.T) {
	t.Helper()
	k.killed = true
	select {
	case err := <-k.exited:
		t.Errorf("herald had exited before it was killed: %v", err)
		return
	default:
	}
	if err := k.cmd.Process.Kill(); err != nil {
		t.Errorf("SIGKILL herald: %v", err)
	}
	select {
	case <-k.exited:
	case <-time.After(stopTimeout):
		t.Errorf("herald not reaped %v after SIGKILL", stopTimeout)
	}
}

// tally counts, per message number, the events a subscriber received.
type tally struct {
	mu     sync.Mutex
	counts map[int]int
	notify chan struct{}
}

func newTally() *tally { return &tally{counts: map[int]int{}, notify: make(chan struct{}, 1)} }

// subscribe connects to url, subscribes to restartTopic and returns once
// the subscription is in place. onEvent, when set, gets the number of
// distinct messages received after each event.
func (s *tally) subscribe(t *testing.T, url string, onEvent func(distinct int)) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{OnEvent: func(_ string, ev json.RawMessage) {
		i, err := strconv.Atoi(string(ev))
		if err != nil {
			t.Errorf("event %s is not a message number", ev)
			return
		}
		s.mu.Lock()
		s.counts[i]++
		n := len(s.counts)
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
		if onEvent != nil {
			onEvent(n)
		}
	}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if err := c.Subscribe(restartTopic); err != nil {
		t.Fatal(err)
	}
	// The server handles a connection's messages in order: once this CALL
	// is answered (an error: no such procedure), the subscription is in
	// place.
	c.Call(ctx, "sync")
	return c
}

func (s *tally) count(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[i]
}

func (s *tally) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counts)
}

// waitAll waits until every message in [from, to) was received.
func (s *tally) waitAll(t *testing.T, from, to int, within time.Duration) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		missing, firstMissing := 0, -1
		s.mu.Lock()
		for i := from; i < to; i++ {
			if s.counts[i] == 0 {
				if missing == 0 {
					firstMissing = i
				}
				missing++
			}
		}
		s.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-s.notify:
		case <-deadline.C:
			t.Fatalf("%d of the %d queued messages never arrived (first: %d)", missing, to-from, firstMissing)
		}
	}
}

// rabbit is the test's own connection to RabbitMQ.
type rabbit struct {
	t    *testing.T
	conn *amqp.Connection
}

// dialRabbit connects to the machine's RabbitMQ; a missing broker fails
// the test: it is a setup to fix, not a reason to pass.
func dialRabbit(t *testing.T) *rabbit {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatalf("RabbitMQ is not answering on 127.0.0.1:5672 (guest/guest): %v; start rabbitmq-server (apt-get install rabbitmq-server)", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rabbit{t: t, conn: conn}
}

// do runs f on a channel of its own, failing the test on error.
func (r *rabbit) do(what string, f func(ch *amqp.Channel) error) {
	r.t.Helper()
	ch, err := r.conn.Channel()
	if err == nil {
		err = f(ch)
		ch.Close()
	}
	if err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
}

// declare declares the exchange, queue and binding as herald does, and
// deletes the queue at the end of the test.
func (r *rabbit) declare(queue string) {
	r.t.Helper()
	r.do("declaring "+queue, func(ch *amqp.Channel) error {
		if err := ch.ExchangeDeclare("herald_restart_test", amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
			return err
		}
		if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
			return err
		}
		return ch.QueueBind(queue, queue, "herald_restart_test", false, nil)
	})
	r.t.Cleanup(func() {
		if ch, err := r.conn.Channel(); err == nil {
			ch.QueueDelete(queue, false, false, false)
			ch.Close()
		}
	})
}

// publish publishes messages 0..n-1 to restartTopic through the queue's
// binding and waits until the broker confirmed them all.
func (r *rabbit) publish(queue string, n int) {
	r.t.Helper()
	r.do("publishing", func(ch *amqp.Channel) error {
		if err := ch.Confirm(false); err != nil {
			return err
		}
		confirms := make([]*amqp.DeferredConfirmation, 0, n)
		for i := range n {
			body := fmt.Appendf(nil, `{"topic":%q,"data":%d}`, restartTopic, i)
			dc, err := ch.PublishWithDeferredConfirm("herald_restart_test", queue, false, false, amqp.Publishing{Body: body})
			if err != nil {
				return err
			}
			confirms = append(confirms, dc)
		}
		for i, dc := range confirms {
			if !dc.Wait() {
				return fmt.Errorf("message %d was not confirmed", i)
			}
		}
		return nil
	})
}

// inspect returns the queue's ready messages and consumers.
func (r *rabbit) inspect(queue string) amqp.Queue {
	r.t.Helper()
	var st amqp.Queue
	r.do("inspecting "+queue, func(ch *amqp.Channel) error {
		var err error
		st, err = ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		return err
	})
	return st
}
