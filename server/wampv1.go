package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldws/herald/internal/dealer"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// wampV1 is WAMP v1 as Ratchet and GosWebSocketBundle speak it. Its state
// is the session's CURIE prefixes.
type wampV1 struct {
	prefixes wamp.Prefixes
	// joined is set for a session that was welcomed and not refused (the
	// meta API's on_join and on_leave).
	joined bool
}

var _ protocol = (*wampV1)(nil)

func newWAMPV1(mode wamp.PrefixMode) *wampV1 {
	p := &wampV1{}
	p.prefixes.Mode = mode
	return p
}

// greeting implements protocol: the WELCOME, in the handshake's write, as
// the PHP clients expect.
func (p *wampV1) greeting(dst []byte, s *session) ([]byte, error) {
	welcome, err := wamp.V1{}.Append(nil, &wamp.Welcome{SessionID: s.id, ServerIdent: s.srv.cfg.ServerIdent})
	if err != nil {
		return dst, fmt.Errorf("encoding WELCOME: %w", err)
	}
	return ws.AppendFrame(dst, ws.OpText, welcome), nil
}

// authFailed implements protocol, in Oro's way: the client is welcomed,
// then told and dropped. Both are queued before the read loop starts, and
// the session is already closing, so nothing the client sends is acted
// on.
func (p *wampV1) authFailed(s *session, _ error) {
	s.SendText(oroForbiddenFrame(time.Now()))
	s.close(ws.CloseNormal, "")
}

// goingAway implements protocol: v1 has nothing to say; the close (1001)
// says it.
func (p *wampV1) goingAway(*session) {}

// wire implements protocol.
func (p *wampV1) wire() wireCodec { return wireV1 }

// handle implements protocol: it decodes and acts on one WAMP message. An
// error closes the connection with 1007, as GosWebSocketBundle does for
// any exception.
func (p *wampV1) handle(s *session, payload []byte) error {
	msg, err := wamp.V1{}.Decode(payload)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *wamp.Prefix:
		return p.prefix(s, m)
	case *wamp.Subscribe:
		return p.answer(s, s.subscribe(p.prefixes.Resolve(m.Topic)), nil)
	case *wamp.Unsubscribe:
		s.unsubscribe(p.prefixes.Resolve(m.Topic))
	case *wamp.Publish:
		exclude := m.Exclude
		if m.ExcludeMe {
			exclude = []string{s.id}
		}
		return p.answer(s, s.publish(p.prefixes.Resolve(m.Topic), &PublishEvent{Payload: wamp.PayloadOfV1(m.Event), Audience: Audience{Exclude: exclude, Eligible: m.Eligible}}), nil)
	case *wamp.Call:
		return p.call(s, m)
	default:
		return fmt.Errorf("%w: a client may not send %s", wamp.ErrInvalidMessage, msg.Kind())
	}
	return nil
}

// prefix records a PREFIX within the connection's limits.
func (p *wampV1) prefix(s *session, m *wamp.Prefix) error {
	if err := s.checkLength("prefix", m.Prefix); err != nil {
		return err
	}
	if err := s.checkLength("prefix URI", m.URI); err != nil {
		return err
	}
	if limit := s.srv.cfg.MaxPrefixes; limit > 0 && p.prefixes.Len() >= limit && !p.prefixes.Has(m.Prefix) {
		return overLimit(limitPrefixes, "more than %d prefixes", limit)
	}
	p.prefixes.Set(m.Prefix, m.URI)
	return nil
}

// call answers a CALL with Gos's shapes: CALLRESULT [3, id, result] where
// a result that is not a JSON array or object is wrapped in a list, and
// null or false is an "RPC Error"; CALLERROR [4, id, procURI,
// description, {"code": …}].
func (p *wampV1) call(s *session, m *wamp.Call) error {
	proc := p.prefixes.Resolve(m.Procedure)
	args := v1CallPayload(m.Args)
	if s.srv.routeToCallee(s, dealer.Call{Caller: dealer.SessionID(s.Number()), Procedure: proc, Token: v1CallToken{m.CallID}}, wamp.CallOptions{}, args) {
		return nil // a WAMP v2 callee answers
	}
	payload, err := s.call(proc, &CallEvent{Payload: args})
	if err != nil {
		return p.answer(s, err, m.CallID)
	}
	p.callResult(s, m.CallID, proc, payload)
	return nil
}

// callResult sends a CALLRESULT, or the CALLERROR Gos sends for a null
// or false result.
func (p *wampV1) callResult(s *session, callID json.RawMessage, proc string, payload wamp.Payload) {
	result := payload.V1Event()
	switch r := bytes.TrimSpace(result); {
	case len(r) == 0 || string(r) == "null" || string(r) == "false":
		p.send(s, &wamp.CallError{CallID: callID, ErrorURI: proc, Description: "RPC Error", Details: json.RawMessage(`{"code":500}`)})
		return
	case r[0] != '[' && r[0] != '{':
		result = append(append([]byte{'['}, r...), ']')
	}
	p.send(s, &wamp.CallResult{CallID: callID, Result: result})
}

// v1CallPayload is the payload of a v1 CALL's arguments: its positional
// arguments, in order.
func v1CallPayload(args []json.RawMessage) wamp.Payload {
	n := 2
	for _, a := range args {
		n += len(a) + 1
	}
	list := make([]byte, 0, n)
	list = append(list, '[')
	for i, a := range args {
		if i > 0 {
			list = append(list, ',')
		}
		list = append(list, a...)
	}
	return wamp.Payload{Args: append(list, ']')}
}

// answer tells the client of a refusal, as Gos does: a CALLERROR whose
// call id is callID (the CALL's), or the topic for the other messages,
// and whose error URI is the topic or procedure; or the raw text frame of
// a denial that carries one (Oro). Other errors are returned, to close
// the connection.
func (p *wampV1) answer(s *session, err error, callID json.RawMessage) error {
	var r *refusal
	if !errors.As(err, &r) {
		return err
	}
	if r.denial.Text != "" && callID == nil {
		s.SendText(r.denial.Text)
		return nil
	}
	if callID == nil {
		callID = jsonString(r.uri)
	}
	p.send(s, &wamp.CallError{CallID: callID, ErrorURI: r.uri, Description: r.denial.Error(), Details: r.denial.details()})
	return nil
}

// send queues a message that answers the client.
func (p *wampV1) send(s *session, m wamp.Message) {
	frame, err := encodeFrame(wamp.V1{}, m)
	if err != nil {
		s.logger().Error("encoding message", "kind", m.Kind(), "err", err)
		return
	}
	s.answer(frame)
}
