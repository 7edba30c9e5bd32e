package bench

import "strconv"

// Protocols Config.Protocol accepts.
const (
	// WAMP1 is WAMP v1 (subprotocol "wamp"): Ratchet, GosWebSocketBundle,
	// herald.
	WAMP1 = "wamp1"
	// WAMP2 is WAMP v2 with the JSON serializer (subprotocol
	// "wamp.2.json"): crossbar, nexus, ….
	WAMP2 = "wamp2"
)

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
	v2Subscribed = 33
	v2Event      = 36
)

// subprotocol is what the handshake offers for protocol.
func subprotocol(protocol string) string {
	if protocol == WAMP2 {
		return "wamp.2.json"
	}
	return "wamp"
}

// appendHello appends a WAMP v2 HELLO announcing the subscriber and
// publisher roles.
func appendHello(dst []byte, realm string) []byte {
	dst = append(dst, `[1,`...)
	dst = appendString(dst, realm)
	return append(dst, `,{"roles":{"subscriber":{},"publisher":{}}}]`...)
}

// appendSubscribe appends a SUBSCRIBE: [5,topic] in v1, [32,req,{},topic]
// in v2.
func appendSubscribe(dst []byte, protocol string, req uint64, topic string) []byte {
	if protocol == WAMP2 {
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
// acknowledgement: ack changes nothing there).
func appendPublish(dst []byte, protocol string, req uint64, ack bool, topic string, event []byte) []byte {
	if protocol == WAMP2 {
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
	if protocol == WAMP2 {
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
