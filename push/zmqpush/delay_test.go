package zmqpush_test

import (
	"context"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/push/zmqpush"
	"github.com/heraldws/herald/server"
)

// With a consume delay the handler binds late, and a libzmq PUSH peer
// (php-zmq, as Gos's ZmqPusher) keeps what it sends meanwhile in its own
// queue: once the socket is bound, every message arrives, in order, at a
// client that connected during the delay. The PHP process cannot end
// before (linger -1 waits for its queue to drain).
func TestConsumeDelayKeepsThePHPBacklog(t *testing.T) {
	const backlog = 300
	const delay = 2 * time.Second
	phpBin := php(t)
	srv, url := startHerald(t, server.Config{})
	logs := &syncLog{}
	endpoint, port := freeTCPEndpoint(t)
	h, err := zmqpush.NewHandler(zmqpush.Config{Host: "127.0.0.1", Port: port, ConsumeDelay: delay, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.Run(ctx, srv, nil) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	logs.waitFor(t, "binding after consume_delay")

	pctx, pcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer pcancel()
	script := filepath.Join("..", "..", "interop", "php", "zmq_push.php")
	cmd := exec.CommandContext(pctx, phpBin, script, endpoint, "acme/channel", `{"n":1}`, strconv.Itoa(backlog))
	phpDone := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		phpDone <- err
	}()
	sub := subscribe(t, url, "acme/channel")
	select {
	case err := <-phpDone:
		t.Fatalf("php ended before the socket was bound (%v): %s", err, out)
	case <-h.Ready():
	}
	if bound := time.Since(start); bound < delay {
		t.Errorf("bound %v after Run started, before the %v delay", bound, delay)
	}
	for i := range backlog {
		if got := sub.next(t); got != (event{"acme/channel", `{"n":1}`}) {
			t.Fatalf("message %d: %+v", i, got)
		}
	}
	if err := <-phpDone; err != nil {
		t.Fatalf("php: %v: %s", err, out)
	}
	if st := h.Stats(); st.Received != backlog || st.Succeeded != backlog {
		t.Errorf("stats %+v", st)
	}
}

// An endpoint that cannot be bound is an error at once, not after the
// delay; a Run cancelled during the delay returns nil without binding.
func TestConsumeDelayChecksTheEndpointAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	h, err := zmqpush.NewHandler(zmqpush.Config{Host: "127.0.0.1", Port: port, ConsumeDelay: time.Hour, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = h.Run(ctx, nopSink{}, nil)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || ctx.Err() != nil {
		t.Fatalf("Run on a bound port with a delay: %v (context: %v)", err, ctx.Err())
	}

	_, port = freeTCPEndpoint(t)
	h, err = zmqpush.NewHandler(zmqpush.Config{Host: "127.0.0.1", Port: port, ConsumeDelay: time.Hour, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := h.Run(ctx, nopSink{}, nil); err != nil {
		t.Fatalf("Run cancelled during the delay: %v", err)
	}
	select {
	case <-h.Ready():
		t.Fatal("the socket was bound during the delay")
	default:
	}
	// The probe left the port free.
	l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("the port is not free after Run: %v", err)
	}
	l2.Close()
}

// syncLog is a log sink safe for the handler's goroutine and the test.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *syncLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// waitFor waits until the log holds s.
func (l *syncLog) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", s, l)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
