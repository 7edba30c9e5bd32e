package wamp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// V2JSON is the WAMP v2 JSON codec (subprotocol "wamp.2.json", text
// frames).
//
// Decode checks each message against its definition in the spec (element
// count and types, ids in [1, 2^53], dicts, lists) and returns a
// *ProtocolError when it does not fit. The raw JSON of dicts and payloads
// is kept byte for byte, in a copy of data: Decode does not retain data.
// JSON is refused when it is not RFC 8259 JSON, when it holds invalid
// UTF-8 or a lone surrogate escape, or nests deeper than MaxDepth.
//
// Append copies dicts and payloads as they are, checking only that each
// starts as the right kind of value: the decoders guarantee the rest, and
// the EVENT a publication fans out as is never re-parsed. Strings are
// written as AppendString does. Ids must be in [1, 2^53].
//
// V2JSON is stateless and safe for concurrent use.
type V2JSON struct{}

// V2MsgPack is the WAMP v2 MessagePack codec (subprotocol
// "wamp.2.msgpack", binary frames), with the same checks as V2JSON.
//
// The model stays JSON: Decode transcodes dicts and payloads to JSON and
// Append transcodes them back. Integers stay integers (JSON integers
// beyond the 64-bit range become floats), floats stay floats (a float is
// written to JSON with a '.' or an exponent, so 1.0 reads back as a
// float; float32 values are widened exactly), strings stay strings, and
// binary (bin 8/16/32) becomes the spec's JSON form for binary, a string
// holding U+0000 and the padded base64 of the bytes; Append turns such a
// string back into binary when the base64 is canonical. Decode refuses
// extension types, map keys that are not strings, invalid UTF-8, NaN and
// infinities (they have no JSON form), nesting deeper than MaxDepth,
// lengths beyond the end of the message and trailing bytes.
//
// V2MsgPack is stateless and safe for concurrent use.
type V2MsgPack struct{}

// V2CBOR is the WAMP v2 CBOR codec (subprotocol "wamp.2.cbor", binary
// frames, RFC 8949), mapped to the model's JSON as V2MsgPack is: byte
// strings are binary, half, single and double floats are floats,
// integers down to -2^64 stay integers. Decode accepts definite and
// indefinite lengths; it refuses tags, the simple values other than
// false, true and null (undefined included), map keys that are not text
// strings, and the same inputs as V2MsgPack. Append writes definite
// lengths, shortest integer heads and double-precision floats.
//
// V2CBOR is stateless and safe for concurrent use.
type V2CBOR struct{}

var (
	_ Codec = V2JSON{}
	_ Codec = V2MsgPack{}
	_ Codec = V2CBOR{}
)

// Subprotocol implements Codec.
func (V2JSON) Subprotocol() string { return V2JSONSubprotocol }

// Binary implements Codec: false, JSON travels in text frames.
func (V2JSON) Binary() bool { return false }

// Subprotocol implements Codec.
func (V2MsgPack) Subprotocol() string { return V2MsgPackSubprotocol }

// Binary implements Codec: true.
func (V2MsgPack) Binary() bool { return true }

// Subprotocol implements Codec.
func (V2CBOR) Subprotocol() string { return V2CBORSubprotocol }

// Binary implements Codec: true.
func (V2CBOR) Binary() bool { return true }

// Decode implements Codec. Errors are *ProtocolError.
func (V2JSON) Decode(data []byte) (Message, error) {
	buf := bytes.Clone(data)
	i := skipWS(buf, 0)
	if i >= len(buf) || buf[i] != '[' {
		end, err := scanValue(buf, i, 0)
		if err != nil {
			return nil, syntaxError("%v", err)
		}
		if skipWS(buf, end) != len(buf) {
			return nil, syntaxError("trailing data after the message")
		}
		return nil, &ProtocolError{Reason: "message must be a list"}
	}
	var els [maxElements]element
	k := 0
	i = skipWS(buf, i+1)
	if i < len(buf) && buf[i] == ']' {
		i++
	} else {
		for {
			if k == maxElements {
				return nil, tooManyElements()
			}
			end, err := scanValue(buf, i, 1)
			if err != nil {
				return nil, syntaxError("%v", err)
			}
			els[k].raw = buf[i:end:end]
			k++
			i = skipWS(buf, end)
			if i < len(buf) && buf[i] == ',' {
				i = skipWS(buf, i+1)
				continue
			}
			if i < len(buf) && buf[i] == ']' {
				i++
				break
			}
			return nil, syntaxError("%v", errJSON(i, "expected ',' or ']'"))
		}
	}
	if skipWS(buf, i) != len(buf) {
		return nil, syntaxError("trailing data after the message")
	}
	for j := range k {
		els[j].classify(false)
	}
	return buildV2(els[:k])
}

// Decode implements Codec. Errors are *ProtocolError.
func (V2MsgPack) Decode(data []byte) (Message, error) { return decodeBinary(fmtMsgPack, data) }

// Decode implements Codec. Errors are *ProtocolError.
func (V2CBOR) Decode(data []byte) (Message, error) { return decodeBinary(fmtCBOR, data) }

func tooManyElements() *ProtocolError {
	return &ProtocolError{Reason: fmt.Sprintf("more than %d elements", maxElements)}
}

func decodeBinary(f binFormat, data []byte) (Message, error) {
	r := b2j{f: f, src: data, dst: make([]byte, 0, 2*len(data)+16)}
	n, err := r.listHeader()
	if err != nil {
		return nil, err
	}
	var (
		els  [maxElements]element
		span [maxElements][2]int
		bin  [maxElements]bool
	)
	k := 0
	for {
		if n < 0 {
			if r.i >= len(r.src) {
				return nil, r.fail("truncated")
			}
			if r.atBreak() {
				r.i++
				break
			}
		} else if k == n {
			break
		}
		if k == maxElements {
			return nil, tooManyElements()
		}
		bin[k] = r.isBinary()
		start := len(r.dst)
		if err := r.value(1); err != nil {
			return nil, err
		}
		span[k] = [2]int{start, len(r.dst)}
		k++
	}
	if r.i != len(r.src) {
		return nil, r.fail("trailing bytes after the message")
	}
	for j := range k {
		els[j].raw = r.dst[span[j][0]:span[j][1]:span[j][1]]
		els[j].classify(bin[j])
	}
	return buildV2(els[:k])
}

// Append implements Codec. On error dst is returned unchanged.
func (V2JSON) Append(dst []byte, m Message) ([]byte, error) {
	return appendV2(v2enc{json: true, dst: dst}, m)
}

// Append implements Codec. On error dst is returned unchanged.
func (V2MsgPack) Append(dst []byte, m Message) ([]byte, error) {
	return appendV2(v2enc{f: fmtMsgPack, dst: dst}, m)
}

// Append implements Codec. On error dst is returned unchanged.
func (V2CBOR) Append(dst []byte, m Message) ([]byte, error) {
	return appendV2(v2enc{f: fmtCBOR, dst: dst}, m)
}

// v2enc writes one message in one of the three formats. Errors stick:
// after the first one the writes are no-ops and err tells why.
type v2enc struct {
	json bool
	f    binFormat
	dst  []byte
	n    int // elements written, for JSON's commas
	kind string
	err  error
}

func (e *v2enc) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("wamp: v2 %s: %s", e.kind, fmt.Sprintf(format, args...))
	}
}

func (e *v2enc) begin(count int) {
	if e.json {
		e.dst = append(e.dst, '[')
		return
	}
	e.dst = e.f.appendHeader(e.dst, hdrArray, uint64(count))
}

func (e *v2enc) sep() {
	if e.json && e.n > 0 {
		e.dst = append(e.dst, ',')
	}
	e.n++
}

func (e *v2enc) uint(u uint64) {
	e.sep()
	if e.json {
		e.dst = strconv.AppendUint(e.dst, u, 10)
		return
	}
	e.dst = e.f.appendUint(e.dst, u)
}

// id writes an id, which must be in [min, MaxID].
func (e *v2enc) id(u uint64, field string, min uint64) {
	if u < min || u > MaxID {
		e.fail("%s %d out of range [%d, 2^53]", field, u, min)
	}
	e.uint(u)
}

func (e *v2enc) str(s string) {
	e.sep()
	if e.json {
		e.dst = AppendString(e.dst, s)
		return
	}
	e.dst = e.f.appendString(e.dst, s)
}

// raw writes a JSON dict (open '{') or list (open '['); an empty raw is
// written as an empty one.
func (e *v2enc) raw(raw json.RawMessage, field string, open byte) {
	e.sep()
	if len(raw) == 0 {
		switch {
		case e.json:
			e.dst = append(e.dst, open, open+2) // "{}" or "[]"
		case open == '{':
			e.dst = e.f.appendHeader(e.dst, hdrMap, 0)
		default:
			e.dst = e.f.appendHeader(e.dst, hdrArray, 0)
		}
		return
	}
	if firstByte(raw) != open {
		what := "a dict"
		if open == '[' {
			what = "a list"
		}
		e.fail("%s must be %s", field, what)
		return
	}
	if e.json {
		e.dst = append(e.dst, raw...)
		return
	}
	var err error
	if e.dst, err = e.f.appendJSON(e.dst, raw, 1); err != nil {
		e.fail("%s: %v", field, err)
	}
}

func (e *v2enc) dict(raw json.RawMessage, field string) { e.raw(raw, field, '{') }

// payloadLen is the number of elements p adds to a message.
func payloadLen(p Payload) int {
	switch {
	case len(p.Kwargs) > 0:
		return 2
	case len(p.Args) > 0:
		return 1
	}
	return 0
}

func (e *v2enc) payload(p Payload) {
	switch payloadLen(p) {
	case 2:
		e.raw(p.Args, "Arguments", '[')
		e.raw(p.Kwargs, "ArgumentsKw", '{')
	case 1:
		e.raw(p.Args, "Arguments", '[')
	}
}

var errNotV2 = errors.New("not a WAMP v2 message")

func appendV2(e v2enc, m Message) ([]byte, error) {
	start := len(e.dst)
	if m == nil {
		return e.dst, fmt.Errorf("wamp: v2 cannot encode a nil message")
	}
	e.kind = m.Kind()
	switch m := m.(type) {
	case *Event:
		e.begin(4 + payloadLen(m.Payload))
		e.uint(V2Event)
		e.id(m.Subscription, "Subscription", 1)
		e.id(m.Publication, "Publication", 1)
		e.dict(m.Details, "Details")
		e.payload(m.Payload)
	case *Hello:
		e.begin(3)
		e.uint(V2Hello)
		e.str(m.Realm)
		e.dict(m.Details, "Details")
	case *Welcome:
		e.begin(3)
		e.uint(V2Welcome)
		e.id(m.Session, "Session", 1)
		e.dict(m.Details, "Details")
	case *Abort:
		e.begin(3)
		e.uint(V2Abort)
		e.dict(m.Details, "Details")
		e.str(m.Reason)
	case *Challenge:
		e.begin(3)
		e.uint(V2Challenge)
		e.str(m.AuthMethod)
		e.dict(m.Extra, "Extra")
	case *Authenticate:
		e.begin(3)
		e.uint(V2Authenticate)
		e.str(m.Signature)
		e.dict(m.Extra, "Extra")
	case *Goodbye:
		e.begin(3)
		e.uint(V2Goodbye)
		e.dict(m.Details, "Details")
		e.str(m.Reason)
	case *Error:
		e.begin(5 + payloadLen(m.Payload))
		e.uint(V2Error)
		if m.RequestType < 0 || !errorRequestType(uint64(m.RequestType)) {
			e.fail("RequestType %d is not a request that can fail", m.RequestType)
		}
		e.uint(uint64(max(m.RequestType, 0)))
		e.id(m.Request, "Request", 1)
		e.dict(m.Details, "Details")
		e.str(m.URI)
		e.payload(m.Payload)
	case *Publish:
		e.begin(4 + payloadLen(m.Payload))
		e.uint(V2Publish)
		e.id(m.Request, "Request", 1)
		e.dict(m.Options, "Options")
		e.str(m.Topic)
		e.payload(m.Payload)
	case *Published:
		e.twoIDs(V2Published, m.Request, m.Publication, "Publication")
	case *Subscribe:
		e.begin(4)
		e.uint(V2Subscribe)
		e.id(m.Request, "Request", 1)
		e.dict(m.Options, "Options")
		e.str(m.Topic)
	case *Subscribed:
		e.twoIDs(V2Subscribed, m.Request, m.Subscription, "Subscription")
	case *Unsubscribe:
		e.twoIDs(V2Unsubscribe, m.Request, m.Subscription, "Subscription")
	case *Unsubscribed:
		e.ack(V2Unsubscribed, m.Request, m.Details)
	case *Call:
		e.begin(4 + payloadLen(m.Payload))
		e.uint(V2Call)
		e.id(m.Request, "Request", 1)
		e.dict(m.Options, "Options")
		e.str(m.Procedure)
		e.payload(m.Payload)
	case *Cancel:
		e.begin(3)
		e.uint(V2Cancel)
		e.id(m.Request, "Request", 1)
		e.dict(m.Options, "Options")
	case *Result:
		e.begin(3 + payloadLen(m.Payload))
		e.uint(V2Result)
		e.id(m.Request, "Request", 1)
		e.dict(m.Details, "Details")
		e.payload(m.Payload)
	case *Register:
		e.begin(4)
		e.uint(V2Register)
		e.id(m.Request, "Request", 1)
		e.dict(m.Options, "Options")
		e.str(m.Procedure)
	case *Registered:
		e.twoIDs(V2Registered, m.Request, m.Registration, "Registration")
	case *Unregister:
		e.twoIDs(V2Unregister, m.Request, m.Registration, "Registration")
	case *Unregistered:
		e.ack(V2Unregistered, m.Request, m.Details)
	case *Invocation:
		e.begin(4 + payloadLen(m.Payload))
		e.uint(V2Invocation)
		e.id(m.Request, "Request", 1)
		e.id(m.Registration, "Registration", 1)
		e.dict(m.Details, "Details")
		e.payload(m.Payload)
	case *Interrupt:
		e.begin(3)
		e.uint(V2Interrupt)
		e.id(m.Request, "Request", 1)
		e.dict(m.Options, "Options")
	case *Yield:
		e.begin(3 + payloadLen(m.Payload))
		e.uint(V2Yield)
		e.id(m.Request, "Request", 1)
		e.dict(m.Options, "Options")
		e.payload(m.Payload)
	default:
		return e.dst, fmt.Errorf("wamp: v2 cannot encode %s (%T): %w", m.Kind(), m, errNotV2)
	}
	if e.err != nil {
		return e.dst[:start], e.err
	}
	if e.json {
		e.dst = append(e.dst, ']')
	}
	return e.dst, nil
}

func (e *v2enc) twoIDs(code int, req, id uint64, field string) {
	e.begin(3)
	e.uint(uint64(code))
	e.id(req, "Request", 1)
	e.id(id, field, 1)
}

// ack writes UNSUBSCRIBED or UNREGISTERED: [code, Request] or, with
// details (a revocation), [code, Request (0 allowed), Details].
func (e *v2enc) ack(code int, req uint64, details json.RawMessage) {
	if len(details) == 0 {
		e.begin(2)
		e.uint(uint64(code))
		e.id(req, "Request", 1)
		return
	}
	e.begin(3)
	e.uint(uint64(code))
	e.id(req, "Request", 0)
	e.dict(details, "Details")
}
