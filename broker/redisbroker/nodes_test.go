package redisbroker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/server"
)

// node is one herald server whose broker is Redis at url.
type node struct {
	srv  *server.Server
	addr string
}

func startNode(t *testing.T, url, prefix string, nodeID ...string) *node {
	t.Helper()
	id := ""
	if len(nodeID) > 0 {
		id = nodeID[0]
	}
	srv, err := server.New(server.Config{
		Logger:               quiet(),
		APIKey:               "k",
		NodeID:               id,
		NodeAnnounceInterval: 50 * time.Millisecond,
		Broker: func(d broker.Deliver) (broker.Broker, error) {
			return New(Config{URL: url, Prefix: prefix, Logger: quiet()}, d)
		},
	})
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
	return &node{srv: srv, addr: hs.Listener.Addr().String()}
}

// subscriber connects to n and subscribes to topic.
func (n *node) subscriber(t *testing.T, topic string) (*client.Client, chan string) {
	t.Helper()
	events := make(chan string, 100)
	c, err := client.Dial(context.Background(), "ws://"+n.addr+"/", client.Options{
		OnEvent: func(tp string, ev json.RawMessage) { events <- tp + " " + string(ev) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	before := n.srv.Stats().Subscriptions
	c.Subscribe(topic)
	waitFor(t, "the subscription", 5*time.Second, func() bool { return n.srv.Stats().Subscriptions > before })
	return c, events
}

func (n *node) status(t *testing.T, path string) int {
	resp, err := http.Get("http://" + n.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (n *node) apiPublish(t *testing.T, topic, data string) int {
	req, _ := http.NewRequest("POST", "http://"+n.addr+"/api/publish", strings.NewReader(fmt.Sprintf(`{"topic":%q,"data":%s}`, topic, data)))
	req.Header.Set("X-API-Key", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func expectEvent(t *testing.T, events chan string, want string) {
	t.Helper()
	select {
	case got := <-events:
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no event, want %q", want)
	}
}

// Two herald servers over the real Redis behave as one: a publication on
// either reaches the subscribers of both, once, with exclude lists applied
// across nodes.
func TestServersShareTopicsOverRedis(t *testing.T) {
	needRedis(t)
	prefix := uniquePrefix()
	a, b := startNode(t, DefaultURL, prefix), startNode(t, DefaultURL, prefix)
	subA, eventsA := a.subscriber(t, "acme/chat")
	_, eventsB := b.subscriber(t, "acme/chat")

	if code := a.apiPublish(t, "acme/chat", `{"n":1}`); code != 200 {
		t.Fatalf("publish on a: %d", code)
	}
	expectEvent(t, eventsA, `acme/chat {"n":1}`)
	expectEvent(t, eventsB, `acme/chat {"n":1}`)

	// A WAMP PUBLISH on b excluding a's subscriber reaches only b's.
	pub, err := client.Dial(context.Background(), "ws://"+b.addr+"/", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	pub.Publish("acme/chat", 2, client.Exclude(subA.SessionID()))
	expectEvent(t, eventsB, `acme/chat 2`)
	if code := b.apiPublish(t, "acme/chat", `3`); code != 200 {
		t.Fatalf("publish on b: %d", code)
	}
	expectEvent(t, eventsA, `acme/chat 3`) // 2 never reached a: the next event is 3
	expectEvent(t, eventsB, `acme/chat 3`)
	if code := a.status(t, "/readyz"); code != 200 {
		t.Fatalf("/readyz %d, want 200", code)
	}
}

// While Redis is down a node is not ready, the API answers 503 and nothing
// is silently dropped; once Redis is back, the node subscribes its topics
// again and publications flow.
func TestServerOutageOverRedis(t *testing.T) {
	r := startPrivateRedis(t)
	prefix := uniquePrefix()
	a, b := startNode(t, r.url(), prefix), startNode(t, r.url(), prefix)
	_, eventsB := b.subscriber(t, "acme/news")

	r.kill()
	waitFor(t, "a not ready", 10*time.Second, func() bool { return a.status(t, "/readyz") == http.StatusServiceUnavailable })
	if code := a.apiPublish(t, "acme/news", `"lost?"`); code != http.StatusServiceUnavailable {
		t.Fatalf("publish during the outage: %d, want 503", code)
	}
	r.start()
	waitFor(t, "a ready again", 15*time.Second, func() bool { return a.status(t, "/readyz") == 200 })
	waitFor(t, "b ready again", 15*time.Second, func() bool { return b.status(t, "/readyz") == 200 })
	// b's subscription is restored: a publication made after recovery
	// arrives (retried while b's resubscription settles).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code := a.apiPublish(t, "acme/news", `"after"`); code != 200 {
			t.Fatalf("publish after recovery: %d", code)
		}
		select {
		case got := <-eventsB:
			if got != `acme/news "after"` {
				t.Fatalf("got %q", got)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no publication reached b after recovery")
		}
	}
}

// Two processes given the same node id see each other's announcements and
// say so: their session ids could collide.
func TestNodeIDCollisionIsReported(t *testing.T) {
	needRedis(t)
	prefix := uniquePrefix()
	a := startNode(t, DefaultURL, prefix, "0badc0de")
	startNode(t, DefaultURL, prefix, "0badc0de")
	waitFor(t, "the collision to be counted", 5*time.Second, func() bool {
		resp, err := http.Get("http://" + a.addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for line := range strings.SplitSeq(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, "herald_node_id_collisions_total "); ok && v != "0" {
				return true
			}
		}
		return false
	})
}
