package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

func TestParsePayload(t *testing.T) {
	for _, tc := range []struct {
		in        string
		seq, sent int64
		ok        bool
	}{
		{`{"s":5,"t":1764130000123456789,"p":"xx"}`, 5, 1764130000123456789, true},
		{`{"s":-1,"t":7,"p":""}`, -1, 7, true},
		// Any key order, whitespace, other keys with nested values and
		// strings holding quotes and brackets, as a server that decoded and
		// re-encoded the event may send.
		{` { "p" : "a\"]}b" , "x" : {"y":[1,{"z":"]"}]}, "t" : 42 , "s" : 3 } `, 3, 42, true},
		// A float (a server that went through float64).
		{`{"t":1.764130000123e+18,"s":2.0}`, 2, 1764130000123000064, true},
		{`{"s":1}`, 0, 0, false},
		{`{"s":"1","t":2}`, 0, 0, false},
		{`[1,2]`, 0, 0, false},
		{`{"s":1,"t":`, 0, 0, false},
		{``, 0, 0, false},
	} {
		seq, sent, ok := parsePayload([]byte(tc.in))
		if ok != tc.ok || (ok && (seq != tc.seq || sent != tc.sent)) {
			t.Errorf("parsePayload(%s) = %d, %d, %v; want %d, %d, %v", tc.in, seq, sent, ok, tc.seq, tc.sent, tc.ok)
		}
	}
}

func TestAppendPayloadSize(t *testing.T) {
	now := time.Now().UnixNano()
	for _, size := range []int{0, 20, 40, 41, 100, 4000} {
		p := appendPayload(nil, 299, now, size)
		base := len(appendPayload(nil, 299, now, 0))
		if want := max(size, base); len(p) != want {
			t.Errorf("size %d: payload of %d bytes, want %d: %s", size, len(p), want, p)
		}
		seq, sent, ok := parsePayload(p)
		if !ok || seq != 299 || sent != now {
			t.Errorf("size %d: %s reads back as %d, %d, %v", size, p, seq, sent, ok)
		}
	}
	if got := string(appendPayload(nil, 1, 2, 0)); got != `{"s":1,"t":2,"p":""}` {
		t.Errorf("payload %s", got)
	}
}

// The frames the bench sends, byte for byte.
func TestCodecFrames(t *testing.T) {
	ev := []byte(`{"s":1}`)
	for _, tc := range []struct{ got, want string }{
		{string(appendSubscribe(nil, WAMP1, 1, "bench/0")), `[5,"bench/0"]`},
		{string(appendSubscribe(nil, WAMP2, 7, "bench/0")), `[32,7,{},"bench/0"]`},
		{string(appendPublish(nil, WAMP1, 3, false, "bench/1", ev)), `[7,"bench/1",{"s":1}]`},
		{string(appendPublish(nil, WAMP2, 9, false, "bench/1", ev)), `[16,9,{"exclude_me":false},"bench/1",[{"s":1}]]`},
		{string(appendPublish(nil, WAMP1, 3, true, "bench/1", ev)), `[7,"bench/1",{"s":1}]`},
		{string(appendPublish(nil, WAMP2, 9, true, "bench/1", ev)), `[16,9,{"acknowledge":true,"exclude_me":false},"bench/1",[{"s":1}]]`},
		{string(appendHello(nil, WAMP2, "realm1")), `[1,"realm1",{"roles":{"subscriber":{},"publisher":{}}}]`},
		{string(appendString(nil, "a\"b\\c\n\x01é")), `"a\"b\\c\u000a\u0001é"`},
		{subprotocol(WAMP1), "wamp"},
		{subprotocol(WAMP2), "wamp.2.json"},
		{subprotocol(WAMP2MsgPack), "wamp.2.msgpack"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

// The events the subscribers read: herald's v1 EVENT (topic escaped as
// PHP's json_encode does), a v2 EVENT with details and kwargs.
func TestEventPayload(t *testing.T) {
	for _, tc := range []struct {
		protocol, msg string
		typ           int64
		seq           int64
		ok            bool
	}{
		{WAMP1, `[8,"bench\/0",{"s":12,"t":34,"p":"x"}]`, v1Event, 12, true},
		{WAMP1, `[8, "bench/0", {"t":34, "s":13}]`, v1Event, 13, true},
		{WAMP2, `[36,5512315355,4429313566,{},[{"s":14,"t":34}]]`, v2Event, 14, true},
		{WAMP2, `[36,1,2,{"publisher":3,"topic":"a,[b]"},[{"p":"","t":34,"s":15}],{"k":1}]`, v2Event, 15, true},
		{WAMP2, `[36,1,2,{}]`, v2Event, 0, false},
		{WAMP1, `[8,"bench/0"]`, v1Event, 0, false},
	} {
		typ, sc, ok := messageType([]byte(tc.msg))
		if !ok || typ != tc.typ {
			t.Errorf("messageType(%s) = %d, %v", tc.msg, typ, ok)
			continue
		}
		ev, ok := eventPayload(tc.protocol, sc)
		var seq int64
		if ok {
			seq, _, ok = parsePayload(ev)
		}
		if ok != tc.ok || seq != tc.seq {
			t.Errorf("%s: seq %d, ok %v; want %d, %v", tc.msg, seq, ok, tc.seq, tc.ok)
		}
	}
	if _, _, ok := messageType([]byte("You are not allowed")); ok {
		t.Error("a text that is not WAMP was taken for a message")
	}
}

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<42; v = v + 1 + v/97 {
		b := bucketOf(v)
		if b < prev || b >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d after %d", v, b, prev)
		}
		prev = b
		lo, hi := bucketRange(b)
		if v < 1<<41 && (v < lo || v > hi) {
			t.Fatalf("%d is in bucket %d = [%d, %d]", v, b, lo, hi)
		}
		// At most 1% relative error from 1 µs to 60 s (the brief's
		// range) and beyond.
		if lo > 0 && v < 1<<41 && float64(hi-lo)/float64(lo) > 0.01 {
			t.Fatalf("bucket %d = [%d, %d] is %.2f%% wide", b, lo, hi, 100*float64(hi-lo)/float64(lo))
		}
	}
	if b := bucketOf(int64(time.Hour)); b != numBuckets-1 {
		t.Errorf("an hour lands in bucket %d, want the last (%d)", b, numBuckets-1)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	shards := make([]shard, numShards)
	// 1 µs .. 100 ms, uniformly, spread over the shards.
	const n = 100000
	for i := 1; i <= n; i++ {
		shards[i%numShards].record(int64(i)*int64(time.Microsecond), 0)
	}
	h := merge(shards)
	if h.total != n {
		t.Fatalf("total %d", h.total)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := q * n * float64(time.Microsecond)
		got := float64(h.quantile(q))
		if math.Abs(got-want)/want > 0.01 {
			t.Errorf("quantile %v = %v, want %v within 1%%", q, time.Duration(got), time.Duration(want))
		}
	}
	if h.max != n*int64(time.Microsecond) || h.quantile(1) != time.Duration(h.max) {
		t.Errorf("max %v, quantile(1) %v", time.Duration(h.max), h.quantile(1))
	}
	if m := h.mean(); math.Abs(float64(m)-50000.5e3) > 1e3 {
		t.Errorf("mean %v", m)
	}
	var delivered int64
	for i := range shards {
		delivered += shards[i].delivered.Load()
	}
	if delivered != n {
		t.Errorf("delivered %d", delivered)
	}
}

// frameReader reads what a server sends: small, 16-bit and 64-bit
// lengths (growing past its limit and back), control frames, fragments,
// and the bytes that came with the handshake response (the WELCOME, in
// herald's case), left in its buffer by the lean client handshake.
func TestFrameReader(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	big := bytes.Repeat([]byte("b"), 70000)
	mid := bytes.Repeat([]byte("m"), 300)
	go func() {
		defer server.Close()
		key, err := readUpgradeKey(server)
		if err != nil {
			return
		}
		out := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			ws.AcceptKey(key) + "\r\nSec-WebSocket-Protocol: wamp\r\n\r\n")
		out = ws.AppendFrame(out, ws.OpText, []byte("first")) // in the same write
		if _, err := server.Write(out); err != nil {
			return
		}
		out = ws.AppendFrame(out[:0], ws.OpText, []byte("second"))
		out = ws.AppendFrame(out, ws.OpText, mid)
		out = ws.AppendFrame(out, ws.OpPing, []byte("p"))
		out = append(out, 0x01, 3, 'a', 'b', 'c') // text, not final
		out = append(out, 0x80, 1, 'd')           // final continuation
		out = ws.AppendFrame(out, ws.OpBinary, big)
		out = ws.AppendFrame(out, ws.OpText, []byte("after"))
		out = append(out, 0x81, 0x81, 1, 2, 3, 4, 'x') // masked
		// Dribble it out in odd pieces.
		for len(out) > 0 {
			n := min(len(out), 777)
			if _, err := server.Write(out[:n]); err != nil {
				return
			}
			out = out[n:]
		}
	}()
	r, req := handshakeRunner(t)
	var fr frameReader
	if err := r.handshake(client, req, &fr); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	fr.limit, fr.now = 1024, time.Now().UnixNano()
	want := []struct {
		op      byte
		fin     bool
		payload []byte
	}{
		{ws.OpText, true, []byte("first")},
		{ws.OpText, true, []byte("second")},
		{ws.OpText, true, mid},
		{ws.OpPing, true, []byte("p")},
		{ws.OpText, false, []byte("abc")},
		{ws.OpContinuation, true, []byte("d")},
		{ws.OpBinary, true, big},
		{ws.OpText, true, []byte("after")},
	}
	for i, w := range want {
		op, fin, p, err := fr.next()
		if err != nil || op != w.op || fin != w.fin || !bytes.Equal(p, w.payload) {
			t.Fatalf("frame %d: %d %v %.20q %v; want %d %v %.20q", i, op, fin, p, err, w.op, w.fin, w.payload)
		}
		if w.op == ws.OpBinary && len(fr.buf) < len(big) {
			t.Errorf("buffer of %d bytes for a %d-byte frame", len(fr.buf), len(big))
		}
		if i == 7 && len(fr.buf) > 1024 {
			t.Errorf("the buffer stayed at %d bytes after the large frame (limit 1024)", len(fr.buf))
		}
	}
	if _, _, _, err := fr.next(); !errors.Is(err, errMaskedFrame) {
		t.Fatalf("a masked frame: %v", err)
	}
	if fr.now == 0 {
		t.Error("no read time")
	}
}

func TestParseVmRSSAndMetrics(t *testing.T) {
	rss, err := parseVmRSS([]byte("Name:\therald\nVmPeak:\t  999 kB\nVmRSS:\t   12345 kB\nThreads: 9\n"), "/proc/1/status")
	if err != nil || rss != 12345*1024 {
		t.Errorf("VmRSS = %d, %v", rss, err)
	}
	if _, err := parseVmRSS([]byte("Name:\tkthreadd\n"), "/proc/2/status"); err == nil || !strings.Contains(err.Error(), "no VmRSS") {
		t.Errorf("no VmRSS line: %v", err)
	}
	text := "# HELP process_resident_memory_bytes Resident memory size in bytes.\n" +
		"# TYPE process_resident_memory_bytes gauge\n" +
		"process_resident_memory_bytes 5.1732480e+07\n" +
		"herald_connections_total 7\n" +
		"herald_connections 2001\n"
	rss, conns := parseMetrics(strings.NewReader(text))
	if rss != 51732480 || conns != 2001 {
		t.Errorf("metrics: rss %d, conns %d", rss, conns)
	}
	if rss, conns := parseMetrics(strings.NewReader("up 1\n")); rss != -1 || conns != -1 {
		t.Errorf("absent metrics read as %d, %d", rss, conns)
	}
}

func TestErrorLog(t *testing.T) {
	var l errorLog
	for i := range 50 {
		l.add("subscriber " + string(rune('0'+i%10)) + "7 lost its connection: EOF")
	}
	for i := range 20 {
		l.add("kind " + strings.Repeat("x", i))
	}
	msgs, total := l.list()
	if total != 70 || len(msgs) != maxErrorKinds {
		t.Fatalf("%d errors in %d kinds: %q", total, len(msgs), msgs)
	}
	if msgs[0] != "subscriber 07 lost its connection: EOF (×50)" {
		t.Errorf("first kind %q", msgs[0])
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{URL: "ws://127.0.0.1:1/", Conns: 1, Topics: 1, Messages: 1}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"remote IP", func(c *Config) { c.URL = "ws://10.1.2.3:8080/" }, `host "10.1.2.3" is not a loopback address`},
		{"host name", func(c *Config) { c.URL = "ws://example.com/" }, `host "example.com" is not a loopback address`},
		{"wss", func(c *Config) { c.URL = "wss://127.0.0.1/" }, "plain ws:// only"},
		{"no conns", func(c *Config) { c.Conns = 0 }, "conns must be at least 1 (got 0)"},
		{"no topics", func(c *Config) { c.Topics = -1 }, "topics must be at least 1"},
		{"no messages", func(c *Config) { c.Messages = 0 }, "messages must be at least 1"},
		{"bad via", func(c *Config) { c.Via = "smoke" }, `via "smoke": want wamp, http or amqp`},
		{"bad protocol", func(c *Config) { c.Protocol = "wamp3" }, `protocol "wamp3": want wamp1, wamp2 or wamp2-msgpack`},
		{"a --proto name", func(c *Config) { c.Protocol = "v2-msgpack" }, `protocol "v2-msgpack"`},
		{"http without key", func(c *Config) { c.Via = ViaHTTP }, "API key"},
		{"amqp without settings", func(c *Config) { c.Via = ViaAMQP }, "RabbitMQ settings"},
		{"remote broker", func(c *Config) { c.Via, c.AMQP = ViaAMQP, &AMQPConfig{Host: "rabbit.example.com"} }, "not a loopback address"},
		{"remote metrics", func(c *Config) { c.MetricsURL = "http://192.0.2.1:8080/metrics" }, "not a loopback address"},
		{"negative rate", func(c *Config) { c.Rate = -5 }, "rate must be"},
		{"ack with an AMQP window", func(c *Config) { c.Via, c.Ack, c.AMQP = ViaAMQP, true, &AMQPConfig{Host: "127.0.0.1", Window: 8} }, "ack publishes via amqp with a window of 1: it cannot go with an AMQP window of 8"},
		{"too much tracking", func(c *Config) { c.Conns, c.Messages = 20000, 1<<20 }, "over 1 GiB"},
	} {
		cfg := ok
		tc.edit(&cfg)
		sum, err := Run(t.Context(), cfg, nil)
		var ce *ConfigError
		if sum != nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Run = %v, %v; want a ConfigError containing %q", tc.name, sum, err, tc.want)
		}
	}
	if _, _, err := ok.withDefaults(); err != nil {
		t.Fatalf("the base config: %v", err)
	}
	// Every protocol goes with every way of publishing: herald passes its
	// API's and push handler's events to v2 subscribers.
	for _, protocol := range []string{WAMP1, WAMP2, WAMP2MsgPack} {
		for _, via := range []string{ViaWAMP, ViaHTTP, ViaAMQP} {
			cfg := ok
			cfg.Protocol, cfg.Via, cfg.APIKey, cfg.AMQP = protocol, via, "k", &AMQPConfig{Host: "127.0.0.1"}
			if _, _, err := cfg.withDefaults(); err != nil {
				t.Errorf("%s via %s: %v", protocol, via, err)
			}
		}
	}
	for proto, want := range map[string]string{"v1": WAMP1, "v2": WAMP2, "v2-json": WAMP2, "v2-msgpack": WAMP2MsgPack, "wamp2": "", "": "", "V2": ""} {
		if got, ok := ProtocolOf(proto); got != want || ok != (want != "") {
			t.Errorf("ProtocolOf(%q) = %q, %v; want %q", proto, got, ok, want)
		}
	}
	if IsV2(WAMP1) || !IsV2(WAMP2) || !IsV2(WAMP2MsgPack) {
		t.Error("IsV2")
	}
	c, tgs, _ := Config{URL: "ws://localhost:9/x?a=b", Conns: 45000, Topics: 1, Messages: 1, Ticket: "t k"}.withDefaults()
	tg := tgs.subscribe
	if tgs.publish != tg {
		t.Errorf("without PublishURL the publishers have their own target %+v", tgs.publish)
	}
	if c.Sources != 4 || len(tg.sources) != 4 || !tg.sources[3].Equal(net.IPv4(127, 0, 0, 4)) {
		t.Errorf("45000 conns: %d sources %v, want 127.0.0.1 .. 127.0.0.4", c.Sources, tg.sources)
	}
	if tg.addr != "127.0.0.1:9" || tg.url.RequestURI() != "/x?a=b&ticket=t+k" || tg.metrics != "http://localhost:9/metrics" {
		t.Errorf("target %s %s %s", tg.addr, tg.url.RequestURI(), tg.metrics)
	}
	_, tgs, _ = Config{URL: "ws://[::1]:9/", Conns: 1, Topics: 1, Messages: 1}.withDefaults()
	if tg = tgs.subscribe; len(tg.sources) != 1 || !tg.sources[0].Equal(net.IPv6loopback) {
		t.Errorf("an IPv6 target's sources: %v", tg.sources)
	}
}

// BenchmarkSubscriberEvent is the per-delivery cost of a subscriber: scan
// a herald EVENT frame, check the bitset, record the latency. A core must
// read about 500,000 deliveries per second, so this must stay well under
// 2 µs (plus the read itself, shared by every frame of one read).
func BenchmarkSubscriberEvent(b *testing.B) {
	const m = 1 << 20
	r := &runner{cfg: Config{Messages: m, Protocol: WAMP1, TopicPrefix: "bench/"}, shards: make([]shard, numShards)}
	s := &subscriber{r: r, seen: make([]uint64, m/64), maxSeq: -1}
	now := time.Now().UnixNano()
	s.fr.now = now
	frames := make([][]byte, 1024)
	for i := range frames {
		frames[i] = appendPublish(nil, WAMP1, 0, false, "bench/0", appendPayload(nil, int64(i), now-int64(i)*1000, 40))
		frames[i][1] = '8'
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(frames) == 0 {
			clear(s.seen)
		}
		s.message(frames[i%len(frames)], &r.shards[0])
	}
	b.StopTimer()
	if s.unique == 0 {
		b.Fatal("no event was counted")
	}
}

// Every (topic, sequence) is published by exactly one publisher, and a
// topic has one publisher whenever there are at least as many topics as
// publishers.
func TestShares(t *testing.T) {
	for _, tc := range []struct{ p, topics, messages int }{{1, 1, 5}, {2, 1, 5}, {3, 2, 7}, {2, 5, 3}, {5, 1, 3}, {4, 4, 4}, {7, 3, 10}} {
		r := &runner{cfg: Config{Topics: tc.topics, Messages: tc.messages}, pubs: make([]publisher, tc.p)}
		seen := map[[2]int]int{}
		total := 0
		for i := range tc.p {
			sh := r.shareOf(i)
			n := 0
			for seq := sh.first; seq < tc.messages; seq += sh.step {
				for _, topic := range sh.topics {
					seen[[2]int{topic, seq}]++
					n++
				}
			}
			if n != sh.count(tc.messages) {
				t.Errorf("%+v publisher %d: count %d, iterates %d", tc, i, sh.count(tc.messages), n)
			}
			if tc.topics >= tc.p && sh.step != 1 {
				t.Errorf("%+v publisher %d shares a topic: %+v", tc, i, sh)
			}
			total += n
		}
		if total != tc.topics*tc.messages || len(seen) != total {
			t.Errorf("%+v: %d publications, %d distinct, want %d", tc, total, len(seen), tc.topics*tc.messages)
		}
	}
}

// A subscriber's accounting: duplicates, reordering, probes, sequence
// numbers out of range.
func TestSubscriberAccounting(t *testing.T) {
	r := &runner{cfg: Config{Messages: 100, Protocol: WAMP1, TopicPrefix: "bench/"}, shards: make([]shard, numShards)}
	s := &subscriber{r: r, id: 3, seen: make([]uint64, 2), maxSeq: -1}
	s.fr.now = 5000
	sh := &r.shards[3]
	for _, seq := range []int64{-1, 0, 2, 1, 1, 99, 64, 100, -1} {
		s.event(seq, 1000, sh)
	}
	if s.unique != 5 || s.duplicates != 1 || s.outOfOrder != 2 || s.unexpected != 1 || s.flags.Load()&fReady == 0 {
		t.Errorf("unique %d, duplicates %d, out of order %d, unexpected %d, flags %b", s.unique, s.duplicates, s.outOfOrder, s.unexpected, s.flags.Load())
	}
	if sh.delivered.Load() != 6 || sh.unique.Load() != 5 || sh.duplicates.Load() != 1 || sh.maxLatency.Load() != 4000 || sh.lastNanos.Load() != 5000 {
		t.Errorf("shard: delivered %d, unique %d, duplicates %d, max latency %d, last %d", sh.delivered.Load(), sh.unique.Load(), sh.duplicates.Load(), sh.maxLatency.Load(), sh.lastNanos.Load())
	}
	if msgs, _ := r.errs.list(); len(msgs) != 1 || !strings.Contains(msgs[0], "sequence number 100, beyond the 100 published") {
		t.Errorf("errors %q", msgs)
	}
}

// handshakeRunner returns a runner and the upgrade request of a target on
// ws://127.0.0.1:9/, offering the wamp subprotocol.
func handshakeRunner(t *testing.T) (*runner, *request) {
	t.Helper()
	u, _ := url.Parse("ws://127.0.0.1:9/")
	r := &runner{protocols: []string{"wamp"}}
	req, err := newRequest(&target{url: u}, http.Header{"Origin": {"127.0.0.1"}}, r.protocols)
	if err != nil {
		t.Fatal(err)
	}
	return r, req
}

// readUpgradeKey reads an upgrade request's head and returns its key.
func readUpgradeKey(c net.Conn) (string, error) {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return "", err
	}
	if req.Header.Get("Origin") != "127.0.0.1" || req.Header.Get("Sec-WebSocket-Protocol") != "wamp" || req.Header.Get("Upgrade") != "websocket" {
		return "", fmt.Errorf("request headers %v", req.Header)
	}
	return req.Header.Get("Sec-WebSocket-Key"), nil
}

// The lean handshake refuses what a client must refuse: a status other
// than 101 (with the status and the start of the body), a wrong accept
// key, an extension or subprotocol that was not offered.
func TestHandshakeRefusals(t *testing.T) {
	cases := []struct {
		name, response, want string
	}{
		{"refused", "HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope", `handshake refused: 403 Forbidden: "nope"`},
		{"bad accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n", "Sec-WebSocket-Accept"},
		{"no upgrade", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: KEY\r\n\r\n", "lacks Upgrade"},
		{"extension", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: KEY\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", "extension"},
		{"subprotocol", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: KEY\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", `subprotocol "mqtt"`},
		{"garbage", "SSH-2.0-OpenSSH\r\n\r\n", "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				defer server.Close()
				key, err := readUpgradeKey(server)
				if err != nil {
					return
				}
				server.Write([]byte(strings.Replace(c.response, "KEY", ws.AcceptKey(key), 1)))
			}()
			r, req := handshakeRunner(t)
			var fr frameReader
			err := r.handshake(client, req, &fr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("handshake: %v, want an error containing %q", err, c.want)
			}
		})
	}
}
