package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/heraldws/herald/wamp"
)

// metaCall calls a meta procedure and returns its RESULT's arguments as
// compact JSON, or the ERROR's URI.
func (p *v2peer) metaCall(procedure string, args ...any) (result, errURI string) {
	p.t.Helper()
	list, _ := json.Marshal(args)
	if len(args) == 0 {
		list = []byte("[]")
	}
	req := p.call(procedure, `{}`, string(list))
	for {
		switch m := p.recv().(type) {
		case *wamp.Result:
			if m.Request != req {
				p.t.Fatalf("RESULT %d, want %d", m.Request, req)
			}
			return compactJSON(p.t, m.Payload.Args), ""
		case *wamp.Error:
			return "", m.URI
		case *wamp.Event:
			continue // a meta event the peer subscribed to
		default:
			p.t.Fatalf("got %s, want RESULT", m.Kind())
		}
	}
}

func TestV2PatternSubscriptions(t *testing.T) {
	ts := startServer(t, Config{})
	sub, pub := joinedV2(t, ts, "wamp.2.json"), joinedV2(t, ts, "wamp.2.msgpack")
	prefix := sub.subscribeV2("acme.chat.", `{"match":"prefix"}`)
	wild := sub.subscribeV2("acme..news", `{"match":"wildcard"}`)
	exact := sub.subscribeV2("acme.chat.room1", `{}`)
	if prefix == wild || prefix == exact || wild == exact {
		t.Fatalf("subscription ids %d %d %d: want three", prefix, wild, exact)
	}
	// Another session's same pattern shares the id.
	if again := pub.subscribeV2("acme.chat.", `{"match":"prefix"}`); again != prefix {
		t.Fatalf("pattern subscription ids %d and %d", prefix, again)
	}
	pub.sendMsg(&wamp.Unsubscribe{Request: pub.nextReq(), Subscription: prefix})
	pub.recv()

	// One publication matching the exact topic and the prefix: one EVENT
	// each, the pattern's naming the topic, one publication id.
	pub.sendMsg(&wamp.Publish{Request: pub.nextReq(), Topic: "acme.chat.room1", Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`[1]`)}})
	got := map[uint64]string{}
	var pubID uint64
	for range 2 {
		e := sub.expectEvent()
		got[e.Subscription] = compactJSON(t, e.Details)
		if pubID != 0 && e.Publication != pubID {
			t.Fatalf("publication ids differ")
		}
		pubID = e.Publication
	}
	if got[exact] != `{}` || got[prefix] != `{"topic":"acme.chat.room1"}` {
		t.Fatalf("events %v", got)
	}
	pub.sendMsg(&wamp.Publish{Request: pub.nextReq(), Topic: "acme.sport.news", Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`[2]`)}})
	if e := sub.expectEvent(); e.Subscription != wild || compactJSON(t, e.Details) != `{"topic":"acme.sport.news"}` {
		t.Fatalf("wildcard EVENT %+v", e)
	}
	// A v1 publication reaches pattern subscribers too.
	v1 := dial(t, ts.addr)
	v1.send(`[7,"acme.chat.lobby",{"x":1}]`)
	if e := sub.expectEvent(); e.Subscription != prefix || compactJSON(t, e.Payload.Args) != `[{"x":1}]` {
		t.Fatalf("EVENT of a v1 publication %+v", e)
	}
	pub.sendMsg(&wamp.Publish{Request: pub.nextReq(), Topic: "other.chat.x", Options: json.RawMessage(`{}`)})
	sub.expectNothing()
	// Invalid patterns.
	req := sub.nextReq()
	sub.sendMsg(&wamp.Subscribe{Request: req, Topic: "acme..", Options: json.RawMessage(`{"match":"prefix"}`)})
	sub.expectError(wamp.V2Subscribe, req, wamp.URIInvalidURI)
}

// Pattern subscriptions never see topics whose route checks each
// subscriber (a user's own topic).
func TestV2PatternsSkipCheckedTopics(t *testing.T) {
	ts := startServer(t, Config{Router: newRouter(t, oroRoutes()...)})
	sub := joinedV2(t, ts, "wamp.2.json")
	sub.subscribeV2("oro/", `{"match":"prefix"}`)
	if err := ts.Publish(t.Context(), Publication{Topic: "oro/reminder_remind/7", Payload: wamp.PayloadOfV1(json.RawMessage(`"secret"`))}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Publish(t.Context(), Publication{Topic: "oro/maintenance", Payload: wamp.PayloadOfV1(json.RawMessage(`"news"`))}); err != nil {
		t.Fatal(err)
	}
	if e := sub.expectEvent(); compactJSON(t, e.Payload.Args) != `["news"]` {
		t.Fatalf("EVENT %+v", e)
	}
	sub.expectNothing()
}

func TestV2MetaAPI(t *testing.T) {
	ts := startServer(t, Config{})
	watcher := joinedV2(t, ts, "wamp.2.json")
	// The watcher's own subscriptions are announced to it: one
	// on_subscribe EVENT each, which may come before or after the next
	// SUBSCRIBED.
	var onSub, onJoin uint64
	events := 0
	for _, topic := range []string{"wamp.subscription.on_subscribe", "wamp.session.on_join", "wamp.session.on_leave"} {
		req := watcher.nextReq()
		watcher.sendMsg(&wamp.Subscribe{Request: req, Topic: topic, Options: json.RawMessage(`{}`)})
		for {
			m := watcher.recv()
			if _, ok := m.(*wamp.Event); ok {
				events++
				continue
			}
			s, ok := m.(*wamp.Subscribed)
			if !ok || s.Request != req {
				t.Fatalf("got %+v, want SUBSCRIBED", m)
			}
			if onSub == 0 {
				onSub = s.Subscription
			} else if onJoin == 0 {
				onJoin = s.Subscription
			}
			break
		}
	}
	for ; events < 3; events++ {
		if e := watcher.expectEvent(); e.Subscription != onSub {
			t.Fatalf("EVENT %+v, want on_subscribe", e)
		}
	}

	other := joinedV2(t, ts, "wamp.2.msgpack")
	e := watcher.expectEvent()
	if e.Subscription != onJoin {
		t.Fatalf("EVENT %+v, want on_join", e)
	}
	var join []map[string]any
	json.Unmarshal(e.Payload.Args, &join)
	if len(join) != 1 || join[0]["session"] != float64(other.number) || join[0]["authrole"] != "anonymous" || join[0]["serializer"] != "msgpack" {
		t.Fatalf("on_join %s", e.Payload.Args)
	}
	v1 := dial(t, ts.addr)
	v1Number, _ := sessionNumber(v1.session)
	e = watcher.expectEvent()
	json.Unmarshal(e.Payload.Args, &join)
	if e.Subscription != onJoin || len(join) != 1 || join[0]["session"] != float64(v1Number) || join[0]["protocol"] != "wamp" {
		t.Fatalf("on_join of a v1 session %s", e.Payload.Args)
	}

	id := other.subscribeV2("acme.meta", `{}`)
	if e := watcher.expectEvent(); e.Subscription != onSub || compactJSON(t, e.Payload.Args) != fmt.Sprintf(`[%d,%d]`, other.number, id) {
		t.Fatalf("on_subscribe %+v %s", e, e.Payload.Args)
	}
	v1.subscribe("acme.meta")
	v1.sync()

	if got, _ := watcher.metaCall("wamp.session.count"); got != `[3]` {
		t.Errorf("session.count %s", got)
	}
	if got, _ := watcher.metaCall("wamp.session.get", other.number); !json.Valid([]byte(got)) || got == "" {
		t.Errorf("session.get %s", got)
	}
	if _, uri := watcher.metaCall("wamp.session.get", 12345); uri != wamp.URINoSuchSession {
		t.Errorf("session.get of nobody: %s", uri)
	}
	if got, _ := watcher.metaCall("wamp.subscription.lookup", "acme.meta"); got != fmt.Sprintf(`[%d]`, id) {
		t.Errorf("subscription.lookup %s", got)
	}
	if got, _ := watcher.metaCall("wamp.subscription.lookup", "acme.none"); got != `[null]` {
		t.Errorf("subscription.lookup of nothing %s", got)
	}
	if got, _ := watcher.metaCall("wamp.subscription.match", "acme.meta"); got != fmt.Sprintf(`[[%d]]`, id) {
		t.Errorf("subscription.match %s", got)
	}
	ids := []uint64{other.number, v1Number}
	if ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	if got, _ := watcher.metaCall("wamp.subscription.list_subscribers", id); got != fmt.Sprintf(`[[%d,%d]]`, ids[0], ids[1]) {
		t.Errorf("list_subscribers %s, want v2 and v1 sessions %v", got, ids)
	}
	if got, _ := watcher.metaCall("wamp.subscription.count_subscribers", id); got != `[2]` {
		t.Errorf("count_subscribers %s", got)
	}
	if got, _ := watcher.metaCall("wamp.subscription.get", id); got != fmt.Sprintf(`[{"id":%d,"match":"exact","uri":"acme.meta"}]`, id) {
		t.Errorf("subscription.get %s", got)
	}
	reg := other.register("acme.proc", `{}`)
	if got, _ := watcher.metaCall("wamp.registration.list"); got != fmt.Sprintf(`[{"exact":[%d],"prefix":[],"wildcard":[]}]`, reg) {
		t.Errorf("registration.list %s", got)
	}
	if got, _ := watcher.metaCall("wamp.registration.lookup", "acme.proc"); got != `[`+strconv.FormatUint(reg, 10)+`]` {
		t.Errorf("registration.lookup %s", got)
	}
	if got, _ := watcher.metaCall("wamp.registration.list_callees", reg); got != fmt.Sprintf(`[[%d]]`, other.number) {
		t.Errorf("registration.list_callees %s", got)
	}
	if _, uri := watcher.metaCall("wamp.session.nothing"); uri != wamp.URINoSuchProcedure {
		t.Errorf("unknown meta procedure: %s", uri)
	}
	// Nobody else may publish on a meta topic, v1 included.
	v1.send(`[7,"wamp.session.on_join",{"forged":true}]`)
	v1.sync()
	other.conn.Close()
	e = watcher.expectEvent()
	if compactJSON(t, e.Payload.Args) != fmt.Sprintf(`[%d,"%s","anonymous"]`, other.number, ts.ids.forNumber(other.number)) {
		t.Fatalf("on_leave %s", e.Payload.Args)
	}
	v1.conn.Close()
	if e := watcher.expectEvent(); compactJSON(t, e.Payload.Args) != fmt.Sprintf(`[%d,"%s","anonymous"]`, v1Number, v1.session) {
		t.Fatalf("on_leave of a v1 session %s", e.Payload.Args)
	}
}
