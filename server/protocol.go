package server

import (
	"net/http"

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
}

// negotiate picks the protocol for an upgrade request: WAMP v1 whatever
// the client offers, as Ratchet does. subprotocol is the
// Sec-WebSocket-Protocol to answer, "" for none (a client that offered no
// "wamp" gets no header, and is still spoken to in v1).
func (s *Server) negotiate(h http.Header) (p protocol, subprotocol string) {
	p = newWAMPV1(s.cfg.PrefixMode)
	if headerHasToken(h, "Sec-WebSocket-Protocol", wamp.V1Subprotocol) {
		subprotocol = wamp.V1Subprotocol
	}
	return p, subprotocol
}
