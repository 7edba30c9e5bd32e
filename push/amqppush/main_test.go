package amqppush

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/testpeer"
	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/server"
)

// Every test closes what it opens: the handler's and pusher's
// connections, the admin connection, the herald server and its clients.
// Nothing is ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The real RabbitMQ the tests run against (scripts/test starts it).
const (
	brokerHost  = "127.0.0.1"
	brokerPort  = 5672
	brokerLogin = "guest"
	brokerPass  = "guest"
)

// needBroker fails tb, naming RabbitMQ's start command, when RabbitMQ is
// not reachable.
func needBroker(tb testing.TB) {
	tb.Helper()
	testpeer.RequireService(tb, testpeer.RabbitMQ)
}

// unique returns a name no other test (nor another run) uses.
func unique(kind string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return "herald-test-" + kind + "-" + hex.EncodeToString(b)
}

// testConfig is a Config for the test broker with unique names.
func testConfig(tb testing.TB, logs io.Writer) Config {
	tb.Helper()
	needBroker(tb)
	if logs == nil {
		logs = io.Discard
	}
	return Config{
		Host:           brokerHost,
		Port:           brokerPort,
		Login:          brokerLogin,
		Password:       brokerPass,
		QueueName:      unique("queue"),
		ExchangeName:   unique("exchange"),
		ConnectionName: unique("conn"),
		Bind:           true,
		ReconnectMin:   20 * time.Millisecond,
		ReconnectMax:   500 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// admin is the test's own AMQP connection, for declarations, raw
// publications and inspection.
type admin struct {
	tb   testing.TB
	conn *amqp.Connection
}

func newAdmin(tb testing.TB) *admin {
	tb.Helper()
	needBroker(tb)
	conn, err := amqp.DialConfig("amqp://guest:guest@127.0.0.1:5672/", amqp.Config{Properties: amqp.Table{"connection_name": unique("admin")}})
	if err != nil {
		tb.Fatalf("admin connection: %v", err)
	}
	tb.Cleanup(func() { conn.Close() }) // runs after the deletions below
	return &admin{tb: tb, conn: conn}
}

// channel opens a channel closed at cleanup.
func (a *admin) channel() *amqp.Channel {
	a.tb.Helper()
	ch, err := a.conn.Channel()
	if err != nil {
		a.tb.Fatalf("admin channel: %v", err)
	}
	a.tb.Cleanup(func() { ch.Close() })
	return ch
}

// do runs f on a fresh channel (one an error may close).
func (a *admin) do(f func(ch *amqp.Channel) error) error {
	ch, err := a.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return f(ch)
}

// deleteAtEnd deletes the queues and exchanges named at cleanup.
func (a *admin) deleteAtEnd(queues, exchanges []string) {
	a.tb.Cleanup(func() {
		for _, q := range queues {
			if err := a.do(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err }); err != nil {
				a.tb.Logf("deleting queue %s: %v", q, err)
			}
		}
		for _, x := range exchanges {
			if err := a.do(func(ch *amqp.Channel) error { return ch.ExchangeDelete(x, false, false) }); err != nil {
				a.tb.Logf("deleting exchange %s: %v", x, err)
			}
		}
	})
}

// inspect returns the queue's state, or an error when it does not exist.
func (a *admin) inspect(q string) (amqp.Queue, error) {
	var st amqp.Queue
	err := a.do(func(ch *amqp.Channel) error {
		var err error
		st, err = ch.QueueDeclarePassive(q, true, false, false, false, nil)
		return err
	})
	return st, err
}

// waitConsumers waits until q has n consumers.
func (a *admin) waitConsumers(q string, n int) {
	a.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := a.inspect(q)
		if err == nil && st.Consumers == n {
			return
		}
		if time.Now().After(deadline) {
			a.tb.Fatalf("queue %s: want %d consumers, have %+v (%v)", q, n, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publish publishes body raw, as a PHP or other producer would, and waits
// for the broker's confirm.
func (a *admin) publish(exchange, key string, body []byte) {
	a.tb.Helper()
	err := a.do(func(ch *amqp.Channel) error {
		if err := ch.Confirm(false); err != nil {
			return err
		}
		dc, err := ch.PublishWithDeferredConfirm(exchange, key, false, false, amqp.Publishing{Body: body})
		if err != nil {
			return err
		}
		if !dc.Wait() {
			return errors.New("nacked")
		}
		return nil
	})
	if err != nil {
		a.tb.Fatalf("publishing to %q: %v", exchange, err)
	}
}

// get takes one message from q (acknowledged), waiting up to 5 s.
func (a *admin) get(q string) amqp.Delivery {
	a.tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var (
			d  amqp.Delivery
			ok bool
		)
		err := a.do(func(ch *amqp.Channel) error {
			var err error
			d, ok, err = ch.Get(q, true)
			return err
		})
		if err != nil {
			a.tb.Fatalf("get from %s: %v", q, err)
		}
		if ok {
			return d
		}
		if time.Now().After(deadline) {
			a.tb.Fatalf("no message in %s", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startHerald serves a real herald server for the test and returns it
// with its ws:// URL.
func startHerald(tb testing.TB, cfg server.Config) (*server.Server, string) {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, "ws://" + hs.Listener.Addr().String() + "/"
}

// subscriber is a real WAMP v1 client subscribed to topics, recording
// their events.
type subscriber struct {
	mu     sync.Mutex
	events []string
	notify chan struct{}
}

func subscribe(tb testing.TB, url string, topics ...string) *subscriber {
	tb.Helper()
	s := &subscriber{notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{OnEvent: func(_ string, ev json.RawMessage) {
		s.mu.Lock()
		s.events = append(s.events, string(ev))
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		tb.Fatalf("dial herald: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	for _, t := range topics {
		if err := c.Subscribe(t); err != nil {
			tb.Fatal(err)
		}
	}
	// The server handles messages in order: once this CALL is answered
	// (with an error: no such procedure), the subscriptions are in place.
	c.Call(ctx, "sync")
	return s
}

// snapshot returns the events received so far.
func (s *subscriber) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// wait waits until done(events) holds.
func (s *subscriber) wait(tb testing.TB, timeout time.Duration, done func([]string) bool) []string {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ev := s.snapshot()
		if done(ev) {
			return ev
		}
		select {
		case <-s.notify:
		case <-deadline.C:
			tb.Fatalf("subscriber: condition not met after %v; %d events, last %v", timeout, len(ev), last(ev, 3))
		}
	}
}

func last(ev []string, n int) []string {
	if len(ev) > n {
		return ev[len(ev)-n:]
	}
	return ev
}

// runHandler runs h until the test ends and checks that Run returned nil.
// stop ends it earlier and returns Run's error.
func runHandler(tb testing.TB, h *Handler, sink push.Sink, report func(push.Event)) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, sink, report) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				runErr = errors.New("Run did not return within 10 s of its context's end")
			}
		})
		return runErr
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	return stop
}

// events collects reported events.
type events struct {
	mu  sync.Mutex
	all []push.Event
}

func (e *events) report(ev push.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) snapshot() []push.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]push.Event(nil), e.all...)
}

func (e *events) waitN(tb testing.TB, n int) []push.Event {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := e.snapshot()
		if len(all) >= n {
			return all
		}
		if time.Now().After(deadline) {
			tb.Fatalf("want %d events, have %d: %v", n, len(all), all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rabbitmqctl runs rabbitmqctl, failing tb when it is not installed.
func rabbitmqctl(tb testing.TB, args ...string) string {
	tb.Helper()
	testpeer.Require(tb, testpeer.RabbitMQCtl)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var connPid = regexp.MustCompile(`^(<[^>]+>)\s`)

// connectionPid finds the broker's pid of the connection whose client
// property connection_name is name, waiting for it to appear.
func connectionPid(tb testing.TB, name string) string {
	tb.Helper()
	// rabbitmqctl prints {"connection_name","NAME"} (3.10) or
	// {"connection_name",longstr,"NAME"} (older).
	needle := regexp.MustCompile(`"connection_name",(longstr,)?"` + regexp.QuoteMeta(name) + `"`)
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := rabbitmqctl(tb, "-q", "list_connections", "pid", "client_properties")
		for _, line := range strings.Split(out, "\n") {
			if needle.MatchString(line) {
				if m := connPid.FindStringSubmatch(line); m != nil {
					return m[1]
				}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no connection named %s in:\n%s", name, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// closeConnection closes that one connection on the broker's side.
func closeConnection(tb testing.TB, pid string) {
	tb.Helper()
	rabbitmqctl(tb, "close_connection", pid, "test")
}

// freePort returns a local TCP port nothing listens on.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
