package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/testpeer"
	"github.com/heraldws/herald/wamp"
)

// v2inbox records the events a v2 client receives.
type v2inbox struct {
	mu     sync.Mutex
	events []client.Event
}

func (b *v2inbox) add(e client.Event) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

func (b *v2inbox) waitFor(t *testing.T, what string, pred func(client.Event) bool) client.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, e := range b.events {
			if pred(e) {
				b.mu.Unlock()
				return e
			}
		}
		b.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no event %s", what)
	return client.Event{}
}

func (b *v2inbox) count(pred func(client.Event) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.events {
		if pred(e) {
			n++
		}
	}
	return n
}

func argsAre(want string) func(client.Event) bool {
	return func(e client.Event) bool { return string(e.Payload.Args) == want }
}

// v1 and v2 clients share topics across two nodes over Redis: exact and
// pattern subscriptions, both directions, and v2's eligible list naming a
// session of the other node.
func TestV1AndV2AcrossNodes(t *testing.T) {
	testpeer.RequireService(t, testpeer.Redis)
	prefix := fmt.Sprintf("herald_v2_%d", time.Now().UnixNano())
	var nodes []*herald
	for range 2 {
		cfg := filepath.Join(t.TempDir(), "herald.yaml")
		os.WriteFile(cfg, fmt.Appendf(nil, "broker: { type: redis, url: \"redis://127.0.0.1:6379\", prefix: %q }\n", prefix), 0o600)
		nodes = append(nodes, startHerald(t, "-c", cfg))
	}
	ctx := context.Background()

	var v1Mu sync.Mutex
	var v1Events []string
	v1, err := client.Dial(ctx, nodes[0].wsURL(), client.Options{OnEvent: func(_ string, ev json.RawMessage) {
		v1Mu.Lock()
		v1Events = append(v1Events, string(ev))
		v1Mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer v1.Close()
	v1.Subscribe("acme.cluster.room")

	dialV2 := func(node *herald, protocol string) (*client.Client, *v2inbox) {
		box := &v2inbox{}
		c, err := client.Dial(ctx, node.wsURL(), client.Options{Protocol: protocol, OnEventV2: box.add})
		if err != nil {
			t.Fatalf("dial %s: %v", protocol, err)
		}
		t.Cleanup(func() { c.Close() })
		return c, box
	}
	near, nearBox := dialV2(nodes[0], client.ProtocolV2MsgPack)
	far, farBox := dialV2(nodes[1], client.ProtocolV2JSON)
	watcher, watchBox := dialV2(nodes[1], client.ProtocolV2CBOR)
	for _, c := range []*client.Client{near, far} {
		if _, err := c.SubscribeWith(ctx, "acme.cluster.room", client.SubscribeOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := watcher.SubscribeWith(ctx, "acme.cluster.", client.SubscribeOptions{Match: wamp.MatchPolicyPrefix}); err != nil {
		t.Fatal(err)
	}

	// Until both nodes subscribed on Redis (and node 0 heard that node 1
	// has a pattern subscription), probes may be lost; then everything
	// arrives.
	probe := 0
	eventually(t, "both nodes to carry the topic and the pattern", 15*time.Second, func() bool {
		probe++
		args := fmt.Sprintf(`["probe%d"]`, probe)
		near.PublishV2(ctx, "acme.cluster.room", wamp.Payload{Args: json.RawMessage(args)}, client.PublishOptions{Acknowledge: true})
		time.Sleep(50 * time.Millisecond)
		return farBox.count(argsAre(args)) == 1 && watchBox.count(argsAre(args)) == 1
	})

	// v1 on node 0 → v2 on both nodes, the pattern subscriber's event
	// naming the topic.
	v1.Publish("acme.cluster.room", map[string]string{"from": "v1"})
	for _, box := range []*v2inbox{nearBox, farBox} {
		box.waitFor(t, "from v1", argsAre(`[{"from":"v1"}]`))
	}
	if e := watchBox.waitFor(t, "from v1 by pattern", argsAre(`[{"from":"v1"}]`)); e.Topic != "acme.cluster.room" {
		t.Fatalf("pattern event topic %q", e.Topic)
	}

	// v2 on node 1, with arguments and keyword arguments, eligible: the
	// v2 session on node 0 only.
	if _, err := far.PublishV2(ctx, "acme.cluster.room", wamp.Payload{Args: json.RawMessage(`["only near"]`), Kwargs: json.RawMessage(`{"k":1}`)},
		client.PublishOptions{Acknowledge: true, Eligible: []uint64{near.SessionNumber()}}); err != nil {
		t.Fatal(err)
	}
	// v2 on node 1 to everyone: v1 on node 0 gets the first argument.
	if _, err := far.PublishV2(ctx, "acme.cluster.room", wamp.Payload{Args: json.RawMessage(`["all",2]`)}, client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	nearBox.waitFor(t, "the eligible one", func(e client.Event) bool {
		return string(e.Payload.Args) == `["only near"]` && string(e.Payload.Kwargs) == `{"k":1}`
	})
	nearBox.waitFor(t, "to all", argsAre(`["all",2]`))
	watchBox.waitFor(t, "to all by pattern", argsAre(`["all",2]`))
	eventually(t, "v1 to get the v2 publication's first argument", 5*time.Second, func() bool {
		v1Mu.Lock()
		defer v1Mu.Unlock()
		for _, ev := range v1Events {
			if ev == `"all"` {
				return true
			}
		}
		return false
	})
	if n := watchBox.count(argsAre(`["only near"]`)) + farBox.count(argsAre(`["only near"]`)); n != 0 {
		t.Fatalf("the eligible list let %d other sessions have it", n)
	}
	if n := farBox.count(argsAre(`["all",2]`)); n != 0 {
		t.Fatalf("exclude_me: the publisher got its own publication %d times", n)
	}
	v1Mu.Lock()
	for _, ev := range v1Events {
		if ev == `"only near"` {
			t.Errorf("the v1 session got a publication it was not eligible for")
		}
	}
	v1Mu.Unlock()
}
