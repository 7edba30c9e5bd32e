package zmqpush_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/testpeer"
	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/push/zmqpush"
	"github.com/heraldws/herald/server"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// python returns a python3 that imports zmq (Debian's /usr/bin/python3
// first), or fails t naming python3-zmq's install command.
func python(t *testing.T) string {
	t.Helper()
	return testpeer.Require(t, testpeer.PythonZMQ)
}

// php returns the php binary when it has the zmq extension, or fails t
// naming php-zmq's install command.
func php(t *testing.T) string {
	t.Helper()
	return testpeer.Require(t, testpeer.PHPZMQ)
}

func peerScript() string { return filepath.Join("testdata", "zmqpeer.py") }

// pythonPush runs zmqpeer.py push: COUNT rounds of bodies into endpoint.
func pythonPush(t *testing.T, endpoint string, count int, bodies ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{peerScript(), "push", endpoint, strconv.Itoa(count)}, bodies...)
	out, err := exec.CommandContext(ctx, python(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("python push: %v: %s", err, out)
	}
}

// puller is a libzmq PULL socket bound by zmqpeer.py pull.
type puller struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan []string
	done  chan struct{}
}

// startPuller binds a libzmq PULL socket at endpoint and waits until it is
// bound. It is stopped at the end of the test, or by stop.
func startPuller(t *testing.T, endpoint string) *puller {
	t.Helper()
	cmd := exec.Command(python(t), peerScript(), "pull", endpoint, "1000000")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &puller{cmd: cmd, stdin: stdin, lines: make(chan []string, 1024), done: make(chan struct{})}
	readyc := make(chan bool, 1)
	go func() {
		defer close(p.done)
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if sc.Text() == "READY" {
				readyc <- true
				continue
			}
			var frames []string
			if err := json.Unmarshal(sc.Bytes(), &frames); err != nil {
				t.Errorf("puller output %q: %v", sc.Text(), err)
				continue
			}
			p.lines <- frames
		}
		readyc <- false
	}()
	t.Cleanup(p.stop)
	select {
	case ok := <-readyc:
		if !ok {
			t.Fatalf("python PULL at %s exited before binding", endpoint)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("python PULL at %s did not bind", endpoint)
	}
	return p
}

// stop closes the puller's stdin (it exits) and reaps it; kill kills it
// first, as a crash would.
func (p *puller) stop() {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd.Wait()
}

func (p *puller) kill() {
	p.cmd.Process.Kill()
	<-p.done
	p.cmd.Wait()
	p.stdin.Close()
}

// next returns the frames of the next message the puller received.
func (p *puller) next(t *testing.T) []string {
	t.Helper()
	select {
	case frames, ok := <-p.lines:
		if !ok {
			t.Fatal("python PULL exited")
		}
		return frames
	case <-time.After(10 * time.Second):
		t.Fatal("python PULL received nothing in 10 s")
	}
	return nil
}

// freeTCPEndpoint returns a loopback port nobody listens on.
func freeTCPEndpoint(t *testing.T) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return "tcp://127.0.0.1:" + strconv.Itoa(port), port
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startHerald serves a real herald server on loopback.
func startHerald(t *testing.T, cfg server.Config) (*server.Server, string) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, "ws://" + hs.Listener.Addr().String() + "/"
}

type event struct{ topic, data string }

// subscriber is a WAMP v1 client subscribed to topics on a herald server.
type subscriber struct {
	events chan event
}

func subscribe(t *testing.T, url string, topics ...string) *subscriber {
	t.Helper()
	s := &subscriber{events: make(chan event, 4096)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{
		OnEvent: func(topic string, ev json.RawMessage) {
			s.events <- event{topic, string(ev)}
		},
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	for _, tp := range topics {
		if err := c.Subscribe(tp); err != nil {
			t.Fatal(err)
		}
	}
	// A CALL is answered after the subscriptions before it are in place.
	c.Call(ctx, "sync")
	return s
}

func (s *subscriber) next(t *testing.T) event {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber received nothing in 10 s")
	}
	return event{}
}

func (s *subscriber) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev := <-s.events:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(d):
	}
}

// events records what a handler reports.
type events struct {
	mu  sync.Mutex
	all []push.Event
	c   chan push.Event
}

func newEvents() *events { return &events{c: make(chan push.Event, 4096)} }

func (e *events) report(ev push.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	e.c <- ev
}

func (e *events) next(t *testing.T) push.Event {
	t.Helper()
	select {
	case ev := <-e.c:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no push event in 10 s")
	}
	return push.Event{}
}

// runHandler runs h against sink until the test ends, and checks that Run
// returned nil.
func runHandler(t *testing.T, h *zmqpush.Handler, sink push.Sink, report func(push.Event)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.Run(ctx, sink, report) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			t.Errorf("Run did not return 10 s after cancel\n%s", buf[:runtime.Stack(buf, true)])
		}
	})
	select {
	case <-h.Ready():
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not bind")
	}
}

// tcpHandler makes a handler bound on a free loopback port.
func tcpHandler(t *testing.T) (*zmqpush.Handler, string) {
	t.Helper()
	endpoint, port := freeTCPEndpoint(t)
	h, err := zmqpush.NewHandler(zmqpush.Config{Host: "127.0.0.1", Port: port, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return h, endpoint
}
