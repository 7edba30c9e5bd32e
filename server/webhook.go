package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/heraldws/herald/wamp"
)

// Webhook events, the values of WebhookRequest.Event.
const (
	WebhookSubscribe   = "subscribe"
	WebhookUnsubscribe = "unsubscribe"
	WebhookPublish     = "publish"
	WebhookPush        = "push"
	WebhookCall        = "call"
)

// WebhookSignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
// request body keyed with the webhook secret.
const WebhookSignatureHeader = "X-Herald-Signature"

// DefaultWebhookTimeout bounds one webhook request when none is set.
const DefaultWebhookTimeout = 5 * time.Second

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL receives the events as JSON POSTs.
	URL string
	// Secret keys the signature header; empty means unsigned requests.
	Secret string
	// Timeout bounds one request. Zero means DefaultWebhookTimeout.
	Timeout time.Duration
	// Events lists the events sent (subscribe, unsubscribe, publish, push,
	// call). Empty means all. An event not sent behaves as a broadcast
	// topic does: subscriptions allowed, publications and pushes relayed,
	// calls answered "not registered".
	Events []string
	// Client sends the requests. Nil means a client of its own.
	Client *http.Client
}

// Webhook is the built-in handler "webhook": it asks the application over
// HTTP what to do with each event. The request is a WebhookRequest, POSTed
// with WebhookSignatureHeader; the answer is a WebhookResponse. A request
// that fails, times out or answers anything but 2xx with valid JSON denies
// the event with an error and is counted in
// herald_webhook_failures_total. The request runs on the goroutine of the
// session that sent the event, so a slow application delays that session
// only.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

var (
	_ SubscribeHandler   = (*Webhook)(nil)
	_ UnsubscribeHandler = (*Webhook)(nil)
	_ PublishHandler     = (*Webhook)(nil)
	_ PushHandler        = (*Webhook)(nil)
	_ CallHandler        = (*Webhook)(nil)
)

// NewWebhook checks cfg and returns the handler.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if cfg.URL == "" {
		return nil, errors.New("server: webhook needs a URL")
	}
	for _, e := range cfg.Events {
		if !slices.Contains([]string{WebhookSubscribe, WebhookUnsubscribe, WebhookPublish, WebhookPush, WebhookCall}, e) {
			return nil, fmt.Errorf("server: unknown webhook event %q", e)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultWebhookTimeout
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{}
	}
	return &Webhook{cfg: cfg, client: client}, nil
}

// WebhookRequest is the JSON body of a webhook request.
type WebhookRequest struct {
	Event    string            `json:"event"`
	Session  string            `json:"session,omitempty"`
	Identity *WebhookIdentity  `json:"identity,omitempty"`
	Topic    string            `json:"topic"`
	Route    string            `json:"route,omitempty"`
	Params   map[string]string `json:"params,omitempty"`
	// Payload is the event (publish), the data (push) or the call params:
	// for a WAMP v2 payload, its v1 form (see wamp.Payload.V1Event).
	Payload json.RawMessage `json:"payload,omitempty"`
	// Args and Kwargs carry a WAMP v2 payload that one value cannot (several
	// positional arguments, keyword arguments); absent otherwise.
	Args     json.RawMessage `json:"args,omitempty"`
	Kwargs   json.RawMessage `json:"kwargs,omitempty"`
	Exclude  []string        `json:"exclude,omitempty"`
	Eligible []string        `json:"eligible,omitempty"`
	Provider string          `json:"provider,omitempty"`
	// Timestamp is the Unix time of the request, for replay checks.
	Timestamp int64 `json:"timestamp"`
}

// WebhookIdentity is the session's identity in a WebhookRequest.
type WebhookIdentity struct {
	UserID    string   `json:"user_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	Anonymous bool     `json:"anonymous"`
	Backend   bool     `json:"backend"`
}

// WebhookResponse is the JSON answer of the application. An empty 2xx
// body allows the event unchanged.
type WebhookResponse struct {
	// Allow, when false, refuses the event. Absent means true.
	Allow *bool `json:"allow,omitempty"`
	// Reason explains a refusal or an error; it reaches the client.
	Reason string `json:"reason,omitempty"`
	// Code goes into the CALLERROR details of a refusal (default 403).
	Code int `json:"code,omitempty"`
	// Payload, when set, replaces what is broadcast (publish, push).
	Payload json.RawMessage `json:"payload,omitempty"`
	// Result answers a call.
	Result json.RawMessage `json:"result,omitempty"`
	// Error fails a call with a description and optional details.
	Error *WebhookError `json:"error,omitempty"`
}

// WebhookError is a call's failure in a WebhookResponse.
type WebhookError struct {
	Description string          `json:"description"`
	Code        int             `json:"code,omitempty"`
	Details     json.RawMessage `json:"details,omitempty"`
}

// Sign returns the signature header value for body: "sha256=" and the hex
// HMAC-SHA256 keyed with secret. Applications compute the same over the
// raw request body and compare in constant time.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (w *Webhook) sends(event string) bool {
	return len(w.cfg.Events) == 0 || slices.Contains(w.cfg.Events, event)
}

// OnSubscribe implements SubscribeHandler.
func (w *Webhook) OnSubscribe(ctx context.Context, s Session, t *Topic) error {
	if !w.sends(WebhookSubscribe) {
		return nil
	}
	resp, err := w.post(ctx, t, s, &WebhookRequest{Event: WebhookSubscribe})
	if err != nil {
		return err
	}
	return resp.refusal()
}

// OnUnsubscribe implements UnsubscribeHandler. The answer is ignored.
func (w *Webhook) OnUnsubscribe(ctx context.Context, s Session, t *Topic) {
	if w.sends(WebhookUnsubscribe) {
		w.post(ctx, t, s, &WebhookRequest{Event: WebhookUnsubscribe})
	}
}

// OnPublish implements PublishHandler: an allowed publication is
// broadcast, with the payload the application returned if any.
func (w *Webhook) OnPublish(ctx context.Context, s Session, t *Topic, p *PublishEvent) error {
	payload := p.Payload
	if w.sends(WebhookPublish) {
		resp, err := w.post(ctx, t, s, withV2Payload(&WebhookRequest{Event: WebhookPublish, Payload: p.Payload.V1Event(), Exclude: p.Exclude, Eligible: p.Eligible}, p.Payload))
		if err != nil {
			return err
		}
		if err := resp.refusal(); err != nil {
			return err
		}
		if resp.Payload != nil {
			payload = wamp.PayloadOfV1(resp.Payload)
		}
	}
	return t.RelayEvent(ctx, &PublishEvent{Payload: payload, Audience: p.Audience, Publisher: p.Publisher, ID: p.ID})
}

// OnPush implements PushHandler, as OnPublish.
func (w *Webhook) OnPush(ctx context.Context, t *Topic, p *PushEvent) error {
	payload := p.Payload
	if w.sends(WebhookPush) {
		resp, err := w.post(ctx, t, nil, withV2Payload(&WebhookRequest{Event: WebhookPush, Payload: p.Payload.V1Event(), Provider: p.Provider, Exclude: p.Exclude, Eligible: p.Eligible}, p.Payload))
		if err != nil {
			return err
		}
		if err := resp.refusal(); err != nil {
			return err
		}
		if resp.Payload != nil {
			payload = wamp.PayloadOfV1(resp.Payload)
		}
	}
	return t.Broadcast(ctx, payload, p.Audience)
}

// withV2Payload adds a payload's arguments to req when its v1 form does
// not carry them whole: keyword arguments, or positional ones beyond one
// (a call's single argument is its params already).
func withV2Payload(req *WebhookRequest, p wamp.Payload) *WebhookRequest {
	if len(p.Kwargs) > 0 {
		req.Args, req.Kwargs = p.Args, p.Kwargs
	} else if _, single := p.SingleArg(); !single && len(p.Args) > 0 && req.Event != WebhookCall {
		req.Args = p.Args
	}
	return req
}

// OnCall implements CallHandler: the answer's result, or its error.
func (w *Webhook) OnCall(ctx context.Context, s Session, t *Topic, c *CallEvent) (wamp.Payload, error) {
	if !w.sends(WebhookCall) {
		return wamp.Payload{}, &Denial{Code: 404, Reason: fmt.Sprintf("A RPC handler for the %q route has not been registered.", t.RouteName())}
	}
	resp, err := w.post(ctx, t, s, withV2Payload(&WebhookRequest{Event: WebhookCall, Payload: c.Params()}, c.Payload))
	if err != nil {
		return wamp.Payload{}, err
	}
	if err := resp.refusal(); err != nil {
		return wamp.Payload{}, err
	}
	if resp.Error != nil {
		code := resp.Error.Code
		if code == 0 {
			code = 500
		}
		d := &Denial{Code: code, Reason: resp.Error.Description}
		if len(resp.Error.Details) > 0 {
			d.Details = resp.Error.Details
		}
		return wamp.Payload{}, d
	}
	if resp.Result == nil {
		return wamp.Payload{}, nil
	}
	return wamp.PayloadOfV1(resp.Result), nil
}

func (r *WebhookResponse) refusal() error {
	if r.Allow == nil || *r.Allow {
		return nil
	}
	reason := r.Reason
	if reason == "" {
		reason = "refused by the application"
	}
	return &Denial{Code: r.Code, Reason: reason}
}

// post sends one event and decodes the answer. Failures are counted and
// returned as a Denial with code 500 (504 for a timeout).
func (w *Webhook) post(ctx context.Context, t *Topic, s Session, req *WebhookRequest) (*WebhookResponse, error) {
	req.Topic, req.Route, req.Params = t.Name, t.RouteName(), t.Params
	req.Timestamp = time.Now().Unix()
	if s != nil {
		id := s.Identity()
		req.Session = s.ID()
		req.Identity = &WebhookIdentity{UserID: id.UserID, Username: id.Username, Roles: id.Roles, Anonymous: id.Anonymous, Backend: id.Backend}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, w.fail(t, req.Event, "encode", fmt.Errorf("encoding the request: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, w.fail(t, req.Event, "request", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("User-Agent", "herald/"+Version)
	hreq.Header.Set("X-Herald-Event", req.Event)
	if w.cfg.Secret != "" {
		hreq.Header.Set(WebhookSignatureHeader, Sign(w.cfg.Secret, body))
	}
	hresp, err := w.client.Do(hreq)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, w.fail(t, req.Event, "timeout", fmt.Errorf("no answer within %v", w.cfg.Timeout))
		}
		return nil, w.fail(t, req.Event, "request", err)
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, 4<<20))
	if err != nil {
		return nil, w.fail(t, req.Event, "response", fmt.Errorf("reading the answer: %w", err))
	}
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		return nil, w.fail(t, req.Event, "status", fmt.Errorf("the application answered %s", hresp.Status))
	}
	resp := &WebhookResponse{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, resp); err != nil {
			return nil, w.fail(t, req.Event, "response", fmt.Errorf("the answer is not valid JSON: %w", err))
		}
	}
	return resp, nil
}

func (w *Webhook) fail(t *Topic, event, reason string, err error) error {
	t.srv.metrics.webhookFailures.WithLabelValues(event, reason).Inc()
	t.srv.log.Warn("webhook failed", "url", w.cfg.URL, "event", event, "topic", t.Name, "reason", reason, "err", err)
	code := 500
	if reason == "timeout" {
		code = 504
	}
	return &Denial{Code: code, Reason: "webhook failed: " + err.Error()}
}
