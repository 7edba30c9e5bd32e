package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/testpeer"
)

// A v1 client speaking as AutobahnJS 0.8 does (npm wamp1) and autobahn-js
// (WAMP v2) share a topic in both directions, on one node and across two
// nodes over Redis.
func TestV1PeerAndAutobahnShareATopic(t *testing.T) {
	for _, nodes := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d node(s)", nodes), func(t *testing.T) { testV1AndAutobahn(t, nodes) })
	}
}

func testV1AndAutobahn(t *testing.T, n int) {
	const topic = "acme.mixed.channel"
	var v1Node, v2Node *herald
	if n == 1 {
		v1Node = startHerald(t, "-c", v2HeraldConfig(t, ""))
		v2Node = v1Node
	} else {
		testpeer.RequireService(t, testpeer.Redis)
		broker := fmt.Sprintf("broker: { type: redis, url: \"redis://127.0.0.1:6379\", prefix: \"herald_mixed_%d\" }\n", time.Now().UnixNano())
		v1Node = startHerald(t, "-c", v2HeraldConfig(t, broker))
		v2Node = startHerald(t, "-c", v2HeraldConfig(t, broker))
	}
	ctx := context.Background()

	// Keep the v1 node subscribed, and learn when the v2 node's
	// publications reach it.
	var seen atomic.Value
	keeper, err := client.Dial(ctx, v1Node.wsURL(), client.Options{OnEvent: func(_ string, ev json.RawMessage) { seen.Store(string(ev)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer keeper.Close()
	keeper.Subscribe(topic)

	v2 := startAutobahnJS(t, v2Node.wsURL(), v2Realm, "json")
	v2.do(t, v2Cmd{"op": "subscribe", "id": "sub", "topic": topic}, "subscribed")
	probe := 0
	eventually(t, "both nodes to carry the topic", 15*time.Second, func() bool {
		probe++
		v2.do(t, v2Cmd{"op": "publish", "id": fmt.Sprintf("probe%d", probe), "topic": topic, "args": []any{probe},
			"options": v2Cmd{"acknowledge": true, "exclude_me": false}}, "published")
		time.Sleep(50 * time.Millisecond)
		got, _ := seen.Load().(string)
		return got == fmt.Sprint(probe)
	})

	// v2 → v1: the v1 subscriber gets args[0].
	sub := startSubscriber(t, nodeArgs(t, v1Node, "subscribe", topic, "1"))
	v2.do(t, v2Cmd{"op": "publish", "id": "to-v1", "topic": topic, "args": []any{map[string]any{"from": "v2", "n": 1}}, "kwargs": map[string]any{"extra": true},
		"options": v2Cmd{"acknowledge": true}}, "published")
	assertSameJSON(t, "event from v2", sub.next(t), `{"from":"v2","n":1}`)
	sub.wait(t)

	// v1 → v2: the v2 subscriber gets the event as args[0].
	runPeer(t, nodeArgs(t, v1Node, "publish", topic, `{"from":"v1","日本":"語"}`))
	ev := v2.expect(t, lineIs("event", "sub", "sub", "args", []any{map[string]any{"from": "v1", "日本": "語"}}), 5*time.Second)
	if ev == nil {
		t.Fatal("no event from v1")
	}
}

// v2HeraldConfig writes the v2 peers' herald configuration plus extra.
func v2HeraldConfig(t *testing.T, extra string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "herald.yaml")
	if err := os.WriteFile(cfg, []byte(v2HeraldYAML()+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}
