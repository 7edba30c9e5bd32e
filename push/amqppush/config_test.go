package amqppush

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/push"
)

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(map[string]any{
		"host": "rabbit", "port": 5673, "login": "u", "password": 1234, "vhost": "app",
		"read_timeout": 30, "write_timeout": "1.5", "connect_timeout": "250ms",
		"queue_name": "q", "exchange_name": "x", "routing_key": "rk", "prefetch": "64",
		"connection_name": "node-1", "persistent": true, "confirm_timeout": 5.0,
		"reconnect_min": "50ms", "reconnect_max": "2s", "consume_delay": 0, "enabled": true, "default": false,
	})
	must(t, err)
	want := Config{Host: "rabbit", Port: 5673, Login: "u", Password: "1234", Vhost: "app",
		ReadTimeout: 30 * time.Second, WriteTimeout: 1500 * time.Millisecond, ConnectTimeout: 250 * time.Millisecond,
		QueueName: "q", ExchangeName: "x", Bind: true, RoutingKey: "rk", Prefetch: 64, ConnectionName: "node-1",
		Persistent: true, ConfirmTimeout: 5 * time.Second, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 2 * time.Second}
	if cfg != want {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}

	// Gos's defaults, and herald's: bind defaults to true from a map.
	cfg, err = ParseConfig(map[string]any{"host": "h", "login": "guest", "password": "guest"})
	must(t, err)
	if !cfg.Bind {
		t.Fatal("bind must default to true")
	}
	if cfg.ConsumeDelay != DefaultConsumeDelay {
		t.Fatalf("consume_delay defaults to %v from a map; want %v, as in herald's YAML", cfg.ConsumeDelay, DefaultConsumeDelay)
	}
	for v, want := range map[any]time.Duration{nil: DefaultConsumeDelay, "1.5": 1500 * time.Millisecond, "0s": 0, 2: 2 * time.Second} {
		cfg, err := ParseConfig(map[string]any{"host": "h", "login": "l", "consume_delay": v})
		must(t, err)
		if cfg.ConsumeDelay != want {
			t.Errorf("consume_delay %v: %v; want %v", v, cfg.ConsumeDelay, want)
		}
	}
	full, err := cfg.withDefaults()
	must(t, err)
	if full.Port != 5672 || full.Vhost != "/" || full.QueueName != "gos_websocket" || full.ExchangeName != "gos_websocket_exchange" ||
		full.RoutingKey != "" || full.Prefetch != 256 || full.ConnectionName != "herald" || full.Persistent ||
		full.ReadTimeout != 0 || full.WriteTimeout != 0 || full.ConnectTimeout != 0 ||
		full.ReconnectMin != 100*time.Millisecond || full.ReconnectMax != 10*time.Second || full.Logger == nil {
		t.Fatalf("defaults %+v", full)
	}
	cfg, err = ParseConfig(map[string]any{"host": "h", "login": "l", "bind": "false"})
	must(t, err)
	if cfg.Bind {
		t.Fatal("bind: false")
	}

	for _, bad := range []map[string]any{
		{"host": "h", "login": "l", "queue": "q"},
		{"host": "h", "login": "l", "port": "http"},
		{"host": "h", "login": "l", "port": 1.5},
		{"host": "h", "login": "l", "bind": "maybe"},
		{"host": "h", "login": "l", "read_timeout": "soon"},
		{"host": "h", "login": "l", "read_timeout": -1},
		{"host": []string{"h"}, "login": "l"},
	} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("ParseConfig(%v): no error", bad)
		}
	}
	for _, bad := range []Config{
		{Login: "l"},
		{Host: "h"},
		{Host: "h", Login: "l", Port: 70000},
		{Host: "h", Login: "l", Prefetch: 70000},
		{Host: "h", Login: "l", WriteTimeout: -time.Second},
		{Host: "h", Login: "l", ConsumeDelay: -time.Second},
	} {
		if _, err := NewHandler(bad); err == nil {
			t.Errorf("NewHandler(%+v): no error", bad)
		}
		if _, err := NewPusher(bad, nil); err == nil {
			t.Errorf("NewPusher(%+v): no error", bad)
		}
	}
}

func TestRegistered(t *testing.T) {
	conf := map[string]any{"host": "127.0.0.1", "login": "guest", "password": "guest", "queue_name": "q"}
	h, err := push.NewHandler("amqp", conf)
	must(t, err)
	if h.Name() != "amqp" || h.(*Handler).cfg.QueueName != "q" || !h.(*Handler).cfg.Bind {
		t.Fatalf("handler %+v", h)
	}
	p, err := push.NewPusher("amqp", conf, nil)
	must(t, err)
	must(t, p.Close()) // never connected
	if _, err := push.NewHandler("amqp", map[string]any{"hots": "x"}); err == nil || !strings.Contains(err.Error(), "hots") {
		t.Fatalf("unknown key: %v", err)
	}
	// Gos 3.x's enabled: false turns the section off: neither side is
	// built from it.
	off := map[string]any{"enabled": false, "host": "127.0.0.1", "login": "guest"}
	if _, err := push.NewHandler("amqp", off); !errors.Is(err, ErrDisabled) {
		t.Fatalf("handler with enabled: false: %v", err)
	}
	if _, err := push.NewPusher("amqp", off, nil); !errors.Is(err, ErrDisabled) {
		t.Fatalf("pusher with enabled: false: %v", err)
	}
	if _, err := ParseConfig(map[string]any{"enabled": "maybe", "host": "h", "login": "l"}); err == nil || errors.Is(err, ErrDisabled) || !strings.Contains(err.Error(), "enabled") {
		t.Fatalf("enabled: maybe: %v", err)
	}
	if h, err := push.NewHandler("amqp", map[string]any{}); err == nil || h != nil {
		t.Fatalf("missing host: %v, %v", h, err)
	}
}

func TestBackoff(t *testing.T) {
	c := Config{ReconnectMin: 100 * time.Millisecond, ReconnectMax: 10 * time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 5: 1600 * time.Millisecond, 8: 10 * time.Second, 200: 10 * time.Second} {
		for i := 0; i < 50; i++ {
			if d := c.backoff(attempt); d < want/2 || d > want {
				t.Fatalf("attempt %d: %v not in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}
