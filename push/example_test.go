package push_test

import (
	"context"
	"fmt"
	"log"

	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/topic"
)

// lineHandler is a custom push handler: it receives message bodies from a
// channel (a stand-in for Kafka, SQS, ...) and hands them to herald.
type lineHandler struct{ bodies <-chan []byte }

func (lineHandler) Name() string { return "lines" }

func (h lineHandler) Run(ctx context.Context, sink push.Sink, report func(push.Event)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case body := <-h.bodies:
			// Deliver decodes {"topic", "data"}, routes it and runs the
			// route handler's push hook, as every built-in transport does.
			report(push.Deliver(ctx, h.Name(), body, sink))
		}
	}
}

// printPusher is a custom pusher: it generates the channel through the
// routing and prints the envelope instead of sending it.
type printPusher struct{ router *topic.Router }

func (p printPusher) Push(_ context.Context, data any, route string, params map[string]string, _ map[string]any) error {
	channel, err := push.Channel(p.router, route, params)
	if err != nil {
		return err
	}
	body, err := push.Encode(channel, data)
	if err != nil {
		return err
	}
	fmt.Println(string(body))
	return nil
}

func (printPusher) Close() error { return nil }

// Custom transports register by name, so configuration and `herald push
// --via` can find them.
func Example_customTransport() {
	push.RegisterHandler("lines", func(map[string]any) (push.Handler, error) {
		return lineHandler{bodies: make(chan []byte)}, nil
	})
	push.RegisterPusher("print", func(_ map[string]any, router *topic.Router) (push.Pusher, error) {
		return printPusher{router: router}, nil
	})

	router, err := topic.NewRouter([]*topic.Route{{Name: "chat", Pattern: "acme/chat/{room}", Callback: "acme.chat"}}, topic.Options{})
	if err != nil {
		log.Fatal(err)
	}
	p, err := push.NewPusher("print", nil, router)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if err := p.Push(context.Background(), map[string]string{"msg": "hi"}, "chat", map[string]string{"room": "lobby"}, nil); err != nil {
		log.Fatal(err)
	}
	// Output: {"topic":"acme/chat/lobby","data":{"msg":"hi"}}
}
