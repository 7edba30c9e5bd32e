package server

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/heraldws/herald/wamp"
)

// sessionIDs makes session ids that are unique across a cluster. A
// session has two forms of one id: WAMP v2's integer, drawn at random from
// [1, 2^53] as the spec asks (so ids of different nodes do not collide in
// practice), and WAMP v1's string, 24 lowercase hex characters: the node id
// (8) and the integer (16). That fits Ratchet's 23–32 characters of
// [0-9a-f], so clients that validate the shape accept it, and either form
// gives the other back (sessionNumber, sessionIDs.forNumber).
type sessionIDs struct {
	node [8]byte
}

func newSessionIDs(nodeID string) (*sessionIDs, error) {
	g := &sessionIDs{}
	if nodeID == "" {
		nodeID = fmt.Sprintf("%08x", rand.Uint32())
	}
	if len(nodeID) != 8 || !isLowerHex(nodeID) {
		return nil, fmt.Errorf("server: node id %q must be 8 lowercase hex characters", nodeID)
	}
	copy(g.node[:], nodeID)
	return g, nil
}

// nodeID returns the node id the session ids start with.
func (g *sessionIDs) nodeID() string { return string(g.node[:]) }

// next draws a new session id, in its string form.
func (g *sessionIDs) next() string { return g.forNumber(newWAMPID()) }

// newWAMPID draws a WAMP v2 id at random from [1, 2^53], as the spec asks
// of session, publication and subscription ids.
func newWAMPID() uint64 { return rand.Uint64N(wamp.MaxID) + 1 }

// forNumber returns the string id of this node's session numbered n.
func (g *sessionIDs) forNumber(n uint64) string {
	var b [24]byte
	copy(b[:8], g.node[:])
	var num [8]byte
	binary.BigEndian.PutUint64(num[:], n)
	hex.Encode(b[8:], num[:])
	return string(b[:])
}

// sessionNumber returns the WAMP v2 integer of a string session id, and
// false for a string that is no herald session id (an id from another
// server, or garbage a client sent).
func sessionNumber(id string) (uint64, bool) {
	if len(id) != 24 || !isLowerHex(id) {
		return 0, false
	}
	n, err := strconv.ParseUint(id[8:], 16, 64)
	if err != nil || n == 0 || n > wamp.MaxID {
		return 0, false
	}
	return n, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
