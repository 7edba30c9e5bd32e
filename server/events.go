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
	// numWireCodecs bounds the codecs.
	numWireCodecs
)

// eventEncoders encode a publication as one complete WebSocket frame, per
// wireCodec.
var eventEncoders = [numWireCodecs]func(p *Publication) ([]byte, error){
	wireV1: func(p *Publication) ([]byte, error) {
		return encodeFrame(wamp.V1{}, &wamp.Event{Topic: p.Topic, Event: p.Payload.V1Event()})
	},
}

// eventFrames holds one publication's frames, each encoded when the
// first subscriber that speaks its codec is met, and shared by all of
// them.
type eventFrames struct {
	p      *Publication
	frames [numWireCodecs][]byte
	failed [numWireCodecs]bool
}

// frame returns the publication's frame in codec c, or nil when it could
// not be encoded (logged once).
func (e *eventFrames) frame(s *Server, c wireCodec) []byte {
	if f := e.frames[c]; f != nil || e.failed[c] {
		return f
	}
	f, err := eventEncoders[c](e.p)
	if err != nil {
		e.failed[c] = true
		s.log.Error("encoding event", "topic", e.p.Topic, "err", fmt.Errorf("codec %d: %w", c, err))
		return nil
	}
	e.frames[c] = f
	return f
}
