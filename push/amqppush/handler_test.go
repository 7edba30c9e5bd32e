package amqppush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/internal/testpeer"
	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/topic"
)

// php-amqp publishes exactly as Gos's AmqpPusher does (durable direct
// exchange, routing key ”, no attributes); herald consumes it and a WAMP
// v1 subscriber receives the event.
func TestPHPAmqpPusherToSubscriber(t *testing.T) {
	cfg := testConfig(t, nil)
	testpeer.Require(t, testpeer.PHPAMQP)
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	srv, url := startHerald(t, server.Config{})
	sub := subscribe(t, url, "acme/channel")
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var evs events
	runHandler(t, h, srv, evs.report)
	a.waitConsumers(cfg.QueueName, 1)

	out, err := exec.Command("php", "../../interop/php/amqp_push.php", brokerHost, "5672", cfg.ExchangeName, "",
		"acme/channel", `{"msg":"hello from php","n":[1,2]}`).CombinedOutput()
	if err != nil {
		t.Fatalf("amqp_push.php: %v\n%s", err, out)
	}
	got := sub.wait(t, 10*time.Second, func(ev []string) bool { return len(ev) >= 1 })
	if got[0] != `{"msg":"hello from php","n":[1,2]}` {
		t.Fatalf("subscriber got %s", got[0])
	}
	all := evs.waitN(t, 1)
	if !all[0].Success() || all[0].Provider != "amqp" || all[0].Topic != "acme/channel" {
		t.Fatalf("event %+v", all[0])
	}
	// A batch, as a PHP worker pushing in a loop would.
	out, err = exec.Command("php", "../../interop/php/amqp_push.php", brokerHost, "5672", cfg.ExchangeName, "",
		"acme/channel", `{"batch":true}`, "200").CombinedOutput()
	if err != nil {
		t.Fatalf("amqp_push.php: %v\n%s", err, out)
	}
	sub.wait(t, 10*time.Second, func(ev []string) bool { return len(ev) >= 201 })
	evs.waitN(t, 201) // reported after the ack
	if st := h.Stats(); st.Acked != 201 || st.Rejected != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// 10,000 messages pushed by the Go pusher while the broker closes herald's
// consumer connection twice, each time while a delivery is in the sink (so
// its ack cannot reach the broker) and a window of deliveries is
// unacknowledged: every message reaches the subscriber at least once.
func TestConnectionKilledTwiceLosesNothing(t *testing.T) {
	const total = 10000
	logs := &syncBuffer{}
	cfg := testConfig(t, logs)
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	srv, url := startHerald(t, server.Config{})
	sub := subscribe(t, url, "load/channel")

	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gate := &gateSink{Sink: srv, at: map[int64]chan struct{}{2000: make(chan struct{}), 6000: make(chan struct{})}, hit: make(chan int64, 2)}
	runHandler(t, h, gate, nil)
	a.waitConsumers(cfg.QueueName, 1)

	pcfg := cfg
	pcfg.ConnectionName = unique("pusher")
	p, err := NewPusher(pcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	start := time.Now()
	pushErr := make(chan error, 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				if err := p.Push(context.Background(), map[string]int64{"i": i}, "load/channel", nil, nil); err != nil {
					select {
					case pushErr <- fmt.Errorf("push %d: %w", i, err):
					default:
					}
					return
				}
			}
		}()
	}

	for kill := 1; kill <= 2; kill++ {
		var at int64
		select {
		case at = <-gate.hit:
		case <-time.After(15 * time.Second):
			t.Fatalf("kill %d: the sink was not reached (stats %+v)", kill, h.Stats())
		}
		// The sink holds delivery number `at`; the rest of the window is
		// unacknowledged. Close herald's connection, and only it.
		pid := connectionPid(t, cfg.ConnectionName)
		closeConnection(t, pid)
		time.Sleep(200 * time.Millisecond) // let the client see connection.close
		t.Logf("kill %d: closed %s while delivery %d was in the sink (stats %+v)", kill, pid, at, h.Stats())
		close(gate.at[at])
	}
	wg.Wait()
	select {
	case err := <-pushErr:
		t.Fatal(err)
	default:
	}

	seen := make([]int, total)
	var parsed atomic.Int64
	var mu sync.Mutex
	consumed := 0
	count := func(ev []string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range ev[consumed:] {
			var m struct{ I int64 }
			if err := json.Unmarshal([]byte(e), &m); err != nil || m.I < 0 || m.I >= total {
				t.Errorf("unexpected event %s", e)
				continue
			}
			if seen[m.I] == 0 {
				parsed.Add(1)
			}
			seen[m.I]++
		}
		consumed = len(ev)
		return parsed.Load() == total
	}
	sub.wait(t, 20*time.Second, count)
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	st := h.Stats()
	t.Logf("%d messages in %v; %d duplicates at the subscriber; stats %+v", total, time.Since(start).Round(time.Millisecond), dups, st)
	if st.Reconnects < 2 {
		t.Errorf("want 2 reconnections, have %d\n%s", st.Reconnects, logs)
	}
	if st.Redelivered == 0 {
		t.Errorf("no redelivery after two connection kills")
	}
	if dups < 2 {
		// Each kill caught a delivery the sink had accepted but could not
		// ack: the broker redelivers it.
		t.Errorf("want at least 2 duplicates (the deliveries held in the sink), have %d", dups)
	}
	if st.Rejected != 0 || st.Requeued != 0 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "amqp: connection lost") || !strings.Contains(logs.String(), "amqp: reconnected") {
		t.Errorf("losses and recoveries are not logged:\n%s", logs)
	}
	// Everything was acknowledged: the queue is empty.
	if q, err := a.inspect(cfg.QueueName); err != nil || q.Messages != 0 {
		t.Errorf("queue after the test: %+v, %v", q, err)
	}
}

// gateSink holds the n-th push (counting from 0, redeliveries included)
// until at[n] is closed, and says so on hit.
type gateSink struct {
	push.Sink
	n   atomic.Int64
	at  map[int64]chan struct{}
	hit chan int64
}

func (g *gateSink) Push(ctx context.Context, topic string, ev *server.PushEvent) error {
	n := g.n.Add(1) - 1
	if release, ok := g.at[n]; ok {
		g.hit <- n
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	return g.Sink.Push(ctx, topic, ev)
}

// Undecodable bodies, a topic with no route and a push its handler
// refuses are rejected without requeue: the dead-letter exchange the
// operator configured on the queue receives them, and each is reported as
// a failure. The queue exists with x-dead-letter-exchange before herald
// starts, so herald's plain declaration is refused and it falls back to
// the existing queue.
func TestRejectedMessagesAreDeadLettered(t *testing.T) {
	logs := &syncBuffer{}
	cfg := testConfig(t, logs)
	a := newAdmin(t)
	dlx, dlq := unique("dlx"), unique("dlq")
	a.deleteAtEnd([]string{cfg.QueueName, dlq}, []string{cfg.ExchangeName, dlx})
	ch := a.channel()
	must(t, ch.ExchangeDeclare(dlx, amqp.ExchangeFanout, true, false, false, false, nil))
	_, err := ch.QueueDeclare(dlq, true, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind(dlq, "", dlx, false, nil))
	_, err = ch.QueueDeclare(cfg.QueueName, true, false, false, false, amqp.Table{"x-dead-letter-exchange": dlx})
	must(t, err)

	router, err := topic.NewRouter([]*topic.Route{
		{Name: "ok", Pattern: "ok/{id}", Callback: "ok"},
		{Name: "denied", Pattern: "denied/{id}", Callback: "denied"},
	}, topic.Options{})
	must(t, err)
	srv, url := startHerald(t, server.Config{
		Router:       router,
		Handlers:     map[string]server.Binding{"ok": {Handler: server.Broadcast{}}, "denied": {Handler: server.Deny{}}},
		UnknownTopic: server.UnknownError,
	})
	sub := subscribe(t, url, "ok/1")

	h, err := NewHandler(cfg)
	must(t, err)
	var evs events
	runHandler(t, h, srv, evs.report)
	a.waitConsumers(cfg.QueueName, 1)
	if !strings.Contains(logs.String(), "the queue exists with other arguments") {
		t.Fatalf("the fallback to the existing queue is not logged:\n%s", logs)
	}

	bodies := []string{
		`this is not JSON`,
		`{"data":1}`,
		`{"topic":"nowhere/1","data":2}`,
		`{"topic":"denied/1","data":3}`,
		`{"topic":"ok/1","data":{"fine":true}}`,
	}
	for _, b := range bodies {
		a.publish(cfg.ExchangeName, "", []byte(b))
	}
	got := evs.waitN(t, len(bodies))
	checks := []func(error) bool{
		func(err error) bool { return errors.Is(err, push.ErrInvalidMessage) },
		func(err error) bool { return errors.Is(err, push.ErrInvalidMessage) },
		func(err error) bool { return errors.Is(err, server.ErrNoRoute) },
		func(err error) bool { var d *server.Denial; return errors.As(err, &d) && d.Code == 403 },
		func(err error) bool { return err == nil },
	}
	for i, ev := range got {
		if string(ev.Body) != bodies[i] || ev.Provider != "amqp" || !checks[i](ev.Err) {
			t.Errorf("event %d: body %s, err %v", i, ev.Body, ev.Err)
		}
	}
	if ev := sub.wait(t, 5*time.Second, func(ev []string) bool { return len(ev) >= 1 }); len(ev) != 1 || ev[0] != `{"fine":true}` {
		t.Fatalf("subscriber got %v", ev)
	}
	for i := 0; i < 4; i++ {
		d := a.get(dlq)
		if string(d.Body) != bodies[i] {
			t.Errorf("dead letter %d: %s, want %s", i, d.Body, bodies[i])
		}
		deaths, _ := d.Headers["x-death"].([]any)
		if len(deaths) == 0 || deaths[0].(amqp.Table)["reason"] != "rejected" {
			t.Errorf("dead letter %d: x-death %v", i, d.Headers["x-death"])
		}
	}
	if st := h.Stats(); st.Rejected != 4 || st.Acked != 1 || st.Requeued != 0 {
		t.Fatalf("stats %+v", st)
	}
	if q, err := a.inspect(cfg.QueueName); err != nil || q.Messages != 0 {
		t.Fatalf("queue: %+v, %v", q, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// bind: false is Gos's behaviour: no binding is declared, so a message
// published to the exchange is not routed to the queue, until an operator
// binds it.
func TestBindFalseDeclaresNoBinding(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.Bind = false
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	srv, url := startHerald(t, server.Config{})
	sub := subscribe(t, url, "acme/channel")
	h, err := NewHandler(cfg)
	must(t, err)
	runHandler(t, h, srv, nil)
	a.waitConsumers(cfg.QueueName, 1)

	// Published with mandatory: the broker returns it as unroutable.
	body := []byte(`{"topic":"acme/channel","data":{"n":1}}`)
	err = a.do(func(ch *amqp.Channel) error {
		returns := ch.NotifyReturn(make(chan amqp.Return, 1))
		if err := ch.Confirm(false); err != nil {
			return err
		}
		dc, err := ch.PublishWithDeferredConfirm(cfg.ExchangeName, "", true, false, amqp.Publishing{Body: body})
		if err != nil {
			return err
		}
		dc.Wait()
		select {
		case r := <-returns:
			if r.ReplyCode != amqp.NoRoute {
				return fmt.Errorf("returned with %d %s", r.ReplyCode, r.ReplyText)
			}
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("the message was routed: a binding exists")
		}
	})
	must(t, err)
	time.Sleep(100 * time.Millisecond)
	if q, err := a.inspect(cfg.QueueName); err != nil || q.Messages != 0 {
		t.Fatalf("queue: %+v, %v", q, err)
	}
	if st := h.Stats(); st.Delivered != 0 {
		t.Fatalf("stats %+v", st)
	}
	if ev := sub.snapshot(); len(ev) != 0 {
		t.Fatalf("subscriber got %v", ev)
	}

	// What Gos's users do by hand: bind, and messages flow.
	must(t, a.do(func(ch *amqp.Channel) error { return ch.QueueBind(cfg.QueueName, "", cfg.ExchangeName, false, nil) }))
	a.publish(cfg.ExchangeName, "", body)
	sub.wait(t, 5*time.Second, func(ev []string) bool { return len(ev) == 1 && ev[0] == `{"n":1}` })
}

// A sink that is unavailable (herald stopping, or a sink saying so with
// ErrUnavailable) gets the message requeued, not rejected: it is delivered
// again.
func TestUnavailableSinkRequeues(t *testing.T) {
	cfg := testConfig(t, nil)
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	srv, url := startHerald(t, server.Config{})
	sub := subscribe(t, url, "acme/channel")
	failures := []error{
		fmt.Errorf("sink stopping: %w", context.Canceled),
		fmt.Errorf("backend down: %w", ErrUnavailable),
		fmt.Errorf("server: %w", server.ErrServerClosed),
	}
	var calls atomic.Int64
	sink := sinkFunc(func(ctx context.Context, topic string, ev *server.PushEvent) error {
		if n := calls.Add(1) - 1; int(n) < len(failures) {
			return failures[n]
		}
		return srv.Push(ctx, topic, ev)
	})
	h, err := NewHandler(cfg)
	must(t, err)
	var evs events
	runHandler(t, h, sink, evs.report)
	a.waitConsumers(cfg.QueueName, 1)
	a.publish(cfg.ExchangeName, "", []byte(`{"topic":"acme/channel","data":"once"}`))

	sub.wait(t, 5*time.Second, func(ev []string) bool { return len(ev) == 1 && ev[0] == `"once"` })
	all := evs.waitN(t, 4)
	for i, ev := range all[:3] {
		if !errors.Is(ev.Err, failures[i]) {
			t.Errorf("event %d: %v", i, ev.Err)
		}
	}
	if !all[3].Success() {
		t.Errorf("last event: %v", all[3].Err)
	}
	if st := h.Stats(); st.Requeued != 3 || st.Acked != 1 || st.Rejected != 0 || st.Redelivered != 3 || st.Delivered != 4 {
		t.Fatalf("stats %+v", st)
	}
}

type sinkFunc func(ctx context.Context, topic string, ev *server.PushEvent) error

func (f sinkFunc) Push(ctx context.Context, topic string, ev *server.PushEvent) error {
	return f(ctx, topic, ev)
}

// Stopping herald while a delivery is in the sink leaves it in the queue:
// the sink sees the cancelled context, the message is requeued, and Run
// returns nil.
func TestStopRequeuesInFlight(t *testing.T) {
	cfg := testConfig(t, nil)
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	entered := make(chan struct{})
	sink := sinkFunc(func(ctx context.Context, topic string, ev *server.PushEvent) error {
		close(entered)
		<-ctx.Done()
		return fmt.Errorf("push to %s: %w", topic, ctx.Err())
	})
	h, err := NewHandler(cfg)
	must(t, err)
	var evs events
	stop := runHandler(t, h, sink, evs.report)
	a.waitConsumers(cfg.QueueName, 1)
	a.publish(cfg.ExchangeName, "", []byte(`{"topic":"acme/channel","data":1}`))
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the message did not reach the sink")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := h.Stats(); st.Requeued != 1 || st.Acked != 0 || st.Rejected != 0 {
		t.Fatalf("stats %+v", st)
	}
	if all := evs.snapshot(); len(all) != 1 || !errors.Is(all[0].Err, context.Canceled) {
		t.Fatalf("events %v", all)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		q, err := a.inspect(cfg.QueueName)
		must(t, err)
		if q.Messages == 1 && q.Consumers == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue after stop: %+v", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Run can start again; the message is delivered.
	srv, url := startHerald(t, server.Config{})
	sub := subscribe(t, url, "acme/channel")
	runHandler(t, h, srv, nil)
	sub.wait(t, 5*time.Second, func(ev []string) bool { return len(ev) == 1 && ev[0] == "1" })
}

// Credentials the broker refuses are a configuration error: Run returns
// it instead of retrying forever.
func TestRunReturnsPermanentErrors(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.Password = "not the password"
	h, err := NewHandler(cfg)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = h.Run(ctx, sinkFunc(nil), nil)
	if err == nil || !isAMQPCode(err, amqp.AccessRefused) || !strings.Contains(err.Error(), "127.0.0.1:5672") {
		t.Fatalf("Run: %v", err)
	}
}

// A broker that is not there is retried until the context ends.
func TestRunRetriesUnreachableBroker(t *testing.T) {
	logs := &syncBuffer{}
	cfg := testConfig(t, logs)
	cfg.Port = freePort(t)
	h, err := NewHandler(cfg)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := h.Run(ctx, sinkFunc(nil), nil); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := strings.Count(logs.String(), "amqp: cannot connect"); n < 2 {
		t.Fatalf("%d attempts logged:\n%s", n, logs)
	}
}

// A queue deleted under the consumer (the broker cancels it) is declared
// again, bound again, and consumed again.
func TestQueueDeletedIsRedeclared(t *testing.T) {
	logs := &syncBuffer{}
	cfg := testConfig(t, logs)
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	srv, url := startHerald(t, server.Config{})
	sub := subscribe(t, url, "acme/channel")
	h, err := NewHandler(cfg)
	must(t, err)
	runHandler(t, h, srv, nil)
	a.waitConsumers(cfg.QueueName, 1)
	must(t, a.do(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(cfg.QueueName, false, false, false); return err }))
	a.waitConsumers(cfg.QueueName, 1)
	a.publish(cfg.ExchangeName, "", []byte(`{"topic":"acme/channel","data":"back"}`))
	sub.wait(t, 5*time.Second, func(ev []string) bool { return len(ev) == 1 && ev[0] == `"back"` })
	if st := h.Stats(); st.Reconnects != 1 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "cancelled consumer") {
		t.Fatalf("the cancellation is not logged:\n%s", logs)
	}
}

// Messages that arrive one by one, each within the ack linger of the one
// before, share acknowledgements; the last is acknowledged once the
// linger passes with nothing new. Every event is published at once.
func TestAcknowledgementsLinger(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.ackLinger = 300 * time.Millisecond
	a := newAdmin(t)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	srv, url := startHerald(t, server.Config{})
	sub := subscribe(t, url, "linger/channel")
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runHandler(t, h, srv, nil)
	a.waitConsumers(cfg.QueueName, 1)
	pcfg := cfg
	pcfg.ConnectionName = unique("linger-pusher")
	p, err := NewPusher(pcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 30
	for i := range n {
		// One at a time: each waits for its confirm, so the handler sees
		// the deliveries apart, never two waiting at once.
		if err := p.Push(context.Background(), i, "linger/channel", nil, nil); err != nil {
			t.Fatal(err)
		}
		sub.wait(t, 5*time.Second, func(ev []string) bool { return len(ev) == i+1 })
	}
	for deadline := time.Now().Add(10 * time.Second); h.Stats().Acked != n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged %d of %d", h.Stats().Acked, n)
		}
	}
	if st := h.Stats(); st.AckFrames > n/3 {
		t.Fatalf("%d messages arriving one by one took %d basic.ack frames, want them shared", n, st.AckFrames)
	}
}
