package config

import (
	"net/url"
	"slices"
	"strings"
)

// Broker is the broker section: how several herald nodes share topics.
type Broker struct {
	// Type is memory (one node, the default), redis or nats.
	Type string `yaml:"type"`
	// URL of the Redis (redis://host:6379/0) or NATS (nats://host:4222)
	// server. Default: the local one.
	URL string `yaml:"url"`
	// Prefix of the Redis channels or NATS subjects, so several clusters
	// can share one server. Default "herald:" (Redis), "herald" (NATS).
	Prefix string `yaml:"prefix"`
}

// brokerSchemes are the URL schemes each broker type's client accepts.
var brokerSchemes = map[string][]string{
	"redis": {"redis", "rediss", "unix"},
	"nats":  {"nats", "tls", "ws", "wss"},
}

func (c *Config) validateBroker() []error {
	b := c.Broker
	switch b.Type {
	case "", "memory":
		return nil
	case "redis", "nats":
	default:
		return []error{c.Errorf("broker.type", "%q is not one of memory, redis, nats", b.Type)}
	}
	if b.URL == "" {
		return nil
	}
	urls := []string{b.URL}
	if b.Type == "nats" { // a NATS client takes a comma-separated server list
		urls = strings.Split(b.URL, ",")
	}
	for _, raw := range urls {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			return []error{c.Errorf("broker.url", "%q: %w", raw, err)}
		}
		if want := brokerSchemes[b.Type]; !slices.Contains(want, u.Scheme) {
			return []error{c.Errorf("broker.url", "%q: a %s URL starts with %s://", raw, b.Type, strings.Join(want, ":// or "))}
		}
	}
	return nil
}
