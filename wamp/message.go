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
//
// # One model, two protocol versions
//
// Where WAMP v1 and v2 have a message with the same meaning (WELCOME,
// SUBSCRIBE, UNSUBSCRIBE, PUBLISH, EVENT, CALL), one struct serves both: its
// v1 fields are read and written by V1 only, its v2 fields by the v2 codecs
// only, and fields marked "both" by all of them. The messages that exist in
// v2 only (Hello, Abort, Error, Result, …) have types of their own; V1
// refuses to encode them, and the v2 codecs refuse the v1-only ones (Prefix,
// CallResult, CallError).
//
// In the v2 codecs dicts (Options, Details, Extra) are raw JSON objects and
// payloads are a Payload of raw JSON, whatever the serialization on the wire:
// V2MsgPack and V2CBOR transcode to and from that JSON form (see V2MsgPack
// for the mapping of types). A nil dict is written as an empty one.
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

// Welcome is the first message a server sends on a new session (v1), or
// its answer to a HELLO that opens a session (v2).
type Welcome struct {
	// SessionID (v1) is the session id as a string.
	SessionID string
	// ServerIdent (v1) names the server software, such as "herald/1.0.0".
	ServerIdent string
	// Session (v2) is the session id, in [1, 2^53].
	Session uint64
	// Details (v2) is the WELCOME.Details dict; see WelcomeDetails.
	Details json.RawMessage
}

// Prefix (v1 only) declares a CURIE prefix for the rest of the session.
type Prefix struct {
	Prefix string
	URI    string
}

// Call is a remote procedure call from a client.
type Call struct {
	// CallID (v1) is the caller's id as raw JSON (a string or a number). It
	// is echoed back unchanged in the CallResult or CallError.
	CallID json.RawMessage
	// Procedure (both) is the procedure URI as sent, before CURIE
	// resolution (v1).
	Procedure string
	// Args (v1) are the arguments after the procedure URI, each raw JSON.
	Args []json.RawMessage
	// Request (v2) is the caller's request id, echoed in the RESULT or
	// ERROR.
	Request uint64
	// Options (v2) is the CALL.Options dict; see ParseCallOptions.
	Options json.RawMessage
	// Payload (v2) holds the call arguments.
	Payload Payload
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
type Subscribe struct {
	// Topic (both) is the topic URI, or the pattern of a v2 prefix or
	// wildcard subscription.
	Topic string
	// Request (v2) is the request id, echoed in SUBSCRIBED or ERROR.
	Request uint64
	// Options (v2) is the SUBSCRIBE.Options dict; see
	// ParseSubscribeOptions.
	Options json.RawMessage
}

// Unsubscribe stops the events of a topic (v1) or of a subscription (v2).
type Unsubscribe struct {
	// Topic (v1) is the topic URI.
	Topic string
	// Request (v2) is the request id, echoed in UNSUBSCRIBED or ERROR.
	Request uint64
	// Subscription (v2) is the id the broker gave in SUBSCRIBED.
	Subscription uint64
}

// Publish sends an event to the subscribers of a topic.
//
// The v1 codec reads and writes Topic, Event, ExcludeMe, Exclude and
// Eligible; the v2 codecs read and write Request, Options, Topic and
// Payload. The v2 equivalents of the v1 exclusion fields are options: see
// ParsePublishOptions.
type Publish struct {
	// Topic (both) is the topic URI.
	Topic string
	// Event (v1) is the event, raw JSON.
	Event json.RawMessage
	// ExcludeMe asks that the publisher itself not receive the event.
	ExcludeMe bool
	// Exclude lists session ids that must not receive the event.
	Exclude []string
	// Eligible, when non-empty, lists the only session ids that may receive
	// the event. Exclusions apply first.
	Eligible []string
	// Request (v2) is the request id, echoed in PUBLISHED or ERROR.
	Request uint64
	// Options (v2) is the PUBLISH.Options dict; see ParsePublishOptions.
	Options json.RawMessage
	// Payload (v2) is the event's arguments; PayloadOfV1 and
	// Payload.V1Event map it to and from a v1 event.
	Payload Payload
}

// Event delivers a publication to a subscriber.
//
// The v1 codec reads and writes Topic and Event; the v2 codecs read and
// write Subscription, Publication, Details and Payload (a v2 EVENT carries
// the topic only in Details, for pattern subscriptions: see EventDetails).
type Event struct {
	// Topic (v1) is the topic URI.
	Topic string
	// Event (v1) is the event, raw JSON.
	Event json.RawMessage
	// Subscription (v2) is the subscription the event is delivered on.
	Subscription uint64
	// Publication (v2) is the publication id, as in PUBLISHED.
	Publication uint64
	// Details (v2) is the EVENT.Details dict; see EventDetails.
	Details json.RawMessage
	// Payload (v2) is the publication's arguments.
	Payload Payload
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
	// Binary reports whether the codec's messages travel in binary
	// WebSocket frames (true) or text frames (false).
	Binary() bool
	// Decode parses one WebSocket message. Errors wrap ErrInvalidMessage.
	Decode(data []byte) (Message, error)
	// Append appends the encoding of m to dst and returns the result.
	Append(dst []byte, m Message) ([]byte, error)
}

// CodecFor returns the codec of a WebSocket subprotocol: "wamp" (V1),
// "wamp.2.json" (V2JSON), "wamp.2.msgpack" (V2MsgPack) or "wamp.2.cbor"
// (V2CBOR). The name is matched exactly, as RFC 6455 compares subprotocols.
func CodecFor(subprotocol string) (Codec, bool) {
	switch subprotocol {
	case V1Subprotocol:
		return V1{}, true
	case V2JSONSubprotocol:
		return V2JSON{}, true
	case V2MsgPackSubprotocol:
		return V2MsgPack{}, true
	case V2CBORSubprotocol:
		return V2CBOR{}, true
	}
	return nil, false
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
