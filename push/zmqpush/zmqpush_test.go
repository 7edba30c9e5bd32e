package zmqpush_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/push/zmqpush"
	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/topic"
)

// pyzmq PUSH (libzmq) → herald's PULL → a real herald server → a WAMP v1
// subscriber, in Gos's message format.
func TestPythonPushReachesSubscriber(t *testing.T) {
	python(t)
	srv, url := startHerald(t, server.Config{})
	h, endpoint := tcpHandler(t)
	evs := newEvents()
	runHandler(t, h, srv, evs.report)
	sub := subscribe(t, url, "acme/channel", "acme/other")

	pythonPush(t, endpoint, 1,
		`{"topic":"acme/channel","data":{"msg":"hello","n":1}}`,
		`{"topic":"acme\/other","data":["from php-style escaping"]}`,
		`{"topic":"acme/channel","data":"a bare string, as Gos 1.x sent it"}`,
	)
	want := []event{
		{"acme/channel", `{"msg":"hello","n":1}`},
		{"acme/other", `["from php-style escaping"]`},
		{"acme/channel", `"a bare string, as Gos 1.x sent it"`},
	}
	for _, w := range want {
		if got := sub.next(t); got != w {
			t.Fatalf("got %+v, want %+v", got, w)
		}
	}
	for range want {
		if ev := evs.next(t); !ev.Success() || ev.Provider != "zmq" {
			t.Fatalf("event %+v, want a zmq push_success", ev)
		}
	}
	if st := h.Stats(); st.Received != 3 || st.Succeeded != 3 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Many messages from several peers at once, each peer's in order.
	const peers, each = 4, 250
	var wg sync.WaitGroup
	for i := range peers {
		wg.Go(func() {
			pythonPush(t, endpoint, each, `{"topic":"acme/other","data":{"peer":`+strconv.Itoa(i)+`}}`)
		})
	}
	wg.Wait()
	counts := map[string]int{}
	for range peers * each {
		counts[sub.next(t).data]++
	}
	for i := range peers {
		if n := counts[`{"peer":`+strconv.Itoa(i)+`}`]; n != each {
			t.Fatalf("peer %d: %d messages, want %d (%v)", i, n, each, counts)
		}
	}
}

// php-zmq PUSH, exactly as Gos's ZmqPusher → herald → subscriber.
func TestPHPPushReachesSubscriber(t *testing.T) {
	phpBin := php(t)
	srv, url := startHerald(t, server.Config{})
	h, endpoint := tcpHandler(t)
	evs := newEvents()
	runHandler(t, h, srv, evs.report)
	sub := subscribe(t, url, "acme/channel")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	script := filepath.Join("..", "..", "interop", "php", "zmq_push.php")
	out, err := exec.CommandContext(ctx, phpBin, script, endpoint, "acme/channel", `{"msg":"from php","path":"a/b","n":1}`, "3").CombinedOutput()
	if err != nil {
		t.Fatalf("php: %v: %s", err, out)
	}
	for range 3 {
		// json_encode escaped the slash; the server passes the meaning.
		if got := sub.next(t); got != (event{"acme/channel", `{"msg":"from php","path":"a\/b","n":1}`}) {
			t.Fatalf("got %+v", got)
		}
		ev := evs.next(t)
		if !ev.Success() || ev.Topic != "acme/channel" || !strings.Contains(string(ev.Body), `"topic":"acme\/channel"`) {
			t.Fatalf("event %+v (body %s)", ev, ev.Body)
		}
	}
}

// Undecodable bodies, topics without a route and refused pushes are
// push_fail events; the handler keeps running and delivers what follows.
func TestFailuresAreReportedAndHandlerKeepsRunning(t *testing.T) {
	python(t)
	router, err := topic.NewRouter([]*topic.Route{
		{Name: "acme.open", Pattern: "acme/open", Callback: "acme.open"},
		{Name: "acme.closed", Pattern: "acme/closed", Callback: "acme.closed"},
	}, topic.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, url := startHerald(t, server.Config{
		Router:       router,
		UnknownTopic: server.UnknownError, // the subscriber's "sync" CALL
		Handlers: map[string]server.Binding{
			"acme.open":   {Handler: server.Broadcast{}},
			"acme.closed": {Handler: server.Deny{}},
		},
	})
	h, endpoint := tcpHandler(t)
	evs := newEvents()
	runHandler(t, h, srv, evs.report)
	sub := subscribe(t, url, "acme/open")

	pythonPush(t, endpoint, 1,
		`this is not JSON`,
		`{"data":1}`,
		`{"topic":"acme/closed","data":1}`,
		`{"topic":"nowhere/at/all","data":1}`,
		`{"topic":"acme/open","data":"still running"}`,
		`multi:{"topic":"acme/open","data":"first frame"}|a second frame`,
	)
	checks := []func(push.Event) bool{
		func(e push.Event) bool {
			return errors.Is(e.Err, push.ErrInvalidMessage) && string(e.Body) == "this is not JSON"
		},
		func(e push.Event) bool { return errors.Is(e.Err, push.ErrInvalidMessage) },
		func(e push.Event) bool {
			return e.Err != nil && e.Topic == "acme/closed" && !errors.Is(e.Err, server.ErrNoRoute)
		},
		func(e push.Event) bool { return errors.Is(e.Err, server.ErrNoRoute) && e.Topic == "nowhere/at/all" },
		func(e push.Event) bool { return e.Success() && e.Topic == "acme/open" },
		func(e push.Event) bool { return e.Success() && e.Topic == "acme/open" },
	}
	for i, ok := range checks {
		ev := evs.next(t)
		if !ok(ev) {
			t.Fatalf("event %d: %+v (err %v)", i, ev, ev.Err)
		}
		if ev.Provider != "zmq" {
			t.Fatalf("event %d: provider %q", i, ev.Provider)
		}
	}
	for _, want := range []string{`"still running"`, `"first frame"`} {
		if got := sub.next(t); got != (event{"acme/open", want}) {
			t.Fatalf("got %+v, want %s", got, want)
		}
	}
	sub.none(t, 100*time.Millisecond)
	if st := h.Stats(); st != (zmqpush.HandlerStats{Received: 6, Succeeded: 2, Failed: 4, MultiFrame: 1}) {
		t.Fatalf("stats %+v", st)
	}
}

func userRouter(t *testing.T) *topic.Router {
	t.Helper()
	router, err := topic.NewRouter([]*topic.Route{{
		Name: "acme.user", Pattern: "acme/user/{id}", Callback: "acme.user",
		Requirements: map[string]string{"id": `\d+`},
	}}, topic.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// herald's Pusher → a libzmq PULL: {"topic": generated channel, "data": …}.
func TestPusherToPythonPull(t *testing.T) {
	endpoint, port := freeTCPEndpoint(t)
	pull := startPuller(t, endpoint)
	p, err := zmqpush.NewPusher(zmqpush.Config{Port: port, Logger: quietLogger()}, userRouter(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := p.Push(ctx, map[string]any{"msg": "hi"}, "acme.user", map[string]string{"id": "42"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(ctx, "a string", "acme.user", map[string]string{"id": "7"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(ctx, json.RawMessage(`[1,2]`), "acme.user", map[string]string{"id": "x"}, nil); err == nil {
		t.Fatal("a parameter that fails its requirement was pushed")
	}
	for _, want := range []push.Message{
		{Topic: "acme/user/42", Data: json.RawMessage(`{"msg":"hi"}`)},
		{Topic: "acme/user/7", Data: json.RawMessage(`["a string"]`)},
	} {
		frames := pull.next(t)
		if len(frames) != 1 {
			t.Fatalf("frames %q, want one", frames)
		}
		got, err := push.Decode([]byte(frames[0]))
		if err != nil {
			t.Fatal(err)
		}
		if got.Topic != want.Topic || string(got.Data) != string(want.Data) {
			t.Fatalf("got %s, want %+v", frames[0], want)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(ctx, 1, "acme.user", map[string]string{"id": "1"}, nil); !errors.Is(err, zmqpush.ErrClosed) {
		t.Fatalf("Push after Close: %v", err)
	}
}

// A PULL that binds after the Pusher was created still gets the message,
// and after it restarts the Pusher reconnects.
func TestPusherLateBindAndRestart(t *testing.T) {
	python(t)
	endpoint, port := freeTCPEndpoint(t)
	p, err := zmqpush.NewPusher(zmqpush.Config{Port: port, Logger: quietLogger(), ReconnectInterval: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Nobody listens yet: a Push with a short deadline says so.
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	err = p.Push(short, 1, "acme/late", nil, nil)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Push with no peer: %v", err)
	}

	errc := make(chan error, 1)
	go func() { errc <- p.Push(ctx, "late", "acme/late", nil, nil) }()
	time.Sleep(300 * time.Millisecond)
	pull := startPuller(t, endpoint)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := pull.next(t); len(got) != 1 || got[0] != `{"topic":"acme/late","data":["late"]}` {
		t.Fatalf("got %q", got)
	}

	// The peer crashes and comes back on the same port. The Pusher sees
	// the connection close, as libzmq would, and reconnects: every message
	// pushed after the restart arrives, in order.
	pull.kill()
	pull = startPuller(t, endpoint)
	for i := range 5 {
		if err := p.Push(ctx, i, "acme/again", nil, nil); err != nil {
			t.Fatalf("Push %d after the restart: %v", i, err)
		}
	}
	for i := range 5 {
		if got := pull.next(t); len(got) != 1 || got[0] != `{"topic":"acme/again","data":`+strconv.Itoa(i)+`}` {
			t.Fatalf("message %d after the restart: %q", i, got)
		}
	}
}

// Linger bounds Close while a Push waits for a peer that never comes.
func TestPusherCloseHonoursLinger(t *testing.T) {
	_, port := freeTCPEndpoint(t)
	p, err := zmqpush.NewPusher(zmqpush.Config{Port: port, Linger: 200 * time.Millisecond, Logger: quietLogger()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Push(context.Background(), 1, "acme/never", nil, nil) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Fatalf("Close took %v with linger 200ms", d)
	}
	if err := <-errc; !errors.Is(err, zmqpush.ErrClosed) {
		t.Fatalf("pending Push: %v", err)
	}

	// LingerForever: Shutdown's context bounds the wait instead.
	p, err = zmqpush.NewPusher(zmqpush.Config{Port: port, Linger: zmqpush.LingerForever, Logger: quietLogger()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { errc <- p.Push(context.Background(), 1, "acme/never", nil, nil) }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	p.Shutdown(ctx)
	if err := <-errc; !errors.Is(err, zmqpush.ErrClosed) {
		t.Fatalf("pending Push: %v", err)
	}
}

// Go Pusher → Go Handler over ipc, built through the registry with Gos's
// keys, as herald serve and herald push build them.
func TestRegisteredPusherToHandlerOverIPC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.sock")
	conf := map[string]any{"host": path, "port": 5555, "protocol": "ipc", "persistent": true, "linger": -1, "default": false, "consume_delay": 0}

	hh, err := push.NewHandler("zmq", conf)
	if err != nil {
		t.Fatal(err)
	}
	h := hh.(*zmqpush.Handler)
	if h.Name() != "zmq" || h.Endpoint() != "ipc://"+path+":5555" {
		t.Fatalf("name %q, endpoint %q", h.Name(), h.Endpoint())
	}
	srv, url := startHerald(t, server.Config{})
	evs := newEvents()
	runHandler(t, h, srv, evs.report)
	sub := subscribe(t, url, "acme/user/5")

	p, err := push.NewPusher("zmq", conf, userRouter(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 100 {
		if err := p.Push(ctx, map[string]int{"i": i}, "acme.user", map[string]string{"id": "5"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		if got := sub.next(t); got != (event{"acme/user/5", `{"i":` + strconv.Itoa(i) + `}`}) {
			t.Fatalf("message %d: got %+v", i, got)
		}
	}
}

// A second handler on a bound port fails Run with the bind error.
func TestBindFailureIsReturned(t *testing.T) {
	h, endpoint := tcpHandler(t)
	runHandler(t, h, nopSink{}, nil)
	_, port, _ := strings.Cut(strings.TrimPrefix(endpoint, "tcp://127.0.0.1"), ":")
	n, _ := strconv.Atoi(port)
	h2, err := zmqpush.NewHandler(zmqpush.Config{Port: n, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = h2.Run(ctx, nopSink{}, nil)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), endpoint) {
		t.Fatalf("Run on a bound port: %v", err)
	}
	if h.Addr() == nil || h2.Addr() != nil {
		t.Fatalf("addrs %v, %v", h.Addr(), h2.Addr())
	}
}

type nopSink struct{}

func (nopSink) Push(context.Context, string, *server.PushEvent) error { return nil }

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		conf map[string]any
		want string // endpoint, or "error: substring"
	}{
		{map[string]any{}, "tcp://127.0.0.1:5555"},
		{map[string]any{"host": "10.0.0.1", "port": 6000}, "tcp://10.0.0.1:6000"},
		{map[string]any{"host": "*", "port": "7000", "protocol": "TCP"}, "tcp://*:7000"},
		{map[string]any{"host": "::1", "port": 5556.0}, "tcp://[::1]:5556"},
		{map[string]any{"host": "/run/h.sock", "protocol": "ipc"}, "ipc:///run/h.sock"},
		{map[string]any{"protocol": "ipc"}, "error: needs host"},
		{map[string]any{"protocol": "inproc"}, "error: same process"},
		{map[string]any{"protocol": "pgm"}, "error: PGM"},
		{map[string]any{"protocol": "epgm"}, "error: PGM"},
		{map[string]any{"protocol": "udp"}, "error: want tcp or ipc"},
		{map[string]any{"port": 70000}, "error: out of range"},
		{map[string]any{"port": 1.5}, "error: integer"},
		{map[string]any{"prot": "tcp"}, "error: unknown key(s) prot"},
		{map[string]any{"persistent": "maybe"}, "error: boolean"},
		{map[string]any{"linger": "soon"}, "error: milliseconds"},
		{map[string]any{"consume_delay": "soon"}, "error: duration"},
		{map[string]any{"consume_delay": "-1s"}, "error: negative"},
		{map[string]any{"enabled": false}, "error: enabled is false"},
		{map[string]any{"enabled": "maybe"}, "error: boolean"},
		{map[string]any{"enabled": true, "port": 6001}, "tcp://127.0.0.1:6001"},
	} {
		cfg, err := zmqpush.ParseConfig(tc.conf)
		if msg, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("%v: err %v, want %q", tc.conf, err, msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.conf, err)
			continue
		}
		if got := cfg.Endpoint(); got != tc.want {
			t.Errorf("%v: endpoint %q, want %q", tc.conf, got, tc.want)
		}
	}
	for _, tc := range []struct {
		linger any
		want   time.Duration
	}{{nil, zmqpush.LingerForever}, {-1, zmqpush.LingerForever}, {0, 0}, {250, 250 * time.Millisecond}, {"2s", 2 * time.Second}} {
		conf := map[string]any{}
		if tc.linger != nil {
			conf["linger"] = tc.linger
		}
		cfg, err := zmqpush.ParseConfig(conf)
		if err != nil || cfg.Linger != tc.want || !cfg.Persistent {
			t.Errorf("linger %v: %+v, %v", tc.linger, cfg, err)
		}
	}
	for v, want := range map[any]time.Duration{nil: zmqpush.DefaultConsumeDelay, "absent": zmqpush.DefaultConsumeDelay, 0: 0, "250ms": 250 * time.Millisecond, 3: 3 * time.Second} {
		conf := map[string]any{"consume_delay": v}
		if v == "absent" {
			conf = map[string]any{}
		}
		if cfg, err := zmqpush.ParseConfig(conf); err != nil || cfg.ConsumeDelay != want {
			t.Errorf("consume_delay %v: %v, %v; want %v", v, cfg.ConsumeDelay, err, want)
		}
	}
	if _, err := zmqpush.NewHandler(zmqpush.Config{Protocol: "pgm"}); !errors.Is(err, zmqpush.ErrUnsupportedProtocol) {
		t.Errorf("NewHandler(pgm): %v", err)
	}
	for _, build := range []func() error{
		func() error { _, err := push.NewHandler("zmq", map[string]any{"enabled": false}); return err },
		func() error { _, err := push.NewPusher("zmq", map[string]any{"enabled": false}, nil); return err },
	} {
		if err := build(); !errors.Is(err, zmqpush.ErrDisabled) {
			t.Errorf("built from a section with enabled: false: %v", err)
		}
	}
	if _, err := push.NewPusher("zmq", map[string]any{"protocol": "inproc"}, nil); !errors.Is(err, zmqpush.ErrUnsupportedProtocol) {
		t.Errorf("NewPusher(inproc): %v", err)
	}
}

// slowSink accepts pushes slowly, so that zmq4's receive queue fills.
type slowSink struct{}

func (slowSink) Push(context.Context, string, *server.PushEvent) error {
	time.Sleep(200 * time.Microsecond)
	return nil
}

// Cancelling Run while a peer floods the socket stops it promptly and
// leaves no goroutine behind (goleak checks at the end of the package).
func TestHandlerStopsUnderLoad(t *testing.T) {
	py := python(t)
	h, endpoint := tcpHandler(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- h.Run(ctx, slowSink{}, nil) }()
	<-h.Ready()

	pctx, pcancel := context.WithCancel(context.Background())
	peer := exec.CommandContext(pctx, py, peerScript(), "push", endpoint, "20000", `{"topic":"acme/flood","data":1}`)
	if err := peer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		pcancel() // linger -1: it would wait forever for the closed handler
		peer.Wait()
	}()
	for deadline := time.Now().Add(10 * time.Second); h.Stats().Received < 200; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the flood did not arrive: %+v", h.Stats())
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return 5 s after cancel")
	}
	if st := h.Stats(); st.Received != st.Succeeded || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}
