package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/broker/redisbroker"
	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/testpeer"
	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/topic"
)

// heraldServer is a real herald server.Server behind httptest on
// 127.0.0.1.
type heraldServer struct {
	srv  *server.Server
	http *httptest.Server
	url  string
	once sync.Once
}

func startHerald(t *testing.T, cfg server.Config) *heraldServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	h := &heraldServer{srv: srv, http: hs, url: "ws://" + hs.Listener.Addr().String() + "/"}
	t.Cleanup(func() { h.stop(t) })
	return h
}

// stop closes the listener and every connection (CLOSE 1001).
func (h *heraldServer) stop(t *testing.T) {
	h.once.Do(func() {
		h.http.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

// checkComplete asserts a run in which every event arrived once.
func checkComplete(t *testing.T, sum *Summary, conns, topics, messages int) {
	t.Helper()
	if !sum.OK || sum.EndedBy != EndedComplete {
		t.Errorf("ok %v, ended by %s; errors %q", sum.OK, sum.EndedBy, sum.Errors)
	}
	c, p, d, l := sum.Connect, sum.Publish, sum.Delivery, sum.Latency
	if c.Connected != conns || c.Failed != 0 || c.Subscribed != conns || c.NotSubscribed != 0 || c.Dropped != 0 {
		t.Errorf("connect %+v", c)
	}
	if c.Seconds <= 0 || c.HandshakesPerSec <= 0 {
		t.Errorf("connect rate %+v", c)
	}
	if p.Intended != topics*messages || p.Sent != p.Intended || p.Failed != 0 || p.Unsent != 0 || p.Refused != 0 {
		t.Errorf("publish %+v", p)
	}
	want := int64(conns * messages)
	if d.Expected != want || d.Delivered != want || d.Unique != want || d.Lost != 0 || d.Duplicates != 0 || d.Unexpected != 0 || d.SubscribersWithLoss != 0 {
		t.Errorf("delivery %+v, want %d", d, want)
	}
	if d.Seconds <= 0 || d.PerSec <= 0 {
		t.Errorf("delivery rate %+v", d)
	}
	if l.Count != want || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.P999 || l.P999 > l.Max || l.Mean <= 0 || l.Max > 20e6 {
		t.Errorf("latency %+v", l)
	}
	// Every publication has its publisher latency.
	if pl := p.Latency; pl.Count != int64(p.Intended) || pl.P50 <= 0 || pl.P50 > pl.P90 || pl.P90 > pl.P99 || pl.P99 > pl.P999 || pl.P999 > pl.Max || pl.Mean <= 0 || pl.Max > 20e6 {
		t.Errorf("publisher latency %+v", pl)
	}
	if sum.ErrorCount != 0 || len(sum.Errors) != 0 {
		t.Errorf("errors %d %q", sum.ErrorCount, sum.Errors)
	}
}

// 200 subscribers of two topics, 50 events each, published over WAMP by
// two publishers: every event arrives once, and the server's memory is
// read from its /metrics.
func TestWAMP1ViaWAMP(t *testing.T) {
	h := startHerald(t, server.Config{})
	var progress strings.Builder
	sum, err := Run(t.Context(), Config{URL: h.url, Conns: 200, Topics: 2, Messages: 50, Publishers: 2, Size: 64, Duration: 20 * time.Second}, &syncWriter{w: &progress})
	if err != nil {
		t.Fatal(err)
	}
	checkComplete(t, sum, 200, 2, 50)
	// One publisher per topic, and herald keeps each publisher's order.
	if sum.Delivery.OutOfOrder != 0 {
		t.Errorf("%d events out of order", sum.Delivery.OutOfOrder)
	}
	m := sum.Memory
	if !m.Measured || !strings.HasSuffix(m.Source, "/metrics") || m.RSSBefore <= 0 || m.RSSAfter <= 0 || m.PerConn == 0 {
		t.Errorf("memory %+v", m)
	}
	// 200 subscribers and 2 publishers.
	if m.ServerConnectionsBefore != 0 || m.ServerConnectionsAfter != 202 {
		t.Errorf("herald_connections %d → %d, want 0 → 202", m.ServerConnectionsBefore, m.ServerConnectionsAfter)
	}
	if sum.Sources != 2 || sum.Via != ViaWAMP || sum.Protocol != WAMP1 {
		t.Errorf("summary header %+v", sum)
	}
	// The summary prints and round-trips through JSON.
	var text strings.Builder
	sum.WriteText(&text)
	for _, want := range []string{"200 conns in", "publisher:   p50 ", "100 samples; time from publish to written)", "deliveries:  10000 of expected 10000", "0 lost, 0 duplicates", "per connection", "result:      OK (complete"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	data, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil || back["ok"] != true || back["delivery"].(map[string]any)["unique"] != 10000.0 {
		t.Errorf("JSON %s: %v", data, err)
	}
}

// syncWriter serializes writes for a test's progress buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Publishing through the HTTP API, four requests in flight. The metrics
// URL given does not answer: the memory is "not measured" and the run
// goes on.
func TestWAMP1ViaHTTP(t *testing.T) {
	h := startHerald(t, server.Config{APIKey: "k3y"})
	closed := closedPort(t)
	sum, err := Run(t.Context(), Config{URL: h.url, Conns: 200, Topics: 2, Messages: 50, Via: ViaHTTP, APIKey: "k3y", Publishers: 4,
		MetricsURL: "http://" + closed + "/metrics", Duration: 20 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkComplete(t, sum, 200, 2, 50)
	if sum.Memory.Measured || !strings.Contains(sum.Memory.Note, "refused") {
		t.Errorf("memory %+v, want not measured (connection refused)", sum.Memory)
	}
	var text strings.Builder
	sum.WriteText(&text)
	if !strings.Contains(text.String(), "memory:      not measured (") {
		t.Errorf("summary:\n%s", text.String())
	}

	// A wrong key: every publication fails, and says why.
	sum, err = Run(t.Context(), Config{URL: h.url, Conns: 2, Topics: 1, Messages: 3, Via: ViaHTTP, APIKey: "wrong",
		SubscribeTimeout: 300 * time.Millisecond, Drain: 100 * time.Millisecond, MetricsURL: "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.OK || sum.Publish.Failed != 3 || sum.Delivery.Lost != 6 || sum.Delivery.LostUnpublished != 6 || !strings.Contains(strings.Join(sum.Errors, "\n"), "403 Forbidden") {
		t.Errorf("wrong key: ok %v, publish %+v, delivery %+v, errors %q", sum.OK, sum.Publish, sum.Delivery, sum.Errors)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Real loss: the server refuses the subscriptions (and publications) of
// one topic, whose route is a deny route. Its subscribers never see a
// probe and get none of its events; the report says so and the run is
// not OK. The other topic is untouched.
func TestLossIsReported(t *testing.T) {
	h := startHeraldWithDenyRoute(t)
	sum, err := Run(t.Context(), Config{URL: h.url, Conns: 200, Topics: 2, Messages: 50,
		SubscribeTimeout: time.Second, Drain: 300 * time.Millisecond, Duration: 20 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := sum.Delivery
	if sum.OK || sum.EndedBy != EndedDrain {
		t.Errorf("ok %v, ended by %s", sum.OK, sum.EndedBy)
	}
	if sum.Connect.Connected != 200 || sum.Connect.Subscribed != 100 || sum.Connect.NotSubscribed != 100 {
		t.Errorf("connect %+v", sum.Connect)
	}
	if d.Expected != 10000 || d.Unique != 5000 || d.Lost != 5000 || d.SubscribersWithLoss != 100 || d.WorstSubscriberLoss != 50 || d.Duplicates != 0 {
		t.Errorf("delivery %+v", d)
	}
	// WAMP v1 publications have no acknowledgement: they were sent, and
	// the publisher got the server's CALLERRORs.
	if sum.Publish.Sent != 100 || sum.Publish.Refused < 50 {
		t.Errorf("publish %+v", sum.Publish)
	}
	errs := strings.Join(sum.Errors, "\n")
	if !strings.Contains(errs, "(bench/1): the server answered [4,") || !strings.Contains(errs, "publisher 0: the server answered [4,") {
		t.Errorf("errors %q", sum.Errors)
	}
	var text strings.Builder
	sum.WriteText(&text)
	for _, want := range []string{"100 NOT subscribed", "5000 lost", "100 subscribers with loss (worst missed 50)", "result:      FAILED (drain"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
}

// The server goes away in the middle of the publications: every
// subscriber's connection is dropped (CLOSE 1001), and what was not
// delivered is reported as lost.
func TestServerDropsConnectionsMidRun(t *testing.T) {
	h := startHerald(t, server.Config{})
	// A subscriber of the test's own sees the first real event, then the
	// server shuts down.
	first := make(chan struct{})
	var once sync.Once
	watcher, err := client.Dial(t.Context(), h.url, client.Options{OnEvent: func(_ string, ev json.RawMessage) {
		if seq, _, ok := parsePayload(ev); ok && seq >= 0 {
			once.Do(func() { close(first) })
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	if err := watcher.Subscribe("bench/0"); err != nil {
		t.Fatal(err)
	}
	go func() {
		select {
		case <-first:
			h.stop(t)
		case <-time.After(15 * time.Second):
		}
	}()
	sum, err := Run(t.Context(), Config{URL: h.url, Conns: 50, Topics: 1, Messages: 200, Rate: 400,
		Drain: 300 * time.Millisecond, Duration: 20 * time.Second, MetricsURL: "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	default:
		t.Fatal("no event reached the watcher")
	}
	d := sum.Delivery
	if sum.OK || sum.Connect.Dropped != 50 || d.Lost == 0 || d.Lost != d.Expected-d.Unique || d.SubscribersWithLoss != 50 {
		t.Errorf("ok %v, dropped %d, delivery %+v", sum.OK, sum.Connect.Dropped, d)
	}
	if sum.Publish.Unsent+sum.Publish.Failed == 0 || d.LostUnpublished == 0 {
		t.Errorf("publish %+v, lost unpublished %d", sum.Publish, d.LostUnpublished)
	}
	if errs := strings.Join(sum.Errors, "\n"); !strings.Contains(errs, "lost its connection: the server closed the connection (1001") {
		t.Errorf("errors %q", sum.Errors)
	}
}

// --idle with --pid: the memory comes from /proc/PID/status (the test's
// own process, which holds the server), read after the idle time.
func TestIdleMemoryByPID(t *testing.T) {
	h := startHerald(t, server.Config{})
	start := time.Now()
	sum, err := Run(t.Context(), Config{URL: h.url, Conns: 20, Topics: 1, Messages: 5, PID: os.Getpid(), Idle: 300 * time.Millisecond, MetricsURL: "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkComplete(t, sum, 20, 1, 5)
	m := sum.Memory
	if !m.Measured || m.Source != "pid "+strconv.Itoa(os.Getpid()) || m.RSSBefore <= 0 || m.RSSAfter <= 0 || m.IdleSeconds != 0.3 || m.ServerConnectionsAfter != -1 {
		t.Errorf("memory %+v", m)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Error("the run did not idle")
	}
}

// The connections are spread over the source addresses; a server that
// never completes a handshake fails them all and the run is aborted with
// the first error.
func TestSourcesAndAbort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			mu.Lock()
			seen[host]++
			mu.Unlock()
			io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()
	sum, err := Run(t.Context(), Config{URL: "ws://" + ln.Addr().String() + "/", Conns: 6, Topics: 1, Messages: 1, Sources: 3, ConnectConcurrency: 1, MetricsURL: "off"}, nil)
	if err == nil || !strings.Contains(err.Error(), "connections failed (more than 1%); the first error: subscriber 0: handshake: websocket: handshake refused: 404 Not Found") {
		t.Fatalf("Run error %v", err)
	}
	if sum == nil || sum.EndedBy != EndedAborted || sum.OK || sum.Connect.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	// Aborted at the first failure (1 of 6 is over 1%); run again with
	// enough connections to see the spread: 1 failure of 200 is allowed,
	// so the abort comes at the third.
	sum, err = Run(t.Context(), Config{URL: "ws://" + ln.Addr().String() + "/", Conns: 200, Topics: 1, Messages: 1, Sources: 3, ConnectConcurrency: 1, MetricsURL: "off"}, nil)
	if err == nil || sum.Connect.Failed != 3 || !strings.Contains(err.Error(), "3 of 200 connections failed (more than 1%); the first error: subscriber 0: handshake:") {
		t.Fatalf("second run: %v, %+v", err, sum.Connect)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen["127.0.0.1"] == 0 || seen["127.0.0.2"] == 0 || seen["127.0.0.3"] == 0 {
		t.Errorf("connections came from %v, want 127.0.0.1, .2 and .3", seen)
	}
}

// The caller's context ending stops the run, which still reports.
func TestInterrupted(t *testing.T) {
	h := startHerald(t, server.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	sum, err := Run(ctx, Config{URL: h.url, Conns: 10, Topics: 1, Messages: 1000, Rate: 100, MetricsURL: "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.EndedBy != EndedInterrupted || sum.OK || sum.Publish.Unsent == 0 || sum.Delivery.Lost == 0 {
		t.Errorf("ended by %s, ok %v, publish %+v, delivery %+v", sum.EndedBy, sum.OK, sum.Publish, sum.Delivery)
	}
	if sum.Seconds > 5 {
		t.Errorf("the run took %.1f s after the interruption", sum.Seconds)
	}
	if errors.Is(ctx.Err(), context.Canceled) == false {
		t.Error("the context was not cancelled")
	}
}

// Subscribers on one node, publishers on another, over the machine's
// Redis: every event crosses the broker, and all arrive once.
func TestAcrossNodes(t *testing.T) {
	testpeer.RequireService(t, testpeer.Redis)
	prefix := fmt.Sprintf("herald-bench-test-%d:", time.Now().UnixNano())
	node := func() *heraldServer {
		return startHerald(t, server.Config{APIKey: "k", Broker: func(d broker.Deliver) (broker.Broker, error) {
			return redisbroker.New(redisbroker.Config{URL: "redis://127.0.0.1:6379/0", Prefix: prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, d)
		}})
	}
	subs, pubs := node(), node()
	for _, via := range []string{ViaWAMP, ViaHTTP} {
		sum, err := Run(t.Context(), Config{URL: subs.url, PublishURL: pubs.url, Via: via, APIKey: "k", Conns: 100, Topics: 2, Messages: 50, Duration: 20 * time.Second}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		checkComplete(t, sum, 100, 2, 50)
		// The subscribers' node holds the subscribers alone.
		if m := sum.Memory; m.ServerConnectionsAfter != 100 {
			t.Errorf("via %s: the subscribers' node has %d connections, want 100", via, m.ServerConnectionsAfter)
		}
	}
	if _, err := Run(t.Context(), Config{URL: subs.url, PublishURL: "ws://example.com/", Conns: 1, Topics: 1, Messages: 1}, io.Discard); err == nil || !strings.Contains(err.Error(), "publish URL") {
		t.Fatalf("a non-loopback publish URL: %v", err)
	}
}

// startHeraldWithDenyRoute starts a herald whose topic bench/0 is open and
// bench/1 a deny route (every PUBLISH to it refused).
func startHeraldWithDenyRoute(t *testing.T) *heraldServer {
	t.Helper()
	router, err := topic.NewRouter([]*topic.Route{
		{Name: "bench.open", Pattern: "bench/0", Callback: "bench.open"},
		{Name: "bench.closed", Pattern: "bench/1", Callback: "bench.closed"},
	}, topic.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return startHerald(t, server.Config{Router: router, Handlers: map[string]server.Binding{
		"bench.open": {Handler: server.Broadcast{}}, "bench.closed": {Handler: server.Deny{}},
	}})
}
