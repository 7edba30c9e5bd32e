package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/heraldws/herald/broker"
)

// nodesTopic is the broker topic on which nodes announce themselves. It
// starts with a NUL byte, so no route pattern matches it, and the server
// never fans it out to clients nor lets them publish on it.
const nodesTopic = "\x00herald/nodes"

// DefaultNodeAnnounceInterval is how often a node announces itself when
// Config.NodeAnnounceInterval is zero. A node not heard from for three
// intervals is left out of /api/info.
const DefaultNodeAnnounceInterval = 2 * time.Second

// NodeInfo is what a node announces about itself and what /api/info lists.
type NodeInfo struct {
	Node          string `json:"node"`
	Version       string `json:"version"`
	Connections   int    `json:"connections"`
	Subscriptions int    `json:"subscriptions"`
	Topics        int    `json:"topics"`
	// Patterns counts the node's WAMP v2 pattern subscriptions: while a
	// node has one, every node sends it every publication.
	Patterns int       `json:"patterns,omitempty"`
	Instance string    `json:"instance"`
	LastSeen time.Time `json:"last_seen"`
}

// nodes keeps the latest announcement of every node of the cluster.
type nodes struct {
	instance string // random per process: tells two nodes with one id apart
	interval time.Duration

	// kicks asks announceLoop for an announcement now.
	kicks chan struct{}

	mu   sync.Mutex
	seen map[string]NodeInfo
}

// kick asks for an announcement now, without waiting for it.
func (n *nodes) kick() {
	select {
	case n.kicks <- struct{}{}:
	default:
	}
}

// anyPatterns reports whether a node heard from recently has pattern
// subscriptions.
func (n *nodes) anyPatterns(now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, info := range n.seen {
		if info.Patterns > 0 && now.Sub(info.LastSeen) <= 3*n.interval {
			return true
		}
	}
	return false
}

// announce publishes this node's stats to the cluster, and records them
// locally too, so a node always lists itself.
func (s *Server) announce() {
	info := s.selfInfo()
	s.nodes.record(info, time.Now())
	payload, _ := json.Marshal(info)
	ctx, cancel := context.WithTimeout(context.Background(), s.nodes.interval)
	defer cancel()
	s.broker.Publish(ctx, broker.Publication{Topic: nodesTopic, Payload: payload, Origin: info.Node})
}

// selfInfo is this node's announcement, with its live figures.
func (s *Server) selfInfo() NodeInfo {
	st := s.Stats()
	return NodeInfo{
		Node: s.ids.nodeID(), Version: Version, Connections: st.Connections,
		Subscriptions: st.Subscriptions, Topics: st.Topics, Instance: s.nodes.instance,
		Patterns: int(s.patterns.n.Load()),
	}
}

// clusterNodes lists the nodes heard from recently, with this node's own
// entry always present and current: /api/info never waits for the first
// announcement.
func (s *Server) clusterNodes(now time.Time) []NodeInfo {
	s.nodes.record(s.selfInfo(), now)
	return s.nodes.list(now)
}

// heard handles another node's announcement.
func (s *Server) heard(p broker.Publication) {
	var info NodeInfo
	if err := json.Unmarshal(p.Payload, &info); err != nil || info.Node == "" {
		return
	}
	if info.Node == s.ids.nodeID() && info.Instance != s.nodes.instance {
		s.metrics.nodeIDCollisions.Inc()
		s.log.Error("another process announces this node's id: session ids may collide; give each node its own server.node_id", "node", info.Node)
		return
	}
	s.nodes.record(info, time.Now())
}

func (n *nodes) record(info NodeInfo, now time.Time) {
	info.LastSeen = now.UTC().Truncate(time.Millisecond)
	n.mu.Lock()
	if n.seen == nil {
		n.seen = map[string]NodeInfo{}
	}
	n.seen[info.Node] = info
	n.mu.Unlock()
}

// list returns the nodes heard from within three intervals, by node id.
func (n *nodes) list(now time.Time) []NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]NodeInfo, 0, len(n.seen))
	for id, info := range n.seen {
		if now.Sub(info.LastSeen) > 3*n.interval {
			delete(n.seen, id)
			continue
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// announceLoop announces this node every interval until stop is closed.
func (s *Server) announceLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	s.broker.Subscribe(context.Background(), nodesTopic)
	s.announce()
	t := time.NewTicker(s.nodes.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.announce()
		case <-s.nodes.kicks:
			s.announce()
		}
	}
}

func newInstanceID() string { return fmt.Sprintf("%016x", rand.Uint64()) }
