// Package brokertest is the conformance suite every broker.Broker passes,
// in the shape of testing/fstest:
//
//	func TestConformance(t *testing.T) {
//		brokertest.Run(t, func(t *testing.T, deliver broker.Deliver) broker.Broker {
//			b, err := redisbroker.New(redisbroker.Config{URL: url, Prefix: prefix}, deliver)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { b.Close(context.Background()) })
//			return b
//		})
//	}
//
// newNode creates the broker of one node. Every node it creates in one Run
// must reach the same backend (one cluster), so that a publication made on
// one node reaches the others: Run starts one, two and three nodes per
// subtest. newNode registers the node's Close with t.Cleanup (t is the
// subtest's); the suite may also Close a node itself, so a second Close must
// return (nil or an error) without panicking. A broker with no backend to
// share, broker.Memory, runs RunSingleNode, the same checks on one node.
//
// What the suite assumes beyond the broker.Broker contract, so that it can
// prove a publication was NOT delivered without sleeping: the publications
// one node publishes one after the other (each Publish returned before the
// next) reach every node in that order even across topics. The suite
// publishes a sentinel on a second topic and, once the sentinel has
// arrived, takes everything of the first topic that did not arrive before
// it as never delivered. A broker reading one connection per node from one
// goroutine has this order (Redis Pub/Sub, NATS with one delivery
// goroutine); a broker delivering every topic from its own goroutine does
// not.
//
// Every check also verifies that Deliver is never called for one topic
// from two goroutines at once and never after Close has returned. Every
// wait is bounded by Timeout; Run uses unique topics (a random run id,
// the subtest's name), so several runs can share a backend.
package brokertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
)

// Timeout bounds every wait of the suite: a publication to arrive, a node
// to become ready, an operation to return.
const Timeout = 5 * time.Second

// NewNode creates one node's broker delivering to deliver, connected to
// the backend shared by every node of the run, and closes it with
// t.Cleanup.
type NewNode = func(t *testing.T, deliver broker.Deliver) broker.Broker

// Run runs the whole suite against a distributed broker: every check on
// one node, and the checks between nodes on two and three nodes sharing
// the backend newNode connects to.
func Run(t *testing.T, newNode func(t *testing.T, deliver broker.Deliver) broker.Broker) {
	t.Helper()
	s := newSuite(newNode)
	t.Run("OneNode", func(t *testing.T) { s.runChecks(t, 1) })
	t.Run("TwoNodes", func(t *testing.T) { s.runChecks(t, 2) })
	t.Run("ThreeNodes", func(t *testing.T) { s.runChecks(t, 3) })
}

// RunSingleNode runs the checks of Run that need only one node, for a
// broker whose nodes share nothing (broker.Memory): a node delivers its
// own publications to itself.
func RunSingleNode(t *testing.T, newNode func(t *testing.T, deliver broker.Deliver) broker.Broker) {
	t.Helper()
	newSuite(newNode).runChecks(t, 1)
}

type suite struct {
	newNode NewNode
	runID   string
}

func newSuite(newNode NewNode) *suite {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &suite{newNode: newNode, runID: "brokertest-" + hex.EncodeToString(b[:])}
}

type check struct {
	name string
	run  func(t *testing.T, c *cluster)
	// minNodes is the fewest nodes the check needs; maxNodes, when not
	// zero, the most it is worth running with.
	minNodes, maxNodes int
}

var checks = []check{
	{name: "Ready", run: checkReady},
	{name: "SelfDelivery", run: checkSelfDelivery, maxNodes: 1},
	{name: "Fanout", run: checkFanout},
	{name: "Ordering", run: checkOrdering},
	{name: "OrderingNoWait", run: checkOrderingNoWait},
	{name: "FieldsIntact", run: checkFieldsIntact},
	{name: "Unsubscribe", run: checkUnsubscribe},
	{name: "Idempotent", run: checkIdempotent},
	{name: "ManyTopics", run: checkManyTopics},
	{name: "ConcurrentPublishers", run: checkConcurrentPublishers},
	{name: "ArbitraryTopics", run: checkArbitraryTopics},
	{name: "Close", run: checkClose},
	{name: "CloseWhileDelivering", run: checkCloseWhileDelivering, maxNodes: 2},
}

func (s *suite) runChecks(t *testing.T, n int) {
	for _, ch := range checks {
		if n < ch.minNodes || (ch.maxNodes > 0 && n > ch.maxNodes) {
			continue
		}
		t.Run(ch.name, func(t *testing.T) {
			ch.run(t, s.cluster(t, n))
		})
	}
}

// cluster is the nodes of one check.
type cluster struct {
	t      *testing.T
	nodes  []*node
	prefix string
	seq    int
}

// node is one broker and what it delivered.
type node struct {
	name string
	b    broker.Broker
	rec  *recorder
}

func (s *suite) cluster(t *testing.T, n int) *cluster {
	c := &cluster{t: t, prefix: s.runID + "/" + t.Name() + "/"}
	for i := range n {
		name := string(rune('A' + i))
		rec := newRecorder(name)
		b := s.newNode(t, rec.deliver)
		if b == nil {
			t.Fatalf("newNode returned a nil broker for node %s", name)
		}
		nd := &node{name: name, b: b, rec: rec}
		c.nodes = append(c.nodes, nd)
		waitReady(t, nd)
		t.Cleanup(func() { rec.check(t) })
	}
	return c
}

func waitReady(t *testing.T, nd *node) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !nd.b.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("node %s: Ready() still false after %v", nd.name, Timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// topic returns a topic unique to this check.
func (c *cluster) topic(name string) string { return c.prefix + name }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

func (nd *node) subscribe(t *testing.T, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	for _, topic := range topics {
		if err := nd.b.Subscribe(ctx, topic); err != nil {
			t.Fatalf("node %s: Subscribe(%q): %v", nd.name, topic, err)
		}
	}
}

func (nd *node) unsubscribe(t *testing.T, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	for _, topic := range topics {
		if err := nd.b.Unsubscribe(ctx, topic); err != nil {
			t.Fatalf("node %s: Unsubscribe(%q): %v", nd.name, topic, err)
		}
	}
}

func (nd *node) publish(t *testing.T, p broker.Publication) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := nd.b.Publish(ctx, p); err != nil {
		t.Fatalf("node %s: Publish(%q): %v", nd.name, p.Topic, err)
	}
}

// pub is a publication with a small payload naming it.
func pub(topic string, n int) broker.Publication {
	return broker.Publication{Topic: topic, Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

// sentinel publishes a publication on topic that no other does and returns
// it, for recorder.until.
func (c *cluster) sentinel(t *testing.T, from *node, topic string) broker.Publication {
	t.Helper()
	c.seq++
	p := broker.Publication{Topic: topic, Payload: json.RawMessage(fmt.Sprintf(`{"sentinel":%d}`, c.seq))}
	from.publish(t, p)
	return p
}

// --- recorder ---------------------------------------------------------------

// recorder is a node's Deliver: it keeps everything delivered, in order,
// never blocks, and notes the contract violations it sees.
type recorder struct {
	name string

	mu       sync.Mutex
	got      []broker.Publication
	closed   bool
	late     []string        // topics delivered after Close returned
	inFlight map[string]bool // topics being delivered now
	overlaps []string        // topics delivered from two goroutines at once
	wake     chan struct{}

	next int // the test goroutine's cursor in got
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, inFlight: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (r *recorder) deliver(in broker.Publication) {
	p := broker.Publication{
		Topic:    in.Topic,
		Payload:  bytes.Clone(in.Payload),
		Args:     bytes.Clone(in.Args),
		Kwargs:   bytes.Clone(in.Kwargs),
		Exclude:  slices.Clone(in.Exclude),
		Eligible: slices.Clone(in.Eligible),
		Origin:   in.Origin,
		ID:       in.ID,

		ExcludeAuthID:    slices.Clone(in.ExcludeAuthID),
		EligibleAuthID:   slices.Clone(in.EligibleAuthID),
		ExcludeAuthRole:  slices.Clone(in.ExcludeAuthRole),
		EligibleAuthRole: slices.Clone(in.EligibleAuthRole),
	}
	if in.Publisher != nil {
		pub := *in.Publisher
		p.Publisher = &pub
	}
	r.mu.Lock()
	if r.inFlight[p.Topic] {
		r.overlaps = append(r.overlaps, p.Topic)
	}
	r.inFlight[p.Topic] = true
	if r.closed {
		r.late = append(r.late, p.Topic)
	} else {
		r.got = append(r.got, p)
	}
	r.mu.Unlock()
	// A moment inside Deliver, so that two overlapping calls are seen.
	r.mu.Lock()
	delete(r.inFlight, p.Topic)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// markClosed records that the node's Close has returned.
func (r *recorder) markClosed() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

func (r *recorder) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.late) > 0 {
		t.Errorf("node %s: Deliver called after Close returned, for %d publication(s) (first topic %q)", r.name, len(r.late), r.late[0])
	}
	if len(r.overlaps) > 0 {
		t.Errorf("node %s: Deliver called from two goroutines at once for one topic, %d time(s) (first topic %q)", r.name, len(r.overlaps), r.overlaps[0])
	}
}

// take returns the next publication delivered, waiting until deadline.
func (r *recorder) take(deadline time.Time) (broker.Publication, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		r.mu.Lock()
		if r.next < len(r.got) {
			p := r.got[r.next]
			r.next++
			r.mu.Unlock()
			return p, true
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-timer.C:
			return broker.Publication{}, false
		}
	}
}

// takeN returns the next n publications delivered, failing the test when
// they do not arrive within Timeout.
func (r *recorder) takeN(t *testing.T, n int) []broker.Publication {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	out := make([]broker.Publication, 0, n)
	for len(out) < n {
		p, ok := r.take(deadline)
		if !ok {
			t.Fatalf("node %s: %d of %d publications delivered within %v", r.name, len(out), n, Timeout)
		}
		out = append(out, p)
	}
	return out
}

// until returns what was delivered before sentinel, failing the test when
// the sentinel does not arrive within Timeout.
func (r *recorder) until(t *testing.T, sentinel broker.Publication) []broker.Publication {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	var out []broker.Publication
	for {
		p, ok := r.take(deadline)
		if !ok {
			t.Fatalf("node %s: sentinel %s on %q not delivered within %v (%d other publication(s) before)", r.name, sentinel.Payload, sentinel.Topic, Timeout, len(out))
		}
		if p.Topic == sentinel.Topic && bytes.Equal(p.Payload, sentinel.Payload) {
			return out
		}
		out = append(out, p)
	}
}

// expectOnly asserts got is exactly want, in order.
func expectOnly(t *testing.T, nd *node, got []broker.Publication, want ...broker.Publication) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("node %s: %d publication(s) delivered, want %d:\n got %s\nwant %s", nd.name, len(got), len(want), summary(got), summary(want))
	}
	for i := range got {
		if msg := diff(got[i], want[i]); msg != "" {
			t.Fatalf("node %s: publication %d: %s", nd.name, i, msg)
		}
	}
}

func summary(ps []broker.Publication) string {
	const most = 5
	var b strings.Builder
	for i, p := range ps {
		if i == most {
			fmt.Fprintf(&b, " … (%d more)", len(ps)-most)
			break
		}
		fmt.Fprintf(&b, " %q:%s", p.Topic, p.Payload)
	}
	return "[" + b.String() + " ]"
}

// diff describes how got differs from want, or returns "". The payload is
// compared as compact JSON (a broker may re-encode it), nil and empty lists
// as equal.
func diff(got, want broker.Publication) string {
	var msgs []string
	if got.Topic != want.Topic {
		msgs = append(msgs, fmt.Sprintf("topic %q, want %q", got.Topic, want.Topic))
	}
	if !bytes.Equal(compact(got.Payload), compact(want.Payload)) {
		msgs = append(msgs, fmt.Sprintf("payload %s, want %s", got.Payload, want.Payload))
	}
	if !bytes.Equal(compact(got.Args), compact(want.Args)) || !bytes.Equal(compact(got.Kwargs), compact(want.Kwargs)) {
		msgs = append(msgs, fmt.Sprintf("args %s and kwargs %s, want %s and %s", got.Args, got.Kwargs, want.Args, want.Kwargs))
	}
	if !slices.Equal(got.Exclude, want.Exclude) {
		msgs = append(msgs, fmt.Sprintf("exclude %q, want %q", got.Exclude, want.Exclude))
	}
	for _, l := range []struct {
		name      string
		got, want []string
	}{
		{"exclude_authid", got.ExcludeAuthID, want.ExcludeAuthID},
		{"eligible_authid", got.EligibleAuthID, want.EligibleAuthID},
		{"exclude_authrole", got.ExcludeAuthRole, want.ExcludeAuthRole},
		{"eligible_authrole", got.EligibleAuthRole, want.EligibleAuthRole},
	} {
		if !slices.Equal(l.got, l.want) {
			msgs = append(msgs, fmt.Sprintf("%s %q, want %q", l.name, l.got, l.want))
		}
	}
	if got.ID != want.ID {
		msgs = append(msgs, fmt.Sprintf("id %d, want %d", got.ID, want.ID))
	}
	if (got.Publisher == nil) != (want.Publisher == nil) || (got.Publisher != nil && *got.Publisher != *want.Publisher) {
		msgs = append(msgs, fmt.Sprintf("publisher %+v, want %+v", got.Publisher, want.Publisher))
	}
	if !slices.Equal(got.Eligible, want.Eligible) {
		msgs = append(msgs, fmt.Sprintf("eligible %q, want %q", got.Eligible, want.Eligible))
	}
	if want.Origin != "" && got.Origin != want.Origin {
		msgs = append(msgs, fmt.Sprintf("origin %q, want %q", got.Origin, want.Origin))
	}
	return strings.Join(msgs, "; ")
}

func compact(raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return []byte("null")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// --- checks -----------------------------------------------------------------

func checkReady(t *testing.T, c *cluster) {
	for _, nd := range c.nodes {
		if !nd.b.Ready() {
			t.Errorf("node %s: Ready() false on a connected node", nd.name)
		}
	}
}

// checkSelfDelivery: a node delivers its own publications to itself when
// subscribed, and not when not.
func checkSelfDelivery(t *testing.T, c *cluster) {
	a := c.nodes[0]
	on, off := c.topic("on"), c.topic("off")
	a.subscribe(t, on)

	p := pub(on, 1)
	a.publish(t, p)
	expectOnly(t, a, a.rec.until(t, c.sentinel(t, a, on)), p)

	a.publish(t, pub(off, 2))
	expectOnly(t, a, a.rec.until(t, c.sentinel(t, a, on)))
}

// checkFanout: a publication from the first node reaches every other
// subscribed node exactly once, and not the publisher, which is not
// subscribed to its topic. On one node, the node publishes to itself.
func checkFanout(t *testing.T, c *cluster) {
	topic, side := c.topic("fanout"), c.topic("side")
	a := c.nodes[0]
	receivers := c.nodes[1:]
	if len(receivers) == 0 {
		receivers = c.nodes
	} else {
		a.subscribe(t, side)
	}
	for _, nd := range receivers {
		nd.subscribe(t, topic)
	}
	p := pub(topic, 1)
	p.Origin = "node-" + a.name
	a.publish(t, p)
	s := c.sentinel(t, a, topic)
	for _, nd := range receivers {
		expectOnly(t, nd, nd.rec.until(t, s), p)
	}
	if len(c.nodes) > 1 {
		expectOnly(t, a, a.rec.until(t, c.sentinel(t, a, side)))
	}
}

// checkOrdering: 1,000 publications from one publisher arrive in order on
// every node, the publisher's included.
func checkOrdering(t *testing.T, c *cluster) {
	const n = 1000
	topic := c.topic("ordered")
	for _, nd := range c.nodes {
		nd.subscribe(t, topic)
	}
	a := c.nodes[0]
	ctx := ctxT(t)
	for i := range n {
		if err := a.b.Publish(ctx, pub(topic, i)); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	c.expectInOrder(t, a, topic, n)
}

// expectInOrder checks that every node received publications 0 … n-1 of
// topic, in order, and nothing else before a sentinel from publisher a.
func (c *cluster) expectInOrder(t *testing.T, a *node, topic string, n int) {
	t.Helper()
	for _, nd := range c.nodes {
		got := nd.rec.takeN(t, n)
		for i, p := range got {
			if want := pub(topic, i); diff(p, want) != "" {
				t.Fatalf("node %s: publication %d: %s", nd.name, i, diff(p, want))
			}
		}
	}
	s := c.sentinel(t, a, topic)
	for _, nd := range c.nodes {
		expectOnly(t, nd, nd.rec.until(t, s))
	}
}

// checkOrderingNoWait: a Pipeliner's PublishNoWait calls, mixed with
// Publish calls, keep one publisher's order on every node. Brokers that are
// not Pipeliners pass trivially.
func checkOrderingNoWait(t *testing.T, c *cluster) {
	const n = 1000
	a := c.nodes[0]
	pl, ok := a.b.(broker.Pipeliner)
	if !ok {
		return
	}
	topic := c.topic("pipelined")
	for _, nd := range c.nodes {
		nd.subscribe(t, topic)
	}
	ctx := ctxT(t)
	for i := range n {
		var err error
		if i%10 == 9 {
			err = a.b.Publish(ctx, pub(topic, i))
		} else {
			err = pl.PublishNoWait(ctx, pub(topic, i))
		}
		if err != nil {
			t.Fatalf("publication %d: %v", i, err)
		}
	}
	c.expectInOrder(t, a, topic, n)
}

// checkFieldsIntact: payload, WAMP v2 arguments, exclude and eligible
// lists (by session, authid and authrole), the publisher and origin travel
// intact, whatever they hold.
func checkFieldsIntact(t *testing.T, c *cluster) {
	topic := c.topic("fields")
	for _, nd := range c.nodes {
		nd.subscribe(t, topic)
	}
	ps := []broker.Publication{
		{Topic: topic, Payload: json.RawMessage(`{"text":"héllo \u2028 \"quoted\" 日本語 🎉","n":[1,2.5,null,true],"nested":{"a":{}}}`),
			Exclude: []string{"session-1", "session-2"}, Eligible: []string{"session-3"}, Origin: "node-origin-1"},
		{Topic: topic, Payload: json.RawMessage(`"a string"`), Exclude: []string{"only-excluded"}, Origin: "node/with.odd*chars>"},
		{Topic: topic, Payload: json.RawMessage(`42`), Eligible: []string{"e-1", "e-2", "e-3", "ünïcödé session"}, Origin: "o"},
		{Topic: topic, Payload: json.RawMessage(`null`)},
		{Topic: topic, Payload: json.RawMessage(`1`), Args: json.RawMessage(`[1,"two",{"3":[]}]`), Kwargs: json.RawMessage(`{"k":"ü","n":2.5}`)},
		{Topic: topic, Payload: json.RawMessage(`{"only":"kwargs"}`), Kwargs: json.RawMessage(`{"only":"kwargs"}`)},
		{Topic: topic, Payload: json.RawMessage(`2`), ExcludeAuthID: []string{"alice"}, EligibleAuthID: []string{"bob", "carol"},
			ExcludeAuthRole: []string{"ROLE_BANNED"}, EligibleAuthRole: []string{"ROLE_USER"},
			Publisher: &broker.Publisher{Session: "0a1b2c3d00000000000004d2", AuthID: "dave", AuthRole: "ROLE_ADMIN"}, ID: 1 << 53},
		{Topic: topic, Payload: json.RawMessage(`[` + strings.Repeat(`"0123456789abcdef",`, 4096) + `0]`), Origin: "big"},
	}
	a := c.nodes[0]
	for _, p := range ps {
		a.publish(t, p)
	}
	s := c.sentinel(t, a, topic)
	for _, nd := range c.nodes {
		expectOnly(t, nd, nd.rec.until(t, s), ps...)
	}
}

// checkUnsubscribe: after Unsubscribe returns, the node gets nothing of the
// topic; the other nodes still do; subscribing again delivers again.
func checkUnsubscribe(t *testing.T, c *cluster) {
	topic, side := c.topic("unsub"), c.topic("side")
	last := c.nodes[len(c.nodes)-1]
	pubr := c.nodes[0]
	for _, nd := range c.nodes {
		nd.subscribe(t, topic, side)
	}
	p1 := pub(topic, 1)
	pubr.publish(t, p1)
	s := c.sentinel(t, pubr, side)
	for _, nd := range c.nodes {
		expectOnly(t, nd, nd.rec.until(t, s), p1)
	}

	last.unsubscribe(t, topic)
	p2 := pub(topic, 2)
	pubr.publish(t, p2)
	s = c.sentinel(t, pubr, side)
	for _, nd := range c.nodes {
		if nd == last {
			expectOnly(t, nd, nd.rec.until(t, s))
		} else {
			expectOnly(t, nd, nd.rec.until(t, s), p2)
		}
	}

	last.subscribe(t, topic)
	p3 := pub(topic, 3)
	pubr.publish(t, p3)
	s = c.sentinel(t, pubr, side)
	for _, nd := range c.nodes {
		expectOnly(t, nd, nd.rec.until(t, s), p3)
	}
}

// checkIdempotent: subscribing twice delivers once and one Unsubscribe
// stops it (subscriptions are not counted); unsubscribing twice, or a
// topic never subscribed, does nothing.
func checkIdempotent(t *testing.T, c *cluster) {
	topic, side, never := c.topic("twice"), c.topic("side"), c.topic("never")
	last := c.nodes[len(c.nodes)-1]
	pubr := c.nodes[0]
	for _, nd := range c.nodes {
		nd.subscribe(t, side)
	}
	last.subscribe(t, topic, topic)
	last.unsubscribe(t, never)

	p1 := pub(topic, 1)
	pubr.publish(t, p1)
	s := c.sentinel(t, pubr, side)
	expectOnly(t, last, last.rec.until(t, s), p1)

	last.unsubscribe(t, topic, topic)
	pubr.publish(t, pub(topic, 2))
	s = c.sentinel(t, pubr, side)
	expectOnly(t, last, last.rec.until(t, s))
}

// checkManyTopics: 500 topics, each delivered to the nodes subscribed to
// it only (some topics to no node).
func checkManyTopics(t *testing.T, c *cluster) {
	const topics = 500
	n := len(c.nodes)
	owner := func(k int) int { return k % (n + 1) } // n: nobody
	want := make([][]broker.Publication, n)
	for k := range topics {
		if o := owner(k); o < n {
			topic := c.topic(fmt.Sprintf("t%03d", k))
			c.nodes[o].subscribe(t, topic)
			want[o] = append(want[o], pub(topic, k))
		}
	}
	sides := make([]string, n)
	for i, nd := range c.nodes {
		sides[i] = c.topic("side-" + nd.name)
		nd.subscribe(t, sides[i])
	}
	a := c.nodes[0]
	ctx := ctxT(t)
	for k := range topics {
		if err := a.b.Publish(ctx, pub(c.topic(fmt.Sprintf("t%03d", k)), k)); err != nil {
			t.Fatalf("Publish %d: %v", k, err)
		}
	}
	sentinels := make([]broker.Publication, n)
	for i := range c.nodes {
		sentinels[i] = c.sentinel(t, a, sides[i])
	}
	for i, nd := range c.nodes {
		expectOnly(t, nd, nd.rec.until(t, sentinels[i]), want[i]...)
	}
}

// checkConcurrentPublishers: 8 goroutines publishing 200 publications each
// to one topic, spread over the nodes: every node gets every publication
// once, each goroutine's in its order.
func checkConcurrentPublishers(t *testing.T, c *cluster) {
	const goroutines, each = 8, 200
	topic := c.topic("concurrent")
	for _, nd := range c.nodes {
		nd.subscribe(t, topic)
	}
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		nd := c.nodes[g%len(c.nodes)]
		wg.Go(func() {
			for i := range each {
				p := broker.Publication{Topic: topic, Payload: json.RawMessage(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))}
				if err := nd.b.Publish(ctx, p); err != nil {
					errs <- fmt.Errorf("goroutine %d on node %s: Publish %d: %w", g, nd.name, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var sentinels []broker.Publication
	for i := 0; i < goroutines && i < len(c.nodes); i++ {
		sentinels = append(sentinels, c.sentinel(t, c.nodes[i], topic))
	}
	for _, nd := range c.nodes {
		got := nd.rec.untilAll(t, sentinels)
		next := make([]int, goroutines)
		for _, p := range got {
			var v struct{ G, I int }
			if err := json.Unmarshal(p.Payload, &v); err != nil || v.G < 0 || v.G >= goroutines {
				t.Fatalf("node %s: unexpected publication %q:%s", nd.name, p.Topic, p.Payload)
			}
			if v.I != next[v.G] {
				t.Fatalf("node %s: goroutine %d's publication %d delivered when %d was expected (lost, duplicated or out of order)", nd.name, v.G, v.I, next[v.G])
			}
			next[v.G]++
		}
		for g, got := range next {
			if got != each {
				t.Fatalf("node %s: %d of goroutine %d's %d publications delivered", nd.name, got, g, each)
			}
		}
	}
}

// untilAll returns what was delivered before every one of sentinels had
// arrived, the sentinels left out.
func (r *recorder) untilAll(t *testing.T, sentinels []broker.Publication) []broker.Publication {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	var out []broker.Publication
	seen := 0
	for seen < len(sentinels) {
		p, ok := r.take(deadline)
		if !ok {
			t.Fatalf("node %s: %d of %d sentinels delivered within %v", r.name, seen, len(sentinels), Timeout)
		}
		if slices.ContainsFunc(sentinels, func(s broker.Publication) bool {
			return p.Topic == s.Topic && bytes.Equal(p.Payload, s.Payload)
		}) {
			seen++
			continue
		}
		out = append(out, p)
	}
	return out
}

// oddTopics are topic parts with the characters a broker might give a
// meaning to: subject separators and wildcards, escapes, spaces, control
// characters, unicode.
var oddTopics = []string{
	"a/b/c", "a.b.c", "a.b", "a/b", "a_b", "a-b", "a%2Eb", "a%2eb", "a~2Eb", "a\\b", "a..b", "a//b",
	".a", "a.", "/", ".", "..", "*", ">", "a.*", "a.>", "*.*", "a.*.>", "#", "+", "$SYS.x", "_INBOX.x",
	"a b", " leading", "trailing ", "two  spaces", "tab\there", "new\nline", "cr\rlf", "nul\x00byte", "del\x7f",
	"a:b", `a"b`, "a'b", "{}", "%", "%%", "~", "~!@#$%^&()=[]|;,?`", "=?utf-8?", "ünïcödé", "日本語/トピック",
	"🎉.🚀", "\u2028\u2029", "zero\u200bwidth",
	"\u00c5", "A\u030a", // Å precomposed and decomposed: two topics
}

// checkArbitraryTopics: topics with any characters are delivered exactly
// as published, to the nodes subscribed to that exact topic: no wildcard,
// no separator, no escaping collision.
func checkArbitraryTopics(t *testing.T, c *cluster) {
	var topics []string
	for _, odd := range oddTopics {
		// the odd part after the check's unique prefix, and leading
		topics = append(topics, c.topic(odd), odd+"|"+c.prefix)
	}
	// 300-byte topics: ASCII, two-byte runes, dots.
	for _, fill := range []string{"x", "é", "a."} {
		base := c.topic("long-" + fill + "-")
		topic := base + strings.Repeat(fill, (300-len(base))/len(fill))
		topic += strings.Repeat("z", 300-len(topic))
		topics = append(topics, topic)
	}
	a := c.nodes[0]
	receivers := c.nodes[1:]
	if len(receivers) == 0 {
		receivers = c.nodes
	}
	side := c.topic("side")
	for _, nd := range c.nodes {
		nd.subscribe(t, side)
	}

	// Phase 1: the receivers subscribe only the wildcard- and
	// escape-looking topics: nothing else matches them.
	literal := []string{c.topic("*"), c.topic(">"), c.topic("a.*"), c.topic("a.>"), c.topic("a.b"), c.topic("a%2Eb")}
	var want1 []broker.Publication
	for k, topic := range topics {
		if slices.Contains(literal, topic) {
			want1 = append(want1, pub(topic, k))
		}
	}
	for _, nd := range receivers {
		nd.subscribe(t, literal...)
	}
	for k, topic := range topics {
		a.publish(t, pub(topic, k))
	}
	s := c.sentinel(t, a, side)
	for _, nd := range receivers {
		expectOnly(t, nd, nd.rec.until(t, s), want1...)
	}

	// Phase 2: the receivers subscribe every topic and get each exactly.
	var want2 []broker.Publication
	for _, nd := range receivers {
		nd.subscribe(t, topics...)
	}
	for k, topic := range topics {
		p := pub(topic, 1000+k)
		want2 = append(want2, p)
		a.publish(t, p)
	}
	s = c.sentinel(t, a, side)
	for _, nd := range receivers {
		expectOnly(t, nd, nd.rec.until(t, s), want2...)
	}
}

// closeNode closes nd, failing the test when Close does not return within
// Timeout (whatever it does with its context), and records that it has.
func closeNode(t *testing.T, nd *node) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- nd.b.Close(ctx) }()
	select {
	case err := <-done:
		nd.rec.markClosed()
		return err
	case <-time.After(Timeout + time.Second):
		t.Fatalf("node %s: Close did not return within %v", nd.name, Timeout)
		return nil
	}
}

// checkClose: Close releases the node: Ready is false, Publish and
// Subscribe return errors wrapping broker.ErrClosed, a second Close
// returns, nothing is delivered to it any more, and the other nodes go on.
func checkClose(t *testing.T, c *cluster) {
	topic := c.topic("close")
	for _, nd := range c.nodes {
		nd.subscribe(t, topic)
	}
	last := c.nodes[len(c.nodes)-1]
	if err := closeNode(t, last); err != nil {
		t.Fatalf("node %s: Close: %v", last.name, err)
	}
	if last.b.Ready() {
		t.Errorf("node %s: Ready() true after Close", last.name)
	}
	ctx := ctxT(t)
	if err := last.b.Publish(ctx, pub(topic, 1)); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("node %s: Publish after Close: %v, want an error wrapping broker.ErrClosed", last.name, err)
	}
	if err := last.b.Subscribe(ctx, c.topic("after-close")); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("node %s: Subscribe after Close: %v, want an error wrapping broker.ErrClosed", last.name, err)
	}
	_ = last.b.Unsubscribe(ctx, topic) // must not panic; any result
	_ = closeNode(t, last)             // a second Close returns; any result

	if len(c.nodes) == 1 {
		return
	}
	a := c.nodes[0]
	p := pub(topic, 2)
	a.publish(t, p)
	s := c.sentinel(t, a, topic)
	for _, nd := range c.nodes[:len(c.nodes)-1] {
		expectOnly(t, nd, nd.rec.until(t, s), p)
	}
	// The closed node's recorder reports any delivery at cleanup.
}

// checkCloseWhileDelivering: a node closed while publications stream to it
// delivers nothing once Close has returned.
func checkCloseWhileDelivering(t *testing.T, c *cluster) {
	topic := c.topic("stream")
	a, last := c.nodes[0], c.nodes[len(c.nodes)-1]
	for _, nd := range c.nodes {
		nd.subscribe(t, topic)
	}
	ctx := ctxT(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var pubErr error
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := a.b.Publish(ctx, pub(topic, i)); err != nil {
				pubErr = err
				return
			}
		}
	})
	last.rec.takeN(t, 50) // publications are flowing to the node
	err := closeNode(t, last)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("node %s: Close: %v", last.name, err)
	}
	if a == last {
		if pubErr != nil && !errors.Is(pubErr, broker.ErrClosed) {
			t.Fatalf("Publish while closing: %v, want nil or an error wrapping broker.ErrClosed", pubErr)
		}
		return
	}
	if pubErr != nil {
		t.Fatalf("node %s: Publish: %v", a.name, pubErr)
	}
	// Give a broken broker the time of a round trip to deliver late: the
	// publisher's own node receives a sentinel published after Close.
	a.rec.until(t, c.sentinel(t, a, topic))
}
