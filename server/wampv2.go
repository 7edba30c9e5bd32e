package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/heraldws/herald/internal/dealer"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// wampV2 is WAMP v2 (wamp-proto.org) in one of its serializations. A
// session opens with HELLO (and, to authenticate, CHALLENGE and
// AUTHENTICATE) before anything else; its topics are the same as v1's,
// through the same routes, handlers and policies (session.go).
type wampV2 struct {
	wc    wireCodec
	state v2State
	// upgradeErr is the upgrade request's authentication failure, which
	// is answered at HELLO: the client may still authenticate in WAMP.
	upgradeErr error
	// challenge is the CHALLENGE sent, while its AUTHENTICATE is awaited.
	challenge  *v2Challenge
	realm      string
	authMethod string
	// calleeProgress and calleeCanceling are the callee features the
	// client announced in HELLO: without them its INVOCATIONs ask for no
	// progressive results and it gets no INTERRUPT, as the spec says.
	// Set before WELCOME, read by other sessions' calls after.
	calleeProgress, calleeCanceling bool
	// joined is set at WELCOME (the meta API lists joined sessions only).
	joined atomic.Bool
	// subs maps the session's exact subscription ids to their topics;
	// patterns holds its pattern subscriptions' ids.
	subs     map[uint64]string
	patterns map[uint64]struct{}
	// registrations counts the session's registrations, which
	// Config.MaxSubscriptions bounds too.
	registrations int
}

var _ protocol = (*wampV2)(nil)

// v2State is where a v2 session is in its life.
type v2State uint8

const (
	v2AwaitHello v2State = iota
	v2AwaitAuthenticate
	v2Established
	// v2Closed: GOODBYE or ABORT was sent; nothing more is acted on.
	v2Closed
)

// v2Challenge is an authentication under way.
type v2Challenge struct {
	method string
	// For wampcra: the user, the challenge text and the key it is signed
	// with.
	user *CRAUser
	text string
	key  []byte
}

func newWAMPV2(wc wireCodec) *wampV2 { return &wampV2{wc: wc} }

func (p *wampV2) codec() wamp.Codec { return v2Codecs[p.wc] }

// greeting implements protocol: nothing; the client speaks first (HELLO).
func (p *wampV2) greeting(dst []byte, _ *session) ([]byte, error) { return dst, nil }

// goingAway implements protocol: a joined session gets GOODBYE
// wamp.close.system_shutdown, as the spec has it.
func (p *wampV2) goingAway(s *session) {
	if p.joined.Load() {
		p.send(s, &wamp.Goodbye{Details: wamp.MessageDetails("server shutting down"), Reason: wamp.URISystemShutdown})
	}
}

// wire implements protocol.
func (p *wampV2) wire() wireCodec { return p.wc }

// authFailed implements protocol: the failure waits for HELLO, where the
// client may bring a ticket of its own.
func (p *wampV2) authFailed(_ *session, err error) { p.upgradeErr = err }

// handle implements protocol.
func (p *wampV2) handle(s *session, payload []byte) error {
	if p.state == v2Closed {
		return nil
	}
	msg, err := p.codec().Decode(payload)
	if err != nil {
		var pe *wamp.ProtocolError
		if errors.As(err, &pe) {
			s.logger().Info("closing connection: WAMP v2 protocol violation", "reason", pe.Reason)
			p.abort(s, pe.Abort())
			return nil
		}
		p.violation(s, err.Error())
		return nil
	}
	switch p.state {
	case v2AwaitHello:
		m, ok := msg.(*wamp.Hello)
		if !ok {
			p.violation(s, fmt.Sprintf("%s before HELLO", msg.Kind()))
			return nil
		}
		return p.hello(s, m)
	case v2AwaitAuthenticate:
		m, ok := msg.(*wamp.Authenticate)
		if !ok {
			p.violation(s, fmt.Sprintf("%s while a CHALLENGE waits for AUTHENTICATE", msg.Kind()))
			return nil
		}
		return p.authenticate(s, m)
	}
	switch m := msg.(type) {
	case *wamp.Subscribe:
		return p.subscribe(s, m)
	case *wamp.Unsubscribe:
		return p.unsubscribe(s, m)
	case *wamp.Publish:
		return p.publish(s, m)
	case *wamp.Call:
		return p.call(s, m)
	case *wamp.Cancel:
		return p.cancel(s, m)
	case *wamp.Register:
		return p.register(s, m)
	case *wamp.Unregister:
		return p.unregister(s, m)
	case *wamp.Yield:
		return p.yield(s, m)
	case *wamp.Error:
		return p.invocationError(s, m)
	case *wamp.Goodbye:
		p.send(s, &wamp.Goodbye{Details: json.RawMessage("{}"), Reason: wamp.URIGoodbyeAndOut})
		p.state = v2Closed
		s.close(ws.CloseNormal, "")
	default:
		p.violation(s, fmt.Sprintf("a client may not send %s in a session", msg.Kind()))
	}
	return nil
}

// hello opens the session, or challenges or aborts it.
func (p *wampV2) hello(s *session, m *wamp.Hello) error {
	d, err := wamp.ParseHelloDetails(m.Details)
	if err != nil {
		p.violation(s, err.Error())
		return nil
	}
	if !slices.Contains(s.srv.cfg.Realms, m.Realm) {
		p.abortWith(s, wamp.URINoSuchRealm, fmt.Sprintf("no realm %q on this server (wamp.realms: %v)", m.Realm, s.srv.cfg.Realms))
		return nil
	}
	p.realm = m.Realm
	// Progressive results need canceling too: without it a callee could
	// not be stopped when its caller leaves (nexus has the same rule).
	p.calleeCanceling = d.Feature(wamp.RoleCallee, wamp.FeatureCallCanceling)
	p.calleeProgress = p.calleeCanceling && d.Feature(wamp.RoleCallee, wamp.FeatureProgressiveCallResults)
	if p.upgradeErr != nil && !errors.Is(p.upgradeErr, ErrAnonymousRefused) {
		// The request brought credentials, and they were refused.
		p.abortWith(s, wamp.URINotAuthorized, p.upgradeErr.Error())
		return nil
	}
	if p.upgradeErr == nil && !s.identity.Anonymous {
		// The upgrade request authenticated the user (a ticket in the
		// URL, a token in a header or cookie).
		p.welcome(s, wamp.AuthTicket)
		return nil
	}
	methods := d.AuthMethods
	if len(methods) == 0 {
		methods = []string{wamp.AuthAnonymous}
	}
	for _, method := range methods {
		switch method {
		case wamp.AuthAnonymous:
			if p.upgradeErr == nil {
				p.welcome(s, wamp.AuthAnonymous)
				return nil
			}
		case wamp.AuthTicket:
			if _, ok := s.srv.cfg.Authenticator.(TicketChecker); ok {
				p.challenge = &v2Challenge{method: wamp.AuthTicket}
				p.state = v2AwaitAuthenticate
				p.send(s, &wamp.Challenge{AuthMethod: wamp.AuthTicket, Extra: json.RawMessage("{}")})
				return nil
			}
		case wamp.AuthWAMPCRA:
			if u := s.srv.craUser(d.AuthID); u != nil {
				return p.challengeCRA(s, u)
			}
		}
	}
	if p.upgradeErr != nil {
		p.abortWith(s, wamp.URINotAuthorized, fmt.Sprintf("%s: authenticate with one of the methods this server takes (%v)", p.upgradeErr, s.srv.authMethods()))
		return nil
	}
	p.abortWith(s, wamp.URINoAuthMethod, fmt.Sprintf("none of the methods %v is taken here; this server takes %v", methods, s.srv.authMethods()))
	return nil
}

// challengeCRA sends a WAMP-CRA challenge for user u.
func (p *wampV2) challengeCRA(s *session, u *CRAUser) error {
	var nonce [16]byte
	rand.Read(nonce[:])
	text := (&wamp.CRAChallenge{
		AuthID: u.AuthID, AuthRole: u.role(), AuthProvider: authProvider,
		Nonce: base64.StdEncoding.EncodeToString(nonce[:]), Timestamp: time.Now(), Session: s.Number(),
	}).String()
	key := []byte(u.Secret)
	if u.Salt != "" {
		derived, err := wamp.CRADeriveKey(u.Secret, u.Salt, u.Iterations, u.KeyLen)
		if err != nil {
			return fmt.Errorf("server: wampcra user %q: %w", u.AuthID, err)
		}
		key = []byte(derived)
	}
	p.challenge = &v2Challenge{method: wamp.AuthWAMPCRA, user: u, text: text, key: key}
	p.state = v2AwaitAuthenticate
	extra := wamp.CRAExtra{Challenge: text, Salt: u.Salt, Iterations: u.Iterations, KeyLen: u.KeyLen}
	p.send(s, &wamp.Challenge{AuthMethod: wamp.AuthWAMPCRA, Extra: extra.JSON()})
	return nil
}

// authenticate checks the answer to the CHALLENGE.
func (p *wampV2) authenticate(s *session, m *wamp.Authenticate) error {
	c := p.challenge
	p.challenge = nil
	switch c.method {
	case wamp.AuthTicket:
		checker := s.srv.cfg.Authenticator.(TicketChecker)
		id, err := checker.CheckTicket(s.context(), m.Signature, s.id, s.remote())
		if err != nil {
			s.logger().Info("authentication refused", "authmethod", c.method, "reason", err.Error())
			p.abortWith(s, wamp.URIAuthenticationFailed, err.Error())
			return nil
		}
		s.identity = id
	case wamp.AuthWAMPCRA:
		if !wamp.CRAVerify(c.key, c.text, m.Signature) {
			s.logger().Info("authentication refused", "authmethod", c.method, "authid", c.user.AuthID)
			p.abortWith(s, wamp.URIAuthenticationFailed, "the WAMP-CRA signature does not match")
			return nil
		}
		s.identity = Identity{UserID: c.user.AuthID, Username: c.user.AuthID, Roles: []string{c.user.role()}}
	}
	p.welcome(s, c.method)
	return nil
}

// authProvider names herald in WELCOME and challenge details.
const authProvider = "herald"

// brokerFeatures and dealerFeatures are the WAMP v2 advanced features
// herald announces, each implemented.
var (
	brokerFeatures = []string{
		wamp.FeaturePublisherExclusion, wamp.FeaturePublisherIdentification,
		wamp.FeatureSubscriberBlackWhiteListing,
	}
	dealerFeatures = []string{
		wamp.FeatureCallerIdentification, wamp.FeatureProgressiveCallResults,
		wamp.FeatureCallCanceling, wamp.FeatureCallTimeout,
		wamp.FeaturePatternBasedRegistration, wamp.FeatureSharedRegistration,
	}
)

// welcome opens the session.
func (p *wampV2) welcome(s *session, method string) {
	p.state, p.authMethod = v2Established, method
	d := wamp.WelcomeDetails{
		Roles: map[string][]string{wamp.RoleBroker: brokerFeatures, wamp.RoleDealer: dealerFeatures},
		Agent: s.srv.cfg.ServerIdent, AuthID: s.identity.AuthID(s.id), AuthRole: s.identity.AuthRole(),
		AuthMethod: method, AuthProvider: authProvider,
	}
	p.send(s, &wamp.Welcome{Session: s.Number(), Details: d.JSON()})
	p.joined.Store(true)
	s.srv.metaJoined(s)
}

// subscribe answers a SUBSCRIBE.
func (p *wampV2) subscribe(s *session, m *wamp.Subscribe) error {
	opts, err := wamp.ParseSubscribeOptions(m.Options)
	if err != nil {
		p.sendError(s, wamp.V2Subscribe, m.Request, wamp.URIInvalidArgument, err.Error())
		return nil
	}
	if opts.Match != wamp.MatchPolicyExact {
		return p.subscribePattern(s, m, opts.Match)
	}
	if !wamp.ValidURI(m.Topic, false) {
		p.sendError(s, wamp.V2Subscribe, m.Request, wamp.URIInvalidURI, fmt.Sprintf("%q is not a valid topic URI", m.Topic))
		return nil
	}
	if err := s.subscribe(m.Topic); err != nil {
		return p.refused(s, wamp.V2Subscribe, m.Request, err)
	}
	id := s.srv.hub.subscriptionID(m.Topic)
	if p.subs == nil {
		p.subs = map[uint64]string{}
	}
	_, again := p.subs[id]
	p.subs[id] = m.Topic
	p.send(s, &wamp.Subscribed{Request: m.Request, Subscription: id})
	if !again {
		if s.srv.hub.count(m.Topic) == 1 {
			s.srv.metaEvent(metaOnCreate, s.Number(), map[string]any{"id": id, "uri": m.Topic, "match": "exact"})
		}
		s.srv.metaEvent(metaOnSubscribe, s.Number(), id)
	}
	return nil
}

// subscribePattern answers a SUBSCRIBE with match prefix or wildcard.
func (p *wampV2) subscribePattern(s *session, m *wamp.Subscribe, match wamp.MatchPolicy) error {
	if !wamp.ValidPattern(m.Topic, match, false) {
		p.sendError(s, wamp.V2Subscribe, m.Request, wamp.URIInvalidURI, fmt.Sprintf("%q is not a valid %s pattern", m.Topic, match))
		return nil
	}
	if err := s.checkLength("topic", m.Topic); err != nil {
		return err
	}
	if limit := s.srv.cfg.MaxSubscriptions; limit > 0 && len(p.patterns)+s.subscriptionCount() >= limit {
		return overLimit(limitSubscriptions, "more than %d subscriptions", limit)
	}
	id, created, first := s.srv.patterns.add(m.Topic, match, s)
	if first {
		s.srv.patternsChanged(true, false)
	}
	if p.patterns == nil {
		p.patterns = map[uint64]struct{}{}
	}
	_, again := p.patterns[id]
	p.patterns[id] = struct{}{}
	p.send(s, &wamp.Subscribed{Request: m.Request, Subscription: id})
	if created {
		s.srv.metaEvent(metaOnCreate, s.Number(), map[string]any{"id": id, "uri": m.Topic, "match": match.String()})
	}
	if !again {
		s.srv.metaEvent(metaOnSubscribe, s.Number(), id)
	}
	return nil
}

// ended releases what the session holds beyond its exact topics.
func (p *wampV2) ended(s *session) {
	for id := range p.patterns {
		if gone, last := s.srv.patterns.remove(id, s); gone {
			s.srv.metaEvent(metaOnDelete, s.Number(), id)
			if last {
				s.srv.patternsChanged(false, true)
			}
		}
	}
	p.patterns = nil
}

// unsubscribe answers an UNSUBSCRIBE.
func (p *wampV2) unsubscribe(s *session, m *wamp.Unsubscribe) error {
	if _, ok := p.patterns[m.Subscription]; ok {
		delete(p.patterns, m.Subscription)
		gone, last := s.srv.patterns.remove(m.Subscription, s)
		if last {
			s.srv.patternsChanged(false, true)
		}
		p.send(s, &wamp.Unsubscribed{Request: m.Request})
		s.srv.metaEvent(metaOnUnsubscribe, s.Number(), m.Subscription)
		if gone {
			s.srv.metaEvent(metaOnDelete, s.Number(), m.Subscription)
		}
		return nil
	}
	topic, ok := p.subs[m.Subscription]
	if !ok {
		p.sendError(s, wamp.V2Unsubscribe, m.Request, wamp.URINoSuchSubscription, fmt.Sprintf("this session has no subscription %d", m.Subscription))
		return nil
	}
	delete(p.subs, m.Subscription)
	s.unsubscribe(topic)
	p.send(s, &wamp.Unsubscribed{Request: m.Request})
	s.srv.metaEvent(metaOnUnsubscribe, s.Number(), m.Subscription)
	if s.srv.hub.subscriptionID(topic) != m.Subscription {
		s.srv.metaEvent(metaOnDelete, s.Number(), m.Subscription)
	}
	return nil
}

// publish acts on a PUBLISH; it is answered only when it asked for
// acknowledge, as the spec says.
func (p *wampV2) publish(s *session, m *wamp.Publish) error {
	opts, err := wamp.ParsePublishOptions(m.Options)
	if err != nil {
		p.publishError(s, opts, m.Request, wamp.URIInvalidArgument, err.Error())
		return nil
	}
	if !wamp.ValidURI(m.Topic, false) || wamp.ReservedURI(m.Topic) {
		p.publishError(s, opts, m.Request, wamp.URIInvalidURI, fmt.Sprintf("%q is not a topic a client may publish to", m.Topic))
		return nil
	}
	ev := &PublishEvent{Payload: m.Payload, Audience: audienceOf(s, &opts), ID: newWAMPID()}
	if opts.DiscloseMe {
		ev.Publisher = &Publisher{Session: s.id, AuthID: s.identity.AuthID(s.id), AuthRole: s.identity.AuthRole()}
	}
	if !admitsNobody(&opts) {
		if err := s.publish(m.Topic, ev); err != nil {
			var r *refusal
			if !errors.As(err, &r) && !errors.Is(err, errUnknownTopic) {
				return err
			}
			if opts.Acknowledge {
				return p.refused(s, wamp.V2Publish, m.Request, err)
			}
			return nil
		}
	}
	if opts.Acknowledge {
		p.send(s, &wamp.Published{Request: m.Request, Publication: ev.ID})
	}
	return nil
}

// publishError answers a PUBLISH that could not be acted on, when it
// asked for acknowledge.
func (p *wampV2) publishError(s *session, opts wamp.PublishOptions, req uint64, uri, message string) {
	if opts.Acknowledge {
		p.sendError(s, wamp.V2Publish, req, uri, message)
	}
}

// audienceOf turns a PUBLISH's options into its audience.
func audienceOf(s *session, o *wamp.PublishOptions) Audience {
	a := Audience{
		Exclude: decimalIDs(o.Exclude), Eligible: decimalIDs(o.Eligible),
		ExcludeAuthID: o.ExcludeAuthID, EligibleAuthID: o.EligibleAuthID,
		ExcludeAuthRole: o.ExcludeAuthRole, EligibleAuthRole: o.EligibleAuthRole,
	}
	if o.ExcludeMe {
		a.Exclude = append(a.Exclude, s.id)
	}
	return a
}

// admitsNobody reports whether a PUBLISH's eligible lists are given and
// empty: the spec's way of sending to nobody.
func admitsNobody(o *wamp.PublishOptions) bool {
	return (o.Eligible != nil && len(o.Eligible) == 0) ||
		(o.EligibleAuthID != nil && len(o.EligibleAuthID) == 0) ||
		(o.EligibleAuthRole != nil && len(o.EligibleAuthRole) == 0)
}

func decimalIDs(ids []uint64) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatUint(id, 10)
	}
	return out
}

// call answers a CALL through the procedure's route handler.
func (p *wampV2) call(s *session, m *wamp.Call) error {
	opts, err := wamp.ParseCallOptions(m.Options)
	if err != nil {
		p.sendError(s, wamp.V2Call, m.Request, wamp.URIInvalidArgument, err.Error())
		return nil
	}
	if !wamp.ValidURI(m.Procedure, false) {
		p.sendError(s, wamp.V2Call, m.Request, wamp.URIInvalidURI, fmt.Sprintf("%q is not a valid procedure URI", m.Procedure))
		return nil
	}
	if isMetaProcedure(m.Procedure) {
		p.metaCall(s, m)
		return nil
	}
	if s.srv.routeToCallee(s, dealer.Call{Caller: dealer.SessionID(s.Number()), CallerRequest: m.Request, Procedure: m.Procedure}, opts, m.Payload) {
		return nil // the callee answers, or the dealer for it
	}
	result, err := s.call(m.Procedure, &CallEvent{Payload: m.Payload})
	if err != nil {
		return p.refused(s, wamp.V2Call, m.Request, err)
	}
	p.send(s, &wamp.Result{Request: m.Request, Details: json.RawMessage("{}"), Payload: result})
	return nil
}

// metaCall answers a call of the meta API.
func (p *wampV2) metaCall(s *session, m *wamp.Call) {
	var args []json.RawMessage
	if len(m.Payload.Args) > 0 && json.Unmarshal(m.Payload.Args, &args) != nil {
		p.sendError(s, wamp.V2Call, m.Request, wamp.URIInvalidArgument, "the arguments are not a list")
		return
	}
	result, uri, message := s.srv.metaCall(m.Procedure, args)
	if uri != "" {
		p.sendError(s, wamp.V2Call, m.Request, uri, message)
		return
	}
	list, err := json.Marshal(result)
	if err != nil {
		p.sendError(s, wamp.V2Call, m.Request, "wamp.error.runtime_error", err.Error())
		return
	}
	p.send(s, &wamp.Result{Request: m.Request, Details: json.RawMessage("{}"), Payload: wamp.Payload{Args: list}})
}

// refused answers a request that a session operation turned down with an
// ERROR; other errors are returned, to close the connection.
func (p *wampV2) refused(s *session, reqType int, req uint64, err error) error {
	if errors.Is(err, errUnknownTopic) {
		// v2 clients are told, whatever the unknown-topic policy: closing
		// is v1's compatibility with GosWebSocketBundle.
		uri := errorURINoRoute
		if reqType == wamp.V2Call {
			uri = wamp.URINoSuchProcedure
		}
		p.sendError(s, reqType, req, uri, err.Error())
		return nil
	}
	var r *refusal
	if !errors.As(err, &r) {
		return err
	}
	p.send(s, &wamp.Error{
		RequestType: reqType, Request: req, Details: v2ErrorDetails(r.denial),
		URI: v2ErrorURI(r.denial, reqType), Payload: messagePayload(r.denial.Error()),
	})
	return nil
}

// errorURINoRoute is the ERROR for a topic that no route matches.
const errorURINoRoute = "herald.error.no_route"

// v2ErrorURI is the WAMP v2 error URI of a denial: its own, or one by
// its code.
func v2ErrorURI(d *Denial, reqType int) string {
	if d.URI != "" {
		return d.URI
	}
	switch d.code() {
	case 401, 403:
		return wamp.URINotAuthorized
	case 404:
		if reqType == wamp.V2Call {
			return wamp.URINoSuchProcedure
		}
		return errorURINoRoute
	case 414:
		return wamp.URIInvalidURI
	case 503:
		return "herald.error.unavailable"
	}
	return "wamp.error.runtime_error"
}

// v2ErrorDetails is a denial's ERROR details: its own dict, or its code.
func v2ErrorDetails(d *Denial) json.RawMessage {
	if details := d.details(); len(details) > 0 && details[0] == '{' {
		return details
	}
	return json.RawMessage(`{"code":` + strconv.Itoa(d.code()) + `}`)
}

// messagePayload is an ERROR's payload: the message as its only
// positional argument, as Crossbar and nexus send it.
func messagePayload(message string) wamp.Payload {
	return wamp.Payload{Args: append(append([]byte{'['}, wamp.AppendString(nil, message)...), ']')}
}

// sendError sends an ERROR with a message.
func (p *wampV2) sendError(s *session, reqType int, req uint64, uri, message string) {
	p.send(s, &wamp.Error{RequestType: reqType, Request: req, Details: json.RawMessage("{}"), URI: uri, Payload: messagePayload(message)})
}

// violation aborts the session for a protocol violation.
func (p *wampV2) violation(s *session, message string) {
	s.logger().Info("closing connection: WAMP v2 protocol violation", "reason", message)
	p.abortWith(s, wamp.URIProtocolViolation, message)
}

// abortWith sends ABORT with a reason and message, and closes.
func (p *wampV2) abortWith(s *session, reason, message string) {
	p.abort(s, &wamp.Abort{Details: wamp.MessageDetails(message), Reason: reason})
}

// abort sends ABORT and closes the connection.
func (p *wampV2) abort(s *session, a *wamp.Abort) {
	p.send(s, a)
	p.state = v2Closed
	s.close(ws.CloseNormal, "")
}

// send queues a message that answers the client.
func (p *wampV2) send(s *session, m wamp.Message) {
	frame, err := encodeFrame(p.codec(), m)
	if err != nil {
		s.logger().Error("encoding message", "kind", m.Kind(), "err", err)
		return
	}
	s.answer(frame)
}

// TicketChecker is an Authenticator that also checks a ticket a WAMP v2
// client sends in AUTHENTICATE (authmethod "ticket"), as TicketAuth does:
// an Oro ticket, or a JSON Web Token.
type TicketChecker interface {
	CheckTicket(ctx context.Context, ticket, sessionID, remote string) (Identity, error)
}

// CRAUser is a WAMP-CRA (authmethod "wampcra") user of the server's
// configuration.
type CRAUser struct {
	AuthID string
	// Secret is the shared secret; with Salt, the key is derived from it
	// as autobahn's derive_key does (PBKDF2), with Iterations and KeyLen
	// (zero: 1000 and 32).
	Secret     string
	Salt       string
	Iterations int
	KeyLen     int
	// Role is the authrole, which becomes the identity's one role. Empty
	// means "user".
	Role string
}

func (u *CRAUser) role() string {
	if u.Role == "" {
		return "user"
	}
	return u.Role
}

// craUser returns the WAMP-CRA user authid, or nil.
func (s *Server) craUser(authid string) *CRAUser {
	for i := range s.cfg.CRAUsers {
		if u := &s.cfg.CRAUsers[i]; u.AuthID == authid && authid != "" {
			return u
		}
	}
	return nil
}

// authMethods lists the WAMP v2 authentication methods the server takes.
func (s *Server) authMethods() []string {
	var m []string
	if s.cfg.Authenticator == nil {
		m = append(m, wamp.AuthAnonymous)
	} else if ta, ok := s.cfg.Authenticator.(*TicketAuth); ok && ta.AllowAnonymous {
		m = append(m, wamp.AuthAnonymous)
	}
	if _, ok := s.cfg.Authenticator.(TicketChecker); ok {
		m = append(m, wamp.AuthTicket)
	}
	if len(s.cfg.CRAUsers) > 0 {
		m = append(m, wamp.AuthWAMPCRA)
	}
	return m
}
