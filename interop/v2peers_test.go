package interop_test

// WAMP v2 interop: real v2 peers against a v2 router, over every
// serializer. The peers (installed by `bash scripts/peers`, found through
// internal/testpeer):
//   - AutobahnJS: npm autobahn@22.11.1 on Node 20 with ws@7.5.14 and, for the
//     binary serializers, msgpack5@6.1.0 and cbor@10.0.12 (interop/autobahn,
//     pinned by its package-lock.json), run by interop/autobahn/v2peer.js;
//   - Autobahn|Python: Debian python3-autobahn 22.7.1 (asyncio) with
//     python3-msgpack and python3-cbor2, run by interop/python/v2peer.py.
// Both runners speak the line protocol that v2harness_test.go drives.
//
// The routers are `herald serve` (startHeraldV2) and, as a second opinion
// on the scenarios, nexus v3.3.0 in process (startNexusRouter). The
// assertions are the WAMP spec's; where nexus differs from the spec the
// check is named in nexusQuirks and skipped (logged) for nexus only.
//
// Each library and serializer gets its own router and a crowd of three
// peers (two anonymous, one ticket user) that the pub/sub, RPC and meta
// scenarios share; the auth scenario starts its own. Serializers run in
// parallel.

import (
	"slices"
	"testing"
	"time"
)

func TestV2AutobahnJS(t *testing.T) {
	testV2Library(t, autobahnJS, "json", "msgpack", "cbor")
}

func TestV2AutobahnPython(t *testing.T) {
	testV2Library(t, autobahnPy, "json", "msgpack", "cbor")
}

// v2Routers are the routers every scenario runs on: herald, and nexus as
// a second opinion on the scenarios themselves (a check that passes on
// herald but fails on nexus, not named in nexusQuirks, is a suspect test).
var v2Routers = []struct {
	name  string
	start func(*testing.T) *v2Router
}{
	{"herald", startHeraldV2},
	{"nexus", startNexusRouter},
}

func testV2Library(t *testing.T, kind v2Kind, serializers ...string) {
	for _, router := range v2Routers {
		for _, ser := range serializers {
			t.Run(router.name+"/"+ser, func(t *testing.T) {
				t.Parallel()
				r := router.start(t)
				c := startCrowd(t, r, kind, ser)
				t.Run("pubsub", func(t *testing.T) { v2PubSub(t, c) })
				t.Run("rpc", func(t *testing.T) { v2RPC(t, c) })
				t.Run("meta", func(t *testing.T) { v2Meta(t, c) })
				t.Run("auth", func(t *testing.T) { v2Auth(t, r, kind, ser) })
			})
		}
	}
}

// A v2Crowd is the peers of one library and serializer on one router.
type v2Crowd struct {
	r    *v2Router
	kind v2Kind
	ser  string
	a, b *v2Peer // anonymous
	c    *v2Peer // ticketAuthID, role ticketRole
}

// startCrowd starts the crowd's peers together and waits for them to join.
func startCrowd(t *testing.T, r *v2Router, kind v2Kind, ser string) *v2Crowd {
	t.Helper()
	c := &v2Crowd{r: r, kind: kind, ser: ser}
	c.a = startV2Peer(t, kind, r.URL, r.Realm, ser, v2Join{})
	c.b = startV2Peer(t, kind, r.URL, r.Realm, ser, v2Join{})
	c.c = startV2Peer(t, kind, r.URL, r.Realm, ser, v2Join{AuthMethods: []string{"ticket"}, AuthID: ticketAuthID, Ticket: ticketSecret})
	for _, p := range []*v2Peer{c.a, c.b, c.c} {
		p.waitJoined(t)
	}
	return c
}

// publish is a publish command; kwargs["case"] names the publication, so
// that events can be told apart.
func publish(id, topic string, args []any, kwargs map[string]any, options v2Cmd) v2Cmd {
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	if _, ok := kwargs["case"]; !ok {
		kwargs["case"] = id
	}
	cmd := v2Cmd{"op": "publish", "id": id, "topic": topic, "kwargs": kwargs}
	if args != nil {
		cmd["args"] = args
	}
	if options != nil {
		cmd["options"] = options
	}
	return cmd
}

// eventOf matches the event of subscription sub (a subscribe command's id)
// for the publication named kase.
func eventOf(sub, kase string) func(v2Line) bool {
	return lineIs("event", "sub", sub, "kwargs.case", kase)
}

// richPayload is args and kwargs with every JSON type, 2^53-1 (the
// largest integer a JS number holds exactly), a negative integer, fractions
// and non-ASCII text.
func richPayload() ([]any, map[string]any) {
	return []any{1, "two", 2.5, -7, true, nil, []any{1, []any{2}}, map[string]any{"three": 3},
			float64(1<<53 - 1), "héllo ✓"},
		map[string]any{"n": []any{1, 2}, "nested": map[string]any{"k": "v", "empty": map[string]any{}}, "neg": -1.25}
}

func v2PubSub(t *testing.T, c *v2Crowd) {
	a, b, cu := c.a, c.b, c.c // cu: the ticket user
	const exact = "com.herald.ps.exact"
	b.do(t, v2Cmd{"op": "subscribe", "id": "b-exact", "topic": exact}, "subscribed")
	b.do(t, v2Cmd{"op": "subscribe", "id": "b-prefix", "topic": "com.herald.ps.pre", "options": v2Cmd{"match": "prefix"}}, "subscribed")
	b.do(t, v2Cmd{"op": "subscribe", "id": "b-wild", "topic": "com.herald.ps..wild", "options": v2Cmd{"match": "wildcard"}}, "subscribed")
	cu.do(t, v2Cmd{"op": "subscribe", "id": "c-exact", "topic": exact}, "subscribed")
	a.do(t, v2Cmd{"op": "subscribe", "id": "a-exact", "topic": exact}, "subscribed")

	// Payloads arrive as published, PUBLISHED's ID is the EVENT's, and
	// details.topic is the topic.
	args, kwargs := richPayload()
	kwargs["case"] = "first"
	pub := a.do(t, publish("first", exact, args, kwargs, v2Cmd{"acknowledge": true}), "published")
	pubID := pub.id(t, "publication")
	for _, s := range []struct {
		p   *v2Peer
		sub string
	}{{b, "b-exact"}, {cu, "c-exact"}} {
		ev := s.p.expect(t, eventOf(s.sub, "first"), v2Timeout)
		if !lineIs("event", "args", args, "kwargs", kwargs, "details.topic", exact)(ev) {
			t.Errorf("%s: event %v, want args %v, kwargs %v, topic %s", s.p.Name, ev, args, kwargs, exact)
		}
		if got := ev.id(t, "details.publication"); got != pubID {
			t.Errorf("%s: EVENT publication %d, PUBLISHED said %d", s.p.Name, got, pubID)
		}
	}

	// Pattern-based subscriptions: the router tells the concrete topic.
	a.do(t, publish("prefix", "com.herald.ps.pre.x.y", []any{"p"}, nil, v2Cmd{"acknowledge": true}), "published")
	if ev := b.expect(t, eventOf("b-prefix", "prefix"), v2Timeout); ev.str("details.topic") != "com.herald.ps.pre.x.y" {
		t.Errorf("prefix event: details.topic %q, want com.herald.ps.pre.x.y: %v", ev.str("details.topic"), ev)
	}
	a.do(t, publish("wild", "com.herald.ps.any.wild", nil, nil, v2Cmd{"acknowledge": true}), "published")
	if ev := b.expect(t, eventOf("b-wild", "wild"), v2Timeout); ev.str("details.topic") != "com.herald.ps.any.wild" {
		t.Errorf("wildcard event: details.topic %q, want com.herald.ps.any.wild: %v", ev.str("details.topic"), ev)
	}
	// A wildcard's empty component matches exactly one component.
	a.do(t, publish("wild-no", "com.herald.ps.any.more.wild", nil, nil, v2Cmd{"acknowledge": true}), "published")

	// exclude_me defaults to true; false gives the publisher its own event.
	a.do(t, publish("self", exact, nil, nil, v2Cmd{"acknowledge": true, "exclude_me": false}), "published")
	a.expect(t, eventOf("a-exact", "self"), v2Timeout)
	b.expect(t, eventOf("b-exact", "self"), v2Timeout)
	cu.expect(t, eventOf("c-exact", "self"), v2Timeout)
	a.none(t, eventOf("a-exact", "first"), "exclude_me is true by default")

	// Black- and whitelisting by session, authid and authrole: b is
	// anonymous, cu is the ticket user.
	cuID := cu.session(t)
	lists := []struct {
		name    string
		options v2Cmd
		toB     bool
		toC     bool
	}{
		{"exclude", v2Cmd{"exclude": []uint64{cuID}}, true, false},
		{"eligible", v2Cmd{"eligible": []uint64{cuID}}, false, true},
		{"eligible_exclude", v2Cmd{"eligible": []uint64{b.session(t), cuID}, "exclude": []uint64{cuID}}, true, false},
		{"exclude_authid", v2Cmd{"exclude_authid": []string{ticketAuthID}}, true, false},
		{"eligible_authid", v2Cmd{"eligible_authid": []string{ticketAuthID}}, false, true},
		{"exclude_authrole", v2Cmd{"exclude_authrole": []string{ticketRole}}, true, false},
		{"eligible_authrole", v2Cmd{"eligible_authrole": []string{ticketRole}}, false, true},
	}
	for _, l := range lists {
		l.options["acknowledge"] = true
		a.do(t, publish(l.name, exact, nil, nil, l.options), "published")
	}
	a.do(t, publish("marker1", exact, nil, nil, v2Cmd{"acknowledge": true}), "published")
	for _, l := range lists {
		if l.toB {
			b.expect(t, eventOf("b-exact", l.name), v2Timeout)
		}
		if l.toC {
			cu.expect(t, eventOf("c-exact", l.name), v2Timeout)
		}
	}
	b.expect(t, eventOf("b-exact", "marker1"), v2Timeout)
	cu.expect(t, eventOf("c-exact", "marker1"), v2Timeout)
	for _, l := range lists {
		if !l.toB {
			b.none(t, eventOf("b-exact", l.name), l.name+" keeps the event from the anonymous subscriber")
		}
		if !l.toC {
			cu.none(t, eventOf("c-exact", l.name), l.name+" keeps the event from the ticket user")
		}
	}
	b.none(t, eventOf("b-wild", "wild-no"), "com.herald.ps..wild does not match com.herald.ps.any.more.wild")

	// disclose_me puts the publisher's session in the details. (One
	// subscriber only: see nexusQuirks.)
	if c.kind.disclose {
		b.do(t, v2Cmd{"op": "subscribe", "id": "b-disclose", "topic": "com.herald.ps.disclose"}, "subscribed")
		a.do(t, publish("disclosed", "com.herald.ps.disclose", nil, nil, v2Cmd{"acknowledge": true, "disclose_me": true}), "published")
		ev := b.expect(t, eventOf("b-disclose", "disclosed"), v2Timeout)
		if got := ev.id(t, "details.publisher"); got != a.session(t) {
			t.Errorf("disclosed publisher %d, want %d", got, a.session(t))
		}
	}

	// After UNSUBSCRIBE no more events.
	b.do(t, v2Cmd{"op": "unsubscribe", "id": "b-unsub", "sub": "b-exact"}, "unsubscribed")
	a.do(t, publish("after-unsub", exact, nil, nil, v2Cmd{"acknowledge": true}), "published")
	a.do(t, publish("marker2", "com.herald.ps.pre.m", nil, nil, v2Cmd{"acknowledge": true}), "published")
	cu.expect(t, eventOf("c-exact", "after-unsub"), v2Timeout)
	b.expect(t, eventOf("b-prefix", "marker2"), v2Timeout)
	b.none(t, eventOf("b-exact", "after-unsub"), "b unsubscribed from "+exact)

	// An invalid topic URI is refused (by the router: autobahn-python
	// refuses to send it).
	if c.kind.checksURIs {
		return
	}
	if l := a.do(t, publish("bad-uri", "com.herald..bad", nil, nil, v2Cmd{"acknowledge": true}), "error"); l.str("error") != "wamp.error.invalid_uri" {
		t.Errorf("publish to com.herald..bad: %v, want wamp.error.invalid_uri", l)
	}
}

func v2RPC(t *testing.T, c *v2Crowd) {
	a, b, cu := c.a, c.b, c.c
	const echo = "com.herald.rpc.echo"
	b.do(t, v2Cmd{"op": "register", "id": "b-echo", "procedure": echo, "reply": v2Cmd{"echo": true}}, "registered")

	args, kwargs := richPayload()
	wantResult(t, a.do(t, v2Cmd{"op": "call", "id": "echo1", "procedure": echo, "args": args, "kwargs": kwargs}, ""), args, kwargs)
	inv := b.expect(t, lineIs("invocation", "reg", "b-echo"), v2Timeout)
	if !lineIs("invocation", "args", args, "kwargs", kwargs, "details.procedure", echo)(inv) {
		t.Errorf("invocation %v, want args %v, kwargs %v", inv, args, kwargs)
	}

	// A second single registration of a procedure is refused.
	wantError(t, cu.do(t, v2Cmd{"op": "register", "id": "c-echo", "procedure": echo}, ""), "wamp.error.procedure_already_exists")

	// Shared registration, round robin: the callees take turns.
	const rr = "com.herald.rpc.rr"
	b.do(t, v2Cmd{"op": "register", "id": "b-rr", "procedure": rr, "options": v2Cmd{"invoke": "roundrobin"}, "reply": v2Cmd{"args": []any{"b"}}}, "registered")
	cu.do(t, v2Cmd{"op": "register", "id": "c-rr", "procedure": rr, "options": v2Cmd{"invoke": "roundrobin"}, "reply": v2Cmd{"args": []any{"c"}}}, "registered")
	var turns []string
	for _, id := range []string{"rr1", "rr2", "rr3", "rr4"} {
		l := a.call(t, id, rr, nil, nil)
		turns = append(turns, l.str("args.0"))
	}
	if turns[0] == turns[1] || turns[0] != turns[2] || turns[1] != turns[3] || !slices.Contains(turns, "b") || !slices.Contains(turns, "c") {
		t.Errorf("round robin answered by %v, want b and c in turn", turns)
	}

	// Prefix registration: the callee is told the procedure called; an
	// exact registration wins over a prefix one.
	cu.do(t, v2Cmd{"op": "register", "id": "c-pre", "procedure": "com.herald.rpc.pre", "options": v2Cmd{"match": "prefix"}, "reply": v2Cmd{"echo": true}}, "registered")
	b.do(t, v2Cmd{"op": "register", "id": "b-pre-exact", "procedure": "com.herald.rpc.pre.exact", "reply": v2Cmd{"args": []any{"exact"}}}, "registered")
	wantResult(t, a.call(t, "pre1", "com.herald.rpc.pre.add", []any{2, 3}, nil), []any{2, 3}, nil)
	if inv := cu.expect(t, lineIs("invocation", "reg", "c-pre"), v2Timeout); inv.str("details.procedure") != "com.herald.rpc.pre.add" {
		t.Errorf("prefix invocation: details.procedure %q, want com.herald.rpc.pre.add: %v", inv.str("details.procedure"), inv)
	}
	wantResult(t, a.call(t, "pre2", "com.herald.rpc.pre.exact", nil, nil), []any{"exact"}, nil)

	// Progressive results, in order, then the final one; none when the
	// caller did not ask, or when the callee does not announce
	// call_canceling (autobahn-js): the spec counts such a callee as not
	// supporting progressive results.
	const prog = "com.herald.rpc.progress"
	b.do(t, v2Cmd{"op": "register", "id": "b-prog", "procedure": prog, "reply": v2Cmd{
		"progress": []any{v2Cmd{"args": []any{1}}, v2Cmd{"args": []any{2}, "kwargs": v2Cmd{"k": "v"}}},
		"args":     []any{"done"},
	}}, "registered")
	a.call(t, "prog1", prog, nil, v2Cmd{"receive_progress": true})
	got := a.linesFor("prog1")
	want := []func(v2Line) bool{lineIs("result", "args", []any{"done"}, "kwargs", v2Cmd{})}
	if b.Kind.callCanceling {
		want = append([]func(v2Line) bool{
			lineIs("progress", "args", []any{1}, "kwargs", v2Cmd{}),
			lineIs("progress", "args", []any{2}, "kwargs", v2Cmd{"k": "v"}),
		}, want...)
	}
	if len(got) != len(want) {
		t.Errorf("call with receive_progress: got %v, want %d progress lines and a result", got, len(want)-1)
	} else {
		for i := range want {
			if !want[i](got[i]) {
				t.Errorf("call with receive_progress, line %d: %v", i, got[i])
			}
		}
	}
	if inv := b.expect(t, lineIs("invocation", "reg", "b-prog"), v2Timeout); inv["details"].(map[string]any)["receive_progress"] != b.Kind.callCanceling {
		t.Errorf("invocation of a call with receive_progress: %v, want receive_progress %v", inv, b.Kind.callCanceling)
	}
	wantResult(t, a.call(t, "prog2", prog, nil, nil), []any{"done"}, nil)
	if got := a.linesFor("prog2"); len(got) != 1 {
		t.Errorf("call without receive_progress: got %v, want the result only", got)
	}
	if inv := b.expect(t, lineIs("invocation", "reg", "b-prog"), v2Timeout); inv["details"].(map[string]any)["receive_progress"] != false {
		t.Errorf("invocation of a call without receive_progress: %v", inv)
	}

	// A call timeout ends the call with wamp.error.timeout, and a callee
	// that supports call canceling is interrupted.
	b.do(t, v2Cmd{"op": "register", "id": "b-slow", "procedure": "com.herald.rpc.slow", "reply": v2Cmd{"sleep_ms": 4000, "args": []any{"late"}}}, "registered")
	start := time.Now()
	wantError(t, a.call(t, "slow1", "com.herald.rpc.slow", nil, v2Cmd{"timeout": 300}), "wamp.error.timeout")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a call with timeout 300 ms took %v", d)
	}
	if b.Kind.callCanceling {
		b.expect(t, lineIs("interrupt", "reg", "b-slow"), v2Timeout)
	}

	// Cancelling a call: the caller gets wamp.error.canceled; a callee that
	// supports call canceling is interrupted, one that does not
	// (autobahn-js) gets no INTERRUPT, which would be a protocol violation to
	// it, and so stays joined and callable.
	b.do(t, v2Cmd{"op": "register", "id": "b-cancel", "procedure": "com.herald.rpc.cancel", "reply": v2Cmd{"sleep_ms": 5000}}, "registered")
	l := a.do(t, v2Cmd{"op": "call", "id": "cancel1", "procedure": "com.herald.rpc.cancel", "cancel_after_ms": 200, "cancel_mode": "kill"}, "")
	if a.Kind.waitsForCancel {
		wantError(t, l, "wamp.error.canceled")
	} else if l.ev() != "cancelled" {
		t.Errorf("cancelled call: %v", l)
	}
	b.expect(t, lineIs("invocation", "reg", "b-cancel"), v2Timeout)
	if b.Kind.callCanceling {
		b.expect(t, lineIs("interrupt", "reg", "b-cancel"), v2Timeout)
	}
	wantResult(t, a.call(t, "echo2", echo, []any{"still there"}, nil), []any{"still there"}, nil)

	// Application errors carry their URI, args and kwargs; a call of
	// nothing registered is wamp.error.no_such_procedure.
	b.do(t, v2Cmd{"op": "register", "id": "b-fail", "procedure": "com.herald.rpc.fail", "reply": v2Cmd{
		"error": "com.herald.error.bad", "args": []any{"why", 1}, "kwargs": v2Cmd{"code": 42}}}, "registered")
	if l := a.call(t, "fail1", "com.herald.rpc.fail", nil, nil); !lineIs("error", "error", "com.herald.error.bad", "args", []any{"why", 1}, "kwargs", v2Cmd{"code": 42})(l) {
		t.Errorf("failing call: %v, want com.herald.error.bad [why 1] {code: 42}", l)
	}
	wantError(t, a.call(t, "none1", "com.herald.rpc.nothing", nil, nil), "wamp.error.no_such_procedure")

	// disclose_me tells the callee who calls.
	if a.Kind.disclose {
		a.call(t, "echo3", echo, []any{"who"}, v2Cmd{"disclose_me": true})
		inv := b.expect(t, lineIs("invocation", "reg", "b-echo", "args", []any{"who"}), v2Timeout)
		if got := inv.id(t, "details.caller"); got != a.session(t) {
			t.Errorf("disclosed caller %d, want %d", got, a.session(t))
		}
	}

	// After UNREGISTER the procedure is gone.
	b.do(t, v2Cmd{"op": "unregister", "id": "b-unreg", "reg": "b-echo"}, "unregistered")
	wantError(t, a.call(t, "echo4", echo, nil, nil), "wamp.error.no_such_procedure")
}

func v2Meta(t *testing.T, c *v2Crowd) {
	a := c.a
	a.do(t, v2Cmd{"op": "subscribe", "id": "on-join", "topic": "wamp.session.on_join"}, "subscribed")
	a.do(t, v2Cmd{"op": "subscribe", "id": "on-leave", "topic": "wamp.session.on_leave"}, "subscribed")
	a.do(t, v2Cmd{"op": "subscribe", "id": "on-sub", "topic": "wamp.subscription.on_subscribe"}, "subscribed")

	// A session joins (a WAMP-CRA user): on_join tells its details.
	d := c.kind.start(t, c.r.URL, c.r.Realm, c.ser, v2Join{AuthMethods: []string{"wampcra"}, AuthID: craAuthID, Secret: craSecret})
	dID := d.session(t)
	join := a.expect(t, lineIs("event", "sub", "on-join", "args.0.session", dID), v2Timeout)
	if !lineIs("event", "args.0.authid", craAuthID, "args.0.authrole", craRole, "args.0.authmethod", "wampcra")(join) {
		t.Errorf("on_join: %v, want authid %s, authrole %s, authmethod wampcra", join, craAuthID, craRole)
	}

	// It subscribes: on_subscribe tells the session and the subscription.
	const topic = "com.herald.meta.topic"
	subID := d.do(t, v2Cmd{"op": "subscribe", "id": "d-sub", "topic": topic}, "subscribed").id(t, "subscription")
	a.expect(t, lineIs("event", "sub", "on-sub", "args.0", dID, "args.1", subID), v2Timeout)
	preID := d.do(t, v2Cmd{"op": "subscribe", "id": "d-pre", "topic": "com.herald.meta", "options": v2Cmd{"match": "prefix"}}, "subscribed").id(t, "subscription")
	regID := d.do(t, v2Cmd{"op": "register", "id": "d-reg", "procedure": "com.herald.meta.proc"}, "registered").id(t, "registration")
	regPreID := d.do(t, v2Cmd{"op": "register", "id": "d-reg-pre", "procedure": "com.herald.meta.pre", "options": v2Cmd{"match": "prefix"}}, "registered").id(t, "registration")

	// Sessions: count, list, get.
	count := a.call(t, "count1", "wamp.session.count", nil, nil)
	list := a.call(t, "list1", "wamp.session.list", nil, nil)
	ids, _ := list.get("args.0")
	idList, ok := ids.([]any)
	if !ok {
		t.Fatalf("wamp.session.list: %v", list)
	}
	for _, p := range []*v2Peer{c.a, c.b, c.c, d} {
		if !slices.Contains(idList, any(float64(p.session(t)))) {
			t.Errorf("wamp.session.list %v lacks %s's session %d", idList, p.Name, p.session(t))
		}
	}
	n, _ := count.get("args.0")
	if n != any(float64(len(idList))) {
		t.Errorf("wamp.session.count %v, wamp.session.list has %d", count, len(idList))
	}
	got := a.call(t, "get1", "wamp.session.get", []any{dID}, nil)
	if !lineIs("result", "args.0.session", dID, "args.0.authid", craAuthID, "args.0.authrole", craRole, "args.0.authmethod", "wampcra")(got) {
		t.Errorf("wamp.session.get(%d): %v", dID, got)
	}
	wantError(t, a.call(t, "get2", "wamp.session.get", []any{1}, nil), "wamp.error.no_such_session")

	// Subscriptions: lookup (by match policy), match, list_subscribers,
	// count_subscribers.
	wantResult(t, a.call(t, "slookup1", "wamp.subscription.lookup", []any{topic}, nil), []any{subID}, nil)
	wantResult(t, a.call(t, "slookup2", "wamp.subscription.lookup", []any{"com.herald.meta", v2Cmd{"match": "prefix"}}, nil), []any{preID}, nil)
	if l := a.call(t, "slookup3", "wamp.subscription.lookup", []any{"com.herald.meta.nothing"}, nil); !c.r.quirk(t, "lookup_null") {
		wantNullResult(t, l)
	}
	m := a.call(t, "smatch1", "wamp.subscription.match", []any{topic}, nil)
	if ms, _ := m.get("args.0"); ms == nil || !slices.Contains(ms.([]any), any(float64(subID))) || !slices.Contains(ms.([]any), any(float64(preID))) {
		t.Errorf("wamp.subscription.match(%s): %v, want %d and %d", topic, m, subID, preID)
	}
	wantResult(t, a.call(t, "slist1", "wamp.subscription.list_subscribers", []any{subID}, nil), []any{[]any{dID}}, nil)
	if l := a.call(t, "scount1", "wamp.subscription.count_subscribers", []any{subID}, nil); !c.r.quirk(t, "count_subscribers") {
		wantResult(t, l, []any{1}, nil)
	}

	// Registrations: list (a list per match policy), lookup.
	rl := a.call(t, "rlist1", "wamp.registration.list", nil, nil)
	for policy, id := range map[string]uint64{"exact": regID, "prefix": regPreID} {
		if ids, ok := rl.get("args.0." + policy); !ok || ids == nil || !slices.Contains(ids.([]any), any(float64(id))) {
			t.Errorf("wamp.registration.list: %v, want %d among the %s ones", rl, id, policy)
		}
	}
	if wc, _ := rl.get("args.0.wildcard"); !c.r.quirk(t, "empty_list_null") {
		if _, ok := wc.([]any); !ok {
			t.Errorf("wamp.registration.list: %v, want a list of wildcard registrations (empty)", rl)
		}
	}
	wantResult(t, a.call(t, "rlookup1", "wamp.registration.lookup", []any{"com.herald.meta.proc"}, nil), []any{regID}, nil)
	wantResult(t, a.call(t, "rlookup3", "wamp.registration.lookup", []any{"com.herald.meta.pre", v2Cmd{"match": "prefix"}}, nil), []any{regPreID}, nil)
	if l := a.call(t, "rlookup2", "wamp.registration.lookup", []any{"com.herald.meta.nothing"}, nil); !c.r.quirk(t, "lookup_null") {
		wantNullResult(t, l)
	}

	// It leaves: on_leave tells its session; the count drops.
	d.send(t, v2Cmd{"op": "leave", "id": "d-leave"})
	d.expect(t, lineIs("closed"), v2Timeout)
	a.expect(t, lineIs("event", "sub", "on-leave", "args.0", dID), v2Timeout)
	wantResult(t, a.call(t, "count2", "wamp.session.count", nil, nil), []any{len(idList) - 1}, nil)
}

func v2Auth(t *testing.T, r *v2Router, kind v2Kind, ser string) {
	// Authentication failures: the spec leaves the ABORT URI to the
	// router (nexus sends wamp.error.authentication_failed, Crossbar
	// wamp.error.not_authorized); both say what happened.
	authFailed := []string{"wamp.error.authentication_failed", "wamp.error.not_authorized"}
	cases := []struct {
		name       string
		realm      string
		join       v2Join
		abort      []string // the ABORT reasons allowed, or nil: joins
		authid     string
		authrole   string
		authmethod string
	}{
		{name: "anonymous", authmethod: "anonymous"},
		{name: "ticket", join: v2Join{AuthMethods: []string{"ticket"}, AuthID: ticketAuthID, Ticket: ticketSecret},
			authid: ticketAuthID, authrole: ticketRole, authmethod: "ticket"},
		{name: "wampcra", join: v2Join{AuthMethods: []string{"wampcra"}, AuthID: craAuthID, Secret: craSecret},
			authid: craAuthID, authrole: craRole, authmethod: "wampcra"},
		{name: "wampcra-salted", join: v2Join{AuthMethods: []string{"wampcra"}, AuthID: craSaltedAuthID, Secret: craSaltedSecret},
			authid: craSaltedAuthID, authrole: craSaltedRole, authmethod: "wampcra"},
		{name: "ticket-wrong", join: v2Join{AuthMethods: []string{"ticket"}, AuthID: ticketAuthID, Ticket: "not-it"}, abort: authFailed},
		{name: "wampcra-wrong", join: v2Join{AuthMethods: []string{"wampcra"}, AuthID: craAuthID, Secret: "not-it"}, abort: authFailed},
		{name: "wampcra-salted-unsalted", join: v2Join{AuthMethods: []string{"wampcra"}, AuthID: craSaltedAuthID, Secret: deriveCRAKey(t, "x", "y", 1, 32)}, abort: authFailed},
		{name: "no-such-realm", realm: "com.herald.no.such.realm", abort: []string{"wamp.error.no_such_realm"}},
	}
	peers := make([]*v2Peer, len(cases))
	for i, tc := range cases { // start them all, then check each
		realm := tc.realm
		if realm == "" {
			realm = r.Realm
		}
		peers[i] = startV2Peer(t, kind, r.URL, realm, ser, tc.join)
	}
	for i, tc := range cases {
		p := peers[i]
		l := p.expect(t, func(l v2Line) bool { return l.ev() == "joined" || l.ev() == "abort" || l.ev() == "closed" }, v2Timeout)
		if tc.abort != nil && l.ev() == "closed" && r.quirk(t, "abort_dropped") {
			continue
		}
		if tc.abort != nil {
			if l.ev() != "abort" || !slices.Contains(tc.abort, l.str("reason")) {
				t.Errorf("%s: %v, want an ABORT with one of %v", tc.name, l, tc.abort)
			}
			continue
		}
		if l.ev() != "joined" || l.str("authmethod") != tc.authmethod ||
			(tc.authid != "" && (l.str("authid") != tc.authid || l.str("authrole") != tc.authrole)) {
			t.Errorf("%s: %v, want joined with authid %q, authrole %q, authmethod %q", tc.name, l, tc.authid, tc.authrole, tc.authmethod)
		}
	}
}

// JS and Python peers, each on its own serializer, on one router: the
// router translates payloads between json, msgpack and cbor.
func TestV2AutobahnMixed(t *testing.T) {
	for _, router := range v2Routers {
		t.Run(router.name, func(t *testing.T) { testV2Mixed(t, router.start(t)) })
	}
}

func testV2Mixed(t *testing.T, r *v2Router) {
	js := startAutobahnJS(t, r.URL, r.Realm, "json")
	py := startAutobahnPy(t, r.URL, r.Realm, "msgpack")
	pyc := startAutobahnPy(t, r.URL, r.Realm, "cbor")
	args, kwargs := richPayload()

	// Pub/sub both ways. (A pattern-based subscription gets publications
	// of its own: see nexusQuirks.)
	py.do(t, v2Cmd{"op": "subscribe", "id": "py-pre", "topic": "com.herald.mix.pre", "options": v2Cmd{"match": "prefix"}}, "subscribed")
	pyc.do(t, v2Cmd{"op": "subscribe", "id": "pyc-exact", "topic": "com.herald.mix.py"}, "subscribed")
	py.do(t, v2Cmd{"op": "subscribe", "id": "py-exact", "topic": "com.herald.mix.py"}, "subscribed")
	js.do(t, v2Cmd{"op": "subscribe", "id": "js-exact", "topic": "com.herald.mix.js"}, "subscribed")
	for _, topic := range []string{"com.herald.mix.py", "com.herald.mix.pre.py"} {
		kwargs["case"] = topic
		js.do(t, publish(topic, topic, args, kwargs, v2Cmd{"acknowledge": true}), "published")
	}
	for _, s := range []struct {
		p          *v2Peer
		sub, topic string
	}{{py, "py-exact", "com.herald.mix.py"}, {pyc, "pyc-exact", "com.herald.mix.py"}, {py, "py-pre", "com.herald.mix.pre.py"}} {
		kwargs["case"] = s.topic
		if ev := s.p.expect(t, eventOf(s.sub, s.topic), v2Timeout); !lineIs("event", "args", args, "kwargs", kwargs, "details.topic", s.topic)(ev) {
			t.Errorf("%s: %v, want args %v, kwargs %v", s.p.Name, ev, args, kwargs)
		}
	}
	kwargs["case"] = "py2js"
	py.do(t, publish("py2js", "com.herald.mix.js", args, kwargs, v2Cmd{"acknowledge": true}), "published")
	if ev := js.expect(t, eventOf("js-exact", "py2js"), v2Timeout); !lineIs("event", "args", args, "kwargs", kwargs)(ev) {
		t.Errorf("%s: %v, want args %v, kwargs %v", js.Name, ev, args, kwargs)
	}

	// RPC both ways: progress from a Python callee, an error from a JS one.
	py.do(t, v2Cmd{"op": "register", "id": "py-echo", "procedure": "com.herald.mix.echo", "reply": v2Cmd{
		"echo": true, "progress": []any{v2Cmd{"args": []any{"half"}}}}}, "registered")
	wantResult(t, js.do(t, v2Cmd{"op": "call", "id": "c1", "procedure": "com.herald.mix.echo", "args": args, "kwargs": kwargs,
		"options": v2Cmd{"receive_progress": true, "disclose_me": true}}, ""), args, kwargs)
	if got := js.linesFor("c1"); len(got) != 2 || !lineIs("progress", "args", []any{"half"})(got[0]) {
		t.Errorf("js calling python with progress: %v", got)
	}
	if inv := py.expect(t, lineIs("invocation", "reg", "py-echo"), v2Timeout); inv.id(t, "details.caller") != js.session(t) {
		t.Errorf("python callee: %v, want caller %d", inv, js.session(t))
	}
	js.do(t, v2Cmd{"op": "register", "id": "js-fail", "procedure": "com.herald.mix.fail", "reply": v2Cmd{
		"error": "com.herald.error.mixed", "args": args, "kwargs": kwargs}}, "registered")
	if l := pyc.call(t, "c2", "com.herald.mix.fail", nil, nil); !lineIs("error", "error", "com.herald.error.mixed", "args", args, "kwargs", kwargs)(l) {
		t.Errorf("python calling a failing js callee: %v", l)
	}

	// A JS caller cancels (mode kill) a call to a Python callee: the callee
	// is interrupted and its wamp.error.canceled reaches the caller.
	py.do(t, v2Cmd{"op": "register", "id": "py-slow", "procedure": "com.herald.mix.slow", "reply": v2Cmd{"sleep_ms": 5000}}, "registered")
	wantError(t, js.do(t, v2Cmd{"op": "call", "id": "c3", "procedure": "com.herald.mix.slow", "cancel_after_ms": 200, "cancel_mode": "kill"}, ""), "wamp.error.canceled")
	py.expect(t, lineIs("interrupt", "reg", "py-slow"), v2Timeout)
}
