package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// The dialects of Options.Protocol: the WebSocket subprotocol each offers.
const (
	// ProtocolV1 is WAMP v1, the default.
	ProtocolV1 = wamp.V1Subprotocol
	// ProtocolV2JSON is WAMP v2 with JSON in text frames.
	ProtocolV2JSON = wamp.V2JSONSubprotocol
	// ProtocolV2MsgPack is WAMP v2 with MessagePack in binary frames.
	ProtocolV2MsgPack = wamp.V2MsgPackSubprotocol
	// ProtocolV2CBOR is WAMP v2 with CBOR in binary frames.
	ProtocolV2CBOR = wamp.V2CBORSubprotocol
)

// DefaultRealm is the realm a v2 HELLO asks for when Options.Realm is
// empty.
const DefaultRealm = "realm1"

// DefaultRequestTimeout bounds the v2 requests of the methods without a
// context when Options.RequestTimeout is zero.
const DefaultRequestTimeout = 10 * time.Second

// URIRuntimeError is the error URI of the ERROR sent for an invocation
// whose handler failed with an error that is not a *CallError, with the
// error's text as the only positional argument. autobahn uses the same
// URI for a callee's unexpected exceptions.
const URIRuntimeError = "wamp.error.runtime_error"

// agent is HELLO.Details.agent.
const agent = "herald-client"

// ErrNotV2 is returned by the methods that exist in WAMP v2 only
// (SubscribeWith, PublishV2, CallV2, Register, ...) on a v1 Client.
var ErrNotV2 = errors.New("client: not a WAMP v2 session (see Options.Protocol)")

// isV2Protocol reports whether Options.Protocol selects WAMP v2.
func isV2Protocol(p string) (bool, error) {
	switch p {
	case "", ProtocolV1:
		return false, nil
	case ProtocolV2JSON, ProtocolV2MsgPack, ProtocolV2CBOR:
		return true, nil
	}
	return false, fmt.Errorf("client: unknown protocol %q (want %q, %q, %q or %q)", p,
		ProtocolV1, ProtocolV2JSON, ProtocolV2MsgPack, ProtocolV2CBOR)
}

// AbortError is the error of a v2 Dial the router answered with ABORT, such
// as wamp.error.no_such_realm or wamp.error.authentication_failed. Find it
// with errors.As.
type AbortError struct {
	// Reason is the ABORT.Reason URI.
	Reason string
	// Message is ABORT.Details.message, if any.
	Message string
	// Details is the ABORT.Details dict as raw JSON.
	Details json.RawMessage
}

// Error implements error.
func (e *AbortError) Error() string {
	if e.Message == "" {
		return "client: the router aborted the session: " + e.Reason
	}
	return fmt.Sprintf("client: the router aborted the session: %s: %s", e.Reason, e.Message)
}

// RequestError is a v2 ERROR answering a SUBSCRIBE, UNSUBSCRIBE, PUBLISH,
// REGISTER or UNREGISTER. (An ERROR answering a CALL is a *CallError.)
type RequestError struct {
	// Request names the request: "SUBSCRIBE", "PUBLISH", ...
	Request string
	// URI is the error URI, such as wamp.error.invalid_uri.
	URI string
	// Payload holds the ERROR's arguments, often a message.
	Payload wamp.Payload
	// Details is the ERROR.Details dict, nil when empty.
	Details json.RawMessage
}

// Error implements error.
func (e *RequestError) Error() string {
	return "client: " + e.Request + " refused: " + e.URI + payloadSuffix(e.Payload)
}

// payloadSuffix formats the non-empty parts of an error payload.
func payloadSuffix(p wamp.Payload) string {
	var s string
	if !emptyJSON(p.Args) {
		s += " " + string(p.Args)
	}
	if !emptyJSON(p.Kwargs) {
		s += " " + string(p.Kwargs)
	}
	return s
}

// emptyJSON reports whether raw is absent, or an empty list or dict.
func emptyJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	if len(t) < 2 {
		return len(t) == 0
	}
	return (t[0] == '[' || t[0] == '{') && len(bytes.TrimSpace(t[1:len(t)-1])) == 0
}

// Event is a WAMP v2 event, as Options.OnEventV2 receives it.
type Event struct {
	// Topic is the publication's topic: EVENT.Details.topic, which the
	// router sends for pattern subscriptions, else the subscribed topic.
	Topic string
	// Subscription is the subscription id the event came on (as
	// SubscribeWith returned it).
	Subscription uint64
	// Publication is the publication id, as PublishV2 returns it.
	Publication uint64
	// Payload holds the event's arguments.
	Payload wamp.Payload
	// Publisher, PublisherAuthID and PublisherAuthRole identify the
	// publisher when it asked for disclose_me and the router allowed it;
	// zero otherwise.
	Publisher                          uint64
	PublisherAuthID, PublisherAuthRole string
	// Details is the EVENT.Details dict as raw JSON.
	Details json.RawMessage
}

// SubscribeOptions are the options of SubscribeWith.
type SubscribeOptions struct {
	// Match is the match policy: wamp.MatchPolicyExact (the default),
	// wamp.MatchPolicyPrefix or wamp.MatchPolicyWildcard.
	Match wamp.MatchPolicy
}

// PublishOptions are the options of PublishV2. The zero value publishes
// with the router's defaults and no acknowledgement.
type PublishOptions struct {
	// Acknowledge asks for a PUBLISHED answer: PublishV2 then waits for it
	// and returns the publication id, or the router's refusal.
	Acknowledge bool
	// ExcludeMe, when not nil, sends exclude_me; the router's default is
	// true (the publisher does not receive its own event).
	ExcludeMe *bool
	// Exclude lists session ids that must not receive the event.
	Exclude []uint64
	// Eligible, when not nil, lists the only session ids that may receive
	// it; an empty non-nil list admits nobody.
	Eligible []uint64
	// ExcludeAuthID and ExcludeAuthRole exclude sessions by authid and
	// authrole.
	ExcludeAuthID, ExcludeAuthRole []string
	// EligibleAuthID and EligibleAuthRole, when not nil, admit only the
	// sessions with those authids and authroles.
	EligibleAuthID, EligibleAuthRole []string
	// DiscloseMe asks the router to tell subscribers who published (see
	// Event.Publisher); a router may refuse, with
	// wamp.error.option_disallowed.disclose_me when acknowledged.
	DiscloseMe bool
}

// v2session is the WAMP v2 state of a Client.
type v2session struct {
	codec   wamp.Codec
	op      byte // the frame opcode of the codec
	session uint64
	welcome wamp.WelcomeDetails
	nextReq atomic.Uint64

	// ctx is the parent of the invocation handlers' contexts; cancel ends
	// it on Close or when the connection goes.
	ctx    context.Context
	cancel context.CancelFunc

	byeSent    bool          // a GOODBYE went out; guarded by the Client's wmu
	gotGoodbye chan struct{} // closed when the router answers our GOODBYE
	byeOnce    sync.Once

	handlers sync.WaitGroup // running invocation handlers

	mu      sync.Mutex // guards the fields below
	pending map[uint64]*request
	subs    map[uint64]*subscription
	regs    map[uint64]*registration
	invs    map[uint64]*invocationState // running invocations by INVOCATION.Request
	closing bool                        // Close has begun: no new handlers
	ended   bool
	endErr  error
	reason  string // the URI of the router's GOODBYE or ABORT
}

type subscription struct {
	topic string
	match wamp.MatchPolicy
}

type registration struct {
	procedure string
	handler   Handler
}

// request is a v2 request waiting for its answer. Exactly one reply is
// sent to done, by whoever takes the request out of pending: the reader
// when the answer comes, end when the session goes, or the requester
// itself when its write fails.
type request struct {
	typ  int // the request's message type, such as wamp.V2Subscribe
	done chan v2reply

	abandoned bool // the requester stopped waiting; guarded by v2session.mu

	topic     string           // SUBSCRIBE
	match     wamp.MatchPolicy // SUBSCRIBE
	procedure string           // REGISTER
	handler   Handler          // REGISTER
	target    uint64           // UNSUBSCRIBE, UNREGISTER: the subscription or registration

	// Progressive results of a CALL: the reader appends and signals
	// notify, the caller drains.
	pmu      sync.Mutex
	progress []wamp.Payload
	notify   chan struct{}
}

type v2reply struct {
	msg wamp.Message
	err error
}

func newV2Session(codec wamp.Codec) *v2session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &v2session{
		codec:      codec,
		op:         ws.OpText,
		ctx:        ctx,
		cancel:     cancel,
		gotGoodbye: make(chan struct{}),
		pending:    make(map[uint64]*request),
		subs:       make(map[uint64]*subscription),
		regs:       make(map[uint64]*registration),
		invs:       make(map[uint64]*invocationState),
	}
	if codec.Binary() {
		s.op = ws.OpBinary
	}
	return s
}

// add registers req and returns its request id.
func (s *v2session) add(req *request) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return 0, s.endErr
	}
	id := s.nextReq.Add(1)
	s.pending[id] = req
	return id, nil
}

// take removes and returns the pending request id, nil if there is none.
// s.mu is held.
func (s *v2session) takeLocked(id uint64) *request {
	req := s.pending[id]
	delete(s.pending, id)
	return req
}

// abandon gives up waiting for request id: it reports true when the
// request was still pending (it is now marked abandoned, and its answer
// will be undone or dropped), false when its reply is in req.done or on
// its way.
func (s *v2session) abandon(id uint64, req *request, forget bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[id] != req {
		return false
	}
	req.abandoned = true
	if forget {
		delete(s.pending, id)
	}
	return true
}

// end fails every pending request with err and cancels the handlers'
// contexts. The first call wins.
func (s *v2session) end(err error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.endErr = true, err
	pending := s.pending
	s.pending = make(map[uint64]*request)
	s.mu.Unlock()
	s.cancel()
	for _, req := range pending {
		req.done <- v2reply{err: err}
	}
}

// stopHandlers cancels the handlers' contexts, refuses new invocations and
// returns a channel closed once every handler has returned.
func (s *v2session) stopHandlers() <-chan struct{} {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	return done
}

// SessionNumber returns the WAMP v2 session id from the WELCOME; 0 for a v1
// session.
func (c *Client) SessionNumber() uint64 {
	if c.v2 == nil {
		return 0
	}
	return c.v2.session
}

// WelcomeDetails returns what the router's WELCOME.Details told about a v2
// session: AuthID, AuthRole, AuthMethod, AuthProvider, AuthExtra, Agent and
// the router's Roles with the features it announced (in name order). It is
// the zero value for a v1 session.
func (c *Client) WelcomeDetails() wamp.WelcomeDetails {
	if c.v2 == nil {
		return wamp.WelcomeDetails{}
	}
	d := c.v2.welcome
	roles := make(map[string][]string, len(d.Roles))
	for r, f := range d.Roles {
		roles[r] = slices.Clone(f)
	}
	d.Roles = roles
	return d
}

// GoodbyeReason returns the reason URI of the GOODBYE or ABORT with which
// the router ended a v2 session, such as wamp.close.system_shutdown; "" if
// it sent none (yet), and for v1.
func (c *Client) GoodbyeReason() string {
	if c.v2 == nil {
		return ""
	}
	c.v2.mu.Lock()
	defer c.v2.mu.Unlock()
	return c.v2.reason
}

// helloDetails builds HELLO.Details.
func helloDetails(opts *Options) (json.RawMessage, error) {
	type role struct {
		Features map[string]bool `json:"features"`
	}
	features := func(names ...string) role {
		m := make(map[string]bool, len(names))
		for _, n := range names {
			m[n] = true
		}
		return role{m}
	}
	methods := opts.AuthMethods
	if methods == nil {
		if opts.Secret != "" {
			methods = append(methods, wamp.AuthWAMPCRA)
		}
		if opts.Ticket != "" || opts.TicketFunc != nil {
			methods = append(methods, wamp.AuthTicket)
		}
	}
	d := struct {
		Agent       string          `json:"agent"`
		Roles       map[string]role `json:"roles"`
		AuthID      string          `json:"authid,omitempty"`
		AuthMethods []string        `json:"authmethods,omitempty"`
	}{
		Agent: agent,
		Roles: map[string]role{
			wamp.RolePublisher: features(wamp.FeaturePublisherExclusion, wamp.FeaturePublisherIdentification,
				wamp.FeatureSubscriberBlackWhiteListing),
			wamp.RoleSubscriber: features(wamp.FeaturePatternBasedSubscription, wamp.FeaturePublisherIdentification,
				wamp.FeatureSubscriptionRevocation),
			wamp.RoleCaller: features(wamp.FeatureCallCanceling, wamp.FeatureCallTimeout,
				wamp.FeatureCallerIdentification, wamp.FeatureProgressiveCallResults),
			wamp.RoleCallee: features(wamp.FeatureCallCanceling, wamp.FeatureCallTimeout,
				wamp.FeatureCallerIdentification, wamp.FeaturePatternBasedRegistration,
				wamp.FeatureProgressiveCallResults, wamp.FeatureRegistrationRevocation,
				wamp.FeatureSharedRegistration),
		},
		AuthID:      opts.AuthID,
		AuthMethods: methods,
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("client: HELLO details: %w", err)
	}
	return b, nil
}

// establishV2 sends HELLO and reads until WELCOME, answering CHALLENGEs.
func (c *Client) establishV2(ctx context.Context) error {
	return c.readUntilWelcome(ctx, c.establishV2Messages)
}

func (c *Client) establishV2Messages() error {
	details, err := helloDetails(&c.opts)
	if err != nil {
		return err
	}
	realm := c.opts.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	if err := c.sendV2(&wamp.Hello{Realm: realm, Details: details}); err != nil {
		return err
	}
	for {
		op, p, err := c.r.ReadMessage()
		if err != nil {
			return fmt.Errorf("client: waiting for WELCOME: %w", err)
		}
		switch op {
		case ws.OpPing:
			if err := c.write(ws.OpPong, p, false); err != nil {
				return err
			}
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			code, reason, _ := ws.ParseClosePayload(p)
			return fmt.Errorf("client: server closed the connection before WELCOME: %w", &ws.CloseError{Code: code, Reason: reason})
		}
		m, err := c.v2.codec.Decode(p)
		if err != nil {
			return fmt.Errorf("client: waiting for WELCOME: %w", err)
		}
		switch m := m.(type) {
		case *wamp.Welcome:
			c.v2.session = m.Session
			c.v2.welcome = parseWelcomeDetails(m.Details)
			c.sessionID = strconv.FormatUint(m.Session, 10)
			c.ident = c.v2.welcome.Agent
			return nil
		case *wamp.Abort:
			return abortError(m)
		case *wamp.Challenge:
			sig, err := c.answerChallenge(m)
			if err != nil {
				return err
			}
			if err := c.sendV2(&wamp.Authenticate{Signature: sig}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("client: got %s before WELCOME", m.Kind())
		}
	}
}

func abortError(m *wamp.Abort) *AbortError {
	var d struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(m.Details, &d)
	return &AbortError{Reason: m.Reason, Message: d.Message, Details: m.Details}
}

// answerChallenge computes the AUTHENTICATE signature for a CHALLENGE.
func (c *Client) answerChallenge(m *wamp.Challenge) (string, error) {
	switch m.AuthMethod {
	case wamp.AuthTicket:
		ticket := c.opts.Ticket
		if c.opts.TicketFunc != nil {
			var err error
			if ticket, err = c.opts.TicketFunc(); err != nil {
				return "", fmt.Errorf("client: minting a ticket: %w", err)
			}
		}
		if ticket == "" {
			return "", errors.New("client: the router asked for a ticket and Options has none")
		}
		return ticket, nil
	case wamp.AuthWAMPCRA:
		if c.opts.Secret == "" {
			return "", errors.New("client: the router asked for wampcra and Options.Secret is empty")
		}
		var x struct {
			Challenge  string `json:"challenge"`
			Salt       string `json:"salt"`
			Iterations int    `json:"iterations"`
			KeyLen     int    `json:"keylen"`
		}
		if err := json.Unmarshal(m.Extra, &x); err != nil {
			return "", fmt.Errorf("client: wampcra CHALLENGE extra: %w", err)
		}
		if x.Challenge == "" {
			return "", errors.New("client: wampcra CHALLENGE without a challenge")
		}
		key := c.opts.Secret
		if x.Salt != "" {
			var err error
			if key, err = wamp.CRADeriveKey(c.opts.Secret, x.Salt, x.Iterations, x.KeyLen); err != nil {
				return "", fmt.Errorf("client: %w", err)
			}
		}
		return wamp.CRASign([]byte(key), x.Challenge), nil
	}
	return "", fmt.Errorf("client: the router asked for authentication method %q, which the client does not implement", m.AuthMethod)
}

// parseWelcomeDetails reads WELCOME.Details; fields of the wrong type are
// left empty.
func parseWelcomeDetails(raw json.RawMessage) wamp.WelcomeDetails {
	var d struct {
		AuthID       string          `json:"authid"`
		AuthRole     string          `json:"authrole"`
		AuthMethod   string          `json:"authmethod"`
		AuthProvider string          `json:"authprovider"`
		AuthExtra    json.RawMessage `json:"authextra"`
		Agent        string          `json:"agent"`
		Roles        map[string]struct {
			Features map[string]any `json:"features"`
		} `json:"roles"`
	}
	_ = json.Unmarshal(raw, &d)
	w := wamp.WelcomeDetails{
		AuthID: d.AuthID, AuthRole: d.AuthRole, AuthMethod: d.AuthMethod,
		AuthProvider: d.AuthProvider, Agent: d.Agent, Roles: make(map[string][]string, len(d.Roles)),
	}
	if len(d.AuthExtra) > 0 && d.AuthExtra[0] == '{' {
		w.AuthExtra = d.AuthExtra
	}
	for name, r := range d.Roles {
		var fs []string
		for f, v := range r.Features {
			if v == true {
				fs = append(fs, f)
			}
		}
		slices.Sort(fs)
		w.Roles[name] = fs
	}
	return w
}

// sendV2 encodes m with the session's codec and writes it. Nothing may
// follow a GOODBYE.
func (c *Client) sendV2(m wamp.Message) error {
	b, err := c.v2.codec.Append(nil, m)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	_, bye := m.(*wamp.Goodbye)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writable(false); err != nil {
		return err
	}
	if c.v2.byeSent {
		return ErrClosed
	}
	if bye {
		c.v2.byeSent = true
	}
	return c.writeFrameLocked(c.v2.op, b)
}

// goodbyeV2 is the v2 part of Close: it gives the handlers until
// handlersDone (at most closeTimeout) to answer, then sends GOODBYE and
// waits (at most closeTimeout) for the router's.
func (c *Client) goodbyeV2(handlersDone <-chan struct{}) {
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	select {
	case <-handlersDone:
	case <-c.done:
		return
	case <-timer.C:
	}
	c.v2.mu.Lock()
	ended := c.v2.ended
	c.v2.mu.Unlock()
	if ended {
		return
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
	if err := c.sendV2(&wamp.Goodbye{Details: wamp.MessageDetails(""), Reason: wamp.URICloseNormal}); err != nil {
		return
	}
	timer.Reset(closeTimeout)
	select {
	case <-c.v2.gotGoodbye:
	case <-c.done:
	case <-timer.C:
	}
	c.v2.end(fmt.Errorf("%w: the session was closed", ErrClosed))
}

// requestContext bounds a request of a method without a context.
func (c *Client) requestContext() (context.Context, context.CancelFunc) {
	d := c.opts.RequestTimeout
	if d == 0 {
		d = DefaultRequestTimeout
	}
	if d < 0 {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), d)
}

// request sends the message build makes for a new request id and waits for
// the answer. A CALL is sent with call, which handles progress and CANCEL.
func (c *Client) request(ctx context.Context, req *request, build func(id uint64) wamp.Message) (wamp.Message, error) {
	s := c.v2
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req.done = make(chan v2reply, 1)
	id, err := s.add(req)
	if err != nil {
		return nil, err
	}
	if err := c.sendV2(build(id)); err != nil {
		s.abandon(id, req, true)
		return nil, err
	}
	select {
	case r := <-req.done:
		return r.msg, r.err
	case <-ctx.Done():
		if s.abandon(id, req, false) {
			return nil, ctx.Err()
		}
		r := <-req.done
		return r.msg, r.err
	}
}

// SubscribeWith subscribes to topic, a topic or, with opts.Match, a prefix
// or wildcard pattern, and waits for the router's answer. It returns the
// subscription id (as Event.Subscription carries it), a *RequestError when
// the router refuses, or ctx.Err(). Events arrive through Options.OnEventV2
// or OnEvent. WAMP v2 only.
func (c *Client) SubscribeWith(ctx context.Context, topic string, opts SubscribeOptions) (uint64, error) {
	if c.v2 == nil {
		return 0, ErrNotV2
	}
	var options json.RawMessage
	if opts.Match != wamp.MatchPolicyExact {
		options = json.RawMessage(`{"match":` + strconv.Quote(opts.Match.String()) + `}`)
	}
	m, err := c.request(ctx, &request{typ: wamp.V2Subscribe, topic: topic, match: opts.Match}, func(id uint64) wamp.Message {
		return &wamp.Subscribe{Request: id, Options: options, Topic: topic}
	})
	if err != nil {
		return 0, err
	}
	return m.(*wamp.Subscribed).Subscription, nil
}

// UnsubscribeID ends the subscription with the id SubscribeWith returned
// and waits for the UNSUBSCRIBED. No event of it is delivered once it
// returns nil. WAMP v2 only.
func (c *Client) UnsubscribeID(ctx context.Context, subscription uint64) error {
	if c.v2 == nil {
		return ErrNotV2
	}
	_, err := c.request(ctx, &request{typ: wamp.V2Unsubscribe, target: subscription}, func(id uint64) wamp.Message {
		return &wamp.Unsubscribe{Request: id, Subscription: subscription}
	})
	return err
}

func (c *Client) subscribeCompat(topic string) error {
	ctx, cancel := c.requestContext()
	defer cancel()
	_, err := c.SubscribeWith(ctx, topic, SubscribeOptions{})
	return err
}

func (c *Client) unsubscribeCompat(topic string) error {
	s := c.v2
	var ids []uint64
	s.mu.Lock()
	for id, sub := range s.subs {
		if sub.topic == topic {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	if len(ids) == 0 {
		return fmt.Errorf("client: not subscribed to %q", topic)
	}
	ctx, cancel := c.requestContext()
	defer cancel()
	for _, id := range ids {
		if err := c.UnsubscribeID(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// PublishV2 publishes payload to topic. With opts.Acknowledge it waits for
// the PUBLISHED and returns the publication id (as Event.Publication
// carries it), or a *RequestError when the router refuses, or ctx.Err();
// without it, it returns 0 once the PUBLISH is written, and the router
// refuses silently. WAMP v2 only.
func (c *Client) PublishV2(ctx context.Context, topic string, payload wamp.Payload, opts PublishOptions) (uint64, error) {
	if c.v2 == nil {
		return 0, ErrNotV2
	}
	options, err := publishOptionsJSON(&opts)
	if err != nil {
		return 0, err
	}
	if !opts.Acknowledge {
		return 0, c.sendV2(&wamp.Publish{Request: c.v2.nextReq.Add(1), Options: options, Topic: topic, Payload: payload})
	}
	m, err := c.request(ctx, &request{typ: wamp.V2Publish}, func(id uint64) wamp.Message {
		return &wamp.Publish{Request: id, Options: options, Topic: topic, Payload: payload}
	})
	if err != nil {
		return 0, err
	}
	return m.(*wamp.Published).Publication, nil
}

func publishOptionsJSON(o *PublishOptions) (json.RawMessage, error) {
	m := map[string]any{}
	if o.Acknowledge {
		m["acknowledge"] = true
	}
	if o.ExcludeMe != nil {
		m["exclude_me"] = *o.ExcludeMe
	}
	if o.DiscloseMe {
		m["disclose_me"] = true
	}
	if len(o.Exclude) > 0 {
		m["exclude"] = o.Exclude
	}
	if o.Eligible != nil {
		m["eligible"] = o.Eligible
	}
	if len(o.ExcludeAuthID) > 0 {
		m["exclude_authid"] = o.ExcludeAuthID
	}
	if len(o.ExcludeAuthRole) > 0 {
		m["exclude_authrole"] = o.ExcludeAuthRole
	}
	if o.EligibleAuthID != nil {
		m["eligible_authid"] = o.EligibleAuthID
	}
	if o.EligibleAuthRole != nil {
		m["eligible_authrole"] = o.EligibleAuthRole
	}
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("client: PUBLISH options: %w", err)
	}
	return b, nil
}

// publishCompat is Publish in WAMP v2.
func (c *Client) publishCompat(topic string, event json.RawMessage, o publishOptions) error {
	excludeMe := o.excludeMe
	opts := PublishOptions{ExcludeMe: &excludeMe}
	var err error
	if opts.Exclude, err = v2SessionIDs(o.exclude); err != nil {
		return err
	}
	if o.eligible != nil {
		if opts.Eligible, err = v2SessionIDs(o.eligible); err != nil {
			return err
		}
	}
	_, err = c.PublishV2(context.Background(), topic, wamp.PayloadOfV1(event), opts)
	return err
}

// v2SessionIDs parses session ids given as strings.
func v2SessionIDs(ids []string) ([]uint64, error) {
	if ids == nil {
		return nil, nil
	}
	out := make([]uint64, 0, len(ids))
	for _, s := range ids {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil || id == 0 || id > wamp.MaxID {
			return nil, fmt.Errorf("client: %q is not a WAMP v2 session id", s)
		}
		out = append(out, id)
	}
	return out, nil
}

// handleV2 handles one message from the router; it runs on the reader
// goroutine. p is valid until the next read.
func (c *Client) handleV2(p []byte) {
	s := c.v2
	m, err := s.codec.Decode(p)
	if err != nil {
		c.unexpected(p)
		return
	}
	switch m := m.(type) {
	case *wamp.Event:
		c.deliverEvent(m)
	case *wamp.Subscribed:
		s.answer(c, m.Request, wamp.V2Subscribe, m, func(req *request) wamp.Message {
			if req.abandoned {
				// The subscriber gave up: undo the subscription.
				return &wamp.Unsubscribe{Request: s.nextReq.Add(1), Subscription: m.Subscription}
			}
			s.subs[m.Subscription] = &subscription{topic: req.topic, match: req.match}
			return nil
		})
	case *wamp.Unsubscribed:
		if m.Details != nil { // revocation
			var d struct {
				Subscription uint64 `json:"subscription"`
			}
			_ = json.Unmarshal(m.Details, &d)
			s.mu.Lock()
			delete(s.subs, d.Subscription)
			s.mu.Unlock()
			if m.Request == 0 {
				return
			}
		}
		s.answer(c, m.Request, wamp.V2Unsubscribe, m, func(req *request) wamp.Message {
			delete(s.subs, req.target)
			return nil
		})
	case *wamp.Published:
		s.answer(c, m.Request, wamp.V2Publish, m, nil)
	case *wamp.Registered:
		s.answer(c, m.Request, wamp.V2Register, m, func(req *request) wamp.Message {
			if req.abandoned {
				return &wamp.Unregister{Request: s.nextReq.Add(1), Registration: m.Registration}
			}
			s.regs[m.Registration] = &registration{procedure: req.procedure, handler: req.handler}
			return nil
		})
	case *wamp.Unregistered:
		if m.Details != nil {
			var d struct {
				Registration uint64 `json:"registration"`
			}
			_ = json.Unmarshal(m.Details, &d)
			s.mu.Lock()
			delete(s.regs, d.Registration)
			s.mu.Unlock()
			if m.Request == 0 {
				return
			}
		}
		s.answer(c, m.Request, wamp.V2Unregister, m, func(req *request) wamp.Message {
			delete(s.regs, req.target)
			return nil
		})
	case *wamp.Result:
		if resultIsProgress(m.Details) {
			s.mu.Lock()
			req := s.pending[m.Request]
			live := req != nil && req.typ == wamp.V2Call && req.notify != nil && !req.abandoned
			s.mu.Unlock()
			if live {
				req.pushProgress(m.Payload)
			}
			return
		}
		s.answer(c, m.Request, wamp.V2Call, m, nil)
	case *wamp.Error:
		c.handleError(m)
	case *wamp.Invocation:
		c.invoke(m)
	case *wamp.Interrupt:
		s.mu.Lock()
		st := s.invs[m.Request]
		s.mu.Unlock()
		if st != nil {
			st.cancel(errInterrupted)
		}
	case *wamp.Goodbye:
		c.wmu.Lock()
		ours := s.byeSent
		c.wmu.Unlock()
		if ours {
			s.byeOnce.Do(func() { close(s.gotGoodbye) })
			return
		}
		s.mu.Lock()
		s.reason = m.Reason
		s.mu.Unlock()
		s.end(fmt.Errorf("%w: the router ended the session: %s", ErrClosed, m.Reason))
		_ = c.sendV2(&wamp.Goodbye{Details: wamp.MessageDetails(""), Reason: wamp.URIGoodbyeAndOut})
		c.closeAfterSession()
	case *wamp.Abort:
		s.mu.Lock()
		s.reason = m.Reason
		s.mu.Unlock()
		s.end(fmt.Errorf("%w: %w", ErrClosed, abortError(m)))
		c.closeAfterSession()
	default:
		c.unexpected(p)
	}
}

// closeAfterSession starts the WebSocket closing handshake once the router
// has ended the session, and bounds the wait for its end.
func (c *Client) closeAfterSession() {
	_ = c.writeClose(ws.CloseNormal, "")
	_ = c.conn.SetReadDeadline(time.Now().Add(closeTimeout))
}

// unexpected hands a message that is not WAMP v2, or not one a router
// sends a client in a session, to Options.OnText.
func (c *Client) unexpected(p []byte) {
	if c.opts.OnText != nil {
		c.opts.OnText(bytes.Clone(p))
	}
}

// answer hands msg to the pending request id, if any, after running
// install (with s.mu held) for the answer's side effects. install may
// return a message to send (after s.mu is released), to undo what an
// abandoned request did.
func (s *v2session) answer(c *Client, id uint64, typ int, msg wamp.Message, install func(*request) wamp.Message) {
	s.mu.Lock()
	req := s.takeLocked(id)
	if req == nil {
		s.mu.Unlock()
		return
	}
	if req.typ != typ {
		s.mu.Unlock()
		req.done <- v2reply{err: fmt.Errorf("client: the router answered a %s with %s", kindName(req.typ), msg.Kind())}
		return
	}
	var undo wamp.Message
	if install != nil {
		undo = install(req)
	}
	s.mu.Unlock()
	req.done <- v2reply{msg: msg}
	if undo != nil {
		_ = c.sendV2(undo)
	}
}

func kindName(typ int) string {
	switch typ {
	case wamp.V2Subscribe:
		return "SUBSCRIBE"
	case wamp.V2Unsubscribe:
		return "UNSUBSCRIBE"
	case wamp.V2Publish:
		return "PUBLISH"
	case wamp.V2Call:
		return "CALL"
	case wamp.V2Register:
		return "REGISTER"
	case wamp.V2Unregister:
		return "UNREGISTER"
	case wamp.V2Invocation:
		return "INVOCATION"
	}
	return "request " + strconv.Itoa(typ)
}

// handleError hands an ERROR to the request it answers.
func (c *Client) handleError(m *wamp.Error) {
	s := c.v2
	details := m.Details
	if emptyJSON(details) {
		details = nil
	}
	var err error
	if m.RequestType == wamp.V2Call {
		ce := &CallError{URI: m.URI, Details: details, Payload: m.Payload, v2: true}
		if first, ok := firstArg(m.Payload); ok {
			_ = json.Unmarshal(first, &ce.Description)
		}
		err = ce
	} else {
		err = &RequestError{Request: kindName(m.RequestType), URI: m.URI, Payload: m.Payload, Details: details}
	}
	s.mu.Lock()
	req := s.takeLocked(m.Request)
	if req == nil {
		s.mu.Unlock()
		return
	}
	if req.typ != m.RequestType {
		err = fmt.Errorf("client: the router answered a %s with an ERROR for a %s: %w", kindName(req.typ), kindName(m.RequestType), err)
	}
	// A refused UNSUBSCRIBE or UNREGISTER (no such subscription or
	// registration) leaves nothing to keep either.
	switch req.typ {
	case wamp.V2Unsubscribe:
		delete(s.subs, req.target)
	case wamp.V2Unregister:
		delete(s.regs, req.target)
	}
	s.mu.Unlock()
	req.done <- v2reply{err: err}
}

// firstArg returns the first positional argument of p.
func firstArg(p wamp.Payload) (json.RawMessage, bool) {
	var args []json.RawMessage
	if len(p.Args) == 0 || json.Unmarshal(p.Args, &args) != nil || len(args) == 0 {
		return nil, false
	}
	return args[0], true
}

// deliverEvent hands an EVENT to the callbacks.
func (c *Client) deliverEvent(m *wamp.Event) {
	s := c.v2
	if c.opts.OnEventV2 == nil && c.opts.OnEvent == nil {
		return
	}
	s.mu.Lock()
	sub := s.subs[m.Subscription]
	s.mu.Unlock()
	if sub == nil {
		return // an event that crossed our UNSUBSCRIBE
	}
	ev := Event{Topic: sub.topic, Subscription: m.Subscription, Publication: m.Publication, Payload: m.Payload, Details: m.Details}
	if !emptyJSON(m.Details) {
		var d struct {
			Topic             string `json:"topic"`
			Publisher         uint64 `json:"publisher"`
			PublisherAuthID   string `json:"publisher_authid"`
			PublisherAuthRole string `json:"publisher_authrole"`
		}
		_ = json.Unmarshal(m.Details, &d)
		if d.Topic != "" {
			ev.Topic = d.Topic
		}
		ev.Publisher, ev.PublisherAuthID, ev.PublisherAuthRole = d.Publisher, d.PublisherAuthID, d.PublisherAuthRole
	}
	if c.opts.OnEventV2 != nil {
		c.opts.OnEventV2(ev)
		return
	}
	c.opts.OnEvent(ev.Topic, m.Payload.V1Event())
}
