package server

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/heraldws/herald/internal/dealer"
	"github.com/heraldws/herald/wamp"
)

// The dealer routes calls to the procedures WAMP v2 callees register. A
// call whose procedure no callee registered goes to its route's handler
// (a webhook or a Go CallHandler), in v1 as in v2; one that a callee
// registered goes to the callee, whichever version the caller speaks.
//
// Callers are answered through callerReply, so that a v1 CALL gets a
// CALLRESULT or CALLERROR and a v2 CALL a RESULT or ERROR, from whichever
// goroutine the answer comes (the callee's read turn, a timeout).

// callerReply answers a caller in its own protocol. Implementations
// encode and queue frames only: they run outside the caller's read turn.
type callerReply interface {
	// reply sends a call's result; progress marks a progressive one.
	reply(s *session, c *dealer.Call, result wamp.Payload, progress bool)
	// replyError sends a call's error.
	replyError(s *session, c *dealer.Call, uri string, payload wamp.Payload)
}

// maxCallsInFlight bounds the calls to callees one session has waiting,
// so that a caller cannot fill the dealer with calls a slow callee never
// answers; one more gets errorURITooManyCalls.
const maxCallsInFlight = 1024

// errorURITooManyCalls answers a CALL over maxCallsInFlight.
const errorURITooManyCalls = "herald.error.too_many_calls"

// v1CallToken is what a v1 caller's call in flight keeps: its call id.
type v1CallToken struct{ callID json.RawMessage }

// sessionByNumber returns this node's session numbered n, or nil.
func (s *Server) sessionByNumber(n dealer.SessionID) *session {
	return s.lookup(s.ids.forNumber(uint64(n)))
}

// routeToCallee sends a call to the callee registered for its procedure,
// and reports false when there is none (the route's handler takes it).
func (s *Server) routeToCallee(caller *session, c dealer.Call, opts wamp.CallOptions, payload wamp.Payload) bool {
	reg, callee, ok := s.registry.Route(c.Procedure)
	if !ok {
		return false
	}
	target := s.sessionByNumber(callee)
	if target == nil {
		return false
	}
	v2, ok := target.proto.(*wampV2)
	if !ok {
		return false
	}
	if s.calls.CallerCalls(c.Caller) >= maxCallsInFlight {
		caller.proto.(callerReply).replyError(caller, &c, errorURITooManyCalls,
			messagePayload(fmt.Sprintf("this session has %d calls in flight already; wait for their results", maxCallsInFlight)))
		return true
	}
	c.Callee, c.Registration = callee, reg.ID
	// Progressive results only from a callee that announced them; the
	// caller then gets the final result alone.
	c.ReceiveProgress = opts.ReceiveProgress && v2.calleeProgress
	started, err := s.calls.Start(c, opts.Timeout)
	if err != nil {
		uri := dealer.ErrorURI(err)
		if uri == "" {
			uri = wamp.URINetworkFailure
		}
		caller.proto.(callerReply).replyError(caller, &c, uri, messagePayload(err.Error()))
		return true
	}
	d := wamp.InvocationDetails{ReceiveProgress: c.ReceiveProgress, Timeout: opts.Timeout}
	if reg.Match != wamp.MatchPolicyExact {
		d.Procedure = c.Procedure
	}
	if opts.DiscloseMe || reg.DiscloseCaller(callee) {
		d.Caller = caller.Number()
		d.CallerAuthID, d.CallerAuthRole = caller.identity.AuthID(caller.id), caller.identity.AuthRole()
	}
	v2.send(target, &wamp.Invocation{Request: started.Invocation, Registration: reg.ID, Details: d.JSON(), Payload: payload})
	return true
}

// callerOf returns a call's caller session and its reply, or nil when
// the caller is gone.
func (s *Server) callerOf(c *dealer.Call) (*session, callerReply) {
	sess := s.sessionByNumber(c.Caller)
	if sess == nil {
		return nil, nil
	}
	r, _ := sess.proto.(callerReply)
	if r == nil {
		return nil, nil
	}
	return sess, r
}

// callResult passes a callee's YIELD on to its caller.
func (s *Server) callResult(c *dealer.Call, result wamp.Payload, progress bool) {
	if sess, r := s.callerOf(c); sess != nil {
		r.reply(sess, c, result, progress)
	}
}

// callFailed passes an error on to a call's caller.
func (s *Server) callFailed(c *dealer.Call, uri string, payload wamp.Payload) {
	if sess, r := s.callerOf(c); sess != nil {
		r.replyError(sess, c, uri, payload)
	}
}

// interrupt tells a callee that a call it runs was canceled, if it
// announced call_canceling (others would take INTERRUPT for a protocol
// violation).
func (s *Server) interrupt(c *dealer.Call, reason string) {
	target := s.sessionByNumber(c.Callee)
	if target == nil {
		return
	}
	if v2, ok := target.proto.(*wampV2); ok && v2.calleeCanceling {
		v2.send(target, &wamp.Interrupt{Request: c.Invocation, Options: json.RawMessage(`{"reason":` + string(wamp.AppendString(nil, reason)) + `}`)})
	}
}

// cancelable reports whether a call's callee announced call_canceling.
func (s *Server) cancelable(c *dealer.Call) bool {
	target := s.sessionByNumber(c.Callee)
	if target == nil {
		return false
	}
	v2, ok := target.proto.(*wampV2)
	return ok && v2.calleeCanceling
}

// callTimedOut ends a call whose timeout passed: the caller gets
// wamp.error.timeout and the callee an INTERRUPT.
func (s *Server) callTimedOut(c dealer.Call) {
	s.callFailed(&c, wamp.URITimeout, messagePayload(fmt.Sprintf("the call to %q timed out", c.Procedure)))
	s.interrupt(&c, wamp.URITimeout)
}

// rpcSessionGone ends what a session that is gone held in the dealer:
// its registrations, the calls it was running (their callers get
// wamp.error.canceled) and the calls it made (their callees are
// interrupted).
func (s *Server) rpcSessionGone(sess *session) {
	n := dealer.SessionID(sess.Number())
	if v2, ok := sess.proto.(*wampV2); ok {
		v2.ended(sess)
		left, deleted := s.registry.RemoveSession(n)
		s.metaRegistrationsGone(n, left, deleted)
		for _, c := range s.calls.CalleeGone(n) {
			s.callFailed(&c, wamp.URICanceled, messagePayload("the callee left"))
		}
	}
	for _, c := range s.calls.CallerGone(n) {
		s.interrupt(&c, wamp.URICanceled)
	}
}

// reply implements callerReply for v1 callers: a CALLRESULT with Gos's
// shapes. Progressive results are not sent: v1 has none.
func (p *wampV1) reply(s *session, c *dealer.Call, result wamp.Payload, progress bool) {
	if progress {
		return
	}
	tok, _ := c.Token.(v1CallToken)
	p.callResult(s, tok.callID, c.Procedure, result)
}

// replyError implements callerReply for v1 callers: a CALLERROR naming
// the callee's error URI in its description.
func (p *wampV1) replyError(s *session, c *dealer.Call, uri string, payload wamp.Payload) {
	tok, _ := c.Token.(v1CallToken)
	desc := uri
	if msg, ok := payload.SingleArg(); ok {
		var text string
		if json.Unmarshal(msg, &text) == nil && text != "" {
			desc = uri + ": " + text
		}
	}
	p.send(s, &wamp.CallError{CallID: tok.callID, ErrorURI: c.Procedure, Description: desc, Details: json.RawMessage(`{"code":500}`)})
}

// reply implements callerReply for v2 callers.
func (p *wampV2) reply(s *session, c *dealer.Call, result wamp.Payload, progress bool) {
	details := json.RawMessage("{}")
	if progress {
		details = json.RawMessage(`{"progress":true}`)
	}
	p.send(s, &wamp.Result{Request: c.CallerRequest, Details: details, Payload: result})
}

// replyError implements callerReply for v2 callers.
func (p *wampV2) replyError(s *session, c *dealer.Call, uri string, payload wamp.Payload) {
	p.send(s, &wamp.Error{RequestType: wamp.V2Call, Request: c.CallerRequest, Details: json.RawMessage("{}"), URI: uri, Payload: payload})
}

// register answers a REGISTER. A procedure that a route matches may be
// registered by those the route lets publish; one that no route matches
// by anyone (it is a v2 procedure of its own).
func (p *wampV2) register(s *session, m *wamp.Register) error {
	opts, err := wamp.ParseRegisterOptions(m.Options)
	if err != nil {
		p.sendError(s, wamp.V2Register, m.Request, wamp.URIInvalidArgument, err.Error())
		return nil
	}
	if !wamp.ValidPattern(m.Procedure, opts.Match, false) || wamp.ReservedURI(m.Procedure) {
		p.sendError(s, wamp.V2Register, m.Request, wamp.URIInvalidURI, fmt.Sprintf("%q is not a procedure a client may register", m.Procedure))
		return nil
	}
	if err := s.checkLength("procedure", m.Procedure); err != nil {
		return err
	}
	if t, b, ok := s.srv.resolve(m.Procedure); ok && opts.Match == wamp.MatchPolicyExact && !b.Policy.Publish.allows(s.identity) {
		p.sendError(s, wamp.V2Register, m.Request, wamp.URINotAuthorized,
			fmt.Sprintf("route %q does not let this session register %q: %s only", t.RouteName(), m.Procedure, b.Policy.Publish))
		return nil
	}
	if limit := s.srv.cfg.MaxSubscriptions; limit > 0 && p.registrations >= limit {
		return overLimit(limitSubscriptions, "more than %d registrations", limit)
	}
	reg, err := s.srv.registry.Register(dealer.SessionID(s.Number()), m.Procedure, opts.Match, opts.Invoke, opts.DiscloseCaller)
	if err != nil {
		p.sendError(s, wamp.V2Register, m.Request, dealerURI(err), err.Error())
		return nil
	}
	p.registrations++
	p.send(s, &wamp.Registered{Request: m.Request, Registration: reg.ID})
	s.srv.metaRegistered(s, reg)
	return nil
}

// unregister answers an UNREGISTER.
func (p *wampV2) unregister(s *session, m *wamp.Unregister) error {
	n := dealer.SessionID(s.Number())
	reg, deleted, err := s.srv.registry.Unregister(n, m.Registration)
	if err != nil {
		p.sendError(s, wamp.V2Unregister, m.Request, dealerURI(err), err.Error())
		return nil
	}
	p.registrations--
	p.send(s, &wamp.Unregistered{Request: m.Request})
	s.srv.metaUnregistered(n, reg, deleted)
	return nil
}

// yield passes a callee's result on.
func (p *wampV2) yield(s *session, m *wamp.Yield) error {
	opts, err := wamp.ParseYieldOptions(m.Options)
	if err != nil {
		p.violation(s, err.Error())
		return nil
	}
	n := dealer.SessionID(s.Number())
	if opts.Progress {
		if c, ok := s.srv.calls.Progress(n, m.Request); ok && c.ReceiveProgress {
			s.srv.callResult(&c, m.Payload, true)
		}
		return nil
	}
	if c, ok := s.srv.calls.Finish(n, m.Request); ok {
		s.srv.callResult(&c, m.Payload, false)
	}
	// A YIELD for a call that ended (canceled, timed out) is dropped, as
	// the spec allows.
	return nil
}

// invocationError passes a callee's ERROR on to the caller.
func (p *wampV2) invocationError(s *session, m *wamp.Error) error {
	if m.RequestType != wamp.V2Invocation {
		p.violation(s, fmt.Sprintf("a client may only send ERROR for an INVOCATION, not for request type %d", m.RequestType))
		return nil
	}
	if c, ok := s.srv.calls.Finish(dealer.SessionID(s.Number()), m.Request); ok {
		s.srv.callFailed(&c, m.URI, m.Payload)
	}
	return nil
}

// cancel acts on a caller's CANCEL, by its mode.
func (p *wampV2) cancel(s *session, m *wamp.Cancel) error {
	opts, err := wamp.ParseCancelOptions(m.Options)
	if err != nil {
		p.violation(s, err.Error())
		return nil
	}
	n := dealer.SessionID(s.Number())
	if opts.Mode == wamp.CancelKill {
		c, ok := s.srv.calls.Find(n, m.Request)
		if !ok {
			return nil
		}
		if s.srv.cancelable(&c) {
			s.srv.interrupt(&c, wamp.URICanceled)
			return nil
		}
		// A callee that cannot be interrupted will not answer the
		// cancel: kill is then skip, as in nexus.
		opts.Mode = wamp.CancelSkip
	}
	c, ok := s.srv.calls.Cancel(n, m.Request)
	if !ok {
		return nil // answered already
	}
	p.replyError(s, &c, wamp.URICanceled, messagePayload("the call was canceled"))
	if opts.Mode == wamp.CancelKillNoWait {
		s.srv.interrupt(&c, wamp.URICanceled)
	}
	return nil
}

// dealerURI is the error URI of a dealer error.
func dealerURI(err error) string {
	if uri := dealer.ErrorURI(err); uri != "" {
		return uri
	}
	if errors.Is(err, dealer.ErrClosed) {
		return wamp.URINetworkFailure
	}
	return wamp.URIInvalidArgument
}
