package cli

import (
	"log/slog"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/broker/natsbroker"
	"github.com/heraldws/herald/broker/redisbroker"
	"github.com/heraldws/herald/internal/config"
)

// brokerFactory returns the server's broker constructor for the broker
// section; nil means the in-memory default.
func brokerFactory(c config.Broker, nodeID string, log *slog.Logger) func(broker.Deliver) (broker.Broker, error) {
	switch c.Type {
	case "redis":
		return func(d broker.Deliver) (broker.Broker, error) {
			return redisbroker.New(redisbroker.Config{URL: c.URL, Prefix: c.Prefix, NodeID: nodeID, Logger: log}, d)
		}
	case "nats":
		return func(d broker.Deliver) (broker.Broker, error) {
			return natsbroker.New(natsbroker.Config{URL: c.URL, Prefix: c.Prefix, NodeID: nodeID, Logger: log}, d)
		}
	}
	return nil
}
