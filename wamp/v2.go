package wamp

import (
	"encoding/json"
	"fmt"
)

// WAMP v2 message type codes.
const (
	V2Hello        = 1
	V2Welcome      = 2
	V2Abort        = 3
	V2Challenge    = 4
	V2Authenticate = 5
	V2Goodbye      = 6
	V2Error        = 8
	V2Publish      = 16
	V2Published    = 17
	V2Subscribe    = 32
	V2Subscribed   = 33
	V2Unsubscribe  = 34
	V2Unsubscribed = 35
	V2Event        = 36
	V2Call         = 48
	V2Cancel       = 49
	V2Result       = 50
	V2Register     = 64
	V2Registered   = 65
	V2Unregister   = 66
	V2Unregistered = 67
	V2Invocation   = 68
	V2Interrupt    = 69
	V2Yield        = 70
)

// WebSocket subprotocols of WAMP v2.
const (
	V2JSONSubprotocol    = "wamp.2.json"
	V2MsgPackSubprotocol = "wamp.2.msgpack"
	V2CBORSubprotocol    = "wamp.2.cbor"
)

// MaxID is the largest WAMP v2 id, 2^53: ids are integers in [1, MaxID].
const MaxID = 1 << 53

// Hello (v2) opens a session: [HELLO, Realm|uri, Details|dict].
type Hello struct {
	Realm string
	// Details is the HELLO.Details dict; see ParseHelloDetails.
	Details json.RawMessage
}

// Abort (v2) refuses or ends a session without GOODBYE:
// [ABORT, Details|dict, Reason|uri].
type Abort struct {
	// Details may carry a human readable "message"; see MessageDetails.
	Details json.RawMessage
	Reason  string
}

// Challenge (v2) asks the client to authenticate:
// [CHALLENGE, AuthMethod|string, Extra|dict].
type Challenge struct {
	AuthMethod string
	// Extra is the CHALLENGE.Extra dict; see CRAExtra.
	Extra json.RawMessage
}

// Authenticate (v2) answers a CHALLENGE:
// [AUTHENTICATE, Signature|string, Extra|dict].
type Authenticate struct {
	Signature string
	Extra     json.RawMessage
}

// Goodbye (v2) closes a session; the peer echoes it with reason
// URIGoodbyeAndOut: [GOODBYE, Details|dict, Reason|uri].
type Goodbye struct {
	Details json.RawMessage
	Reason  string
}

// Error (v2) answers a request that failed:
// [ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri,
// Arguments|list, ArgumentsKw|dict].
type Error struct {
	// RequestType is the type code of the failed request: V2Publish,
	// V2Subscribe, V2Unsubscribe, V2Call, V2Register, V2Unregister or
	// V2Invocation.
	RequestType int
	Request     uint64
	Details     json.RawMessage
	// URI is the error URI, such as URINoSuchProcedure.
	URI     string
	Payload Payload
}

// Published (v2) acknowledges a PUBLISH sent with acknowledge=true:
// [PUBLISHED, PUBLISH.Request|id, Publication|id].
type Published struct {
	Request     uint64
	Publication uint64
}

// Subscribed (v2) acknowledges a SUBSCRIBE:
// [SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id].
type Subscribed struct {
	Request      uint64
	Subscription uint64
}

// Unsubscribed (v2) acknowledges an UNSUBSCRIBE: [UNSUBSCRIBED, Request|id].
// A broker revoking a subscription sends [UNSUBSCRIBED, 0, Details|dict]
// instead, with Details {"subscription": id, "reason": string}: Details is
// non-nil exactly in that form, the only one where Request may be 0.
type Unsubscribed struct {
	Request uint64
	Details json.RawMessage
}

// Cancel (v2) asks the dealer to cancel a call:
// [CANCEL, CALL.Request|id, Options|dict].
type Cancel struct {
	Request uint64
	// Options is the CANCEL.Options dict; see ParseCancelOptions.
	Options json.RawMessage
}

// Result (v2) carries the result of a call to the caller:
// [RESULT, CALL.Request|id, Details|dict, Arguments|list, ArgumentsKw|dict].
type Result struct {
	Request uint64
	// Details is the RESULT.Details dict; see ResultDetails.
	Details json.RawMessage
	Payload Payload
}

// Register (v2) asks to register a procedure:
// [REGISTER, Request|id, Options|dict, Procedure|uri].
type Register struct {
	Request uint64
	// Options is the REGISTER.Options dict; see ParseRegisterOptions.
	Options   json.RawMessage
	Procedure string
}

// Registered (v2) acknowledges a REGISTER:
// [REGISTERED, REGISTER.Request|id, Registration|id].
type Registered struct {
	Request      uint64
	Registration uint64
}

// Unregister (v2) removes a registration:
// [UNREGISTER, Request|id, REGISTERED.Registration|id].
type Unregister struct {
	Request      uint64
	Registration uint64
}

// Unregistered (v2) acknowledges an UNREGISTER: [UNREGISTERED, Request|id].
// A dealer revoking a registration sends [UNREGISTERED, 0, Details|dict],
// with Details {"registration": id, "reason": string}; as for Unsubscribed,
// Details is non-nil exactly in that form.
type Unregistered struct {
	Request uint64
	Details json.RawMessage
}

// Invocation (v2) asks a callee to run a call:
// [INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict,
// CALL.Arguments|list, CALL.ArgumentsKw|dict].
type Invocation struct {
	Request      uint64
	Registration uint64
	// Details is the INVOCATION.Details dict; see InvocationDetails.
	Details json.RawMessage
	Payload Payload
}

// Interrupt (v2) tells a callee that a call was canceled:
// [INTERRUPT, INVOCATION.Request|id, Options|dict].
type Interrupt struct {
	Request uint64
	Options json.RawMessage
}

// Yield (v2) carries a callee's result:
// [YIELD, INVOCATION.Request|id, Options|dict, Arguments|list,
// ArgumentsKw|dict].
type Yield struct {
	Request uint64
	// Options is the YIELD.Options dict; see ParseYieldOptions.
	Options json.RawMessage
	Payload Payload
}

// Kind implements Message.
func (*Hello) Kind() string { return "HELLO" }

// Kind implements Message.
func (*Abort) Kind() string { return "ABORT" }

// Kind implements Message.
func (*Challenge) Kind() string { return "CHALLENGE" }

// Kind implements Message.
func (*Authenticate) Kind() string { return "AUTHENTICATE" }

// Kind implements Message.
func (*Goodbye) Kind() string { return "GOODBYE" }

// Kind implements Message.
func (*Error) Kind() string { return "ERROR" }

// Kind implements Message.
func (*Published) Kind() string { return "PUBLISHED" }

// Kind implements Message.
func (*Subscribed) Kind() string { return "SUBSCRIBED" }

// Kind implements Message.
func (*Unsubscribed) Kind() string { return "UNSUBSCRIBED" }

// Kind implements Message.
func (*Cancel) Kind() string { return "CANCEL" }

// Kind implements Message.
func (*Result) Kind() string { return "RESULT" }

// Kind implements Message.
func (*Register) Kind() string { return "REGISTER" }

// Kind implements Message.
func (*Registered) Kind() string { return "REGISTERED" }

// Kind implements Message.
func (*Unregister) Kind() string { return "UNREGISTER" }

// Kind implements Message.
func (*Unregistered) Kind() string { return "UNREGISTERED" }

// Kind implements Message.
func (*Invocation) Kind() string { return "INVOCATION" }

// Kind implements Message.
func (*Interrupt) Kind() string { return "INTERRUPT" }

// Kind implements Message.
func (*Yield) Kind() string { return "YIELD" }

// ProtocolError is the error of the v2 decoders: the bytes are not a WAMP
// v2 message. It wraps ErrInvalidMessage. The spec counts every such
// message as a protocol violation: a router answers with
// ABORT(wamp.error.protocol_violation), which Abort builds, and drops the
// transport. Find it with errors.As or errors.AsType.
type ProtocolError struct {
	// Type is the message type code when the message got as far as having
	// a known one, else 0.
	Type int
	// Reason says what is wrong, in a few words fit to quote to the peer,
	// such as "SUBSCRIBE: Options must be a dict, not a list".
	Reason string
	// Syntax is true when the bytes are not valid in the serialization
	// itself (not JSON, truncated msgpack, trailing bytes, invalid UTF-8,
	// nested too deeply) rather than a well-formed list of the wrong shape.
	Syntax bool
}

// Error implements error.
func (e *ProtocolError) Error() string { return ErrInvalidMessage.Error() + ": " + e.Reason }

// Unwrap returns ErrInvalidMessage.
func (e *ProtocolError) Unwrap() error { return ErrInvalidMessage }

// Abort returns the ABORT a router sends for the error: reason
// URIProtocolViolation, and the error's Reason as Details.message.
func (e *ProtocolError) Abort() *Abort {
	return &Abort{Details: MessageDetails(e.Reason), Reason: URIProtocolViolation}
}

func syntaxError(format string, args ...any) *ProtocolError {
	return &ProtocolError{Reason: fmt.Sprintf(format, args...), Syntax: true}
}

// elemKind classifies a top-level element of a message.
type elemKind uint8

const (
	ekNull elemKind = iota
	ekBool
	ekInt    // a non-negative integer; u holds it (or ok is false: too big)
	ekNumber // any other number: negative, fractional, exponent
	ekString
	ekBinary // msgpack bin or CBOR byte string
	ekList
	ekDict
)

var ekNames = [...]string{
	ekNull: "null", ekBool: "a bool", ekInt: "an integer", ekNumber: "a number",
	ekString: "a string", ekBinary: "binary", ekList: "a list", ekDict: "a dict",
}

// element is one top-level element of a message, in its JSON form.
type element struct {
	raw     []byte // the element's JSON text
	kind    elemKind
	u       uint64 // the value of an ekInt
	fits    bool   // an ekInt fits in a uint64
	escaped bool   // an ekString has escapes
}

// maxElements is the longest message: ERROR with 7 elements.
const maxElements = 7

// classify sets kind, u and escaped from raw (valid JSON, no white space
// around it). binary marks an element that was binary on the wire.
func (e *element) classify(binary bool) {
	if binary {
		e.kind = ekBinary
		return
	}
	switch c := e.raw[0]; {
	case c == '"':
		e.kind = ekString
		for _, b := range e.raw {
			if b == '\\' {
				e.escaped = true
				break
			}
		}
	case c == '{':
		e.kind = ekDict
	case c == '[':
		e.kind = ekList
	case c == 'n':
		e.kind = ekNull
	case c == 't' || c == 'f':
		e.kind = ekBool
	case c == '-':
		e.kind = ekNumber
	default:
		for _, b := range e.raw {
			if b == '.' || b == 'e' || b == 'E' {
				e.kind = ekNumber
				return
			}
		}
		e.kind = ekInt
		e.u, e.fits = parseUint(e.raw)
	}
}

// shape checks the elements of one message against its definition.
type shape struct {
	el   []element
	typ  int
	name string
}

func (s *shape) fail(format string, args ...any) *ProtocolError {
	return &ProtocolError{Type: s.typ, Reason: s.name + ": " + fmt.Sprintf(format, args...)}
}

func (s *shape) count(lo, hi int) error {
	if n := len(s.el); n < lo || n > hi {
		if lo == hi {
			return s.fail("want %d elements, got %d", lo, n)
		}
		return s.fail("want %d to %d elements, got %d", lo, hi, n)
	}
	return nil
}

func (s *shape) want(i int, field, what string) error {
	return s.fail("%s must be %s, not %s", field, what, ekNames[s.el[i].kind])
}

// id reads an id in [min, MaxID]; min is 1 except where the spec allows 0.
func (s *shape) id(i int, field string, min uint64) (uint64, error) {
	e := &s.el[i]
	if e.kind != ekInt {
		return 0, s.want(i, field, "an id")
	}
	if !e.fits || e.u < min || e.u > MaxID {
		return 0, s.fail("%s %s out of range [%d, 2^53]", field, truncate(e.raw), min)
	}
	return e.u, nil
}

func (s *shape) str(i int, field string) (string, error) {
	e := &s.el[i]
	if e.kind != ekString {
		return "", s.want(i, field, "a string")
	}
	return unquote(e.raw, e.escaped), nil
}

func (s *shape) dict(i int, field string) (json.RawMessage, error) {
	if s.el[i].kind != ekDict {
		return nil, s.want(i, field, "a dict")
	}
	return s.el[i].raw, nil
}

// payload reads the optional Arguments and ArgumentsKw from element i on.
// null stands for an absent value, as nexus sends [] args as null when
// only kwargs are given: a null Arguments before a dict ArgumentsKw reads
// as [], any other null as absent.
func (s *shape) payload(i int) (Payload, error) {
	var p Payload
	if i+1 < len(s.el) {
		switch s.el[i+1].kind {
		case ekDict:
			p.Kwargs = s.el[i+1].raw
		case ekNull:
		default:
			return p, s.want(i+1, "ArgumentsKw", "a dict")
		}
	}
	if i < len(s.el) {
		switch s.el[i].kind {
		case ekList:
			p.Args = s.el[i].raw
		case ekNull:
			if p.Kwargs != nil {
				p.Args = json.RawMessage("[]")
			}
		default:
			return p, s.want(i, "Arguments", "a list")
		}
	}
	return p, nil
}

var v2Names = [...]string{
	V2Hello: "HELLO", V2Welcome: "WELCOME", V2Abort: "ABORT", V2Challenge: "CHALLENGE",
	V2Authenticate: "AUTHENTICATE", V2Goodbye: "GOODBYE", V2Error: "ERROR",
	V2Publish: "PUBLISH", V2Published: "PUBLISHED", V2Subscribe: "SUBSCRIBE",
	V2Subscribed: "SUBSCRIBED", V2Unsubscribe: "UNSUBSCRIBE", V2Unsubscribed: "UNSUBSCRIBED",
	V2Event: "EVENT", V2Call: "CALL", V2Cancel: "CANCEL", V2Result: "RESULT",
	V2Register: "REGISTER", V2Registered: "REGISTERED", V2Unregister: "UNREGISTER",
	V2Unregistered: "UNREGISTERED", V2Invocation: "INVOCATION", V2Interrupt: "INTERRUPT",
	V2Yield: "YIELD",
}

// errorRequestTypes are the requests an ERROR may answer.
func errorRequestType(t uint64) bool {
	switch t {
	case V2Publish, V2Subscribe, V2Unsubscribe, V2Call, V2Register, V2Unregister, V2Invocation:
		return true
	}
	return false
}

// buildV2 checks the elements of a message and builds it. It is shared by
// the three v2 codecs, which differ only in how they find the elements.
func buildV2(el []element) (Message, error) {
	if len(el) == 0 {
		return nil, &ProtocolError{Reason: "empty list"}
	}
	if el[0].kind != ekInt {
		return nil, &ProtocolError{Reason: "message type must be an integer, not " + ekNames[el[0].kind]}
	}
	var name string
	if el[0].fits && el[0].u < uint64(len(v2Names)) {
		name = v2Names[el[0].u]
	}
	if name == "" {
		return nil, &ProtocolError{Reason: "unknown message type " + truncate(el[0].raw)}
	}
	s := &shape{el: el, typ: int(el[0].u), name: name}
	var err error
	// Each case checks the element count first, so that the index
	// expressions below stay in range.
	switch s.typ {
	case V2Hello:
		m := &Hello{}
		if err = s.count(3, 3); err != nil {
			return nil, err
		}
		if m.Realm, err = s.str(1, "Realm"); err != nil {
			return nil, err
		}
		if m.Details, err = s.dict(2, "Details"); err != nil {
			return nil, err
		}
		return m, nil
	case V2Welcome:
		m := &Welcome{}
		if err = s.count(3, 3); err != nil {
			return nil, err
		}
		if m.Session, err = s.id(1, "Session", 1); err != nil {
			return nil, err
		}
		if m.Details, err = s.dict(2, "Details"); err != nil {
			return nil, err
		}
		return m, nil
	case V2Abort, V2Goodbye:
		if err = s.count(3, 3); err != nil {
			return nil, err
		}
		details, err := s.dict(1, "Details")
		if err != nil {
			return nil, err
		}
		reason, err := s.str(2, "Reason")
		if err != nil {
			return nil, err
		}
		if s.typ == V2Abort {
			return &Abort{Details: details, Reason: reason}, nil
		}
		return &Goodbye{Details: details, Reason: reason}, nil
	case V2Challenge, V2Authenticate:
		if err = s.count(3, 3); err != nil {
			return nil, err
		}
		field := "AuthMethod"
		if s.typ == V2Authenticate {
			field = "Signature"
		}
		str, err := s.str(1, field)
		if err != nil {
			return nil, err
		}
		extra, err := s.dict(2, "Extra")
		if err != nil {
			return nil, err
		}
		if s.typ == V2Challenge {
			return &Challenge{AuthMethod: str, Extra: extra}, nil
		}
		return &Authenticate{Signature: str, Extra: extra}, nil
	case V2Error:
		m := &Error{}
		if err = s.count(5, 7); err != nil {
			return nil, err
		}
		if el[1].kind != ekInt {
			return nil, s.want(1, "REQUEST.Type", "an integer")
		}
		if !el[1].fits || !errorRequestType(el[1].u) {
			return nil, s.fail("REQUEST.Type %s is not a request that can fail", truncate(el[1].raw))
		}
		m.RequestType = int(el[1].u)
		if m.Request, err = s.id(2, "Request", 1); err != nil {
			return nil, err
		}
		if m.Details, err = s.dict(3, "Details"); err != nil {
			return nil, err
		}
		if m.URI, err = s.str(4, "Error"); err != nil {
			return nil, err
		}
		if m.Payload, err = s.payload(5); err != nil {
			return nil, err
		}
		return m, nil
	case V2Publish:
		m := &Publish{}
		if err = s.count(4, 6); err != nil {
			return nil, err
		}
		if m.Request, err = s.id(1, "Request", 1); err != nil {
			return nil, err
		}
		if m.Options, err = s.dict(2, "Options"); err != nil {
			return nil, err
		}
		if m.Topic, err = s.str(3, "Topic"); err != nil {
			return nil, err
		}
		if m.Payload, err = s.payload(4); err != nil {
			return nil, err
		}
		return m, nil
	case V2Published, V2Subscribed, V2Unsubscribe, V2Registered, V2Unregister:
		if err = s.count(3, 3); err != nil {
			return nil, err
		}
		req, err := s.id(1, "Request", 1)
		if err != nil {
			return nil, err
		}
		second := "Publication"
		switch s.typ {
		case V2Subscribed, V2Unsubscribe:
			second = "Subscription"
		case V2Registered, V2Unregister:
			second = "Registration"
		}
		id, err := s.id(2, second, 1)
		if err != nil {
			return nil, err
		}
		switch s.typ {
		case V2Published:
			return &Published{Request: req, Publication: id}, nil
		case V2Subscribed:
			return &Subscribed{Request: req, Subscription: id}, nil
		case V2Unsubscribe:
			return &Unsubscribe{Request: req, Subscription: id}, nil
		case V2Registered:
			return &Registered{Request: req, Registration: id}, nil
		}
		return &Unregister{Request: req, Registration: id}, nil
	case V2Subscribe, V2Register:
		if err = s.count(4, 4); err != nil {
			return nil, err
		}
		req, err := s.id(1, "Request", 1)
		if err != nil {
			return nil, err
		}
		opts, err := s.dict(2, "Options")
		if err != nil {
			return nil, err
		}
		if s.typ == V2Subscribe {
			topic, err := s.str(3, "Topic")
			if err != nil {
				return nil, err
			}
			return &Subscribe{Request: req, Options: opts, Topic: topic}, nil
		}
		proc, err := s.str(3, "Procedure")
		if err != nil {
			return nil, err
		}
		return &Register{Request: req, Options: opts, Procedure: proc}, nil
	case V2Unsubscribed, V2Unregistered:
		if err = s.count(2, 3); err != nil {
			return nil, err
		}
		var min uint64 = 1
		if len(el) == 3 {
			min = 0 // revocation: [UNSUBSCRIBED, 0, Details]
		}
		req, err := s.id(1, "Request", min)
		if err != nil {
			return nil, err
		}
		var details json.RawMessage
		if len(el) == 3 {
			if details, err = s.dict(2, "Details"); err != nil {
				return nil, err
			}
		}
		if s.typ == V2Unsubscribed {
			return &Unsubscribed{Request: req, Details: details}, nil
		}
		return &Unregistered{Request: req, Details: details}, nil
	case V2Event, V2Invocation:
		if err = s.count(4, 6); err != nil {
			return nil, err
		}
		first, second := "Subscription", "Publication"
		if s.typ == V2Invocation {
			first, second = "Request", "Registration"
		}
		a, err := s.id(1, first, 1)
		if err != nil {
			return nil, err
		}
		b, err := s.id(2, second, 1)
		if err != nil {
			return nil, err
		}
		details, err := s.dict(3, "Details")
		if err != nil {
			return nil, err
		}
		p, err := s.payload(4)
		if err != nil {
			return nil, err
		}
		if s.typ == V2Event {
			return &Event{Subscription: a, Publication: b, Details: details, Payload: p}, nil
		}
		return &Invocation{Request: a, Registration: b, Details: details, Payload: p}, nil
	case V2Call:
		m := &Call{}
		if err = s.count(4, 6); err != nil {
			return nil, err
		}
		if m.Request, err = s.id(1, "Request", 1); err != nil {
			return nil, err
		}
		if m.Options, err = s.dict(2, "Options"); err != nil {
			return nil, err
		}
		if m.Procedure, err = s.str(3, "Procedure"); err != nil {
			return nil, err
		}
		if m.Payload, err = s.payload(4); err != nil {
			return nil, err
		}
		return m, nil
	case V2Cancel, V2Interrupt:
		if err = s.count(3, 3); err != nil {
			return nil, err
		}
		req, err := s.id(1, "Request", 1)
		if err != nil {
			return nil, err
		}
		opts, err := s.dict(2, "Options")
		if err != nil {
			return nil, err
		}
		if s.typ == V2Cancel {
			return &Cancel{Request: req, Options: opts}, nil
		}
		return &Interrupt{Request: req, Options: opts}, nil
	case V2Result, V2Yield:
		if err = s.count(3, 5); err != nil {
			return nil, err
		}
		req, err := s.id(1, "Request", 1)
		if err != nil {
			return nil, err
		}
		field := "Details"
		if s.typ == V2Yield {
			field = "Options"
		}
		dict, err := s.dict(2, field)
		if err != nil {
			return nil, err
		}
		p, err := s.payload(3)
		if err != nil {
			return nil, err
		}
		if s.typ == V2Result {
			return &Result{Request: req, Details: dict, Payload: p}, nil
		}
		return &Yield{Request: req, Options: dict, Payload: p}, nil
	}
	return nil, &ProtocolError{Reason: "unknown message type " + truncate(el[0].raw)}
}
