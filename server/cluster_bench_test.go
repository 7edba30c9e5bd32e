package server

import (
	"encoding/json"
	"fmt"
	"github.com/heraldws/herald/wamp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/broker/natsbroker"
	"github.com/heraldws/herald/broker/redisbroker"
	"github.com/heraldws/herald/internal/testpeer"
)

// BenchmarkClusterFanout is the cross-node fan-out: publications made on
// node A reach 1,000 real WebSocket subscribers on node B through the
// broker; the clock stops when every subscriber has every event.
// deliveries/s compares with broker=memory, where publisher and
// subscribers share one node (the ceiling).
//
//	go test -run '^$' -bench ClusterFanout -benchtime 200x ./server
func BenchmarkClusterFanout(b *testing.B) {
	const n = 1000
	prefix := fmt.Sprintf("herald-bench-%d", time.Now().UnixNano())
	for _, kind := range []string{"memory", "redis", "nats"} {
		b.Run("broker="+kind, func(b *testing.B) {
			factory := func(d broker.Deliver) (broker.Broker, error) { return broker.NewMemory(d), nil }
			switch kind {
			case "redis":
				testpeer.RequireService(b, testpeer.Redis)
				factory = func(d broker.Deliver) (broker.Broker, error) {
					return redisbroker.New(redisbroker.Config{URL: "redis://127.0.0.1:6379/0", Prefix: prefix + ":", Logger: discardLogger()}, d)
				}
			case "nats":
				testpeer.RequireService(b, testpeer.NATS)
				factory = func(d broker.Deliver) (broker.Broker, error) {
					return natsbroker.New(natsbroker.Config{URL: "nats://127.0.0.1:4222", Prefix: prefix, Logger: discardLogger()}, d)
				}
			}
			cfg := Config{MaxQueueSize: 256 << 20, Broker: factory}
			subNode := startServer(b, cfg)
			pubNode := subNode
			if kind != "memory" {
				pubNode = startServer(b, cfg)
			}
			peers := make([]*peer, n)
			for i := range n {
				peers[i] = dial(b, subNode.addr)
				peers[i].subscribe("bench/topic")
				peers[i].conn.SetReadDeadline(time.Time{})
			}
			waitFor(b, "subscriptions", func() bool { return subNode.hub.count("bench/topic") == n })
			// Node B is subscribed on the broker once a probe from A arrives.
			var received atomic.Int64
			var readers sync.WaitGroup
			for _, p := range peers {
				readers.Go(func() {
					for {
						if _, _, err := p.rd.ReadMessage(); err != nil {
							return
						}
						received.Add(1)
					}
				})
			}
			event := json.RawMessage(`{"seq":123456,"ts":1732600000000000}`)
			probe := Publication{Topic: "bench/topic", Payload: wamp.PayloadOfV1(event)}
			waitFor(b, "the broker subscription", func() bool {
				before := received.Load()
				if err := pubNode.Publish(b.Context(), probe); err != nil {
					return false
				}
				time.Sleep(20 * time.Millisecond)
				return received.Load() > before
			})
			waitFor(b, "the probes", func() bool {
				time.Sleep(50 * time.Millisecond)
				return received.Load()%n == 0
			})
			base := received.Load()
			b.ReportAllocs()
			b.ResetTimer()
			published := 0
			for b.Loop() {
				if err := pubNode.Publish(b.Context(), probe); err != nil {
					b.Fatal(err)
				}
				published++
			}
			for received.Load()-base < int64(n*published) {
				time.Sleep(100 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(n*published)/b.Elapsed().Seconds(), "deliveries/s")
			for _, p := range peers {
				p.conn.Close()
			}
			readers.Wait()
		})
	}
}
