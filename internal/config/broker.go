package config

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

func (c *Config) validateBroker() []error {
	switch c.Broker.Type {
	case "", "memory", "redis", "nats":
		return nil
	}
	return []error{c.Errorf("broker.type", "%q is not one of memory, redis, nats", c.Broker.Type)}
}
