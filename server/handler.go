package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldws/herald/topic"
	"github.com/heraldws/herald/wamp"
)

// A Handler gives topics their behaviour, as a PHP topic class did in
// GosWebSocketBundle. Routes name handlers by their callback; a handler
// implements any of SubscribeHandler, UnsubscribeHandler, PublishHandler,
// PushHandler, CallHandler and TimerHandler, and the events it does not
// implement are ignored (a PUBLISH to a handler without OnPublish reaches
// nobody, as with Gos's AbstractTopic).
//
// Handler methods run on the goroutine of the session that sent the event
// (for pushes, of the push consumer): a slow handler delays that session
// only. ctx ends when the session does.
type Handler any

// SubscribeHandler is told about each new subscription. The session is
// already subscribed when it runs (Ratchet's order); an error removes the
// subscription again and is reported to the client (see Denial).
type SubscribeHandler interface {
	OnSubscribe(ctx context.Context, s Session, t *Topic) error
}

// UnsubscribeHandler is told when a session leaves a topic, by UNSUBSCRIBE
// or by disconnecting. The session is no longer counted in t.
type UnsubscribeHandler interface {
	OnUnsubscribe(ctx context.Context, s Session, t *Topic)
}

// PublishHandler receives a client's PUBLISH and decides what reaches the
// subscribers: Broadcast relays it, as Oro's BroadcastTopic does. An error
// is reported to the client (see Denial).
type PublishHandler interface {
	OnPublish(ctx context.Context, s Session, t *Topic, p *PublishEvent) error
}

// PushHandler receives a message pushed by the application's backend (AMQP,
// ZMQ, the HTTP API). An error rejects the push.
type PushHandler interface {
	OnPush(ctx context.Context, t *Topic, p *PushEvent) error
}

// CallHandler answers a CALL whose procedure URI matched its route, from
// a client of either WAMP version. The result is a payload (see
// wamp.PayloadOfV1 for a handler with one value to return). A WAMP v1
// caller gets its v1 form (Payload.V1Event) as Gos sends results: a
// value that is not a JSON array or object is wrapped in a list, and
// null or false is an "RPC Error". An error becomes a CALLERROR (see
// Denial for its code).
type CallHandler interface {
	OnCall(ctx context.Context, s Session, t *Topic, c *CallEvent) (wamp.Payload, error)
}

// TimerHandler declares periodic callbacks that run while a topic has at
// least one subscriber on this node: they start with the first
// subscription and stop when the last subscriber leaves.
type TimerHandler interface {
	Timers(t *Topic) []Timer
}

// Timer is one periodic callback of a topic.
type Timer struct {
	Name  string
	Every time.Duration
	Func  func(t *Topic)
}

// PublishEvent is a client's PUBLISH.
type PublishEvent struct {
	// Payload is what was published: a WAMP v1 event is its only
	// positional argument (wamp.PayloadOfV1); Payload.V1Event gives the
	// event back.
	Payload wamp.Payload
	// Audience is who the publisher asked to receive it.
	Audience
	// Publisher is set when the publisher asked to be disclosed to the
	// subscribers (a WAMP v2 PUBLISH with disclose_me).
	Publisher *Publisher
	// ID is the publication's WAMP v2 id, which a v2 publisher that asked
	// for acknowledge is given; RelayEvent keeps it.
	ID uint64
}

// CallEvent is a client's CALL.
type CallEvent struct {
	// Payload holds the call's arguments: a WAMP v1 CALL's arguments are
	// its positional ones.
	Payload wamp.Payload
}

// Params returns the call's arguments as GosWebSocketBundle's RPC
// handlers get them (Ratchet's rule): the only positional argument when
// there is exactly one and it is a JSON array or object, else the list
// of positional arguments (keyword arguments, which v1 has not, are
// dropped; use Payload for them).
func (c *CallEvent) Params() json.RawMessage {
	if arg, ok := c.Payload.SingleArg(); ok {
		if b := firstNonSpace(arg); b == '[' || b == '{' {
			return arg
		}
	}
	if len(c.Payload.Args) == 0 {
		return json.RawMessage("[]")
	}
	return c.Payload.Args
}

// firstNonSpace returns the first byte of b that is not JSON whitespace.
func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// PushEvent is a backend's push.
type PushEvent struct {
	// Payload is the pushed data: the {"topic","data"} envelope's data is
	// its only positional argument (wamp.PayloadOfV1).
	Payload wamp.Payload
	// Provider names the push handler it came through ("amqp", "zmq",
	// "http"), as Gos's onPush $provider.
	Provider string
	// Audience restricts the recipients as a PUBLISH's lists do (the HTTP
	// API takes them; queues do not).
	Audience
}

// Session is the connection an event comes from, as handlers see it.
type Session interface {
	// ID is the WAMP session id in its v1 string form, the one v1 clients
	// are given.
	ID() string
	// Number is the same id in its WAMP v2 form, an integer in [1, 2^53]
	// (the one v2 clients are given). Audience lists take either form.
	Number() uint64
	// Identity is who the connection authenticated as.
	Identity() Identity
	// SendText sends a raw text frame that is not a WAMP message (Oro does
	// this when it refuses a subscription).
	SendText(text string)
	// Close closes the connection with a WebSocket close code.
	Close(code uint16, reason string)
}

// Topic is the topic (or, for a CALL, the procedure) an event is for, with
// the route that matched it. Route is nil for a topic allowed without one.
type Topic struct {
	srv    *Server
	Name   string
	Route  *topic.Route
	Params map[string]string
}

// Broadcast sends payload to the topic's subscribers on every node, those
// in the audience to (the zero Audience is everyone). ctx bounds the wait
// for the broker (a handler passes the one it was given). An error
// (wrapping broker.ErrUnavailable while the broker is down, or ctx's
// error) means nobody was sent it.
func (t *Topic) Broadcast(ctx context.Context, payload wamp.Payload, to Audience) error {
	return t.srv.Publish(ctx, Publication{Topic: t.Name, Payload: payload, Audience: to})
}

// Relay is Broadcast for a publication that owes nobody an answer, such
// as a client's PUBLISH (WAMP v1 has no acknowledgement for it): it returns
// once the broker has the publication in hand, without waiting for the
// broker's server to confirm it (see broker.Pipeliner), so a client's
// stream of publications is not paced by round trips. It still fails
// while the broker is unavailable.
func (t *Topic) Relay(ctx context.Context, payload wamp.Payload, to Audience) error {
	return t.srv.publish(ctx, Publication{Topic: t.Name, Payload: payload, Audience: to}, false)
}

// RelayEvent relays a client's publication as it came: its payload, its
// audience and, when it asked for it, its publisher's disclosure. A
// publish handler that only checks a publication ends with it.
func (t *Topic) RelayEvent(ctx context.Context, p *PublishEvent) error {
	return t.srv.publish(ctx, Publication{Topic: t.Name, Payload: p.Payload, Audience: p.Audience, Publisher: p.Publisher, ID: p.ID}, false)
}

// BroadcastLocal sends payload to the topic's subscribers on this node
// only (what a periodic timer wants: every node runs its own), those in
// the audience to, and returns how many were sent it.
func (t *Topic) BroadcastLocal(payload wamp.Payload, to Audience) int {
	return t.srv.fanout(Publication{Topic: t.Name, Payload: payload, Audience: to})
}

// Subscribers returns the number of subscribers of the topic on this node.
func (t *Topic) Subscribers() int { return t.srv.hub.count(t.Name) }

// RouteName returns the route's name, or "" when there is none.
func (t *Topic) RouteName() string {
	if t.Route == nil {
		return ""
	}
	return t.Route.Name
}

// Denial is the error a handler returns to refuse an event with a given
// answer to the client. Any other error is reported as a CALLERROR with
// code 500.
type Denial struct {
	// Code goes into the CALLERROR details ({"code": Code}): 401, 403, 404,
	// 500 as Gos uses them. Zero means 403.
	Code int
	// Reason is the CALLERROR description and the log message.
	Reason string
	// Text, when set, is sent as a raw text frame instead of a CALLERROR,
	// as Oro's UserAwareTopicTrait::disallowSubscribe does.
	Text string
	// Details, when set, replaces the CALLERROR details entirely (and a
	// WAMP v2 ERROR's, when it is a JSON object).
	Details json.RawMessage
	// URI, when set, is the error URI a WAMP v2 client gets, such as
	// "app.error.out_of_stock"; otherwise it follows Code (401 and 403:
	// wamp.error.not_authorized, 404: herald.error.no_route or, for a
	// CALL, wamp.error.no_such_procedure, others wamp.error.runtime_error).
	// v1's CALLERROR keeps the topic or procedure as its URI, as Gos does.
	URI string
}

func (d *Denial) Error() string {
	if d.Reason != "" {
		return d.Reason
	}
	if d.Text != "" {
		return d.Text
	}
	return fmt.Sprintf("denied (%d)", d.code())
}

func (d *Denial) code() int {
	if d.Code == 0 {
		return 403
	}
	return d.Code
}

func (d *Denial) details() json.RawMessage {
	if d.Details != nil {
		return d.Details
	}
	return json.RawMessage(fmt.Sprintf(`{"code":%d}`, d.code()))
}

// denialOf returns err as a Denial: itself, or a code-500 one.
func denialOf(err error) *Denial {
	var d *Denial
	if errors.As(err, &d) {
		return d
	}
	return &Denial{Code: 500, Reason: err.Error()}
}

// Access says who may subscribe to or publish on a route's topics.
type Access int

const (
	// Anyone may (the default, as in Gos and Oro).
	Anyone Access = iota
	// Authenticated users only (not anonymous connections).
	Authenticated
	// Backend connections only: the application's own publishers.
	Backend
	// Nobody may.
	Nobody
)

// ParseAccess reads anyone, authenticated, backend or nobody.
func ParseAccess(s string) (Access, error) {
	switch s {
	case "", "anyone":
		return Anyone, nil
	case "authenticated":
		return Authenticated, nil
	case "backend":
		return Backend, nil
	case "nobody":
		return Nobody, nil
	}
	return 0, fmt.Errorf("server: unknown access %q (want anyone, authenticated, backend or nobody)", s)
}

// String returns the configuration name of a.
func (a Access) String() string {
	switch a {
	case Authenticated:
		return "authenticated"
	case Backend:
		return "backend"
	case Nobody:
		return "nobody"
	}
	return "anyone"
}

// allows reports whether id may act under a.
func (a Access) allows(id Identity) bool {
	switch a {
	case Anyone:
		return true
	case Authenticated:
		return id.Authenticated() || id.Backend
	case Backend:
		return id.Backend
	}
	return false
}

// Policy is the access policy of the routes bound to one callback.
type Policy struct {
	Subscribe Access
	Publish   Access
}

// Binding attaches a handler and a policy to a route callback name.
type Binding struct {
	Handler Handler
	Policy  Policy
}
