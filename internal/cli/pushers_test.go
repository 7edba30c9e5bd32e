package cli

import (
	"testing"
	"time"

	"github.com/heraldws/herald/internal/config"
)

// pushers.amqp.consume_delay and pushers.zmq.consume_delay reach the push
// handlers: the default when absent, 0 when written 0s.
func TestPushHandlersGetTheConsumeDelay(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want time.Duration
	}{
		{"", config.DefaultConsumeDelay},
		{"consume_delay: 0s", 0},
		{"consume_delay: 1500ms", 1500 * time.Millisecond},
	} {
		cfg := loadCfg(t, "pushers:\n  amqp: {host: h, login: l, "+tc.key+"}\n  zmq: {host: h, "+tc.key+"}\n")
		if got := amqpConfig(cfg.Pushers.AMQP, nil).ConsumeDelay; got != tc.want {
			t.Errorf("%q: amqp ConsumeDelay %v; want %v", tc.key, got, tc.want)
		}
		if got := zmqConfig(cfg.Pushers.ZMQ, nil).ConsumeDelay; got != tc.want {
			t.Errorf("%q: zmq ConsumeDelay %v; want %v", tc.key, got, tc.want)
		}
	}
}
