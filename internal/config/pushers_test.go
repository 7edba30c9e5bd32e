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

func TestConsumeDelayNegative(t *testing.T) {
	_, err := parsePushers(t, "pushers:\n  amqp:\n    host: h\n    consume_delay: -1s\n  zmq:\n    host: h\n    consume_delay: -2\n")
	want := []string{
		"c.yaml:4: pushers.amqp.consume_delay: -1s is negative (0 consumes at once)",
		"c.yaml:7: pushers.zmq.consume_delay: -2s is negative (0 binds at once)",
	}
	if got := errLines(err); !slices.Equal(got, want) {
		t.Errorf("Validate() =\n%s\nwant\n%s", got, want)
	}
}
