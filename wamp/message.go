// Package wamp holds herald's protocol-neutral WAMP message model and the
// codecs that put it on the wire.
//
// The model is the set of structs below (Welcome, Prefix, Call, …, Event).
// Codecs translate between those structs and bytes: V1 speaks WAMP v1 as
// Ratchet and AutobahnJS 0.8 do (JSON arrays in text frames). WAMP v2 codecs
// implement the same Codec interface beside it.
//
// Payloads (events, call arguments, results) stay raw JSON from the moment
// they are decoded until they are written to subscribers: herald never
// re-encodes a payload it only relays.
package wamp

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalidMessage is wrapped by every decoding error: the bytes are not a
// WAMP message the codec understands. A server closes the connection with
// WebSocket code 1007 when it sees one, as Ratchet does.
var ErrInvalidMessage = errors.New("wamp: invalid message")

// invalid wraps ErrInvalidMessage with a reason.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
}

// Message is one WAMP message. The concrete types are the structs of this
// package; switch on them with a type switch.
type Message interface {
	// Kind names the message for logs and metrics ("SUBSCRIBE", "EVENT", …).
	Kind() string
}

// Welcome is the first message a server sends on a new session.
type Welcome struct {
	SessionID string
	// ServerIdent names the server software, such as "herald/1.0.0".
	ServerIdent string
}

// Prefix (v1 only) declares a CURIE prefix for the rest of the session.
type Prefix struct {
	Prefix string
	URI    string
}

// Call is a remote procedure call from a client.
type Call struct {
	// CallID is the caller's id as raw JSON (a string or a number). It is
	// echoed back unchanged in the CallResult or CallError.
	CallID json.RawMessage
	// Procedure is the procedure URI as sent, before CURIE resolution.
	Procedure string
	// Args are the arguments after the procedure URI, each raw JSON.
	Args []json.RawMessage
}

// Params applies Ratchet's unwrapping rule to the arguments: when exactly one
// argument was sent and it is a JSON array or object, the params are that
// value; otherwise they are the list of all arguments (an empty list when
// there were none).
func (c *Call) Params() json.RawMessage {
	if len(c.Args) == 1 {
		if b := firstByte(c.Args[0]); b == '[' || b == '{' {
			return c.Args[0]
		}
	}
	out := make([]byte, 0, 64)
	out = append(out, '[')
	for i, a := range c.Args {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, a...)
	}
	return append(out, ']')
}

// CallResult answers a Call that succeeded.
type CallResult struct {
	CallID json.RawMessage
	Result json.RawMessage
}

// CallError answers a Call that failed.
type CallError struct {
	CallID      json.RawMessage
	ErrorURI    string
	Description string
	// Details is optional raw JSON; when empty (nil) the v1 wire form omits
	// it.
	Details json.RawMessage
}

// Subscribe asks to receive the events of a topic.
type Subscribe struct{ Topic string }

// Unsubscribe stops the events of a topic.
type Unsubscribe struct{ Topic string }

// Publish sends an event to the subscribers of a topic.
type Publish struct {
	Topic string
	Event json.RawMessage
	// ExcludeMe asks that the publisher itself not receive the event.
	ExcludeMe bool
	// Exclude lists session ids that must not receive the event.
	Exclude []string
	// Eligible, when non-empty, lists the only session ids that may receive
	// the event. Exclusions apply first.
	Eligible []string
}

// Event delivers a publication to a subscriber.
type Event struct {
	Topic string
	Event json.RawMessage
}

// Kind implements Message.
func (*Welcome) Kind() string { return "WELCOME" }

// Kind implements Message.
func (*Prefix) Kind() string { return "PREFIX" }

// Kind implements Message.
func (*Call) Kind() string { return "CALL" }

// Kind implements Message.
func (*CallResult) Kind() string { return "CALLRESULT" }

// Kind implements Message.
func (*CallError) Kind() string { return "CALLERROR" }

// Kind implements Message.
func (*Subscribe) Kind() string { return "SUBSCRIBE" }

// Kind implements Message.
func (*Unsubscribe) Kind() string { return "UNSUBSCRIBE" }

// Kind implements Message.
func (*Publish) Kind() string { return "PUBLISH" }

// Kind implements Message.
func (*Event) Kind() string { return "EVENT" }

// Codec translates messages to and from one wire format.
type Codec interface {
	// Subprotocol is the WebSocket subprotocol name, such as "wamp".
	Subprotocol() string
	// Decode parses one WebSocket message. Errors wrap ErrInvalidMessage.
	Decode(data []byte) (Message, error)
	// Append appends the encoding of m to dst and returns the result.
	Append(dst []byte, m Message) ([]byte, error)
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}
