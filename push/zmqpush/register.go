package zmqpush

import (
	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/topic"
)

// init registers the transport as "zmq": `pushers: zmq:` in herald's
// configuration and `herald push --via zmq`, both configured by
// ParseConfig's keys.
func init() {
	push.RegisterHandler(Name, func(config map[string]any) (push.Handler, error) {
		cfg, err := ParseConfig(config)
		if err != nil {
			return nil, err
		}
		h, err := NewHandler(cfg)
		if err != nil {
			return nil, err
		}
		return h, nil
	})
	push.RegisterPusher(Name, func(config map[string]any, router *topic.Router) (push.Pusher, error) {
		cfg, err := ParseConfig(config)
		if err != nil {
			return nil, err
		}
		p, err := NewPusher(cfg, router)
		if err != nil {
			return nil, err
		}
		return p, nil
	})
}
