package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/wamp"
)

// patternSubs holds the WAMP v2 prefix and wildcard subscriptions of this
// node. Each (pattern, match) is one subscription with one id, shared by
// its subscribers, as exact topics are in the hub.
//
// A publication reaches a pattern's subscribers when its topic's route
// lets anyone subscribe without a handler's check (no SubscribeHandler:
// a secured or user topic decides per subscriber at SUBSCRIBE time, which
// a pattern cannot ask), and the subscriber passes the route's subscribe
// policy and its token's channels.
type patternSubs struct {
	// n counts the pattern subscriptions, so that fan-out skips the lock
	// when there is none.
	n  atomic.Int64
	mu sync.RWMutex
	// byKey finds a pattern's subscription; byID the same by id.
	byKey map[patternKey]*patternSub
	byID  map[uint64]*patternSub
}

type patternKey struct {
	pattern string
	match   wamp.MatchPolicy
}

// patternSub is one pattern subscription and its subscribers.
type patternSub struct {
	id      uint64
	key     patternKey
	created time.Time
	subs    map[*session]struct{}
}

// add subscribes s to a pattern and returns the subscription id, whether
// the subscription is new and whether it is the node's first.
func (ps *patternSubs) add(pattern string, match wamp.MatchPolicy, s *session) (id uint64, created, first bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	k := patternKey{pattern, match}
	sub := ps.byKey[k]
	if sub == nil {
		if ps.byKey == nil {
			ps.byKey, ps.byID = map[patternKey]*patternSub{}, map[uint64]*patternSub{}
		}
		sub = &patternSub{id: newWAMPID(), key: k, created: time.Now().UTC(), subs: map[*session]struct{}{}}
		ps.byKey[k], ps.byID[sub.id] = sub, sub
		first = ps.n.Add(1) == 1
		created = true
	}
	sub.subs[s] = struct{}{}
	return sub.id, created, first
}

// remove unsubscribes s from subscription id; gone reports that the
// subscription has no subscriber left and was deleted, last that it was
// the node's last.
func (ps *patternSubs) remove(id uint64, s *session) (gone, last bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	sub := ps.byID[id]
	if sub == nil {
		return false, false
	}
	if _, ok := sub.subs[s]; !ok {
		return false, false
	}
	delete(sub.subs, s)
	if len(sub.subs) == 0 {
		delete(ps.byKey, sub.key)
		delete(ps.byID, id)
		return true, ps.n.Add(-1) == 0
	}
	return false, false
}

// matching calls fn with each pattern subscription that matches topic and
// its subscribers, under the read lock; fn must not block.
func (ps *patternSubs) matching(topic string, fn func(sub *patternSub)) {
	if ps.n.Load() == 0 {
		return
	}
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	for _, sub := range ps.byID {
		if sub.key.match.Match(sub.key.pattern, topic) {
			fn(sub)
		}
	}
}

// get returns a snapshot of subscription id.
func (ps *patternSubs) get(id uint64) (key patternKey, created time.Time, subscribers []*session, ok bool) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	sub := ps.byID[id]
	if sub == nil {
		return patternKey{}, time.Time{}, nil, false
	}
	for s := range sub.subs {
		subscribers = append(subscribers, s)
	}
	return sub.key, sub.created, subscribers, true
}

// lookup returns the id of a pattern's subscription.
func (ps *patternSubs) lookup(pattern string, match wamp.MatchPolicy) (uint64, bool) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	if sub := ps.byKey[patternKey{pattern, match}]; sub != nil {
		return sub.id, true
	}
	return 0, false
}

// ids lists the prefix and the wildcard subscriptions' ids.
func (ps *patternSubs) ids() (prefix, wildcard []uint64) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	prefix, wildcard = []uint64{}, []uint64{}
	for id, sub := range ps.byID {
		if sub.key.match == wamp.MatchPolicyPrefix {
			prefix = append(prefix, id)
		} else {
			wildcard = append(wildcard, id)
		}
	}
	return prefix, wildcard
}

// patternsTopic is the broker topic that carries every publication, whole,
// to the nodes with pattern subscriptions while any node has one: the
// broker routes by exact topic, and a pattern's topics are not known in
// advance. Like nodesTopic it starts with a NUL byte.
const patternsTopic = "\x00herald/patterns"

// clusterHasPatterns reports whether a node of the cluster (this one
// included) announced pattern subscriptions.
func (s *Server) clusterHasPatterns() bool {
	if s.patterns.n.Load() > 0 {
		return true
	}
	return s.nodes.anyPatterns(time.Now())
}

// publishToPatterns sends bp, whole, on patternsTopic.
func (s *Server) publishToPatterns(ctx context.Context, bp broker.Publication, confirm bool) error {
	inner, err := broker.Marshal(bp)
	if err != nil {
		return fmt.Errorf("encoding a publication for pattern subscribers: %w", err)
	}
	wrapped := broker.Publication{Topic: patternsTopic, Payload: inner, Origin: bp.Origin}
	if pl, ok := s.broker.(broker.Pipeliner); ok && !confirm {
		return pl.PublishNoWait(ctx, wrapped)
	}
	return s.broker.Publish(ctx, wrapped)
}

// patternsChanged subscribes the node to patternsTopic when its first
// pattern subscription appears (and tells the cluster at once), and
// unsubscribes when the last goes.
func (s *Server) patternsChanged(first, last bool) {
	switch {
	case first:
		if err := s.broker.Subscribe(context.Background(), patternsTopic); err != nil {
			s.log.Warn("broker subscribe failed; retried when the broker is back", "topic", "pattern subscriptions", "err", err)
		}
		s.nodes.kick()
	case last:
		s.broker.Unsubscribe(context.Background(), patternsTopic)
		s.nodes.kick()
	}
}

// filterOrNil prepares p's audience, nil for everyone.
func (s *Server) filterOrNil(p *Publication) *audienceFilter {
	if p.everyone() {
		return nil
	}
	f := s.filter(&p.Audience)
	return &f
}

// fanoutPatterns delivers p to the pattern subscribers its topic's route
// admits, each pattern subscription's frames encoded once per codec, and
// returns how many were sent it.
func (s *Server) fanoutPatterns(p *Publication, to *audienceFilter) int {
	if s.patterns.n.Load() == 0 {
		return 0
	}
	t, b, ok := s.resolve(p.Topic)
	if !ok || wamp.ReservedURI(p.Topic) && !isMetaTopic(p.Topic) {
		return 0
	}
	if _, checks := b.Handler.(SubscribeHandler); checks {
		return 0
	}
	delivered := 0
	s.patterns.matching(t.Name, func(sub *patternSub) {
		frames := eventFrames{p: p, sub: sub.id, pattern: true}
		for sess := range sub.subs {
			if !b.Policy.Subscribe.allows(sess.identity) || (sess.identity.Channels != nil && !channelAllowed(sess.identity.Channels, p.Topic)) {
				continue
			}
			if to != nil && !to.admits(sess) {
				continue
			}
			if f := frames.frame(s, sess.wire); f != nil && sess.send(f) {
				delivered++
			}
		}
	})
	return delivered
}
