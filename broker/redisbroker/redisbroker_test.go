package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/broker/brokertest"
	"github.com/heraldws/herald/internal/testpeer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sharedURL is the machine's Redis; the tests never stop it and keep to
// channels under a prefix of their own.
const sharedURL = "redis://127.0.0.1:6379/0"

// needRedis fails the test, naming Redis's start command, when the shared
// Redis does not answer PING.
func needRedis(t testing.TB) {
	t.Helper()
	if err := redisPing(testpeer.Redis.Addr, time.Second); err != nil {
		testpeer.ServiceFailed(t, testpeer.Redis, err)
	}
}

// redisPing sends PING on a fresh connection and reads the answer.
func redisPing(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return err
	}
	if string(buf) != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", buf)
	}
	return nil
}

// uniquePrefix is a channel prefix no other run uses.
func uniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "herald-test-" + hex.EncodeToString(b[:]) + ":"
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newTestBroker(t testing.TB, cfg Config, deliver broker.Deliver, tune tuning) *Broker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	b, err := newBroker(cfg, deliver, tune)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func TestConformance(t *testing.T) {
	needRedis(t)
	prefix := uniquePrefix()
	var n atomic.Int64
	brokertest.Run(t, func(t *testing.T, deliver broker.Deliver) broker.Broker {
		return newTestBroker(t, Config{URL: sharedURL, Prefix: prefix, NodeID: "node-" + strconv.FormatInt(n.Add(1), 10)}, deliver, defaultTuning)
	})
}

// inbox is a Deliver that hands publications to the test.
type inbox chan broker.Publication

func (in inbox) deliver(p broker.Publication) { in <- p }

func (in inbox) next(t *testing.T) broker.Publication {
	t.Helper()
	select {
	case p := <-in:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no publication within 5s")
		return broker.Publication{}
	}
}

func publish(t *testing.T, b *Broker, topic, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Publish(ctx, broker.Publication{Topic: topic, Payload: json.RawMessage(payload)}); err != nil {
		t.Fatalf("Publish %q: %v", topic, err)
	}
}

func subscribe(t *testing.T, b *Broker, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Subscribe(ctx, topic); err != nil {
		t.Fatalf("Subscribe %q: %v", topic, err)
	}
}

// TestPrefixIsolation: two clusters on one Redis under different prefixes
// never see each other's publications.
func TestPrefixIsolation(t *testing.T) {
	needRedis(t)
	inA, inB := make(inbox, 16), make(inbox, 16)
	a := newTestBroker(t, Config{URL: sharedURL, Prefix: uniquePrefix(), NodeID: "a"}, inA.deliver, defaultTuning)
	b := newTestBroker(t, Config{URL: sharedURL, Prefix: uniquePrefix(), NodeID: "b"}, inB.deliver, defaultTuning)
	subscribe(t, a, "t")
	subscribe(t, b, "t")
	publish(t, a, "t", `"from a"`)
	// b's sentinel reaches Redis after a's publication did: had b been
	// subscribed to a's channel, a's publication would arrive first.
	publish(t, b, "t", `"from b"`)
	if p := inA.next(t); string(p.Payload) != `"from a"` || p.Origin != "a" {
		t.Errorf("a got %s from %q, want its own publication", p.Payload, p.Origin)
	}
	if p := inB.next(t); string(p.Payload) != `"from b"` {
		t.Errorf("b got %s from %q before its own publication", p.Payload, p.Origin)
	}
	select {
	case p := <-inA:
		t.Errorf("a got %s from %q", p.Payload, p.Origin)
	default:
	}
}

// TestNewWhileUnreachable: New returns a broker that is not ready when
// Redis does not answer, whose Publish and Subscribe fail at once with
// ErrUnavailable, and that closes cleanly.
func TestNewWhileUnreachable(t *testing.T) {
	port := freePort(t)
	start := time.Now()
	b := newTestBroker(t, Config{URL: "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"}, func(broker.Publication) {}, fastTuning)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("New took %v against a closed port", d)
	}
	if b.Ready() {
		t.Fatal("Ready() true with no Redis")
	}
	ctx := context.Background()
	start = time.Now()
	if err := b.Publish(ctx, broker.Publication{Topic: "t", Payload: json.RawMessage(`1`)}); !errors.Is(err, broker.ErrUnavailable) {
		t.Errorf("Publish: %v, want ErrUnavailable", err)
	}
	if err := b.PublishNoWait(ctx, broker.Publication{Topic: "t", Payload: json.RawMessage(`1`)}); !errors.Is(err, broker.ErrUnavailable) {
		t.Errorf("PublishNoWait: %v, want ErrUnavailable", err)
	}
	if err := b.Subscribe(ctx, "t"); !errors.Is(err, broker.ErrUnavailable) {
		t.Errorf("Subscribe: %v, want ErrUnavailable", err)
	}
	if err := b.Unsubscribe(ctx, "t"); err != nil {
		t.Errorf("Unsubscribe: %v", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("failing took %v, want at once", d)
	}
}

// fastTuning detects a silent Redis in under a second.
var fastTuning = tuning{health: 200 * time.Millisecond, op: time.Second, minBackoff: 20 * time.Millisecond, maxBackoff: 200 * time.Millisecond}

// freePort returns a loopback TCP port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// privateRedis is a redis-server process of the test's own, on a port of
// its own: the only Redis a test may stop.
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	testpeer.Require(t, testpeer.RedisServer)
	r := &privateRedis{t: t, port: freePort(t)}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *privateRedis) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.t.TempDir(), "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := redisPing("127.0.0.1:"+strconv.Itoa(r.port), 200*time.Millisecond)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.kill()
			r.t.Fatalf("private redis-server on port %d not answering: %v", r.port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill stops the private server with SIGKILL: no goodbye to its clients
// beyond what the kernel does.
func (r *privateRedis) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *privateRedis) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal %v: %v", sig, err)
	}
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestOutage: Redis killed under two nodes and restarted on the same
// port: not ready during, ErrUnavailable from Publish and Subscribe, ready
// after, and the subscriptions restored (with the default timings).
func TestOutage(t *testing.T) {
	r := startPrivateRedis(t)
	prefix := uniquePrefix()
	inA, inB := make(inbox, 16), make(inbox, 16)
	a := newTestBroker(t, Config{URL: r.url(), Prefix: prefix, NodeID: "a"}, inA.deliver, defaultTuning)
	b := newTestBroker(t, Config{URL: r.url(), Prefix: prefix, NodeID: "b"}, inB.deliver, defaultTuning)
	if !a.Ready() || !b.Ready() {
		t.Fatal("not ready after New")
	}
	subscribe(t, b, "room/1")
	subscribe(t, b, "room/2")
	publish(t, a, "room/1", `"before"`)
	if p := inB.next(t); string(p.Payload) != `"before"` {
		t.Fatalf("before the outage: got %s", p.Payload)
	}

	r.kill()
	d := waitFor(t, "Ready() false after Redis was killed", 3*time.Second, func() bool { return !a.Ready() && !b.Ready() })
	t.Logf("not ready %v after the kill", d.Round(time.Millisecond))
	ctx := context.Background()
	start := time.Now()
	if err := a.Publish(ctx, broker.Publication{Topic: "room/1", Payload: json.RawMessage(`"during"`)}); !errors.Is(err, broker.ErrUnavailable) {
		t.Errorf("Publish during the outage: %v, want ErrUnavailable", err)
	}
	if err := b.Subscribe(ctx, "room/3"); !errors.Is(err, broker.ErrUnavailable) {
		t.Errorf("Subscribe during the outage: %v, want ErrUnavailable", err)
	}
	if err := b.Unsubscribe(ctx, "room/2"); err != nil {
		t.Errorf("Unsubscribe during the outage: %v", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("failing during the outage took %v, want at once", d)
	}

	r.start()
	d = waitFor(t, "Ready() true after Redis was restarted", 5*time.Second, func() bool { return a.Ready() && b.Ready() })
	t.Logf("ready %v after the restart", d.Round(time.Millisecond))
	// room/1 was restored, room/2 (unsubscribed during) was not, room/3
	// (failed during) is not subscribed.
	publish(t, a, "room/2", `"after-2"`)
	publish(t, a, "room/3", `"after-3"`)
	publish(t, a, "room/1", `"after-1"`)
	if p := inB.next(t); p.Topic != "room/1" || string(p.Payload) != `"after-1"` {
		t.Fatalf("after the outage: got %s on %q, want \"after-1\" on room/1 only", p.Payload, p.Topic)
	}
	subscribe(t, b, "room/3")
	publish(t, a, "room/3", `"after-3b"`)
	if p := inB.next(t); string(p.Payload) != `"after-3b"` {
		t.Fatalf("subscribing after the outage: got %s", p.Payload)
	}
}

// TestSilentRedis: a Redis that stops answering without closing the
// connection (SIGSTOP) is detected by the health pings; when it answers
// again (SIGCONT) the node is ready and subscribed again.
func TestSilentRedis(t *testing.T) {
	r := startPrivateRedis(t)
	prefix := uniquePrefix()
	inA := make(inbox, 16)
	a := newTestBroker(t, Config{URL: r.url(), Prefix: prefix}, inA.deliver, fastTuning)
	subscribe(t, a, "t")

	r.signal(syscall.SIGSTOP)
	continued := false
	defer func() {
		if !continued {
			r.signal(syscall.SIGCONT)
		}
	}()
	waitFor(t, "Ready() false while Redis is silent", 3*time.Second, func() bool { return !a.Ready() })
	if err := a.Publish(context.Background(), broker.Publication{Topic: "t", Payload: json.RawMessage(`1`)}); !errors.Is(err, broker.ErrUnavailable) {
		t.Errorf("Publish while Redis is silent: %v, want ErrUnavailable", err)
	}
	r.signal(syscall.SIGCONT)
	continued = true
	waitFor(t, "Ready() true once Redis answers again", 5*time.Second, a.Ready)
	publish(t, a, "t", `"after"`)
	if p := inA.next(t); string(p.Payload) != `"after"` {
		t.Fatalf("after: got %s", p.Payload)
	}
}

// TestPublishFailsWhenRedisDies: a Publish made while the node still
// thinks Redis is up fails with ErrUnavailable, not silently.
func TestPublishFailsWhenRedisDies(t *testing.T) {
	r := startPrivateRedis(t)
	a := newTestBroker(t, Config{URL: r.url(), Prefix: uniquePrefix()}, func(broker.Publication) {}, defaultTuning)
	publish(t, a, "t", `1`)
	r.kill()
	a.ready.Store(true) // as if the reader had not noticed yet
	err := a.Publish(context.Background(), broker.Publication{Topic: "t", Payload: json.RawMessage(`2`)})
	if !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Publish to a dead Redis: %v, want ErrUnavailable", err)
	}
}

// BenchmarkRedisFanoutPublish: publications made on one node and
// delivered on another, through the shared Redis; 8 publishers per CPU
// (a server publishes for many connections at once), so that pipelining
// shows. Reports delivered msgs/s.
func BenchmarkRedisFanoutPublish(b *testing.B) {
	needRedis(b)
	prefix := uniquePrefix()
	got := make(chan struct{}, 1)
	var delivered, want atomic.Int64
	deliver := func(broker.Publication) {
		if delivered.Add(1) == want.Load() {
			got <- struct{}{}
		}
	}
	pub := newTestBroker(b, Config{URL: sharedURL, Prefix: prefix, NodeID: "pub", Logger: quiet()}, func(broker.Publication) {}, defaultTuning)
	sub := newTestBroker(b, Config{URL: sharedURL, Prefix: prefix, NodeID: "sub", Logger: quiet()}, deliver, defaultTuning)
	ctx := context.Background()
	if err := sub.Subscribe(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	p := broker.Publication{Topic: "bench", Payload: json.RawMessage(`{"text":"a chat message of a typical size, about a hundred bytes long......"}`)}
	want.Store(int64(b.N))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := pub.Publish(ctx, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d delivered", delivered.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
