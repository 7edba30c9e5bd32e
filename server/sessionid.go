package server

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
)

// sessionIDs makes session ids that are unique across a cluster: 24
// lowercase hex characters, the node id (8), a per-node counter (8) and 32
// random bits (8). That fits Ratchet's 23–32 characters of [0-9a-f], so
// clients that validate the shape accept them.
type sessionIDs struct {
	node    [8]byte
	counter atomic.Uint32
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
	g.counter.Store(rand.Uint32())
	return g, nil
}

// nodeID returns the node id the session ids start with.
func (g *sessionIDs) nodeID() string { return string(g.node[:]) }

func (g *sessionIDs) next() string {
	var b [24]byte
	copy(b[:8], g.node[:])
	var n [8]byte
	c := g.counter.Add(1)
	r := rand.Uint32()
	n[0], n[1], n[2], n[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	n[4], n[5], n[6], n[7] = byte(r>>24), byte(r>>16), byte(r>>8), byte(r)
	hex.Encode(b[8:], n[:])
	return string(b[:])
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
