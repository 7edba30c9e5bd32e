package server

import (
	"net/http"
	"strings"

	"github.com/heraldws/herald/wamp"
)

// protocol is the WAMP dialect a session speaks on its connection, chosen
// by subprotocol at the handshake. The session (session.go) holds what
// every dialect shares: the identity, the subscriptions and the
// operations on topics and procedures. Its connection (conn.go) reads in
// turns, parks, queues frames and closes. A protocol turns the client's
// messages into those operations and their outcomes (a refusal among
// them) into its own answers.
type protocol interface {
	// greeting appends what the server sends right after its 101
	// response, in the same write: WAMP v1's WELCOME.
	greeting(dst []byte, s *session) ([]byte, error)
	// handle acts on one text or binary message from the client. An
	// error closes the connection (see closeOnError).
	handle(s *session, payload []byte) error
	// wire is the codec of the EVENTs the session receives.
	wire() wireCodec
	// authFailed is told that the upgrade request's authentication
	// failed, before the session starts.
	authFailed(s *session, err error)
	// goingAway tells the client that the server shuts down, before its
	// connection is closed with 1001; it may run outside the session's
	// read turns.
	goingAway(s *session)
}

// subprotocols are the WebSocket subprotocols herald speaks, with the
// protocol each one starts.
var subprotocols = []struct {
	name string
	wire wireCodec
}{
	{wamp.V1Subprotocol, wireV1},
	{wamp.V2JSONSubprotocol, wireV2JSON},
	{wamp.V2MsgPackSubprotocol, wireV2MsgPack},
	{wamp.V2CBORSubprotocol, wireV2CBOR},
}

// negotiate picks the protocol for an upgrade request: the first
// subprotocol the client offers that herald speaks, in the client's order.
// A client that offers none of them is spoken to in WAMP v1 without a
// Sec-WebSocket-Protocol header, as Ratchet does (the Gos PHP client sends
// none). subprotocol is the header's value to answer, "" for none.
func (s *Server) negotiate(h http.Header) (p protocol, subprotocol string) {
	for _, line := range h.Values("Sec-WebSocket-Protocol") {
		for offered := range strings.SplitSeq(line, ",") {
			offered = strings.TrimSpace(offered)
			for _, sp := range subprotocols {
				if !strings.EqualFold(offered, sp.name) {
					continue
				}
				if sp.wire == wireV1 {
					return newWAMPV1(s.cfg.PrefixMode), sp.name
				}
				return newWAMPV2(sp.wire), sp.name
			}
		}
	}
	return newWAMPV1(s.cfg.PrefixMode), ""
}
