package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
)

// cluster returns n nodes on the shared NATS under one fresh prefix.
func cluster(t *testing.T, n int) ([]*Broker, []*collector) {
	t.Helper()
	needNATS(t)
	prefix := uniquePrefix()
	nodes := make([]*Broker, n)
	cols := make([]*collector, n)
	for i := range n {
		cols[i] = newCollector()
		nodes[i] = newNode(t, realURL, prefix, cols[i].deliver)
		if !nodes[i].Ready() {
			t.Fatalf("node %d not ready on %s", i, realURL)
		}
	}
	return nodes, cols
}

// TestDeliveryAcrossNodes: with three nodes, B and C subscribed, a
// publication from A reaches B and C once each and not A; one from B
// reaches B itself and C.
func TestDeliveryAcrossNodes(t *testing.T) {
	nodes, cols := cluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const topic, side = "chat/room.1", "side"
	subscribe(t, a, side)
	subscribe(t, b, topic, side)
	subscribe(t, c, topic, side)

	publish(t, a, pub(topic, 1))
	publish(t, b, pub(topic, 2))
	// A sentinel from each publisher: all it published before arrives
	// before it.
	publish(t, a, pub(side, 10))
	publish(t, b, pub(side, 20))
	for i, col := range cols {
		want := []string{topic + " 1", topic + " 2", "side 10", "side 20"}
		if i == 0 {
			want = want[2:]
		}
		var got []string
		for _, p := range col.waitN(t, len(want)) {
			got = append(got, p.Topic+" "+string(p.Payload))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("node %d got %q, want %q", i, got, want)
		}
	}
	time.Sleep(20 * time.Millisecond)
	for i, col := range cols {
		if extra := col.all(); len(extra) > 0 {
			t.Errorf("node %d got %d extra deliveries", i, len(extra))
		}
	}
}

// TestOrderAndFields: 1,000 publications from one node arrive in order on
// another, exclude, eligible and origin intact.
func TestOrderAndFields(t *testing.T) {
	nodes, cols := cluster(t, 2)
	const topic = "ordered"
	subscribe(t, nodes[1], topic)
	const n = 1000
	for i := range n {
		p := pub(topic, i)
		p.Exclude = []string{fmt.Sprint("x", i), "x"}
		p.Eligible = []string{fmt.Sprint("e", i)}
		p.Origin = "node-a"
		publish(t, nodes[0], p)
	}
	for i, p := range cols[1].waitN(t, n) {
		if string(p.Payload) != fmt.Sprint(i) || p.Topic != topic || p.Origin != "node-a" ||
			!slices.Equal(p.Exclude, []string{fmt.Sprint("x", i), "x"}) ||
			!slices.Equal(p.Eligible, []string{fmt.Sprint("e", i)}) {
			t.Fatalf("publication %d: %+v", i, p)
		}
	}
}

// TestUnsubscribe: after Unsubscribe nothing of the topic is delivered;
// subscribing twice is once; unsubscribing twice or an unknown topic is
// nothing.
func TestUnsubscribe(t *testing.T) {
	nodes, cols := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	subscribe(t, b, "t", "t", "side")
	publish(t, a, pub("t", 1))
	publish(t, a, pub("side", 1))
	if got := cols[1].until(t, "side", "1"); len(got) != 1 {
		t.Fatalf("before unsubscribing: %d deliveries, want 1", len(got))
	}
	for range 2 {
		if err := b.Unsubscribe(ctx(t), "t"); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Unsubscribe(ctx(t), "never"); err != nil {
		t.Fatal(err)
	}
	publish(t, a, pub("t", 2))
	publish(t, a, pub("side", 2))
	if got := cols[1].until(t, "side", "2"); len(got) != 0 {
		t.Fatalf("after unsubscribing: %d deliveries, want 0", len(got))
	}
	subscribe(t, b, "t")
	publish(t, a, pub("t", 3))
	publish(t, a, pub("side", 3))
	if got := cols[1].until(t, "side", "3"); len(got) != 1 || string(got[0].Payload) != "3" {
		t.Fatalf("after subscribing again: %v", got)
	}
}

// TestManyTopicsConcurrentPublishers: 200 topics, four publishers on two
// nodes at once; everything arrives once, in order per publisher.
func TestManyTopicsConcurrentPublishers(t *testing.T) {
	nodes, cols := cluster(t, 3)
	const topics, pubs, each = 200, 4, 100
	for i := range topics {
		subscribe(t, nodes[2], fmt.Sprint("topic/", i))
	}
	var wg sync.WaitGroup
	for w := range pubs {
		wg.Go(func() {
			from := nodes[w%2]
			for i := range each {
				p := broker.Publication{
					Topic:   fmt.Sprint("topic/", (w*each+i)%topics),
					Payload: json.RawMessage(fmt.Sprintf(`[%d,%d]`, w, i)),
				}
				if err := from.Publish(context.Background(), p); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	next := make([]int, pubs)
	for _, p := range cols[2].waitN(t, pubs*each) {
		var wi [2]int
		if err := json.Unmarshal(p.Payload, &wi); err != nil {
			t.Fatal(err)
		}
		w, i := wi[0], wi[1]
		if i != next[w] {
			t.Fatalf("publisher %d: got %d, want %d", w, i, next[w])
		}
		if want := fmt.Sprint("topic/", (w*each+i)%topics); p.Topic != want {
			t.Fatalf("publisher %d #%d on %q, want %q", w, i, p.Topic, want)
		}
		next[w]++
	}
}

// TestArbitraryTopics: topics that look like subjects, wildcards, spaces,
// unicode reach exactly their own subscribers: a subscriber of "*" or ">"
// receives nothing of "x".
func TestArbitraryTopics(t *testing.T) {
	nodes, cols := cluster(t, 2)
	topics := []string{
		"*", ">", "a.*", "a.>", "a.b", "x", "with space", "tab\tand\nnewline", "日本語/チャット 🎉",
		"a/b.c*d>e", "\x00", "_", strings.Repeat("long/", 400),
	}
	subscribe(t, nodes[1], topics...)
	for i, topic := range topics {
		publish(t, nodes[0], pub(topic, i))
	}
	publish(t, nodes[0], pub("_", -1))
	got := cols[1].until(t, "_", "-1")
	if len(got) != len(topics) {
		t.Fatalf("%d deliveries, want %d", len(got), len(topics))
	}
	for i, p := range got {
		if p.Topic != topics[i] || string(p.Payload) != fmt.Sprint(i) {
			t.Errorf("delivery %d: %q %s, want %q %d", i, p.Topic, p.Payload, topics[i], i)
		}
	}
}

func TestTopicLimits(t *testing.T) {
	nodes, _ := cluster(t, 1)
	b := nodes[0]
	max := (MaxSubjectLen - len(b.prefix) - 1) * 3 / 4
	long := strings.Repeat("x", max+1)
	if err := b.Subscribe(ctx(t), long); err == nil || errors.Is(err, broker.ErrUnavailable) {
		t.Errorf("Subscribe of a %d-byte topic: %v, want a non-ErrUnavailable error", len(long), err)
	}
	if err := b.Publish(ctx(t), pub(long, 1)); err == nil {
		t.Errorf("Publish to a %d-byte topic succeeded", len(long))
	}
	if err := b.Publish(ctx(t), pub("", 1)); err == nil {
		t.Error("Publish to the empty topic succeeded")
	}
	subscribe(t, b, long[:max])
	publish(t, b, pub(long[:max], 1))
	if !b.Ready() {
		t.Error("not ready after the limits were tried")
	}
}

// TestPrefixIsolation: clusters under different prefixes on one NATS,
// including a prefix that extends another, do not see each other.
func TestPrefixIsolation(t *testing.T) {
	needNATS(t)
	base := uniquePrefix()
	prefixes := []string{base, base + ".other", base + "x"}
	cols := make([]*collector, len(prefixes))
	nodes := make([]*Broker, len(prefixes))
	for i, p := range prefixes {
		cols[i] = newCollector()
		nodes[i] = newNode(t, realURL, p, cols[i].deliver)
		subscribe(t, nodes[i], "t", "other", ">", "*")
	}
	for i, b := range nodes {
		publish(t, b, pub("t", i))
		publish(t, b, pub("other", i))
	}
	for i, col := range cols {
		got := col.until(t, "other", fmt.Sprint(i))
		if len(got) != 1 || got[0].Topic != "t" || string(got[0].Payload) != fmt.Sprint(i) {
			t.Errorf("prefix %q got %v, want only its own publication on t", prefixes[i], got)
		}
	}
	// Nothing more arrives from the other prefixes' publications.
	time.Sleep(100 * time.Millisecond)
	for i, col := range cols {
		if got := col.all(); len(got) != 0 {
			t.Errorf("prefix %q got %d publications of other prefixes", prefixes[i], len(got))
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, cfg := range []Config{
		{Prefix: "a.*"},
		{Prefix: "a b"},
		{Prefix: "a..b"},
		{URL: "nats://127.0.0.1:notaport"},
	} {
		if b, err := New(cfg, func(broker.Publication) {}); err == nil {
			b.Close(context.Background())
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New with a nil Deliver succeeded")
	}
}

// TestClose: after Close, Publish and Subscribe return ErrClosed, Ready is
// false, Unsubscribe and Close do nothing, and Deliver is never called
// again even while another node floods the topic.
func TestClose(t *testing.T) {
	needNATS(t)
	prefix := uniquePrefix()
	pubr := newNode(t, realURL, prefix, func(broker.Publication) {})
	var closed atomic.Bool
	var delivered, late atomic.Int64
	b, err := New(Config{URL: realURL, Prefix: prefix, Logger: testLogger()}, func(broker.Publication) {
		delivered.Add(1)
		if closed.Load() {
			late.Add(1)
		}
		time.Sleep(20 * time.Microsecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, b, "flood")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := pubr.Publish(context.Background(), pub("flood", i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	waitFor(t, "deliveries", func() bool { return delivered.Load() > 100 })
	if err := b.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
	closed.Store(true)
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := late.Load(); n > 0 {
		t.Errorf("Deliver called %d times after Close returned", n)
	}
	if b.Ready() {
		t.Error("Ready after Close")
	}
	if err := b.Publish(ctx(t), pub("flood", 0)); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := b.Subscribe(ctx(t), "x"); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	if err := b.Unsubscribe(ctx(t), "flood"); err != nil {
		t.Errorf("Unsubscribe after Close: %v", err)
	}
	if err := b.Close(ctx(t)); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
