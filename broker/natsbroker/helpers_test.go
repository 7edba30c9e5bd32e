package natsbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/internal/testpeer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// realURL is the machine's shared NATS server. Tests only publish and
// subscribe on it, under a prefix of their own; they never stop it.
const realURL = "nats://127.0.0.1:4222"

const wait = 5 * time.Second

// needNATS fails tb, naming NATS's start command, when the shared NATS
// server does not answer.
func needNATS(tb testing.TB) {
	tb.Helper()
	testpeer.RequireService(tb, testpeer.NATS)
}

// uniquePrefix returns a prefix no other test or run uses.
func uniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "heraldtest." + hex.EncodeToString(b[:])
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newNode returns a Broker on url under prefix, closed at the end of tb.
func newNode(tb testing.TB, url, prefix string, deliver broker.Deliver) *Broker {
	tb.Helper()
	return newNodeConfig(tb, Config{URL: url, Prefix: prefix}, deliver)
}

// newNodeConfig is newNode with more of the Config.
func newNodeConfig(tb testing.TB, cfg Config, deliver broker.Deliver) *Broker {
	tb.Helper()
	cfg.NodeID, cfg.Logger = tb.Name(), testLogger()
	b, err := New(cfg, deliver)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return b
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	tb.Cleanup(cancel)
	return c
}

// collector is a Deliver keeping what it got.
type collector struct {
	mu   sync.Mutex
	got  []broker.Publication
	wake chan struct{}
}

func newCollector() *collector { return &collector{wake: make(chan struct{}, 1)} }

func (c *collector) deliver(p broker.Publication) {
	c.mu.Lock()
	c.got = append(c.got, p)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *collector) all() []broker.Publication {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]broker.Publication(nil), c.got...)
}

// until waits for a publication of topic with payload and returns all
// delivered before it (and removes them all).
func (c *collector) until(tb testing.TB, topic string, payload string) []broker.Publication {
	tb.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i, p := range c.got {
			if p.Topic == topic && string(p.Payload) == payload {
				before := append([]broker.Publication(nil), c.got[:i]...)
				c.got = c.got[i+1:]
				c.mu.Unlock()
				return before
			}
		}
		n := len(c.got)
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-deadline.C:
			tb.Fatalf("%q %s not delivered within %v (%d others)", topic, payload, wait, n)
		}
	}
}

// waitN waits for n publications and returns them (and removes them).
func (c *collector) waitN(tb testing.TB, n int) []broker.Publication {
	tb.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if len(c.got) >= n {
			out := c.got[:n:n]
			c.got = c.got[n:]
			c.mu.Unlock()
			return out
		}
		have := len(c.got)
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-deadline.C:
			tb.Fatalf("%d of %d publications delivered within %v", have, n, wait)
		}
	}
}

func pub(topic string, n int) broker.Publication {
	return broker.Publication{Topic: topic, Payload: json.RawMessage(strconv.Itoa(n))}
}

func publish(tb testing.TB, b *Broker, p broker.Publication) {
	tb.Helper()
	if err := b.Publish(ctx(tb), p); err != nil {
		tb.Fatalf("Publish(%.80q): %v", p.Topic, err)
	}
}

func subscribe(tb testing.TB, b *Broker, topics ...string) {
	tb.Helper()
	for _, topic := range topics {
		if err := b.Subscribe(ctx(tb), topic); err != nil {
			tb.Fatalf("Subscribe(%.80q): %v", topic, err)
		}
	}
}

// --- embedded NATS server ----------------------------------------------------

// sparePort returns a loopback TCP port free now.
func sparePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer runs an embedded NATS server on port and stops it (waiting
// for all its goroutines) at the end of tb, unless stopServer did already.
func startServer(tb testing.TB, port int) *server.Server {
	tb.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true,
		ServerName: fmt.Sprintf("herald-test-%d", port),
	})
	if err != nil {
		tb.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(wait) {
		stopServer(s)
		tb.Fatalf("embedded NATS server on port %d not ready within %v", port, wait)
	}
	tb.Cleanup(func() { stopServer(s) })
	return s
}

func stopServer(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}
