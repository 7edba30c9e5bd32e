package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/testpeer"
)

// brokerProcess is a Redis or NATS server of the test's own, on a spare
// port, so the test can stop it without touching the machine's shared one.
type brokerProcess struct {
	t    *testing.T
	kind string // redis or nats
	port string
	cmd  *exec.Cmd
}

func (b *brokerProcess) url() string {
	if b.kind == "redis" {
		return "redis://127.0.0.1:" + b.port + "/0"
	}
	return "nats://127.0.0.1:" + b.port
}

func (b *brokerProcess) start() {
	b.t.Helper()
	switch b.kind {
	case "redis":
		b.cmd = exec.Command("redis-server", "--port", b.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.t.TempDir())
	default:
		b.cmd = exec.Command("nats-server", "-a", "127.0.0.1", "-p", b.port)
	}
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("starting %s-server: %v", b.kind, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+b.port, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s-server not answering on %s", b.kind, b.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *brokerProcess) kill() {
	if b.cmd != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
		b.cmd = nil
	}
}

// collector records every event a subscriber receives.
type collector struct {
	mu     sync.Mutex
	events map[string]int
	c      *client.Client
}

func (k *collector) count(ev string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.events[ev]
}

func apiPost(t *testing.T, addr, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/publish", strings.NewReader(body))
	req.Header.Set("X-API-Key", "cluster-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/publish on %s: %v", addr, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func httpStatus(addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Three `herald serve` processes over one broker behave as one node:
// subscribers on every node get every message exactly once, whether it was
// published over WAMP on one node, over the HTTP API on another, or pushed
// into RabbitMQ, whose queue all three consume; exclude lists hold across
// nodes; while the broker is down the nodes are not ready and refuse
// publications, and AMQP messages pushed meanwhile arrive after recovery.
func TestThreeNodes(t *testing.T) {
	for _, kind := range []string{"redis", "nats"} {
		t.Run(kind, func(t *testing.T) {
			peer := testpeer.RedisServer
			if kind == "nats" {
				peer = testpeer.NATSServer
			}
			testpeer.Require(t, peer)
			testpeer.RequireService(t, testpeer.RabbitMQ)
			b := &brokerProcess{t: t, kind: kind, port: freePort(t)}
			b.start()
			t.Cleanup(b.kill)

			name := fmt.Sprintf("herald_cluster_%s_%d", kind, time.Now().UnixNano())
			t.Cleanup(func() { exec.Command("rabbitmqctl", "delete_queue", name).Run() })
			var nodes []*herald
			for i := range 3 {
				cfg := filepath.Join(t.TempDir(), "herald.yaml")
				os.WriteFile(cfg, fmt.Appendf(nil, `
api: { key: cluster-key }
broker: { type: %s, url: %q, prefix: %q }
pushers:
  amqp: { host: 127.0.0.1, login: guest, password: guest, queue_name: %s, exchange_name: herald_cluster_test, routing_key: %s, connection_name: %s-node%d, consume_delay: 0s }
`, kind, b.url(), name, name, name, name, i), 0o600)
				nodes = append(nodes, startHerald(t, "-c", cfg))
			}

			// Two subscribers on every node.
			var subs []*collector
			for _, n := range nodes {
				for range 2 {
					k := &collector{events: map[string]int{}}
					c, err := client.Dial(context.Background(), n.wsURL(), client.Options{OnEvent: func(_ string, ev json.RawMessage) {
						k.mu.Lock()
						k.events[string(ev)]++
						k.mu.Unlock()
					}})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { c.Close() })
					k.c = c
					c.Subscribe("acme/cluster")
					subs = append(subs, k)
				}
			}
			// Every node has subscribed on the broker once a probe published
			// on node 0 reaches every subscriber.
			eventually(t, "subscriptions across nodes", 10*time.Second, func() bool {
				apiPost(t, nodes[0].addr(), `{"topic":"acme/cluster","data":"probe"}`)
				time.Sleep(50 * time.Millisecond)
				for _, k := range subs {
					if k.count(`"probe"`) == 0 {
						return false
					}
				}
				return true
			})

			// Every node lists the three nodes and their connections.
			eventually(t, "/api/info lists the cluster", 15*time.Second, func() bool {
				req, _ := http.NewRequest("GET", "http://"+nodes[2].addr()+"/api/info", nil)
				req.Header.Set("X-API-Key", "cluster-key")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				var info struct {
					Nodes []struct{ Connections int } `json:"nodes"`
				}
				if json.NewDecoder(resp.Body).Decode(&info) != nil || len(info.Nodes) != 3 {
					return false
				}
				for _, n := range info.Nodes {
					if n.Connections != 2 {
						return false
					}
				}
				return true
			})

			// WAMP on node 0, the API on node 1, RabbitMQ into all three.
			const n = 8
			pub, err := client.Dial(context.Background(), nodes[0].wsURL(), client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			push := func(node int, data string) {
				t.Helper()
				cmd := exec.Command(heraldBin, "push", "-c", nodes[node].config, "--via", "amqp", "acme/cluster", data)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("herald push --via amqp: %v: %s", err, out)
				}
			}
			var want []string
			for i := range n {
				w, h, a := fmt.Sprintf(`"wamp-%d"`, i), fmt.Sprintf(`"http-%d"`, i), fmt.Sprintf(`["amqp-%d"]`, i)
				if err := pub.Publish("acme/cluster", json.RawMessage(w)); err != nil {
					t.Fatal(err)
				}
				if code := apiPost(t, nodes[1].addr(), `{"topic":"acme/cluster","data":`+h+`}`); code != 200 {
					t.Fatalf("API publish: %d", code)
				}
				want = append(want, w, h, a)
			}
			for i := range n {
				push(i%3, fmt.Sprintf(`"amqp-%d"`, i))
			}
			eventually(t, "every subscriber gets every message", 20*time.Second, func() bool {
				for _, k := range subs {
					for _, ev := range want {
						if k.count(ev) == 0 {
							return false
						}
					}
				}
				return true
			})
			for i, k := range subs {
				for _, ev := range want {
					if c := k.count(ev); c != 1 {
						t.Errorf("subscriber %d got %s %d times, want once", i, ev, c)
					}
				}
			}

			// An exclude list made on node 2 holds on node 0.
			excluded := subs[0]
			apiPost(t, nodes[2].addr(), fmt.Sprintf(`{"topic":"acme/cluster","data":"excluded","exclude":[%q]}`, excluded.c.SessionID()))
			eventually(t, "the exclude publication", 10*time.Second, func() bool { return subs[5].count(`"excluded"`) == 1 })
			apiPost(t, nodes[2].addr(), `{"topic":"acme/cluster","data":"marker"}`)
			eventually(t, "the marker", 10*time.Second, func() bool { return excluded.count(`"marker"`) == 1 })
			if excluded.count(`"excluded"`) != 0 {
				t.Fatal("an excluded session on another node got the event")
			}

			// Outage under load: a publisher posts to node 1 every 10 ms
			// from before the broker dies until after it is back. Nodes are
			// not ready and refuse publications during it; AMQP pushes wait
			// in RabbitMQ; every publication answered 200 reaches every
			// subscriber exactly once.
			load := startLoad(nodes[1].addr(), 10*time.Millisecond)
			time.Sleep(300 * time.Millisecond)
			b.kill()
			for _, nd := range nodes {
				eventually(t, "not ready during the outage", 15*time.Second, func() bool { return httpStatus(nd.addr(), "/readyz") == http.StatusServiceUnavailable })
			}
			if code := apiPost(t, nodes[1].addr(), `{"topic":"acme/cluster","data":"during"}`); code != http.StatusServiceUnavailable {
				t.Fatalf("API publish during the outage: %d, want 503", code)
			}
			push(0, `"queued-during-outage"`)
			b.start()
			for _, nd := range nodes {
				eventually(t, "ready after the outage", 20*time.Second, func() bool { return httpStatus(nd.addr(), "/readyz") == 200 })
			}
			eventually(t, "the AMQP message pushed during the outage", 30*time.Second, func() bool {
				for _, k := range subs {
					if k.count(`["queued-during-outage"]`) == 0 {
						return false
					}
				}
				return true
			})
			apiPost(t, nodes[1].addr(), `{"topic":"acme/cluster","data":"after"}`)
			eventually(t, "a publication after recovery", 10*time.Second, func() bool {
				for _, k := range subs {
					if k.count(`"after"`) == 0 {
						return false
					}
				}
				return true
			})
			accepted, refused, failed := load.stop()
			if failed != nil {
				t.Fatalf("the publisher under load: %v", failed)
			}
			if refused == 0 {
				t.Errorf("none of the %d publications under load was refused: the outage did not happen under load", len(accepted))
			}
			if len(accepted) < 20 {
				t.Fatalf("only %d publications under load were accepted", len(accepted))
			}
			t.Logf("under load: %d publications accepted, %d refused", len(accepted), refused)
			deadline := time.Now().Add(10 * time.Second)
			for {
				var missing []string
				for i, k := range subs {
					for _, ev := range accepted {
						if k.count(ev) == 0 {
							missing = append(missing, fmt.Sprintf("%s on subscriber %d", ev, i))
						}
					}
				}
				if len(missing) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("accepted publications under load never arrived: %s", strings.Join(missing, ", "))
				}
				time.Sleep(20 * time.Millisecond)
			}
			for i, k := range subs {
				for _, ev := range accepted {
					if c := k.count(ev); c != 1 {
						t.Errorf("subscriber %d got %s %d times, want once", i, ev, c)
					}
				}
			}
		})
	}
}

// loadPublisher posts numbered publications to a node's API at a fixed
// interval, and records which were accepted.
type loadPublisher struct {
	quit     chan struct{}
	done     chan struct{}
	accepted []string // the events answered 200, as JSON
	refused  int      // answered 503
	err      error    // any other answer
}

func startLoad(addr string, every time.Duration) *loadPublisher {
	l := &loadPublisher{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.quit:
				return
			case <-tick.C:
			}
			ev := fmt.Sprintf(`"load-%d"`, i)
			req, _ := http.NewRequest("POST", "http://"+addr+"/api/publish", strings.NewReader(`{"topic":"acme/cluster","data":`+ev+`}`))
			req.Header.Set("X-API-Key", "cluster-key")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				l.err = err
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				l.accepted = append(l.accepted, ev)
			case http.StatusServiceUnavailable:
				l.refused++
			default:
				l.err = fmt.Errorf("POST /api/publish answered %d", resp.StatusCode)
				return
			}
		}
	}()
	return l
}

// stop ends the publisher and returns what it recorded.
func (l *loadPublisher) stop() (accepted []string, refused int, err error) {
	close(l.quit)
	<-l.done
	return l.accepted, l.refused, l.err
}
