package amqppush

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldws/herald/server"
)

// BenchmarkAMQPToSubscriber measures the whole path: b.N messages
// published through the Pusher (16 concurrent publishers, each waiting for
// its confirm), consumed by the Handler, published by herald to one WAMP
// v1 subscriber. msgs/s is b.N over the time until the subscriber had
// them all. Gos's polling consumer caps at 100 msgs/s (10 messages per
// 0.1 s tick).
//
//	go test -run '^$' -bench AMQPToSubscriber -benchtime 20000x ./push/amqppush/
func BenchmarkAMQPToSubscriber(b *testing.B) {
	cfg := testConfig(b, nil)
	a := newAdmin(b)
	a.deleteAtEnd([]string{cfg.QueueName}, []string{cfg.ExchangeName})
	srv, url := startHerald(b, server.Config{})
	sub := subscribe(b, url, "bench/channel")
	h, err := NewHandler(cfg)
	must(b, err)
	runHandler(b, h, srv, nil)
	a.waitConsumers(cfg.QueueName, 1)
	pcfg := cfg
	pcfg.ConnectionName = unique("bench-pusher")
	p, err := NewPusher(pcfg, nil)
	must(b, err)
	defer p.Close()
	must(b, p.Push(context.Background(), "warm-up", "bench/channel", nil, nil))
	sub.wait(b, 5*time.Second, func(ev []string) bool { return len(ev) == 1 })

	data := map[string]any{"id": 12345, "type": "notification", "message": "You have a new message"}
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := p.Push(context.Background(), data, "bench/channel", nil, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sub.wait(b, time.Minute, func(ev []string) bool { return len(ev) >= b.N+1 })
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
