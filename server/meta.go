package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldws/herald/internal/dealer"
	"github.com/heraldws/herald/wamp"
)

// The WAMP v2 session meta API: procedures a v2 client calls to learn
// about the sessions, subscriptions and registrations, and topics it
// subscribes to for their events. Both describe this node: a herald node
// is the router its clients are connected to (the cluster shares topics,
// not sessions). v1 sessions are sessions too, and subscribers.

// Meta event topics.
const (
	metaOnJoin        = "wamp.session.on_join"
	metaOnLeave       = "wamp.session.on_leave"
	metaOnCreate      = "wamp.subscription.on_create"
	metaOnSubscribe   = "wamp.subscription.on_subscribe"
	metaOnUnsubscribe = "wamp.subscription.on_unsubscribe"
	metaOnDelete      = "wamp.subscription.on_delete"
	metaOnRegCreate   = "wamp.registration.on_create"
	metaOnRegister    = "wamp.registration.on_register"
	metaOnUnregister  = "wamp.registration.on_unregister"
	metaOnRegDelete   = "wamp.registration.on_delete"
	metaTopicPrefix   = "wamp."
)

// metaProcedurePrefixes start the meta API's procedures.
var metaProcedurePrefixes = []string{"wamp.session.", "wamp.subscription.", "wamp.registration."}

var metaTopics = []string{
	metaOnJoin, metaOnLeave, metaOnCreate, metaOnSubscribe, metaOnUnsubscribe, metaOnDelete,
	metaOnRegCreate, metaOnRegister, metaOnUnregister, metaOnRegDelete,
}

// isMetaTopic reports whether topic is a meta event topic, which clients
// may subscribe to and only the server publishes on.
func isMetaTopic(topic string) bool { return slices.Contains(metaTopics, topic) }

// metaEvent publishes a meta event to this node's subscribers of topic.
func (s *Server) metaEvent(topic string, args ...any) {
	if s.hub.count(topic) == 0 && s.patterns.n.Load() == 0 {
		return
	}
	list, err := json.Marshal(args)
	if err != nil {
		s.log.Error("encoding a meta event", "topic", topic, "err", err)
		return
	}
	s.fanout(Publication{Topic: topic, Payload: wamp.Payload{Args: list}})
}

// sessionDetails is a session as the meta API describes it.
func sessionDetails(sess *session) map[string]any {
	d := map[string]any{
		"session": sess.Number(), "authid": sess.identity.AuthID(sess.id), "authrole": sess.identity.AuthRole(),
		"authprovider": authProvider, "transport": map[string]any{"type": "websocket", "peer": sess.remote()},
	}
	if v2, ok := sess.proto.(*wampV2); ok {
		d["authmethod"], d["realm"] = v2.authMethod, v2.realm
		d["serializer"] = strings.TrimPrefix(v2Codecs[v2.wc].Subprotocol(), "wamp.2.")
	} else {
		d["protocol"] = wamp.V1Subprotocol
	}
	return d
}

func (s *Server) metaJoined(sess *session) { s.metaEvent(metaOnJoin, sessionDetails(sess)) }

// metaLeft announces a session that left, once it is no longer listed.
func (s *Server) metaLeft(sess *session) {
	joined := false
	switch p := sess.proto.(type) {
	case *wampV1:
		joined = p.joined
	case *wampV2:
		joined = p.joined.Load()
	}
	if joined {
		s.metaEvent(metaOnLeave, sess.Number(), sess.identity.AuthID(sess.id), sess.identity.AuthRole())
	}
}

func (s *Server) metaRegistered(sess *session, reg dealer.Registration) {
	if len(reg.Callees) == 1 {
		s.metaEvent(metaOnRegCreate, sess.Number(), registrationDetails(reg))
	}
	s.metaEvent(metaOnRegister, sess.Number(), reg.ID)
}

func (s *Server) metaUnregistered(callee dealer.SessionID, reg dealer.Registration, deleted bool) {
	s.metaEvent(metaOnUnregister, uint64(callee), reg.ID)
	if deleted {
		s.metaEvent(metaOnRegDelete, uint64(callee), reg.ID)
	}
}

func (s *Server) metaRegistrationsGone(callee dealer.SessionID, left, deleted []dealer.Registration) {
	for _, reg := range left {
		s.metaEvent(metaOnUnregister, uint64(callee), reg.ID)
	}
	for _, reg := range deleted {
		s.metaEvent(metaOnRegDelete, uint64(callee), reg.ID)
	}
}

func registrationDetails(reg dealer.Registration) map[string]any {
	return map[string]any{
		"id": reg.ID, "created": reg.Created.UTC().Format("2006-01-02T15:04:05.000Z"), "uri": reg.Procedure,
		"match": reg.Match.String(), "invoke": reg.Invoke.String(),
	}
}

// isMetaProcedure reports whether a CALL is for the meta API.
func isMetaProcedure(proc string) bool {
	for _, p := range metaProcedurePrefixes {
		if strings.HasPrefix(proc, p) {
			return true
		}
	}
	return false
}

// metaCall answers a meta API call: its result's positional arguments, or
// an error URI and message.
func (s *Server) metaCall(proc string, args []json.RawMessage) (result []any, errURI, message string) {
	idArg := func() (uint64, bool) {
		if len(args) == 0 {
			return 0, false
		}
		n, err := strconv.ParseUint(string(args[0]), 10, 64)
		return n, err == nil
	}
	strArg := func() (string, bool) {
		var str string
		return str, len(args) > 0 && json.Unmarshal(args[0], &str) == nil
	}
	matchArg := func() (wamp.MatchPolicy, error) {
		var opts json.RawMessage
		if len(args) > 1 {
			opts = args[1]
		}
		o, err := wamp.ParseSubscribeOptions(opts)
		return o.Match, err
	}
	switch proc {
	case "wamp.session.count":
		return []any{len(s.metaSessions())}, "", ""
	case "wamp.session.list":
		ids := []uint64{}
		for _, sess := range s.metaSessions() {
			ids = append(ids, sess.Number())
		}
		slices.Sort(ids)
		return []any{ids}, "", ""
	case "wamp.session.get":
		n, ok := idArg()
		if !ok {
			return nil, wamp.URIInvalidArgument, "wamp.session.get takes a session id"
		}
		sess := s.sessionByNumber(dealer.SessionID(n))
		if v2, ok := sessProto(sess).(*wampV2); ok && !v2.joined.Load() {
			sess = nil // not joined yet: its identity may still change
		}
		if sess == nil {
			return nil, wamp.URINoSuchSession, fmt.Sprintf("no session %d on this node", n)
		}
		return []any{sessionDetails(sess)}, "", ""
	case "wamp.subscription.list":
		prefix, wildcard := s.patterns.ids()
		return []any{map[string]any{"exact": s.hub.subscriptionIDs(), "prefix": prefix, "wildcard": wildcard}}, "", ""
	case "wamp.subscription.lookup":
		topic, ok := strArg()
		match, err := matchArg()
		if !ok || err != nil {
			return nil, wamp.URIInvalidArgument, "wamp.subscription.lookup takes a topic and options {match}"
		}
		if match == wamp.MatchPolicyExact {
			if id := s.hub.subscriptionID(topic); id != 0 {
				return []any{id}, "", ""
			}
		} else if id, ok := s.patterns.lookup(topic, match); ok {
			return []any{id}, "", ""
		}
		return []any{nil}, "", ""
	case "wamp.subscription.match":
		topic, ok := strArg()
		if !ok {
			return nil, wamp.URIInvalidArgument, "wamp.subscription.match takes a topic"
		}
		ids := []uint64{}
		if id := s.hub.subscriptionID(topic); id != 0 {
			ids = append(ids, id)
		}
		s.patterns.matching(topic, func(sub *patternSub) { ids = append(ids, sub.id) })
		if len(ids) == 0 {
			return []any{nil}, "", ""
		}
		return []any{ids}, "", ""
	case "wamp.subscription.get", "wamp.subscription.list_subscribers", "wamp.subscription.count_subscribers":
		n, ok := idArg()
		if !ok {
			return nil, wamp.URIInvalidArgument, proc + " takes a subscription id"
		}
		uri, match, created, subscribers, found := s.subscriptionByID(n)
		if !found {
			return nil, wamp.URINoSuchSubscription, fmt.Sprintf("no subscription %d on this node", n)
		}
		switch proc {
		case "wamp.subscription.get":
			d := map[string]any{"id": n, "uri": uri, "match": match.String()}
			if !created.IsZero() {
				d["created"] = created.Format("2006-01-02T15:04:05.000Z")
			}
			return []any{d}, "", ""
		case "wamp.subscription.count_subscribers":
			return []any{len(subscribers)}, "", ""
		}
		ids := make([]uint64, 0, len(subscribers))
		for _, sess := range subscribers {
			ids = append(ids, sess.Number())
		}
		slices.Sort(ids)
		return []any{ids}, "", ""
	case "wamp.registration.list":
		exact, prefix, wildcard := s.registry.List()
		return []any{map[string]any{"exact": orEmpty(exact), "prefix": orEmpty(prefix), "wildcard": orEmpty(wildcard)}}, "", ""
	case "wamp.registration.lookup":
		proc, ok := strArg()
		match, err := matchArg()
		if !ok || err != nil {
			return nil, wamp.URIInvalidArgument, "wamp.registration.lookup takes a procedure and options {match}"
		}
		if id, ok := s.registry.Lookup(proc, match); ok {
			return []any{id}, "", ""
		}
		return []any{nil}, "", ""
	case "wamp.registration.match":
		proc, ok := strArg()
		if !ok {
			return nil, wamp.URIInvalidArgument, "wamp.registration.match takes a procedure"
		}
		if id, ok := s.registry.Match(proc); ok {
			return []any{id}, "", ""
		}
		return []any{nil}, "", ""
	case "wamp.registration.get", "wamp.registration.list_callees", "wamp.registration.count_callees":
		n, ok := idArg()
		if !ok {
			return nil, wamp.URIInvalidArgument, proc + " takes a registration id"
		}
		reg, found := s.registry.Get(n)
		if !found {
			return nil, wamp.URINoSuchRegistration, fmt.Sprintf("no registration %d", n)
		}
		switch proc {
		case "wamp.registration.get":
			return []any{registrationDetails(reg)}, "", ""
		case "wamp.registration.count_callees":
			return []any{len(reg.Callees)}, "", ""
		}
		return []any{slices.Clone(reg.Callees)}, "", ""
	}
	return nil, wamp.URINoSuchProcedure, fmt.Sprintf("no meta procedure %q", proc)
}

// sessProto is sess's protocol, nil for no session.
func sessProto(sess *session) protocol {
	if sess == nil {
		return nil
	}
	return sess.proto
}

func orEmpty(ids []uint64) []uint64 {
	if ids == nil {
		return []uint64{}
	}
	return ids
}

// metaSessions lists this node's sessions that have joined: every v1
// session, and v2 sessions past WELCOME.
func (s *Server) metaSessions() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*session, 0, len(s.byID))
	for _, sess := range s.byID {
		if v2, ok := sess.proto.(*wampV2); ok && !v2.joined.Load() {
			continue
		}
		out = append(out, sess)
	}
	return out
}

// subscriptionByID finds an exact or a pattern subscription by its id.
func (s *Server) subscriptionByID(id uint64) (uri string, match wamp.MatchPolicy, created time.Time, subscribers []*session, ok bool) {
	if key, created, subs, ok := s.patterns.get(id); ok {
		return key.pattern, key.match, created, subs, true
	}
	topic, ok := s.hub.topicByID(id)
	if !ok {
		return "", 0, time.Time{}, nil, false
	}
	s.hub.subscribers(topic, nil, func(sess *session) { subscribers = append(subscribers, sess) })
	return topic, wamp.MatchPolicyExact, time.Time{}, subscribers, true
}
