package config

import (
	"slices"
	"testing"
	"time"
)

// parsePushers parses a pushers section and validates it.
func parsePushers(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	c, err := ParseWithEnv([]byte(yaml), "c.yaml", noEnv)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c, c.Validate()
}

func TestPushersEnabled(t *testing.T) {
	tests := []struct {
		name             string
		yaml             string
		amqp, zmq, wamp  bool // On
		amqpRuns, zmqRun bool // Active
		disabled         []string
	}{
		{name: "no section"},
		{name: "a host is enough (Gos 1.x)",
			yaml: "pushers:\n  amqp: {host: h, login: l}\n  zmq: {host: h}\n  wamp: {host: h, port: 8080}\n",
			amqp: true, zmq: true, wamp: true, amqpRuns: true, zmqRun: true},
		{name: "enabled true",
			yaml: "pushers:\n  amqp: {enabled: true, host: h}\n  zmq: {enabled: true, host: h}\n  wamp: {enabled: true, host: h, port: 1}\n",
			amqp: true, zmq: true, wamp: true, amqpRuns: true, zmqRun: true},
		{name: "enabled false wins over a host (Gos 3.x's default)",
			yaml:     "pushers:\n  amqp: {enabled: false, host: h, login: l}\n  zmq: {enabled: false, host: h}\n  wamp: {enabled: false, host: h, port: 1}\n",
			disabled: []string{"amqp", "zmq", "wamp"}},
		{name: "enabled false without a host",
			yaml:     "pushers:\n  amqp: {enabled: false}\n  wamp: {enabled: false}\n",
			disabled: []string{"amqp", "wamp"}},
		{name: "consume false keeps the pusher",
			yaml: "pushers:\n  amqp: {host: h, consume: false}\n  zmq: {host: h, consume: false}\n",
			amqp: true, zmq: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parsePushers(t, tc.yaml)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			p := c.Pushers
			if p.AMQP.On() != tc.amqp || p.ZMQ.On() != tc.zmq || p.WAMP.On() != tc.wamp {
				t.Errorf("On: amqp %v zmq %v wamp %v; want %v %v %v", p.AMQP.On(), p.ZMQ.On(), p.WAMP.On(), tc.amqp, tc.zmq, tc.wamp)
			}
			if p.AMQP.Active() != tc.amqpRuns || p.ZMQ.Active() != tc.zmqRun {
				t.Errorf("Active: amqp %v zmq %v; want %v %v", p.AMQP.Active(), p.ZMQ.Active(), tc.amqpRuns, tc.zmqRun)
			}
			var disabled []string
			for name, d := range map[string]bool{"amqp": p.AMQP.Disabled(), "zmq": p.ZMQ.Disabled(), "wamp": p.WAMP.Disabled()} {
				if d {
					disabled = append(disabled, name)
				}
			}
			slices.Sort(disabled)
			want := slices.Sorted(slices.Values(tc.disabled))
			if !slices.Equal(disabled, want) {
				t.Errorf("Disabled: %q; want %q", disabled, want)
			}
		})
	}
}

func TestConsumeDelay(t *testing.T) {
	tests := []struct {
		value string // "" leaves the key out
		want  time.Duration
	}{
		{"", DefaultConsumeDelay},
		{"~", DefaultConsumeDelay}, // null keeps the default, as everywhere
		{"0", 0},
		{"0s", 0},
		{"2", 2 * time.Second},
		{"1500ms", 1500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run("consume_delay "+tc.value, func(t *testing.T) {
			key := ""
			if tc.value != "" {
				key = ", consume_delay: " + tc.value
			}
			c, err := parsePushers(t, "pushers:\n  amqp: {host: h"+key+"}\n  zmq: {host: h"+key+"}\n")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Pushers.AMQP.Delay(); got != tc.want {
				t.Errorf("amqp Delay() = %v; want %v", got, tc.want)
			}
			if got := c.Pushers.ZMQ.Delay(); got != tc.want {
				t.Errorf("zmq Delay() = %v; want %v", got, tc.want)
			}
		})
	}
	if got := Default().Pushers.AMQP.Delay(); got != DefaultConsumeDelay {
		t.Errorf("Default() amqp Delay() = %v", got)
	}
}

func TestPushersValidation(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"enabled true needs a host", "pushers:\n  amqp:\n    enabled: true\n  zmq:\n    enabled: true\n  wamp:\n    enabled: true\n    port: 8080\n",
			[]string{
				"c.yaml:2: pushers.amqp.host: required when pushers.amqp.enabled is true",
				"c.yaml:4: pushers.zmq.host: required when pushers.zmq.enabled is true",
				"c.yaml:6: pushers.wamp.host: required when pushers.wamp.enabled is true",
			}},
		{"negative delays", "pushers:\n  amqp:\n    host: h\n    consume_delay: -1s\n  zmq:\n    host: h\n    consume_delay: -2\n",
			[]string{
				"c.yaml:4: pushers.amqp.consume_delay: -1s is negative (0 consumes at once)",
				"c.yaml:7: pushers.zmq.consume_delay: -2s is negative (0 binds at once)",
			}},
		{"wamp needs a port, as in Gos", "pushers:\n  wamp:\n    host: 127.0.0.1\n",
			[]string{"c.yaml:2: pushers.wamp.port: required with pushers.wamp.host (the port of herald serve, such as 8080)"}},
		{"ports out of range", "pushers:\n  amqp: {host: h, port: 70000}\n  wamp:\n    host: h\n    port: -1\n",
			[]string{
				"c.yaml:2: pushers.amqp.port: 70000 is out of range 1..65535",
				"c.yaml:5: pushers.wamp.port: -1 is out of range 1..65535",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parsePushers(t, tc.yaml)
			if got := errLines(err); !slices.Equal(got, tc.want) {
				t.Errorf("Validate() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// Gos 3.x's pushers section, as its documentation writes it, loads as it
// is: enabled, host, port, ssl and origin of the WAMP pusher included.
func TestGos3PushersSection(t *testing.T) {
	c, err := parsePushers(t, `pushers:
  wamp:
    enabled: true
    host: 127.0.0.1
    port: 8080
    ssl: true
    origin: app.example.com
  amqp:
    enabled: false
    host: 127.0.0.1
    port: 5672
    login: guest
    password: guest
    vhost: /
    read_timeout: 0
    write_timeout: 0
    connect_timeout: 0
    queue_name: gos_websocket
    exchange_name: gos_websocket_exchange
`)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	w := c.Pushers.WAMP
	if !w.On() || w.Host != "127.0.0.1" || w.Port != 8080 || !w.SSL || w.Origin != "app.example.com" {
		t.Errorf("pushers.wamp = %+v (On %v)", w, w.On())
	}
	if c.Pushers.AMQP.On() || c.Pushers.AMQP.Active() || !c.Pushers.AMQP.Disabled() {
		t.Errorf("pushers.amqp with enabled: false is on: %+v", c.Pushers.AMQP)
	}
	if len(c.Warnings()) != 0 {
		t.Errorf("warnings: %v", c.Warnings())
	}
}
