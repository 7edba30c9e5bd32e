package natsbroker

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/broker"
)

// BenchmarkNATSFanoutPublish publishes on one node and counts the
// deliveries on another, through the shared NATS server: msgs/s is
// publications delivered across nodes per second, end to end, sustained
// (at most window publications in flight, so the figure is the delivery
// path's, not how fast a queue fills). Publish waits for the server's
// confirmation, so 16 publishers share the round trips, as the Redis
// benchmark's do.
//
//	go test -run '^$' -bench NATSFanout -benchtime 200000x ./broker/natsbroker/
func BenchmarkNATSFanoutPublish(b *testing.B) {
	needNATS(b)
	prefix := uniquePrefix()
	const window = 8192
	credits := make(chan struct{}, window)
	var got atomic.Int64
	done := make(chan struct{})
	var want atomic.Int64
	recv := newNode(b, realURL, prefix, func(broker.Publication) {
		<-credits
		if got.Add(1) == want.Load() {
			close(done)
		}
	})
	from := newNode(b, realURL, prefix, func(broker.Publication) {})
	const topic = "bench/fanout"
	subscribe(b, recv, topic)
	p := broker.Publication{
		Topic:   topic,
		Payload: json.RawMessage(`{"type":"chat","text":"hello, world: a short message of about a hundred bytes"}`),
		Exclude: []string{"session-1"},
		Origin:  "node-a",
	}
	want.Store(int64(b.N))
	ctx := ctx(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			credits <- struct{}{}
			if err := from.Publish(ctx, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d publications delivered", got.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if n := recv.Dropped(); n > 0 {
		b.Errorf("%d publications dropped", n)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
