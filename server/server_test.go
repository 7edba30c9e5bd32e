package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var sessionIDShape = regexp.MustCompile(`^[0-9a-f]{23,32}$`)

// The Gos PHP client reads the WELCOME from the bytes that came with the
// 101: they must leave in one write, so the first read holds both.
func TestHandshakeAndWelcomeArriveInOneRead(t *testing.T) {
	ts := startServer(t, Config{})
	// Through the upgrade listener (startServer) and through net/http
	// alone (httpServe), as an embedding program serves it.
	plain, err := New(Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Shutdown(context.Background())
	viaNetHTTP := httpServe(t, plain)
	for i := range 40 {
		addr := ts.addr
		if i%2 == 1 {
			addr = viaNetHTTP
		}
		p := connectRaw(t, addr, gosRequest(addr, "wamp"))
		head, body, ok := bytes.Cut(p.firstRaw, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("first read %q lacks the end of the headers", p.firstRaw)
		}
		if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
			t.Fatalf("status line %q", head)
		}
		if bytes.ContainsAny(head, "[]") {
			t.Fatalf("response headers contain a bracket: %q", head)
		}
		if len(body) < 2 || body[0] != 0x81 || int(body[1]) != len(body)-2 {
			t.Fatalf("first read does not end with one whole WELCOME frame: % x", body)
		}
		if body[1] == '[' {
			t.Fatal("WELCOME is 91 bytes long; the PHP clients would parse its length byte")
		}
		// What the Gos client does: from the first '[' to the end.
		var welcome []any
		if err := json.Unmarshal(p.firstRaw[bytes.IndexByte(p.firstRaw, '['):], &welcome); err != nil {
			t.Fatalf("Gos-style WELCOME extraction: %v", err)
		}
		if welcome[0] != 0.0 || welcome[2] != 1.0 || !sessionIDShape.MatchString(welcome[1].(string)) {
			t.Fatalf("WELCOME %v", welcome)
		}
		if got := p.resp.Header.Get("Sec-WebSocket-Protocol"); got != "wamp" {
			t.Fatalf("Sec-WebSocket-Protocol %q, want wamp", got)
		}
	}
}

func TestHandshakeVariants(t *testing.T) {
	ts := startServer(t, Config{})
	cases := []struct {
		name, request, wantProtocol string
	}{
		{"absolute form, wamp offered", gosRequest(ts.addr, "wamp"), "wamp"},
		{"no subprotocol offered", gosRequest(ts.addr, ""), ""},
		{"other subprotocols only", gosRequest(ts.addr, "chat, superchat"), ""},
		{"wamp among others", gosRequest(ts.addr, "chat, wamp"), "wamp"},
		{"origin-form with ticket, Oro style", strings.Replace(gosRequest(ts.addr, "wamp"), "GET ws://"+ts.addr+"/ ", "GET /ws?ticket=abc%3D%3D ", 1), "wamp"},
		{"lower-case upgrade", strings.Replace(gosRequest(ts.addr, "wamp"), "Upgrade: WebSocket", "upgrade: websocket", 1), "wamp"},
		{"keep-alive, Upgrade connection", strings.Replace(gosRequest(ts.addr, "wamp"), "Connection: Upgrade", "Connection: keep-alive, Upgrade", 1), "wamp"},
	}
	ids := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dialRequest(t, ts.addr, c.request)
			if got := p.resp.Header.Get("Sec-WebSocket-Protocol"); got != c.wantProtocol {
				t.Fatalf("Sec-WebSocket-Protocol %q, want %q", got, c.wantProtocol)
			}
			if !sessionIDShape.MatchString(p.session) || ids[p.session] {
				t.Fatalf("session id %q is malformed or repeated", p.session)
			}
			ids[p.session] = true
			p.subscribe("acme/channel")
			p.send(`[7,"acme/channel",{"ok":true}]`)
			p.expectText(eventFrame("acme/channel", `{"ok":true}`))
		})
	}
}

func TestHandshakeRefusals(t *testing.T) {
	ts := startServer(t, Config{OriginCheck: true, Origins: []string{"app.example.com"}})
	cases := []struct {
		name, from, to string
		status         int
		reason         string
	}{
		{"POST", "GET ws://", "POST ws://", http.StatusMethodNotAllowed, failMethod},
		{"bad key", "Sec-WebSocket-Key: ", "Sec-WebSocket-Key: x", http.StatusBadRequest, failBadRequest},
		{"no Connection upgrade", "Connection: Upgrade", "Connection: close", http.StatusBadRequest, failBadRequest},
		{"version 8", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", http.StatusUpgradeRequired, failVersion},
		{"foreign origin", "Origin: 127.0.0.1", "Origin: https://evil.example.com", http.StatusForbidden, failOrigin},
		{"foreign bare origin", "Origin: 127.0.0.1", "Origin: evil.example.com", http.StatusForbidden, failOrigin},
		{"no origin", "Origin: 127.0.0.1\r\n", "", http.StatusForbidden, failOrigin},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := ts.metrics.handshakeFailures.WithLabelValues(c.reason)
			_ = before
			req := strings.Replace(gosRequest(ts.addr, "wamp"), c.from, c.to, 1)
			p := connectRaw(t, ts.addr, req)
			if p.resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", p.resp.StatusCode, c.status)
			}
			if got := p.resp.Header.Get("X-Powered-By"); !strings.HasPrefix(got, "herald/") {
				t.Fatalf("X-Powered-By %q", got)
			}
		})
	}
	if got := metricValue(t, ts, `herald_handshake_failures_total{reason="origin"}`); got != "3" {
		t.Fatalf("origin failures metric %q, want 3", got)
	}
	// Allowed origins: the configured host with any scheme and port, a bare
	// host, and localhost / 127.0.0.1 always.
	for _, origin := range []string{"https://app.example.com", "http://app.example.com:8443", "app.example.com", "http://localhost:3000", "127.0.0.1"} {
		req := strings.Replace(gosRequest(ts.addr, "wamp"), "Origin: 127.0.0.1", "Origin: "+origin, 1)
		dialRequest(t, ts.addr, req)
	}
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Config{MaxConnections: 2})
	a := dial(t, ts.addr)
	dial(t, ts.addr)
	p := connectRaw(t, ts.addr, gosRequest(ts.addr, "wamp"))
	if p.resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection got %d, want 503", p.resp.StatusCode)
	}
	a.sendFrame(ws.OpClose, ws.ClosePayload(ws.CloseNormal, ""))
	a.expectClose(ws.CloseNormal)
	// The slot, not the listing: a session is listed a moment after its
	// WELCOME went out, so the listing can briefly lag the slots.
	waitFor(t, "a free slot", func() bool { return ts.admitted.Load() == 1 })
	dial(t, ts.addr)
}

func TestHTTPEndpoints(t *testing.T) {
	ts := startServer(t, Config{})
	if code, body := httpGet(t, "http://"+ts.addr+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	dial(t, ts.addr).subscribe("acme/channel")
	waitFor(t, "the subscription", func() bool { return metricValue(t, ts, "herald_subscriptions") == "1" })
	if got := metricValue(t, ts, "herald_connections"); got != "1" {
		t.Fatalf("herald_connections %q, want 1", got)
	}
	if code, _ := httpGet(t, "http://"+ts.addr+"/ws"); code != http.StatusUpgradeRequired {
		t.Fatalf("plain GET on a WebSocket path: %d, want 426", code)
	}
}

func TestPublishSubscribe(t *testing.T) {
	ts := startServer(t, Config{})
	a, b, c := dial(t, ts.addr), dial(t, ts.addr), dial(t, ts.addr)
	a.subscribe("acme/channel")
	b.subscribe("acme/channel")
	a.sync()
	b.sync()

	type want struct{ a, b, c bool }
	cases := []struct {
		name    string
		publish func() string
		want    want
	}{
		{"plain, publisher not subscribed", func() string { return `[7,"acme/channel",{"n":1}]` }, want{true, true, false}},
		{"publisher subscribed gets its own", func() string { return `[7,"acme/channel",{"n":2}]` }, want{true, true, false}},
		{"excludeMe true", func() string { return `[7,"acme/channel","x",true]` }, want{false, true, false}},
		{"excludeMe 1", func() string { return `[7,"acme/channel","x",1]` }, want{false, true, false}},
		{"excludeMe false", func() string { return `[7,"acme/channel","x",false]` }, want{true, true, false}},
		{"excludeMe \"0\"", func() string { return `[7,"acme/channel","x","0"]` }, want{true, true, false}},
		{"exclude list", func() string { return fmt.Sprintf(`[7,"acme/channel","x",[%q],[]]`, b.session) }, want{true, false, false}},
		{"eligible list", func() string { return fmt.Sprintf(`[7,"acme/channel","x",[],[%q]]`, b.session) }, want{false, true, false}},
		{"exclude wins over eligible", func() string {
			return fmt.Sprintf(`[7,"acme/channel","x",[%q],[%q,%q]]`, b.session, a.session, b.session)
		}, want{true, false, false}},
		{"eligible non-subscriber gets nothing", func() string { return fmt.Sprintf(`[7,"acme/channel","x",[],[%q]]`, c.session) }, want{false, false, false}},
		{"empty eligible means everyone", func() string { return `[7,"acme/channel","x",[],[]]` }, want{true, true, false}},
		{"Gos WAMP pusher: JSON string event", func() string { return `[7,"acme\/channel","{\"a\":1}",[],[]]` }, want{true, true, false}},
		{"other topic", func() string { return `[7,"acme/other","x"]` }, want{false, false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			publisher := a
			if tc.name == "plain, publisher not subscribed" {
				publisher = c
			}
			msg := tc.publish()
			publisher.send(msg)
			got := map[*peer][]string{publisher: publisher.sync()}
			var m wamp.Publish
			decoded, err := wamp.V1{}.Decode([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			m = *decoded.(*wamp.Publish)
			want := eventFrame(m.Topic, string(m.Event))
			for _, x := range []struct {
				p    *peer
				want bool
			}{{a, tc.want.a}, {b, tc.want.b}, {c, tc.want.c}} {
				got, ok := got[x.p]
				if !ok {
					got = x.p.sync()
				}
				switch {
				case x.want && (len(got) != 1 || got[0] != want):
					t.Errorf("%s got %q, want %q", x.p.session, got, want)
				case !x.want && len(got) != 0:
					t.Errorf("%s got %q, want nothing", x.p.session, got)
				}
			}
		})
	}
}

func TestEligibleOverLookupThreshold(t *testing.T) {
	ts := startServer(t, Config{})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.subscribe("t")
	b.subscribe("t")
	a.sync()
	b.sync()
	eligible := []string{b.session}
	for i := range eligibleLookupMax {
		eligible = append(eligible, fmt.Sprintf("%024d", i))
	}
	exclude := []string{}
	for i := range 20 {
		exclude = append(exclude, fmt.Sprintf("x%023d", i))
	}
	if n := ts.fanout(Publication{Topic: "t", Payload: wamp.PayloadOfV1(json.RawMessage(`1`)), Audience: Audience{Eligible: eligible, Exclude: exclude}}); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	if got := b.sync(); len(got) != 1 || got[0] != eventFrame("t", "1") {
		t.Fatalf("b got %q", got)
	}
	a.expectNothing()
}

func TestSubscribeIsIdempotentAndUnsubscribeStops(t *testing.T) {
	ts := startServer(t, Config{})
	a, pub := dial(t, ts.addr), dial(t, ts.addr)
	a.subscribe("t")
	a.subscribe("t")
	a.sync()
	pub.send(`[7,"t",1]`)
	pub.sync()
	if got := a.sync(); len(got) != 1 {
		t.Fatalf("after a double subscribe got %q, want one event", got)
	}
	a.send(`[6,"t"]`)
	a.send(`[6,"t"]`)
	a.send(`[6,"never-subscribed"]`)
	a.sync()
	pub.send(`[7,"t",2]`)
	pub.sync()
	a.expectNothing()
	if st := ts.Stats(); st.Subscriptions != 0 || st.Topics != 0 {
		t.Fatalf("stats after unsubscribe: %+v", st)
	}
}

func TestTopicsAreExactStrings(t *testing.T) {
	ts := startServer(t, Config{})
	a, pub := dial(t, ts.addr), dial(t, ts.addr)
	a.subscribe("oro/imap_sync_fail/*")
	a.sync()
	pub.send(`[7,"oro/imap_sync_fail/12","x"]`)
	pub.send(`[7,"oro/imap_sync_fail/*","y"]`)
	pub.send(`[7,"ORO/IMAP_SYNC_FAIL/*","z"]`)
	pub.sync()
	if got := a.sync(); len(got) != 1 || got[0] != eventFrame("oro/imap_sync_fail/*", `"y"`) {
		t.Fatalf("got %q, want only the exact topic's event", got)
	}
}

func TestPrefix(t *testing.T) {
	t.Run("ratchet", func(t *testing.T) {
		ts := startServer(t, Config{})
		a := dial(t, ts.addr)
		a.send(`[1,"acme","http://example.com/acme"]`)
		a.send(`[5,"acme:chat:extra"]`)
		a.send(`[7,"http://example.com/acme#chat","hi"]`)
		if got := a.sync(); len(got) != 1 || got[0] != eventFrame("http://example.com/acme#chat", `"hi"`) {
			t.Fatalf("got %q", got)
		}
		// A CALL's procedure is resolved the same way.
		a.send(`[2,"c1","acme:sum"]`)
		op, payload := a.next()
		var callErr []any
		json.Unmarshal(payload, &callErr)
		if op != ws.OpText || len(callErr) < 4 || callErr[0] != 4.0 || callErr[2] != "http://example.com/acme#sum" {
			t.Fatalf("CALLERROR %s", payload)
		}
	})
	t.Run("spec", func(t *testing.T) {
		ts := startServer(t, Config{PrefixMode: wamp.PrefixSpec})
		a := dial(t, ts.addr)
		a.send(`[1,"acme","http://example.com/acme/"]`)
		a.send(`[5,"acme:chat"]`)
		a.send(`[7,"acme:chat","hi"]`)
		if got := a.sync(); len(got) != 1 || got[0] != eventFrame("http://example.com/acme/chat", `"hi"`) {
			t.Fatalf("got %q", got)
		}
	})
}

func TestCallAnswersCallError(t *testing.T) {
	ts := startServer(t, Config{})
	a := dial(t, ts.addr)
	for _, c := range []struct{ call, id string }{
		{`[2,"5f0b2d2a1c7d34.12345678","sample/sum",{"a":1}]`, `"5f0b2d2a1c7d34.12345678"`},
		{`[2,42,"sample/sum",1,2]`, `42`},
		{`[2,"x","sample/sum"]`, `"x"`},
	} {
		a.send(c.call)
		want := `[4,` + c.id + `,"sample/sum","No RPC handler is registered for \"sample/sum\".",{"code":404}]`
		a.expectText(want)
	}
}

// Every bad input closes the connection with the code Gos uses, and the
// server keeps serving everyone else.
func TestBadInputCloses(t *testing.T) {
	ts := startServer(t, Config{MaxMessageSize: 4096})
	cases := []struct {
		name    string
		op      byte
		payload []byte
		code    uint16
	}{
		{"invalid JSON", ws.OpText, []byte(`[5,"t"`), ws.CloseInvalidPayload},
		{"not a list", ws.OpText, []byte(`{"0":5,"1":"t"}`), ws.CloseInvalidPayload},
		{"a string", ws.OpText, []byte(`"hello"`), ws.CloseInvalidPayload},
		{"null", ws.OpText, []byte(`null`), ws.CloseInvalidPayload},
		{"empty list", ws.OpText, []byte(`[]`), ws.CloseInvalidPayload},
		{"topic is an object", ws.OpText, []byte(`[5,{"a":1}]`), ws.CloseInvalidPayload},
		{"topic is a list", ws.OpText, []byte(`[7,["t"],"x"]`), ws.CloseInvalidPayload},
		{"call id is a bool", ws.OpText, []byte(`[2,true,"p"]`), ws.CloseInvalidPayload},
		{"unknown type", ws.OpText, []byte(`[99,"t"]`), ws.CloseInvalidPayload},
		{"type is a word", ws.OpText, []byte(`["subscribe","t"]`), ws.CloseInvalidPayload},
		{"server-only type EVENT", ws.OpText, []byte(`[8,"t","x"]`), ws.CloseInvalidPayload},
		{"server-only type WELCOME", ws.OpText, []byte(`[0,"s",1,"x"]`), ws.CloseInvalidPayload},
		{"publish without event", ws.OpText, []byte(`[7,"t"]`), ws.CloseInvalidPayload},
		{"eligible not a list", ws.OpText, []byte(`[7,"t","x",[],"s"]`), ws.CloseInvalidPayload},
		{"invalid UTF-8", ws.OpText, []byte("[7,\"t\",\"\xff\xfe\"]"), ws.CloseInvalidPayload},
		{"over the size limit", ws.OpText, []byte(`[7,"t","` + strings.Repeat("x", 5000) + `"]`), ws.CloseMessageTooBig},
		{"unknown opcode", 0x3, []byte("x"), ws.CloseProtocolError},
	}
	watcher := dial(t, ts.addr)
	watcher.subscribe("t")
	watcher.sync()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dial(t, ts.addr)
			p.subscribe("t")
			p.sync()
			p.sendFrame(c.op, c.payload)
			p.expectClose(c.code)
			// The server stays healthy: a new client works and the watcher
			// still gets events.
			q := dial(t, ts.addr)
			q.send(`[7,"t","still here"]`)
			q.sync()
			if got := watcher.sync(); len(got) != 1 || got[0] != eventFrame("t", `"still here"`) {
				t.Fatalf("watcher got %q", got)
			}
		})
	}
	waitFor(t, "closed sessions to leave", func() bool { return ts.hub.count("t") == 1 })
}

func TestUnmaskedFrameIsAProtocolError(t *testing.T) {
	ts := startServer(t, Config{})
	p := dial(t, ts.addr)
	p.conn.Write(ws.AppendFrame(nil, ws.OpText, []byte(`[5,"t"]`)))
	p.expectClose(ws.CloseProtocolError)
}

func TestFragmentedMessageIsAssembled(t *testing.T) {
	ts := startServer(t, Config{})
	p := dial(t, ts.addr)
	p.subscribe("t")
	msg := []byte(`[7,"t","fragmented é"]`)
	key := [4]byte{1, 2, 3, 4}
	first := ws.AppendMaskedFrame(nil, ws.OpText, msg[:10], key)
	first[0] &^= 0x80 // not final
	ping := ws.AppendMaskedFrame(nil, ws.OpPing, []byte("between"), key)
	last := ws.AppendMaskedFrame(nil, ws.OpContinuation, msg[10:], key)
	p.conn.Write(append(append(first, ping...), last...))
	op, payload := p.next()
	if op != ws.OpPong || string(payload) != "between" {
		t.Fatalf("got opcode %d %q, want the PONG", op, payload)
	}
	p.expectText(eventFrame("t", `"fragmented é"`))
}

func TestClientCloseIsAnsweredPromptly(t *testing.T) {
	ts := startServer(t, Config{})
	p := dial(t, ts.addr)
	p.subscribe("t")
	// What the Gos PHP client's disconnect() sends, then a second CLOSE.
	p.sendFrame(ws.OpClose, ws.ClosePayload(ws.CloseNormal, "ttfn"))
	start := time.Now()
	op, payload := p.next()
	if op != ws.OpClose {
		t.Fatalf("got opcode %d, want CLOSE", op)
	}
	if code, _, _ := ws.ParseClosePayload(payload); code != ws.CloseNormal {
		t.Fatalf("close code %d, want 1000", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("CLOSE answered after %v", d)
	}
	p.sendFrame(ws.OpClose, ws.ClosePayload(ws.CloseNormal, "Close acknowledged: 1000"))
	p.expectEOF()
	waitFor(t, "the session to end", func() bool { return ts.Stats() == Stats{} })
}

func TestPingIsAnswered(t *testing.T) {
	ts := startServer(t, Config{})
	p := dial(t, ts.addr)
	p.sendFrame(ws.OpPing, []byte("are you there"))
	op, payload := p.next()
	if op != ws.OpPong || string(payload) != "are you there" {
		t.Fatalf("got opcode %d %q, want PONG with the same payload", op, payload)
	}
}

func TestDisconnectLeavesExactlyItsOwnTopics(t *testing.T) {
	ts := startServer(t, Config{})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.subscribe("t1")
	a.subscribe("t2")
	b.subscribe("t1")
	b.subscribe("t3")
	a.sync()
	b.sync()
	if st := ts.Stats(); st.Subscriptions != 4 || st.Topics != 3 {
		t.Fatalf("before: %+v", st)
	}
	a.conn.Close() // no CLOSE frame: the TCP connection just goes
	waitFor(t, "a's subscriptions to go", func() bool { return ts.Stats().Subscriptions == 2 })
	if st := ts.Stats(); st.Topics != 2 || ts.hub.count("t1") != 1 || ts.hub.count("t3") != 1 || ts.hub.count("t2") != 0 {
		t.Fatalf("after: %+v", st)
	}
	ts.fanout(Publication{Topic: "t1", Payload: wamp.PayloadOfV1(json.RawMessage(`"x"`))})
	if got := b.sync(); len(got) != 1 {
		t.Fatalf("b got %q", got)
	}
}

// A subscriber that never reads is closed once its queue overflows; the
// publisher never waits and every other subscriber gets every message.
func TestSlowConsumerIsClosed(t *testing.T) {
	ts := startServer(t, Config{MaxQueueSize: 64 << 10, WriteTimeout: 30 * time.Second})
	slow := dial(t, ts.addr)
	slow.conn.(*net.TCPConn).SetReadBuffer(4096)
	slow.subscribe("t")
	slow.sync()
	fast := dial(t, ts.addr)
	fast.subscribe("t")
	fast.sync()

	// The publisher keeps at most 32 events in flight towards the fast
	// subscriber, so only the one that never reads can overflow.
	const total, window = 20000, 32
	event := json.RawMessage(`"` + strings.Repeat("x", 1000) + `"`)
	var received atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		want := eventFrame("t", string(event))
		for received.Load() < total {
			op, payload, err := fast.tryNext(10 * time.Second)
			if err != nil {
				t.Errorf("fast subscriber: %v after %d events", err, received.Load())
				return
			}
			if op != ws.OpText || string(payload) != want {
				t.Errorf("fast subscriber got %q", payload)
				return
			}
			received.Add(1)
		}
	})
	for i := range int64(total) {
		for i-received.Load() > window && !t.Failed() {
			time.Sleep(50 * time.Microsecond)
		}
		ts.fanout(Publication{Topic: "t", Payload: wamp.PayloadOfV1(event)})
	}
	wg.Wait()
	if received.Load() != total {
		t.Fatalf("fast subscriber got %d of %d", received.Load(), total)
	}
	if got := metricValue(t, ts, "herald_slow_consumer_disconnects_total"); got != "1" {
		t.Fatalf("slow consumer metric %q, want 1", got)
	}
	waitFor(t, "the slow consumer to leave", func() bool { return ts.hub.count("t") == 1 })
	// Its connection is gone: reading eventually ends with an error.
	slow.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := io.Copy(io.Discard, slow.conn); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("slow consumer's connection is still open after reading %d bytes", n)
		}
	}
}

func TestKeepalive(t *testing.T) {
	ts := startServer(t, Config{KeepalivePing: true, KeepaliveInterval: 100 * time.Millisecond})
	silent := dial(t, ts.addr)
	alive := dial(t, ts.addr)
	done := make(chan error, 1)
	go func() {
		pings := 0
		for pings < 4 {
			op, payload, err := alive.tryNext(5 * time.Second)
			if err != nil {
				done <- err
				return
			}
			if op == ws.OpPing {
				pings++
				var key [4]byte
				alive.conn.Write(ws.AppendMaskedFrame(nil, ws.OpPong, payload, key))
			}
		}
		done <- nil
	}()
	// The silent client never answers: it gets a PING, then a CLOSE.
	op, _ := silent.next()
	if op != ws.OpPing {
		t.Fatalf("got opcode %d, want PING", op)
	}
	silent.expectClose(ws.CloseNormal)
	if err := <-done; err != nil {
		t.Fatalf("answering client: %v", err)
	}
	alive.subscribe("t")
	alive.send(`[7,"t","still open"]`)
	for {
		op, payload := alive.next()
		if op == ws.OpText {
			if string(payload) != eventFrame("t", `"still open"`) {
				t.Fatalf("got %q", payload)
			}
			break
		}
	}
}

func TestShutdownClosesEveryConnection(t *testing.T) {
	srv, err := New(Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httpServe(t, srv)
	peers := []*peer{dial(t, hs), dial(t, hs), dial(t, hs)}
	peers[0].subscribe("t")
	peers[0].sync()
	results := make(chan error, len(peers))
	for _, p := range peers {
		go func() {
			for {
				op, payload, err := p.tryNext(5 * time.Second)
				if err != nil {
					results <- err
					return
				}
				if op == ws.OpClose {
					code, _, _ := ws.ParseClosePayload(payload)
					if code != ws.CloseGoingAway {
						results <- fmt.Errorf("close code %d", code)
						return
					}
					var key [4]byte
					p.conn.Write(ws.AppendMaskedFrame(nil, ws.OpClose, payload, key))
					results <- nil
					return
				}
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range peers {
		if err := <-results; err != nil {
			t.Fatalf("peer: %v", err)
		}
	}
	if st := srv.Stats(); st != (Stats{}) {
		t.Fatalf("stats after shutdown: %+v", st)
	}
	if err := srv.Shutdown(ctx); err != ErrServerClosed {
		t.Fatalf("second Shutdown: %v, want ErrServerClosed", err)
	}
	p := connectRaw(t, hs, gosRequest(hs, "wamp"))
	if p.resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade after shutdown: %d, want 503", p.resp.StatusCode)
	}
}

// A peer that ignores the CLOSE is dropped when ctx ends.
func TestShutdownDropsUnansweredConnectionsAtDeadline(t *testing.T) {
	srv, err := New(Config{Logger: discardLogger(), CloseGrace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	hs := httpServe(t, srv)
	p := dial(t, hs)
	// The WELCOME precedes the session's registration.
	waitFor(t, "the session", func() bool { return srv.Stats().Connections == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
	p.expectClose(ws.CloseGoingAway)
}

func TestNodeIDStartsEverySessionID(t *testing.T) {
	ts := startServer(t, Config{NodeID: "0badcafe"})
	for range 3 {
		if p := dial(t, ts.addr); !strings.HasPrefix(p.session, "0badcafe") || len(p.session) != 24 {
			t.Fatalf("session id %q", p.session)
		}
	}
	if _, err := New(Config{NodeID: "XYZ"}); err == nil {
		t.Fatal("New accepted a malformed node id")
	}
}
