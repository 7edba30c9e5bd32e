package amqppush

import (
	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/topic"
)

func init() {
	push.RegisterHandler(Name, newHandlerFromMap)
	push.RegisterPusher(Name, newPusherFromMap)
}

// newHandlerFromMap is the registered push.HandlerFactory.
func newHandlerFromMap(m map[string]any) (push.Handler, error) {
	cfg, err := ParseConfig(m)
	if err != nil {
		return nil, err
	}
	h, err := NewHandler(cfg)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// newPusherFromMap is the registered push.PusherFactory.
func newPusherFromMap(m map[string]any, router *topic.Router) (push.Pusher, error) {
	cfg, err := ParseConfig(m)
	if err != nil {
		return nil, err
	}
	p, err := NewPusher(cfg, router)
	if err != nil {
		return nil, err
	}
	return p, nil
}
