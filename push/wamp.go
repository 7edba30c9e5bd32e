package push

import (
	"context"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/topic"
)

// WAMPPusher pushes as GosWebSocketBundle's WampPusher does: an ordinary
// WAMP v1 client PUBLISH over one connection that is reused and
// reconnected. The server runs the route handler's publish hook, not its
// push hook, as in Gos. By default the data travels as a JSON string (Gos
// serializes it before publishing); Structured sends the JSON itself, as
// Oro's websocket client does.
type WAMPPusher struct {
	conn       *client.Reconnecting
	router     *topic.Router
	structured bool
}

var _ Pusher = (*WAMPPusher)(nil)

// NewWAMPPusher returns a pusher for the server at url (ws:// or wss://).
// opts may carry an Origin header and a ticket (TicketFunc, for long-lived
// pushers, since tickets expire).
func NewWAMPPusher(url string, opts client.Options, router *topic.Router, structured bool) *WAMPPusher {
	return &WAMPPusher{
		conn:       client.NewReconnecting(url, opts, client.Backoff{}),
		router:     router,
		structured: structured,
	}
}

// Push implements Pusher. opts may hold "exclude" and "eligible" session
// id lists ([]string).
func (p *WAMPPusher) Push(ctx context.Context, data any, route string, params map[string]string, opts map[string]any) error {
	channel, err := Channel(p.router, route, params)
	if err != nil {
		return err
	}
	raw, err := Data(data)
	if err != nil {
		return err
	}
	var event any = raw
	if !p.structured {
		event = string(raw) // a JSON string, as Gos's WampPusher sends it
	}
	var popts []client.PublishOption
	if ids, ok := opts["exclude"].([]string); ok && len(ids) > 0 {
		popts = append(popts, client.Exclude(ids...))
	}
	if ids, ok := opts["eligible"].([]string); ok && len(ids) > 0 {
		popts = append(popts, client.Eligible(ids...))
	}
	return p.conn.Publish(ctx, channel, event, popts...)
}

// Close implements Pusher: it closes the connection cleanly.
func (p *WAMPPusher) Close() error { return p.conn.Close() }
