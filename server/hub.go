package server

import (
	"hash/maphash"
	"sync"
)

// hubShards spreads topics over independent locks so that subscriptions and
// publications on different topics never contend.
const hubShards = 64

// hub maps exact topic strings to their local subscribers. A topic exists
// while it has at least one subscriber.
type hub struct {
	seed   maphash.Seed
	shards [hubShards]hubShard
}

type hubShard struct {
	mu     sync.RWMutex
	topics map[string]*topicSubs
}

// topicSubs is one topic's subscriber set: a slice for fast fan-out and an
// index for O(1) removal (swap with the last element).
type topicSubs struct {
	mu   sync.RWMutex
	subs []*session
	idx  map[*session]int
}

func newHub() *hub {
	h := &hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topicSubs)
	}
	return h
}

func (h *hub) shard(topic string) *hubShard {
	return &h.shards[maphash.String(h.seed, topic)%hubShards]
}

// subscribe adds s to topic. It reports whether s was added (false when it
// already was a subscriber) and whether the topic is new on this node.
func (h *hub) subscribe(topic string, s *session) (added, newTopic bool) {
	sh := h.shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.topics[topic]
	if t == nil {
		t = &topicSubs{idx: make(map[*session]int)}
		sh.topics[topic] = t
		newTopic = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.idx[s]; ok {
		return false, false
	}
	t.idx[s] = len(t.subs)
	t.subs = append(t.subs, s)
	return true, newTopic
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
	t.subs = t.subs[:last]
	delete(t.idx, s)
	if len(t.subs) == 0 {
		delete(sh.topics, topic)
		return true, true
	}
	return true, false
}

// subscribers calls fn for each subscriber of topic while holding the
// topic's read lock; fn must not block or touch the hub.
func (h *hub) subscribers(topic string, fn func(*session)) {
	sh := h.shard(topic)
	sh.mu.RLock()
	t := sh.topics[topic]
	sh.mu.RUnlock()
	if t == nil {
		return
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
func (h *hub) topicCount() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		n += len(sh.topics)
		sh.mu.RUnlock()
	}
	return n
}
