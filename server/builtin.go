package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heraldws/herald/wamp"
)

// Broadcast is the built-in handler "broadcast", Oro's BroadcastTopic: a
// PUBLISH is relayed to the topic's subscribers with its exclude and
// eligible lists, and so is a push.
type Broadcast struct{}

var (
	_ PublishHandler = Broadcast{}
	_ PushHandler    = Broadcast{}
)

// OnPublish implements PublishHandler.
func (Broadcast) OnPublish(ctx context.Context, _ Session, t *Topic, p *PublishEvent) error {
	return t.RelayEvent(ctx, p)
}

// OnPush implements PushHandler.
func (Broadcast) OnPush(ctx context.Context, t *Topic, p *PushEvent) error {
	return t.Broadcast(ctx, p.Payload, p.Audience)
}

// Secured is the built-in handler "secured", Oro's SecuredTopic (and, with
// AllowWildcard, Oro's SyncFailTopic): only the authenticated user whose
// id equals the channel parameter Param may subscribe. A refused
// connection leaves the topic and gets the raw text frame Oro sends.
// Publications and pushes are broadcast, as both classes extend
// BroadcastTopic.
type Secured struct {
	Broadcast
	// Param is the channel parameter holding the user id. Zero means
	// "user_id".
	Param string
	// AllowWildcard lets anyone subscribe when the parameter is "*".
	AllowWildcard bool
}

var _ SubscribeHandler = Secured{}

// OnSubscribe implements SubscribeHandler.
func (h Secured) OnSubscribe(_ context.Context, s Session, t *Topic) error {
	param := h.Param
	if param == "" {
		param = "user_id"
	}
	value := t.Params[param]
	if h.AllowWildcard && value == "*" {
		return nil
	}
	if sameUser(s.Identity(), value) {
		return nil
	}
	return &Denial{
		Code:   403,
		Reason: fmt.Sprintf("user %q may not subscribe to %q", s.Identity().UserID, t.Name),
		Text:   fmt.Sprintf("You are not allowed to subscribe on topic %q.", t.Name),
	}
}

// sameUser compares a user id with a channel parameter as Oro does: both
// as integers (ParameterBag::getInt), and 0 never matches. Non-numeric ids
// (applications other than Oro) compare as strings.
func sameUser(id Identity, value string) bool {
	if !id.Authenticated() || value == "" {
		return false
	}
	a, errA := strconv.ParseInt(strings.TrimSpace(id.UserID), 10, 64)
	b, errB := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if errA == nil && errB == nil {
		return a != 0 && a == b
	}
	return id.UserID == value
}

// Ping is the built-in handler "ping", Oro's WebsocketPingTopic: while the
// topic has subscribers on this node it broadcasts Message every
// Interval, so proxies never see the connection idle. Publications are
// ignored.
type Ping struct {
	// Interval is the period. Zero means 50 s, Oro's default.
	Interval time.Duration
	// Message is the event broadcast, as JSON. Zero means the string
	// "Connection keep alive".
	Message json.RawMessage
}

var (
	_ TimerHandler   = Ping{}
	_ PublishHandler = Ping{}
)

// DefaultPingInterval and DefaultPingMessage are Oro's ping settings.
const DefaultPingInterval = 50 * time.Second

// DefaultPingMessage is what Oro's WebsocketPingTopic broadcasts.
var DefaultPingMessage = json.RawMessage(`"Connection keep alive"`)

// Timers implements TimerHandler.
func (h Ping) Timers(*Topic) []Timer {
	interval, msg := h.Interval, h.Message
	if interval <= 0 {
		interval = DefaultPingInterval
	}
	if len(msg) == 0 {
		msg = DefaultPingMessage
	}
	payload := wamp.PayloadOfV1(msg)
	return []Timer{{Name: "ping", Every: interval, Func: func(t *Topic) { t.BroadcastLocal(payload, Audience{}) }}}
}

// OnPublish implements PublishHandler: publications are dropped.
func (Ping) OnPublish(context.Context, Session, *Topic, *PublishEvent) error { return nil }

// Deny is the built-in handler "deny": nobody may subscribe, publish, push
// or call.
type Deny struct{}

var (
	_ SubscribeHandler = Deny{}
	_ PublishHandler   = Deny{}
	_ PushHandler      = Deny{}
	_ CallHandler      = Deny{}
)

func denied(t *Topic, what string) error {
	return &Denial{Code: 403, Reason: fmt.Sprintf("%s %q is denied", what, t.Name)}
}

// OnSubscribe implements SubscribeHandler.
func (Deny) OnSubscribe(_ context.Context, _ Session, t *Topic) error {
	return denied(t, "subscribing to")
}

// OnPublish implements PublishHandler.
func (Deny) OnPublish(_ context.Context, _ Session, t *Topic, _ *PublishEvent) error {
	return denied(t, "publishing to")
}

// OnPush implements PushHandler.
func (Deny) OnPush(_ context.Context, t *Topic, _ *PushEvent) error {
	return denied(t, "pushing to")
}

// OnCall implements CallHandler.
func (Deny) OnCall(_ context.Context, _ Session, t *Topic, _ *CallEvent) (wamp.Payload, error) {
	return wamp.Payload{}, denied(t, "calling")
}

// OroHandlers binds the callbacks of OroPlatform's websocket_routing.yml
// files to the built-in handlers that behave as their PHP topic classes.
func OroHandlers() map[string]Binding {
	secured := Binding{Handler: Secured{}}
	broadcast := Binding{Handler: Broadcast{}}
	return map[string]Binding{
		"oro_sync.ping":                             {Handler: Ping{}},
		"oro_sync.data_update":                      broadcast,
		"oro_sync.maintenance":                      broadcast,
		"oro_email.event":                           secured,
		"oro_entity_config.attribute_import":        secured,
		"oro_imap.sync_fail":                        {Handler: Secured{AllowWildcard: true}},
		"oro_message_queue.message_queue_heartbeat": broadcast,
		"oro_reminder.remind":                       secured,
		"oro_user.outdated_user_page":               broadcast,
	}
}
