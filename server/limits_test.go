package server

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

func limitRefusals(t *testing.T, ts *testServer, limit string) string {
	t.Helper()
	return metricValue(t, ts, `herald_limit_refusals_total{limit="`+limit+`"}`)
}

func TestSubscriptionLimit(t *testing.T) {
	ts := startServer(t, Config{MaxSubscriptions: 3, CloseGrace: 50 * time.Millisecond})
	p := dial(t, ts.addr)
	for _, topic := range []string{"a", "b", "c", "a"} { // a again: not one more
		p.subscribe(topic)
	}
	p.expectNothing()
	if n := ts.Stats().Subscriptions; n != 3 {
		t.Fatalf("subscriptions = %d, want 3", n)
	}
	p.subscribe("d")
	p.expectCloseReason(ws.ClosePolicyViolation, "more than 3 subscriptions")
	waitFor(t, "the closed session's topics to go", func() bool { return ts.Stats().Topics == 0 })
	if got := limitRefusals(t, ts, limitSubscriptions); got != "1" {
		t.Errorf("refusals = %q, want 1", got)
	}
}

func TestPrefixLimit(t *testing.T) {
	ts := startServer(t, Config{MaxPrefixes: 2})
	p := dial(t, ts.addr)
	p.send(`[1,"a","http://example.com/a#"]`)
	p.send(`[1,"b","http://example.com/b#"]`)
	p.send(`[1,"a","http://example.com/other#"]`) // redefining: not one more
	p.expectNothing()
	p.send(`[1,"c","http://example.com/c#"]`)
	p.expectCloseReason(ws.ClosePolicyViolation, "more than 2 prefixes")
	if got := limitRefusals(t, ts, limitPrefixes); got != "1" {
		t.Errorf("refusals = %q, want 1", got)
	}
}

func TestTopicLengthLimit(t *testing.T) {
	ts := startServer(t, Config{MaxTopicLength: 16})
	long := strings.Repeat("x", 17)
	closes := map[string]string{
		"SUBSCRIBE":       fmt.Sprintf(`[5,%q]`, long),
		"PUBLISH":         fmt.Sprintf(`[7,%q,1]`, long),
		"PREFIX URI":      fmt.Sprintf(`[1,"p",%q]`, long),
		"PREFIX":          fmt.Sprintf(`[1,%q,"u"]`, long),
		"expanded CURIE":  `[1,"p","0123456789abcdef"]` + "\n" + `[5,"p:x"]`,
		"exactly 16 okay": "",
	}
	for name, msgs := range closes {
		t.Run(name, func(t *testing.T) {
			p := dial(t, ts.addr)
			p.subscribe(strings.Repeat("y", 16))
			if msgs == "" {
				p.expectNothing()
				return
			}
			for m := range strings.SplitSeq(msgs, "\n") {
				p.send(m)
			}
			p.expectCloseReason(ws.ClosePolicyViolation, "(at most 16)")
		})
	}
	// A CALL has its own error message: the connection stays.
	p := dial(t, ts.addr)
	p.send(fmt.Sprintf(`[2,"c1",%q]`, long))
	p.expectText(`[4,"c1","xxxxxxxxxxxxxxxx","The procedure URI is longer than 16 bytes.",{"code":414}]`)
	p.expectNothing()
	if got := limitRefusals(t, ts, limitTopicLength); got != "6" {
		t.Errorf("refusals = %q, want 6", got)
	}
}

func TestMaxTopicsRefusesNewTopicsOnly(t *testing.T) {
	ts := startServer(t, Config{MaxTopics: 2})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.subscribe("t1")
	a.subscribe("t2")
	a.expectNothing()
	a.subscribe("t3")
	a.expectText(`[4,"t3","t3","This server holds its maximum of 2 topics.",{"code":503}]`)
	b.subscribe("t1") // an existing topic: fine
	b.expectNothing()
	a.send(`[7,"t1","hi"]`)
	a.expectText(eventFrame("t1", `"hi"`))
	b.expectText(eventFrame("t1", `"hi"`))
	a.send(`[6,"t2"]`)
	a.subscribe("t3") // room again
	a.expectNothing()
	if st := ts.Stats(); st.Topics != 2 || st.Subscriptions != 3 {
		t.Errorf("stats = %+v, want 2 topics, 3 subscriptions", st)
	}
	if got := limitRefusals(t, ts, limitTopics); got != "1" {
		t.Errorf("refusals = %q, want 1", got)
	}
}

func TestMessageRateLimit(t *testing.T) {
	ts := startServer(t, Config{MaxMessageRate: 5})
	p := dial(t, ts.addr)
	// The bucket holds one second's worth: 5 messages pass at once; 50
	// sent back to back cannot have earned 45 more.
	var burst bytes.Buffer
	for i := range 50 {
		burst.Write(ws.AppendMaskedFrame(nil, ws.OpText, fmt.Appendf(nil, `[5,"t%d"]`, i), [4]byte{1, 2, 3, 4}))
	}
	p.conn.Write(burst.Bytes())
	p.expectCloseReason(ws.ClosePolicyViolation, "more than 5 messages per second")
	if got := limitRefusals(t, ts, limitMessageRate); got != "1" {
		t.Errorf("refusals = %q, want 1", got)
	}
}

func TestTokenBucket(t *testing.T) {
	var b tokenBucket
	const rate, burst = 2.0, 2.0
	now := int64(time.Hour)
	for i := range 2 {
		if !b.take(now, rate, burst) {
			t.Fatalf("take %d of the burst refused", i)
		}
	}
	if b.take(now, rate, burst) {
		t.Fatal("a third take at once allowed")
	}
	now += int64(500 * time.Millisecond) // one token earned
	if !b.take(now, rate, burst) || b.take(now, rate, burst) {
		t.Fatal("after 0.5 s at 2/s: want exactly one more")
	}
	now += int64(time.Hour) // refills to the burst, not beyond
	if !b.full(now, rate, burst) {
		t.Fatal("not full after an hour")
	}
	for i := range 3 {
		if got := b.take(now, rate, burst); got != (i < 2) {
			t.Fatalf("take %d after an hour = %v", i, got)
		}
	}
}

func TestAddrLimiter(t *testing.T) {
	l := newAddrLimiter(1)
	if newAddrLimiter(0) != nil || !(*addrLimiter)(nil).allow(netip.MustParseAddr("1.2.3.4")) {
		t.Fatal("rate 0 must mean no limiter, which allows everything")
	}
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if !l.allow(a) || l.allow(a) {
		t.Fatal("one address: want one connection, then a refusal")
	}
	if !l.allow(b) {
		t.Fatal("another address shares the first one's bucket")
	}
	// IPv6 addresses count by /64; the IPv4-mapped form is the IPv4 one.
	if !l.allow(netip.MustParseAddr("2001:db8::1")) || l.allow(netip.MustParseAddr("2001:db8::ffff")) {
		t.Fatal("two addresses of one /64 got two buckets")
	}
	if !l.allow(netip.MustParseAddr("2001:db8:0:1::1")) {
		t.Fatal("another /64 shares a bucket")
	}
	if l.allow(netip.MustParseAddr("::ffff:192.0.2.1")) {
		t.Fatal("the IPv4-mapped form of a refused address got a fresh bucket")
	}
	// Idle buckets are forgotten once the table grows past its sweep mark.
	l.mu.Lock()
	for _, bk := range l.buckets {
		bk.last -= int64(time.Hour)
	}
	l.mu.Unlock()
	for i := range firstAddrSweepAt + 1 {
		l.allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	l.mu.Lock()
	_, kept := l.buckets[a]
	l.mu.Unlock()
	if kept {
		t.Error("an idle address survived the sweep")
	}
}

// dialFrom connects from a chosen loopback source address and returns the
// upgrade's HTTP status and headers.
func dialFrom(t *testing.T, src, addr string) *http.Response {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(gosRequest(addr, "wamp"))); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	return resp
}

func TestConnectionRateLimit(t *testing.T) {
	ts := startServer(t, Config{MaxConnectionRate: 2})
	for i := range 2 {
		if resp := dialFrom(t, "127.0.0.1", ts.addr); resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("connection %d: status %d, want 101", i, resp.StatusCode)
		}
	}
	resp := dialFrom(t, "127.0.0.1", ts.addr)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("third connection: status %d, Retry-After %q; want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := dialFrom(t, "127.0.0.2", ts.addr); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("another address: status %d, want 101", resp.StatusCode)
	}
	if got := limitRefusals(t, ts, limitConnectionRate); got != "1" {
		t.Errorf("refusals = %q, want 1", got)
	}
	if got := metricValue(t, ts, `herald_handshake_failures_total{reason="max_connection_rate"}`); got != "1" {
		t.Errorf("handshake failures = %q, want 1", got)
	}
}

// heapInUse collects garbage, gives free memory back and returns the heap
// in use.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestOneClientCannotTakeTheNodesMemory is the measurement: one
// anonymous client sending SUBSCRIBE for a million distinct topics used to
// take the server from 29 MB to 884 MB. Under the default limits it is
// closed after 1,024.
func TestOneClientCannotTakeTheNodesMemory(t *testing.T) {
	ts := startServer(t, Config{CloseGrace: 50 * time.Millisecond})
	before := heapInUse()
	p := dial(t, ts.addr)
	go func() {
		// The writes fail once the server has closed the connection.
		w := bufio.NewWriterSize(p.conn, 64<<10)
		for i := range 1_000_000 {
			if _, err := w.Write(ws.AppendMaskedFrame(nil, ws.OpText, fmt.Appendf(nil, `[5,"flood/%d"]`, i), [4]byte{9, 9, 9, 9})); err != nil {
				return
			}
		}
		w.Flush()
	}()
	p.expectCloseReason(ws.ClosePolicyViolation, "more than 1024 subscriptions")
	waitFor(t, "the session to finish", func() bool { return ts.Stats().Connections == 0 })
	if st := ts.Stats(); st.Topics != 0 || st.Subscriptions != 0 {
		t.Errorf("after the flood: %+v, want nothing left", st)
	}
	if after := heapInUse(); after > before+10<<20 {
		t.Errorf("heap in use %d MiB before, %d MiB after: want under 10 MiB of growth", before>>20, after>>20)
	}
}

// TestHubGivesMemoryBack: with no subscription limit, a client that
// subscribed to many topics and left leaves the heap near where it was:
// the hub's and the broker's maps shrink as topics empty.
func TestHubGivesMemoryBack(t *testing.T) {
	ts := startServer(t, Config{MaxSubscriptions: -1})
	const topics = 100_000
	before := heapInUse()
	p := dial(t, ts.addr)
	var burst bytes.Buffer
	for i := range topics {
		burst.Write(ws.AppendMaskedFrame(nil, ws.OpText, fmt.Appendf(nil, `[5,"many/%d"]`, i), [4]byte{7, 7, 7, 7}))
	}
	if _, err := p.conn.Write(burst.Bytes()); err != nil {
		t.Fatal(err)
	}
	burst = bytes.Buffer{}
	p.expectNothing()
	if n := ts.Stats().Topics; n != topics {
		t.Fatalf("topics = %d, want %d", n, topics)
	}
	full := heapInUse()
	p.conn.Close()
	waitFor(t, "the topics to go", func() bool { return ts.Stats().Topics == 0 })
	after := heapInUse()
	grown := full - before
	t.Logf("heap in use: %d KiB before, %d KiB with %d topics, %d KiB after they left", before>>10, full>>10, topics, after>>10)
	if after > before+grown/10 {
		t.Errorf("heap in use %d KiB after the client left; want within a tenth of the %d KiB it grew by", after>>10, grown>>10)
	}
}
