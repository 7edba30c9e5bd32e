package bench

import (
	"strconv"

	"github.com/heraldws/herald/internal/ws"
)

// Protocols Config.Protocol accepts.
const (
	// WAMP1 is WAMP v1 (subprotocol "wamp"): Ratchet, GosWebSocketBundle,
	// herald.
	WAMP1 = "wamp1"
	// WAMP2 is WAMP v2 with the JSON serializer (subprotocol
	// "wamp.2.json", text frames): herald, crossbar, nexus, ….
	WAMP2 = "wamp2"
	// WAMP2MsgPack is WAMP v2 with the MessagePack serializer
	// (subprotocol "wamp.2.msgpack", binary frames): herald, crossbar,
	// nexus, …. Events travel as the msgpack map {"s":…,"t":…,"p":…}
	// (appendPayloadMsgPack).
	WAMP2MsgPack = "wamp2-msgpack"
)

// ProtocolOf returns the protocol (WAMP1, WAMP2 or WAMP2MsgPack) that a
// short name of `herald bench --proto` stands for: "v1", "v2" (also
// "v2-json") or "v2-msgpack"; ok is false for any other name.
func ProtocolOf(proto string) (protocol string, ok bool) {
	switch proto {
	case "v1":
		return WAMP1, true
	case "v2", "v2-json":
		return WAMP2, true
	case "v2-msgpack":
		return WAMP2MsgPack, true
	}
	return "", false
}

// IsV2 reports whether protocol is WAMP v2, whatever its serializer.
func IsV2(protocol string) bool { return protocol == WAMP2 || protocol == WAMP2MsgPack }

// WAMP message types the bench sends or reads.
const (
	v1Welcome   = 0
	v1CallError = 4
	v1Event     = 8

	v2Hello      = 1
	v2Welcome    = 2
	v2Abort      = 3
	v2Goodbye    = 6
	v2Error      = 8
	v2Publish    = 16
	v2Published  = 17
	v2Subscribe  = 32
	v2Subscribed = 33
	v2Event      = 36
)

// subprotocol is what the handshake offers for protocol.
func subprotocol(protocol string) string {
	switch protocol {
	case WAMP2:
		return "wamp.2.json"
	case WAMP2MsgPack:
		return "wamp.2.msgpack"
	}
	return "wamp"
}

// frameOp is the opcode of the frames that carry protocol's messages:
// binary for msgpack, text for JSON.
func frameOp(protocol string) byte {
	if protocol == WAMP2MsgPack {
		return ws.OpBinary
	}
	return ws.OpText
}

// appendHello appends a WAMP v2 HELLO announcing the subscriber and
// publisher roles, in msgpack for WAMP2MsgPack, else in JSON.
func appendHello(dst []byte, protocol, realm string) []byte {
	if protocol == WAMP2MsgPack {
		dst = mpAppendArray(dst, 3)
		dst = mpAppendInt(dst, v2Hello)
		dst = mpAppendStr(dst, realm)
		dst = mpAppendMap(dst, 1)
		dst = mpAppendStr(dst, "roles")
		dst = mpAppendMap(dst, 2)
		dst = mpAppendMap(mpAppendStr(dst, "subscriber"), 0)
		return mpAppendMap(mpAppendStr(dst, "publisher"), 0)
	}
	dst = append(dst, `[1,`...)
	dst = appendString(dst, realm)
	return append(dst, `,{"roles":{"subscriber":{},"publisher":{}}}]`...)
}

// appendSubscribe appends a SUBSCRIBE: [5,topic] in v1, [32,req,{},topic]
// in v2 (in msgpack for WAMP2MsgPack).
func appendSubscribe(dst []byte, protocol string, req uint64, topic string) []byte {
	switch protocol {
	case WAMP2MsgPack:
		dst = mpAppendArray(dst, 4)
		dst = mpAppendInt(dst, v2Subscribe)
		dst = mpAppendInt(dst, int64(req))
		dst = mpAppendMap(dst, 0)
		return mpAppendStr(dst, topic)
	case WAMP2:
		dst = append(dst, `[32,`...)
		dst = strconv.AppendUint(dst, req, 10)
		dst = append(dst, `,{},`...)
		return append(appendString(dst, topic), ']')
	}
	dst = append(dst, `[5,`...)
	return append(appendString(dst, topic), ']')
}

// appendPublish appends a PUBLISH of event: [7,topic,event] in v1;
// [16,req,{"exclude_me":false},topic,[event]] in v2, so that a publisher
// that is also a subscriber gets its own events, as in v1, with
// "acknowledge":true in the options when ack is set (v1 has no
// acknowledgement: ack changes nothing there). For WAMP2MsgPack the
// message is msgpack and event must be msgpack already
// (appendPayloadMsgPack).
func appendPublish(dst []byte, protocol string, req uint64, ack bool, topic string, event []byte) []byte {
	switch protocol {
	case WAMP2MsgPack:
		dst = mpAppendArray(dst, 5)
		dst = mpAppendInt(dst, v2Publish)
		dst = mpAppendInt(dst, int64(req))
		if ack {
			dst = mpAppendMap(dst, 2)
			dst = mpAppendBool(mpAppendStr(dst, "acknowledge"), true)
		} else {
			dst = mpAppendMap(dst, 1)
		}
		dst = mpAppendBool(mpAppendStr(dst, "exclude_me"), false)
		dst = mpAppendStr(dst, topic)
		dst = mpAppendArray(dst, 1)
		return append(dst, event...)
	case WAMP2:
		dst = append(dst, `[16,`...)
		dst = strconv.AppendUint(dst, req, 10)
		if ack {
			dst = append(dst, `,{"acknowledge":true,"exclude_me":false},`...)
		} else {
			dst = append(dst, `,{"exclude_me":false},`...)
		}
		dst = appendString(dst, topic)
		dst = append(dst, ",["...)
		dst = append(dst, event...)
		return append(dst, "]]"...)
	}
	dst = append(dst, `[7,`...)
	dst = appendString(dst, topic)
	dst = append(dst, ',')
	dst = append(dst, event...)
	return append(dst, ']')
}

// messageType returns the type of the WAMP message p and a scanner
// positioned after it, or ok false when p does not start like a WAMP
// message ([number,).
func messageType(p []byte) (typ int64, s scanner, ok bool) {
	s = scanner{b: p}
	if !s.accept('[') {
		return 0, s, false
	}
	if typ, ok = s.int(); !ok {
		return 0, s, false
	}
	return typ, s, true
}

// eventPayload returns the bytes starting at the event payload of an
// EVENT whose type was already read by messageType: after the topic in v1
// ([8,topic,event]), the first argument in v2 ([36,sub,pub,details,[event,…]…]).
func eventPayload(protocol string, s scanner) ([]byte, bool) {
	if !s.accept(',') {
		return nil, false
	}
	if IsV2(protocol) {
		if _, ok := s.int(); !ok || !s.accept(',') { // subscription id
			return nil, false
		}
		if _, ok := s.int(); !ok || !s.accept(',') { // publication id
			return nil, false
		}
		if !s.skip() || !s.accept(',') || !s.accept('[') { // details, arguments
			return nil, false
		}
	} else {
		if _, ok := s.str(); !ok || !s.accept(',') { // topic
			return nil, false
		}
	}
	s.space()
	return s.b[s.i:], true
}

// answeredRequest returns the request id a v2 PUBLISHED ([17,req,pub])
// or the ERROR answering a PUBLISH ([8,16,req,details,error…]) answers,
// given the scanner messageType left after the type; 0 when it answers
// none.
func answeredRequest(typ int64, s scanner) uint64 {
	if !s.accept(',') {
		return 0
	}
	if typ == v2Error {
		if t, ok := s.int(); !ok || t != v2Publish || !s.accept(',') {
			return 0
		}
	}
	req, ok := s.int()
	if !ok || req <= 0 {
		return 0
	}
	return uint64(req)
}

// inMessage is the start of a WAMP message the bench received, in its
// protocol's serialization: the type, and a scanner after it.
type inMessage struct {
	typ int64
	js  scanner   // JSON
	mp  mpScanner // msgpack
	n   int       // msgpack: the list's element count, the type included
}

// readMessage reads the type of the WAMP message p; ok is false when p
// does not start like a WAMP message in protocol's serialization.
func readMessage(protocol string, p []byte) (m inMessage, ok bool) {
	if protocol == WAMP2MsgPack {
		m.typ, m.n, m.mp, ok = mpMessageType(p)
	} else {
		m.typ, m.js, ok = messageType(p)
	}
	return m, ok
}

// event reads the sequence number and send time of an EVENT's payload.
func (m *inMessage) event(protocol string) (seq, sent int64, ok bool) {
	if protocol == WAMP2MsgPack {
		return mpEventPayload(m.mp, m.n)
	}
	ev, ok := eventPayload(protocol, m.js)
	if !ok {
		return 0, 0, false
	}
	return parsePayload(ev)
}

// request returns the request id a v2 PUBLISHED or ERROR answering a
// PUBLISH answers; 0 when it answers none.
func (m *inMessage) request(protocol string) uint64 {
	if protocol == WAMP2MsgPack {
		return mpAnsweredRequest(m.typ, m.n, m.mp)
	}
	return answeredRequest(m.typ, m.js)
}
