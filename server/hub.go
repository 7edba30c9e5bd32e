package server

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/heraldws/herald/internal/shrink"
)

// hubShards spreads topics over independent locks so that subscriptions and
// publications on different topics never contend.
const hubShards = 64

// hub maps exact topic strings to their local subscribers. A topic exists
// while it has at least one subscriber. Its maps give their memory back
// as topics and subscribers leave (see package shrink).
type hub struct {
	seed   maphash.Seed
	shards [hubShards]hubShard
	// topics counts the topics of every shard, for maxTopics.
	topics atomic.Int64
	// maxTopics bounds topics; zero or less means no bound.
	maxTopics int64
}

type hubShard struct {
	mu     sync.RWMutex
	topics map[string]*topicSubs
	peak   shrink.Peak
}

// topicSubs is one topic's subscriber set: a slice for fast fan-out and an
// index for O(1) removal (swap with the last element).
type topicSubs struct {
	// id is the topic's WAMP v2 subscription id, which every v2 session
	// subscribed to the exact topic shares; drawn when the topic appears.
	id   uint64
	mu   sync.RWMutex
	subs []*session
	idx  map[*session]int
	peak shrink.Peak
}

// newHub returns a hub holding at most maxTopics topics (no bound when
// zero or less).
func newHub(maxTopics int) *hub {
	h := &hub{seed: maphash.MakeSeed(), maxTopics: int64(maxTopics)}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topicSubs)
	}
	return h
}

func (h *hub) shard(topic string) *hubShard {
	return &h.shards[maphash.String(h.seed, topic)%hubShards]
}

// subscribe adds s to topic. It reports whether s was added (false when it
// already was a subscriber) and whether the topic is new on this node; full
// means the topic would have been new but the hub holds maxTopics already,
// and nothing changed.
func (h *hub) subscribe(topic string, s *session) (added, newTopic, full bool) {
	sh := h.shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.topics[topic]
	if t == nil {
		if n := h.topics.Add(1); h.maxTopics > 0 && n > h.maxTopics {
			h.topics.Add(-1)
			return false, false, true
		}
		t = &topicSubs{id: newWAMPID(), idx: make(map[*session]int)}
		sh.topics[topic] = t
		sh.peak.Grew(len(sh.topics))
		newTopic = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.idx[s]; ok {
		return false, false, false
	}
	t.idx[s] = len(t.subs)
	t.subs = append(t.subs, s)
	t.peak.Grew(len(t.subs))
	return true, newTopic, false
}

// unsubscribe removes s from topic. It reports whether s was removed and
// whether the topic is now gone from this node.
func (h *hub) unsubscribe(topic string, s *session) (removed, gone bool) {
	sh := h.shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.topics[topic]
	if t == nil {
		return false, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.idx[s]
	if !ok {
		return false, false
	}
	last := len(t.subs) - 1
	if i != last {
		moved := t.subs[last]
		t.subs[i] = moved
		t.idx[moved] = i
	}
	t.subs[last] = nil
	t.subs = shrink.Slice(t.subs[:last])
	delete(t.idx, s)
	if len(t.subs) == 0 {
		delete(sh.topics, topic)
		sh.topics = shrink.Map(sh.topics, &sh.peak)
		h.topics.Add(-1)
		return true, true
	}
	t.idx = shrink.Map(t.idx, &t.peak)
	return true, false
}

// subscribers calls fn for each subscriber of topic while holding the
// topic's read lock; fn must not block or touch the hub (the hub takes a
// shard's lock before a topic's: a shard lock taken under a topic lock
// can deadlock with a SUBSCRIBE). When sub is not nil it is set to the
// topic's subscription id before fn runs.
func (h *hub) subscribers(topic string, sub *uint64, fn func(*session)) {
	sh := h.shard(topic)
	sh.mu.RLock()
	t := sh.topics[topic]
	sh.mu.RUnlock()
	if t == nil {
		return
	}
	if sub != nil {
		*sub = t.id // fixed when the topic was made
	}
	t.mu.RLock()
	for _, s := range t.subs {
		fn(s)
	}
	t.mu.RUnlock()
}

// isSubscribed reports whether s subscribes to topic.
func (h *hub) isSubscribed(topic string, s *session) bool {
	sh := h.shard(topic)
	sh.mu.RLock()
	t := sh.topics[topic]
	sh.mu.RUnlock()
	if t == nil {
		return false
	}
	t.mu.RLock()
	_, ok := t.idx[s]
	t.mu.RUnlock()
	return ok
}

// subscriptionID returns the WAMP v2 subscription id of topic's exact
// subscribers, 0 when it has none.
func (h *hub) subscriptionID(topic string) uint64 {
	sh := h.shard(topic)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if t := sh.topics[topic]; t != nil {
		return t.id
	}
	return 0
}

// subscriptionIDs lists the WAMP v2 subscription ids of every topic.
func (h *hub) subscriptionIDs() []uint64 {
	ids := []uint64{}
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, t := range sh.topics {
			ids = append(ids, t.id)
		}
		sh.mu.RUnlock()
	}
	return ids
}

// topicByID returns the topic whose subscription id is id (a scan: for
// the meta API, not for fan-out).
func (h *hub) topicByID(id uint64) (string, bool) {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for name, t := range sh.topics {
			if t.id == id {
				sh.mu.RUnlock()
				return name, true
			}
		}
		sh.mu.RUnlock()
	}
	return "", false
}

// count returns the number of subscribers of topic.
func (h *hub) count(topic string) int {
	sh := h.shard(topic)
	sh.mu.RLock()
	t := sh.topics[topic]
	sh.mu.RUnlock()
	if t == nil {
		return 0
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.subs)
}

// topicCount returns the number of topics with local subscribers.
func (h *hub) topicCount() int { return int(h.topics.Load()) }
