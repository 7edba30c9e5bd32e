package server

import (
	"fmt"
	"github.com/heraldws/herald/wamp"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldws/herald/internal/ws"
)

// A client that stops reading fills its socket: the writer hands its
// outbox to a goroutine of its own, which finishes the partly written
// frame and the rest when the client reads again; later events go back
// through the writers. Every event arrives once, in order, whole.
func TestWritersHandOffAFullSocket(t *testing.T) {
	ts := startServer(t, Config{MaxQueueSize: 64 << 20})
	p := dial(t, ts.addr)
	p.subscribe("full")
	waitFor(t, "subscription", func() bool { return ts.hub.count("full") == 1 })
	pad := make([]byte, 1000)
	for i := range pad {
		pad[i] = 'x'
	}
	const burst = 8000 // ~8 MB: more than the socket buffers hold (4 MB send at most)
	event := func(i int) string { return fmt.Sprintf(`"%06d %s"`, i, pad) }
	for i := range burst {
		ts.fanout(Publication{Topic: "full", Payload: wamp.PayloadOfV1([]byte(event(i)))})
	}
	// The socket fills up and the rest waits in the outbox, written by a
	// goroutine of its own.
	ts.mu.Lock()
	var sess *session
	for _, s := range ts.byID {
		sess = s
	}
	ts.mu.Unlock()
	waitFor(t, "the outbox to be handed to a goroutine of its own", func() bool {
		sess.out.mu.Lock()
		defer sess.out.mu.Unlock()
		return sess.out.state == outboxBlocking
	})
	p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := range burst {
		p.expectText(eventFrame("full", event(i)))
	}
	waitFor(t, "the outbox to go idle", func() bool {
		sess.out.mu.Lock()
		defer sess.out.mu.Unlock()
		return sess.out.state == outboxIdle
	})
	for i := burst; i < burst+10; i++ {
		ts.fanout(Publication{Topic: "full", Payload: wamp.PayloadOfV1([]byte(event(i)))})
	}
	for i := burst; i < burst+10; i++ {
		p.expectText(eventFrame("full", event(i)))
	}
}

// writev reports whole frames written and returns the unwritten tail of
// a frame the connection took only part of, then the frames after it.
func TestWritevSplitsAPartialFrame(t *testing.T) {
	var wr writer
	batch := [][]byte{[]byte("aaaa"), []byte("bbbb"), []byte("cccc")}
	frames, n, rest, err := wr.writev(&limitedWriter{room: 6}, batch)
	if err != nil || frames != 1 || n != 6 {
		t.Fatalf("frames %d, bytes %d, err %v; want 1, 6, nil", frames, n, err)
	}
	if len(rest) != 2 || string(rest[0]) != "bb" || string(rest[1]) != "cccc" {
		t.Fatalf("rest %q, want [bb cccc]", rest)
	}
	frames, n, rest, err = wr.writev(&limitedWriter{room: 100}, batch)
	if err != nil || frames != 3 || n != 12 || rest != nil {
		t.Fatalf("everything fits: frames %d, bytes %d, rest %q, err %v", frames, n, rest, err)
	}
	many := make([][]byte, maxIovecs+5)
	for i := range many {
		many[i] = []byte("z")
	}
	lw := &limitedWriter{room: 1 << 20}
	if frames, _, rest, _ := wr.writev(lw, many); frames != len(many) || rest != nil || lw.calls != 2 {
		t.Fatalf("%d frames in %d calls, rest %d; want %d in 2", frames, lw.calls, len(rest), len(many))
	}
}

// limitedWriter takes at most room bytes in all.
type limitedWriter struct {
	room, calls int
}

func (l *limitedWriter) tryWritev(_ *writevScratch, bufs [][]byte) (int, error) {
	l.calls++
	if len(bufs) > maxIovecs {
		return 0, fmt.Errorf("%d buffers in one call", len(bufs))
	}
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	n = min(n, l.room)
	l.room -= n
	return n, nil
}

// A client's answer (here the PONG to its PING) is written ahead of a
// fan-out pass that is still under way: its outbox is served at most a
// couple of outboxes after the answer was queued, not after every
// subscriber of the publication that came before it.
func TestWritersServeAnswersAheadOfFanout(t *testing.T) {
	ts := startServer(t, Config{})
	const subscribers = 300
	subs := make([]*peer, subscribers)
	for i := range subs {
		subs[i] = dial(t, ts.addr)
		subs[i].subscribe("pass")
	}
	waitFor(t, "subscriptions", func() bool { return ts.hub.count("pass") == subscribers })
	pinger := dial(t, ts.addr)
	ts.mu.Lock()
	pingerOut := &ts.byID[pinger.session].out
	ts.mu.Unlock()

	var mu sync.Mutex
	served := map[*writer]int{} // outboxes served so far, by writer
	queuedAt, servedAt := -1, -1
	var of *writer
	observe := func(wr *writer, o *outbox) {
		mu.Lock()
		if o == pingerOut && servedAt < 0 && wr == of {
			servedAt = served[wr]
		}
		served[wr]++
		mu.Unlock()
	}
	answer := func(wr *writer, o *outbox) {
		mu.Lock()
		if o == pingerOut && queuedAt < 0 {
			of, queuedAt = wr, served[wr]
		}
		mu.Unlock()
	}
	observeServe.Store(&observe)
	observeAdd.Store(&answer)
	t.Cleanup(func() { observeServe.Store(nil); observeAdd.Store(nil) })

	// One write: the PUBLISH (fanned out to every subscriber), then the
	// PING, in the same read turn.
	var key [4]byte
	out := ws.AppendMaskedFrame(nil, ws.OpText, []byte(`[7,"pass","e"]`), key)
	out = ws.AppendMaskedFrame(out, ws.OpPing, []byte("ahead"), key)
	if _, err := pinger.conn.Write(out); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		s.expectText(eventFrame("pass", `"e"`))
	}
	if op, payload := pinger.next(); op != ws.OpPong || string(payload) != "ahead" {
		t.Fatalf("pinger got opcode %d %q, want the PONG", op, payload)
	}
	observeServe.Store(nil)
	observeAdd.Store(nil)

	mu.Lock()
	defer mu.Unlock()
	if queuedAt < 0 || servedAt < 0 {
		t.Fatalf("the PONG was queued at %d and served at %d", queuedAt, servedAt)
	}
	if total := served[of]; servedAt-queuedAt > 2 {
		t.Fatalf("the PONG's outbox was served %d outboxes after it was queued (its writer served %d in all); want at most 2", servedAt-queuedAt, total)
	}
}

// On one CPU, an HTTP API request sent while a write pass over a thousand
// sockets runs is read and answered during the pass: the writer's slices
// end at its poll gate, where the request's reader gets in.
func TestAPIAnswersDuringAWritePass(t *testing.T) {
	ts := startServer(t, Config{APIKey: "k3y"})
	const subscribers = 1000
	subs := make([]*peer, subscribers)
	for i := range subs {
		subs[i] = dial(t, ts.addr)
		subs[i].subscribe("pass")
	}
	waitFor(t, "subscriptions", func() bool { return ts.hub.count("pass") == subscribers })
	post := keepAlivePublisher(t, ts.addr)
	post() // the keep-alive connection waits for the next request

	var served atomic.Int64
	observe := func(*writer, *outbox) { served.Add(1) }
	observeServe.Store(&observe)
	t.Cleanup(func() { observeServe.Store(nil) })
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ts.fanout(Publication{Topic: "pass", Payload: wamp.PayloadOfV1([]byte(`"e"`))})
	post()
	at := served.Load()
	runtime.GOMAXPROCS(2)
	for _, s := range subs {
		s.expectText(eventFrame("pass", `"e"`))
	}
	if at >= subscribers*3/4 {
		t.Fatalf("the API answered after %d of %d outboxes of the pass; want it answered within the pass", at, subscribers)
	}
}

// On one CPU, an HTTP API request sent while one client floods PUBLISH to
// a topic with subscribers is answered before the flood has been read:
// the flooder's read turn ends its slices at the poll gate too.
func TestAPIAnswersDuringAPublishFlood(t *testing.T) {
	ts := startServer(t, Config{APIKey: "k3y", MaxQueueSize: 64 << 20})
	const subscribers, flood = 200, 3000
	for range subscribers {
		dial(t, ts.addr).subscribe("flood")
	}
	waitFor(t, "subscriptions", func() bool { return ts.hub.count("flood") == subscribers })
	post := keepAlivePublisher(t, ts.addr)
	post()
	flooder := dial(t, ts.addr)
	var key [4]byte
	var out []byte
	for i := range flood {
		out = ws.AppendMaskedFrame(out, ws.OpText, fmt.Appendf(nil, `[7,"flood",%d]`, i), key)
	}
	before := testutil.ToFloat64(ts.metrics.messagesIn)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	go flooder.conn.Write(out) // the socket takes it all
	waitFor(t, "the flood to be read", func() bool { return testutil.ToFloat64(ts.metrics.messagesIn) > before })
	post()
	handled := testutil.ToFloat64(ts.metrics.messagesIn) - before
	runtime.GOMAXPROCS(2)
	waitFor(t, "the whole flood", func() bool { return testutil.ToFloat64(ts.metrics.messagesIn)-before == flood })
	if handled >= flood*3/4 {
		t.Fatalf("the API answered after %.0f of %d flooded messages; want it answered during the flood", handled, flood)
	}
}

// keepAlivePublisher returns a function that posts a publication to a
// topic nobody subscribes to over one keep-alive connection (API key
// k3y), failing the test unless it is answered 200.
func keepAlivePublisher(t *testing.T, addr string) func() {
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	return func() {
		t.Helper()
		req, err := http.NewRequest("POST", "http://"+addr+"/api/publish", strings.NewReader(`{"topic":"elsewhere","data":1}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-API-Key", "k3y")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/publish: %s", resp.Status)
		}
	}
}
