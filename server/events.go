package server

import (
	"fmt"

	"github.com/heraldws/herald/wamp"
)

// wireCodec names a wire encoding of EVENTs that sessions speak. Fan-out
// encodes a publication once per wireCodec its subscribers use, never
// once per subscriber.
type wireCodec uint8

const (
	// wireV1 is WAMP v1's JSON EVENT, [8, topic, event].
	wireV1 wireCodec = iota
	// wireV2JSON, wireV2MsgPack and wireV2CBOR are WAMP v2's EVENT,
	// [36, subscription, publication, details, args, kwargs], in each
	// serialization.
	wireV2JSON
	wireV2MsgPack
	wireV2CBOR
	// numWireCodecs bounds the codecs.
	numWireCodecs
)

// v2Codecs are the WAMP v2 serializations by wire codec.
var v2Codecs = [numWireCodecs]wamp.Codec{
	wireV2JSON:    wamp.V2JSON{},
	wireV2MsgPack: wamp.V2MsgPack{},
	wireV2CBOR:    wamp.V2CBOR{},
}

// eventEncoders encode a publication as one complete WebSocket frame, per
// wireCodec.
var eventEncoders = [numWireCodecs]func(s *Server, e *eventFrames, c wireCodec) ([]byte, error){
	wireV1: func(_ *Server, e *eventFrames, _ wireCodec) ([]byte, error) {
		return encodeFrame(wamp.V1{}, &wamp.Event{Topic: e.p.Topic, Event: e.p.Payload.V1Event()})
	},
	wireV2JSON:    encodeV2Event,
	wireV2MsgPack: encodeV2Event,
	wireV2CBOR:    encodeV2Event,
}

// encodeV2Event encodes a WAMP v2 EVENT for e's subscription.
func encodeV2Event(s *Server, e *eventFrames, c wireCodec) ([]byte, error) {
	if e.sub == 0 {
		// The eligible-list path, which looks subscribers up one by one
		// and holds no hub lock here.
		e.sub = s.hub.subscriptionID(e.p.Topic)
	}
	if e.p.ID == 0 {
		e.p.ID = newWAMPID()
	}
	if e.details == nil {
		d := wamp.EventDetails{}
		if pub := e.p.Publisher; pub != nil {
			d.Publisher, _ = sessionNumber(pub.Session)
			d.PublisherAuthID, d.PublisherAuthRole = pub.AuthID, pub.AuthRole
		}
		if e.pattern {
			d.Topic = e.p.Topic
		}
		e.details = d.AppendJSON(nil)
	}
	return encodeFrame(v2Codecs[c], &wamp.Event{Subscription: e.sub, Publication: e.p.ID, Details: e.details, Payload: e.p.Payload})
}

// eventFrames holds one publication's frames for one subscription (the
// exact topic's, or one pattern subscription's), each encoded when the
// first subscriber that speaks its codec is met, and shared by all of
// them.
type eventFrames struct {
	p *Publication
	// sub is the WAMP v2 subscription id: the pattern's, or the exact
	// topic's as hub.subscribers sets it (0: looked up when a v2
	// subscriber is first met, outside any hub lock).
	sub uint64
	// pattern marks a pattern subscription, whose events name the topic.
	pattern bool
	// details is the v2 EVENT details, built once.
	details []byte
	frames  [numWireCodecs][]byte
	failed  [numWireCodecs]bool
}

// frame returns the publication's frame in codec c, or nil when it could
// not be encoded (logged once).
func (e *eventFrames) frame(s *Server, c wireCodec) []byte {
	if f := e.frames[c]; f != nil || e.failed[c] {
		return f
	}
	f, err := eventEncoders[c](s, e, c)
	if err != nil {
		e.failed[c] = true
		s.log.Error("encoding event", "topic", e.p.Topic, "err", fmt.Errorf("codec %d: %w", c, err))
		return nil
	}
	e.frames[c] = f
	return f
}
