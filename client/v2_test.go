package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"
	nw "github.com/gammazero/nexus/v3/wamp"
	"go.uber.org/goleak"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/wamp"
)

// Pub/sub and RPC end to end through nexus, in each serializer.
func TestV2Serializers(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last: after the router and the clients are gone
	nx := startNexus(t, nil)
	for _, proto := range v2Protocols {
		t.Run(proto, func(t *testing.T) {
			ctx := ctx5(t)
			events := newEvRec()
			sub := dialV2(t, nx.url, events.options(proto))
			if sub.Protocol() != proto {
				t.Fatalf("Protocol() = %q", sub.Protocol())
			}
			if n := sub.SessionNumber(); n == 0 || sub.SessionID() != strconv.FormatUint(n, 10) {
				t.Fatalf("SessionNumber %d, SessionID %q", n, sub.SessionID())
			}
			wd := sub.WelcomeDetails()
			if wd.AuthRole != "anonymous" || wd.AuthMethod != "anonymous" || wd.AuthID == "" ||
				!slices.Contains(wd.Roles["broker"], wamp.FeaturePatternBasedSubscription) ||
				!slices.Contains(wd.Roles["dealer"], wamp.FeatureProgressiveCallResults) {
				t.Fatalf("WelcomeDetails %+v", wd)
			}

			subID, err := sub.SubscribeWith(ctx, "com.example.topic", client.SubscribeOptions{})
			if err != nil || subID == 0 {
				t.Fatalf("SubscribeWith: %d, %v", subID, err)
			}
			pub := dialV2(t, nx.url, client.Options{Protocol: proto})
			payload := wamp.Payload{Args: json.RawMessage(`[1,"two",{"x":3.5},null,-7]`), Kwargs: json.RawMessage(`{"k":[true,false],"s":"é"}`)}
			pubID, err := pub.PublishV2(ctx, "com.example.topic", payload, client.PublishOptions{Acknowledge: true})
			if err != nil || pubID == 0 {
				t.Fatalf("PublishV2: %d, %v", pubID, err)
			}
			ev := events.next(t)
			if ev.Topic != "com.example.topic" || ev.Subscription != subID || ev.Publication != pubID || ev.Publisher != 0 {
				t.Fatalf("event %+v", ev)
			}
			sameJSON(t, "args", ev.Payload.Args, string(payload.Args))
			sameJSON(t, "kwargs", ev.Payload.Kwargs, string(payload.Kwargs))

			// The v1 calls and callback work on v2.
			v1rec := newRecorder()
			opts := v1rec.options()
			opts.Protocol = proto
			sub1 := dialV2(t, nx.url, opts)
			if err := sub1.Subscribe("com.example.topic"); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish("com.example.topic", map[string]string{"msg": "hello"}); err != nil {
				t.Fatal(err)
			}
			got := v1rec.nextEvent(t)
			if got.topic != "com.example.topic" {
				t.Fatalf("OnEvent topic %q", got.topic)
			}
			sameJSON(t, "OnEvent event", []byte(got.event), `{"msg":"hello"}`)
			if ev := events.next(t); string(ev.Payload.Args) == "" {
				t.Fatalf("OnEventV2 got %+v", ev)
			}

			// RPC both ways.
			callee := dialV2(t, nx.url, client.Options{Protocol: proto})
			if _, err := callee.Register(ctx, "com.example.sum", sumHandler, client.RegisterOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := callee.Register(ctx, "com.example.echo", echoHandler, client.RegisterOptions{}); err != nil {
				t.Fatal(err)
			}
			res, err := pub.Call(ctx, "com.example.sum", 2, 3, 4.5)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "sum", res, `9.5`)
			echoed, err := pub.CallV2(ctx, "com.example.echo", payload, client.CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "echo args", echoed.Args, string(payload.Args))
			sameJSON(t, "echo kwargs", echoed.Kwargs, string(payload.Kwargs))
			// Binary survives msgpack and CBOR as the spec's JSON form.
			if proto != client.ProtocolV2JSON {
				bin := wamp.Payload{Args: json.RawMessage(`["\u0000AQID"]`)}
				echoed, err := pub.CallV2(ctx, "com.example.echo", bin, client.CallOptions{})
				if err != nil {
					t.Fatal(err)
				}
				sameJSON(t, "binary echo", echoed.Args, `["\u0000AQID"]`)
			}
		})
	}
}

func sumHandler(_ context.Context, inv client.Invocation) (wamp.Payload, error) {
	var nums []float64
	if err := json.Unmarshal(inv.Payload.Args, &nums); err != nil {
		return wamp.Payload{}, &client.CallError{URI: wamp.URIInvalidArgument, Description: err.Error()}
	}
	var sum float64
	for _, n := range nums {
		sum += n
	}
	b, _ := json.Marshal([]float64{sum})
	return wamp.Payload{Args: b}, nil
}

func echoHandler(_ context.Context, inv client.Invocation) (wamp.Payload, error) {
	return inv.Payload, nil
}

func strArgs(s ...string) wamp.Payload {
	b, _ := json.Marshal(s)
	return wamp.Payload{Args: b}
}

// The publish options reach exactly the sessions they should.
func TestV2PublishOptions(t *testing.T) {
	nx := startNexus(t, nil, &router.RealmConfig{URI: "nodisclose", AnonymousAuth: true})
	ctx := ctx5(t)
	const topic = "com.example.opts"
	recs := []*evRec{newEvRec(), newEvRec(), newEvRec()}
	var cs []*client.Client
	for _, r := range recs {
		c := dialV2(t, nx.url, r.options(""))
		if _, err := c.SubscribeWith(ctx, topic, client.SubscribeOptions{}); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	a, b, c := cs[0], cs[1], cs[2]
	no, yes := false, true
	marker := 0
	// check publishes what each case says from a, then a marker to all,
	// and compares what each session got before the marker.
	check := func(name string, publish func() error, want ...[]string) {
		t.Helper()
		if err := publish(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		marker++
		m := "marker" + strconv.Itoa(marker)
		if _, err := a.PublishV2(ctx, topic, strArgs(m), client.PublishOptions{ExcludeMe: &no, Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			if got := r.labels(t, m); !reflect.DeepEqual(got, want[i]) && (len(got) != 0 || len(want[i]) != 0) {
				t.Fatalf("%s: session %d got %q, want %q", name, i, got, want[i])
			}
		}
	}
	pub := func(label string, o client.PublishOptions) func() error {
		return func() error {
			_, err := a.PublishV2(ctx, topic, strArgs(label), o)
			return err
		}
	}
	one := func(s string) []string { return []string{s} }
	check("default", pub("d", client.PublishOptions{}), nil, one("d"), one("d"))
	check("exclude_me=false", pub("i", client.PublishOptions{ExcludeMe: &no}), one("i"), one("i"), one("i"))
	check("exclude_me=true", pub("x", client.PublishOptions{ExcludeMe: &yes}), nil, one("x"), one("x"))
	check("eligible", pub("e", client.PublishOptions{Eligible: []uint64{b.SessionNumber()}}), nil, one("e"), nil)
	check("exclude", pub("ex", client.PublishOptions{ExcludeMe: &no, Exclude: []uint64{b.SessionNumber()}}), one("ex"), nil, one("ex"))
	check("eligible_authid", pub("aid", client.PublishOptions{EligibleAuthID: []string{c.WelcomeDetails().AuthID}}), nil, nil, one("aid"))
	check("exclude_authid", pub("xaid", client.PublishOptions{ExcludeAuthID: []string{c.WelcomeDetails().AuthID}}), nil, one("xaid"), nil)
	check("exclude_authrole", pub("xrole", client.PublishOptions{ExcludeAuthRole: []string{"anonymous"}}), nil, nil, nil)
	check("eligible_authrole", pub("role", client.PublishOptions{EligibleAuthRole: []string{"anonymous"}}), nil, one("role"), one("role"))

	// The v1 Publish keeps v1's meaning: the publisher gets its own event
	// unless ExcludeMe; string ids are v2 session ids.
	check("v1 default", func() error { return a.Publish(topic, "v1") }, one("v1"), one("v1"), one("v1"))
	check("v1 ExcludeMe", func() error { return a.Publish(topic, "v1x", client.ExcludeMe()) }, nil, one("v1x"), one("v1x"))
	check("v1 Eligible", func() error { return a.Publish(topic, "v1e", client.Eligible(c.SessionID())) }, nil, nil, one("v1e"))
	check("v1 Exclude", func() error { return a.Publish(topic, "v1ex", client.Exclude(b.SessionID())) }, one("v1ex"), nil, one("v1ex"))
	if err := a.Publish(topic, "bad", client.Exclude("not-a-number")); err == nil || !strings.Contains(err.Error(), "not a WAMP v2 session id") {
		t.Fatalf("Exclude with a non-numeric id: %v", err)
	}

	// disclose_me: the subscribers learn who published. (One subscriber
	// only: nexus writes the publisher into one details map shared by all
	// the events of a publication, a data race with more than one.)
	if _, err := a.PublishV2(ctx, topic, strArgs("who"), client.PublishOptions{
		DiscloseMe: true, Acknowledge: true, Eligible: []uint64{b.SessionNumber()},
	}); err != nil {
		t.Fatal(err)
	}
	ev := recs[1].next(t)
	if ev.Publisher != a.SessionNumber() || ev.PublisherAuthID != a.WelcomeDetails().AuthID || ev.PublisherAuthRole != "anonymous" {
		t.Fatalf("disclosed event %+v, want publisher %d", ev, a.SessionNumber())
	}

	// Refusals come back as *RequestError when acknowledged.
	_, err := a.PublishV2(ctx, "com..bad", strArgs("x"), client.PublishOptions{Acknowledge: true})
	var re *client.RequestError
	if !errors.As(err, &re) || re.URI != wamp.URIInvalidURI || re.Request != "PUBLISH" {
		t.Fatalf("publish to an invalid URI: %v", err)
	}
	strict := dialV2(t, nx.url, client.Options{Realm: "nodisclose"})
	_, err = strict.PublishV2(ctx, topic, strArgs("x"), client.PublishOptions{Acknowledge: true, DiscloseMe: true})
	if !errors.As(err, &re) || re.URI != wamp.URIOptionDisallowedDisclose {
		t.Fatalf("disclose_me on a realm that forbids it: %v", err)
	}
	// What the router got: PUBLISH options as the spec spells them.
	m := nx.log.find(t, "PUBLISH with eligible", func(m nw.Message) bool {
		p, ok := m.(*nw.Publish)
		return ok && len(p.Arguments) == 1 && p.Arguments[0] == "e"
	}).(*nw.Publish)
	if fmt.Sprint(m.Options["eligible"]) != fmt.Sprintf("[%d]", b.SessionNumber()) {
		t.Fatalf("PUBLISH options %v", m.Options)
	}
	// An empty eligible list is sent as such (nexus, unlike the spec's
	// reading in package wamp, takes it as no list).
	if _, err := a.PublishV2(ctx, topic, strArgs("none"), client.PublishOptions{Eligible: []uint64{}}); err != nil {
		t.Fatal(err)
	}
	m = nx.log.find(t, "PUBLISH with an empty eligible", func(m nw.Message) bool {
		p, ok := m.(*nw.Publish)
		return ok && len(p.Arguments) == 1 && p.Arguments[0] == "none"
	}).(*nw.Publish)
	if el, ok := m.Options["eligible"]; !ok || fmt.Sprint(el) != "[]" {
		t.Fatalf("PUBLISH options %v", m.Options)
	}
}

// Prefix and wildcard subscriptions, and unsubscribing. Each publication
// to a pattern reaches one event only: nexus writes EVENT.Details.topic
// into one map shared by all the events of a publication, a data race
// with more than one.
func TestV2PatternSubscriptions(t *testing.T) {
	nx := startNexus(t, nil)
	ctx := ctx5(t)
	events := newEvRec()
	sub := dialV2(t, nx.url, events.options(""))
	prefixID, err := sub.SubscribeWith(ctx, "com.ex.", client.SubscribeOptions{Match: wamp.MatchPolicyPrefix})
	if err != nil {
		t.Fatal(err)
	}
	wildID, err := sub.SubscribeWith(ctx, "com..update", client.SubscribeOptions{Match: wamp.MatchPolicyWildcard})
	if err != nil {
		t.Fatal(err)
	}
	exactID, err := sub.SubscribeWith(ctx, "com.marker", client.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if prefixID == wildID || prefixID == exactID {
		t.Fatalf("subscription ids %d %d %d", prefixID, wildID, exactID)
	}
	v1rec := newRecorder()
	v1opts := v1rec.options()
	v1opts.Protocol = client.ProtocolV2JSON
	sub1 := dialV2(t, nx.url, v1opts)
	if _, err := sub1.SubscribeWith(ctx, "com.v1.", client.SubscribeOptions{Match: wamp.MatchPolicyPrefix}); err != nil {
		t.Fatal(err)
	}

	pub := dialV2(t, nx.url, client.Options{})
	publish := func(topic, label string) uint64 {
		t.Helper()
		id, err := pub.PublishV2(ctx, topic, strArgs(label), client.PublishOptions{Acknowledge: true})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := publish("com.ex.a", "a")
	if ev := events.next(t); ev.Topic != "com.ex.a" || ev.Subscription != prefixID || ev.Publication != id {
		t.Fatalf("prefix event %+v", ev)
	}
	publish("com.v1.b", "b")
	if got := v1rec.nextEvent(t); got != (event{"com.v1.b", `"b"`}) {
		t.Fatalf("OnEvent on a prefix subscription got %+v", got)
	}
	publish("com.x.update", "w")
	if ev := events.next(t); ev.Topic != "com.x.update" || ev.Subscription != wildID {
		t.Fatalf("wildcard event %+v", ev)
	}
	publish("com.x.y.update", "not matched")
	publish("com.marker", "m0")
	if got := events.labels(t, "m0"); len(got) != 0 {
		t.Fatalf("events of an unmatched topic: %q", got)
	}

	if err := sub.UnsubscribeID(ctx, prefixID); err != nil {
		t.Fatal(err)
	}
	if err := sub.Unsubscribe("com..update"); err != nil {
		t.Fatal(err)
	}
	publish("com.ex.update", "gone")
	publish("com.marker", "m")
	if got := events.labels(t, "m"); len(got) != 0 {
		t.Fatalf("events after unsubscribing: %q", got)
	}
	if err := sub.Unsubscribe("com..update"); err == nil || !strings.Contains(err.Error(), "not subscribed") {
		t.Fatalf("Unsubscribe twice: %v", err)
	}
	var re *client.RequestError
	if err := sub.UnsubscribeID(ctx, 12345); !errors.As(err, &re) || re.URI != wamp.URINoSuchSubscription || re.Request != "UNSUBSCRIBE" {
		t.Fatalf("UnsubscribeID of an unknown id: %v", err)
	}
	if err := sub.Subscribe("com..bad"); !errors.As(err, &re) || re.URI != wamp.URIInvalidURI || re.Request != "SUBSCRIBE" {
		t.Fatalf("Subscribe to an invalid URI: %v", err)
	}
	hello := nx.log.find(t, "SUBSCRIBE with match", func(m nw.Message) bool {
		s, ok := m.(*nw.Subscribe)
		return ok && s.Topic == "com..update"
	}).(*nw.Subscribe)
	if hello.Options["match"] != "wildcard" {
		t.Fatalf("SUBSCRIBE options %v", hello.Options)
	}
}

// Calls: results, errors with URIs, registration rules.
func TestV2RPC(t *testing.T) {
	nx := startNexus(t, nil)
	ctx := ctx5(t)
	callee := dialV2(t, nx.url, client.Options{Protocol: client.ProtocolV2MsgPack})
	caller := dialV2(t, nx.url, client.Options{})
	handlers := map[string]client.Handler{
		"com.ex.sum": sumHandler,
		"com.ex.kw": func(context.Context, client.Invocation) (wamp.Payload, error) {
			return wamp.Payload{Args: json.RawMessage(`[1,2]`), Kwargs: json.RawMessage(`{"a":1}`)}, nil
		},
		"com.ex.two": func(context.Context, client.Invocation) (wamp.Payload, error) {
			return wamp.Payload{Args: json.RawMessage(`[1,2]`)}, nil
		},
		"com.ex.none": func(context.Context, client.Invocation) (wamp.Payload, error) { return wamp.Payload{}, nil },
		"com.ex.fail": func(context.Context, client.Invocation) (wamp.Payload, error) {
			return wamp.Payload{}, &client.CallError{URI: "com.ex.error.bad",
				Payload: wamp.Payload{Args: json.RawMessage(`["bad input",42]`), Kwargs: json.RawMessage(`{"field":"x"}`)}}
		},
		"com.ex.desc": func(context.Context, client.Invocation) (wamp.Payload, error) {
			return wamp.Payload{}, fmt.Errorf("wrapped: %w", &client.CallError{URI: "com.ex.error.desc", Description: "described"})
		},
		"com.ex.oops": func(context.Context, client.Invocation) (wamp.Payload, error) {
			return wamp.Payload{}, errors.New("boom")
		},
		"com.ex.badresult": func(context.Context, client.Invocation) (wamp.Payload, error) {
			return wamp.Payload{Args: json.RawMessage(`{"not":"a list"}`)}, nil
		},
		"com.ex.who": func(_ context.Context, inv client.Invocation) (wamp.Payload, error) {
			b, _ := json.Marshal([]any{inv.Caller, inv.Procedure})
			return wamp.Payload{Args: b}, nil
		},
	}
	ids := map[string]uint64{}
	for name, h := range handlers {
		id, err := callee.Register(ctx, name, h, client.RegisterOptions{})
		if err != nil {
			t.Fatalf("Register %s: %v", name, err)
		}
		ids[name] = id
	}
	if _, err := callee.Register(ctx, "com.ex.pre.", func(_ context.Context, inv client.Invocation) (wamp.Payload, error) {
		return strArgs(inv.Procedure), nil
	}, client.RegisterOptions{Match: wamp.MatchPolicyPrefix}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ proc, want string }{
		{"com.ex.sum", `6`},
		{"com.ex.kw", `{"args":[1,2],"kwargs":{"a":1}}`},
		{"com.ex.two", `{"args":[1,2],"kwargs":{}}`},
		{"com.ex.none", `null`},
		{"com.ex.pre.thing", `"com.ex.pre.thing"`},
	} {
		res, err := caller.Call(ctx, c.proc, 1, 2, 3)
		if err != nil {
			t.Fatalf("Call %s: %v", c.proc, err)
		}
		sameJSON(t, c.proc, res, c.want)
	}

	var ce *client.CallError
	_, err := caller.CallV2(ctx, "com.ex.fail", wamp.Payload{}, client.CallOptions{})
	if !errors.As(err, &ce) || ce.URI != "com.ex.error.bad" || ce.Description != "bad input" {
		t.Fatalf("com.ex.fail: %v", err)
	}
	sameJSON(t, "error args", ce.Payload.Args, `["bad input",42]`)
	sameJSON(t, "error kwargs", ce.Payload.Kwargs, `{"field":"x"}`)
	if !strings.Contains(ce.Error(), "com.ex.error.bad") || !strings.Contains(ce.Error(), "bad input") {
		t.Fatalf("Error() = %q", ce.Error())
	}
	for _, c := range []struct{ proc, uri, desc string }{
		{"com.ex.desc", "com.ex.error.desc", "described"},
		{"com.ex.oops", client.URIRuntimeError, "boom"},
		{"com.ex.badresult", client.URIRuntimeError, ""},
		{"com.ex.missing", wamp.URINoSuchProcedure, ""},
	} {
		_, err := caller.Call(ctx, c.proc)
		if !errors.As(err, &ce) || ce.URI != c.uri || (c.desc != "" && ce.Description != c.desc) {
			t.Fatalf("Call %s: %v, want %s %q", c.proc, err, c.uri, c.desc)
		}
	}

	// disclose_me tells the callee who called.
	who, err := caller.CallV2(ctx, "com.ex.who", wamp.Payload{}, client.CallOptions{DiscloseMe: true})
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "who", who.Args, fmt.Sprintf(`[%d,"com.ex.who"]`, caller.SessionNumber()))

	// Registration rules.
	var re *client.RequestError
	if _, err := caller.Register(ctx, "com.ex.sum", sumHandler, client.RegisterOptions{}); !errors.As(err, &re) ||
		re.URI != wamp.URIProcedureAlreadyExists || re.Request != "REGISTER" {
		t.Fatalf("second Register: %v", err)
	}
	if err := callee.Unregister(ctx, ids["com.ex.sum"]); err != nil {
		t.Fatal(err)
	}
	if _, err := caller.Call(ctx, "com.ex.sum", 1); !errors.As(err, &ce) || ce.URI != wamp.URINoSuchProcedure {
		t.Fatalf("Call after Unregister: %v", err)
	}
	if err := callee.Unregister(ctx, ids["com.ex.sum"]); !errors.As(err, &re) || re.URI != wamp.URINoSuchRegistration {
		t.Fatalf("Unregister twice: %v", err)
	}

	// Shared registrations take turns.
	other := dialV2(t, nx.url, client.Options{})
	for i, c := range []*client.Client{callee, other} {
		name := "callee" + strconv.Itoa(i)
		if _, err := c.Register(ctx, "com.ex.rr", func(context.Context, client.Invocation) (wamp.Payload, error) {
			return strArgs(name), nil
		}, client.RegisterOptions{Invoke: wamp.InvokeRoundRobin}); err != nil {
			t.Fatal(err)
		}
	}
	var turns []string
	for range 4 {
		res, err := caller.Call(ctx, "com.ex.rr")
		if err != nil {
			t.Fatal(err)
		}
		turns = append(turns, string(res))
	}
	if turns[0] == turns[1] || turns[0] != turns[2] || turns[1] != turns[3] {
		t.Fatalf("round robin turns %q", turns)
	}
	reg := nx.log.find(t, "REGISTER with invoke", func(m nw.Message) bool {
		r, ok := m.(*nw.Register)
		return ok && r.Procedure == "com.ex.rr"
	}).(*nw.Register)
	if reg.Options["invoke"] != "roundrobin" {
		t.Fatalf("REGISTER options %v", reg.Options)
	}
}

// Progressive results reach the caller in order, before the final one.
func TestV2ProgressiveResults(t *testing.T) {
	nx := startNexus(t, nil)
	ctx := ctx5(t)
	callee := dialV2(t, nx.url, client.Options{Protocol: client.ProtocolV2CBOR})
	progressErr := make(chan error, 1)
	if _, err := callee.Register(ctx, "com.ex.count", func(_ context.Context, inv client.Invocation) (wamp.Payload, error) {
		if !inv.ReceiveProgress {
			progressErr <- inv.Progress(strArgs("unwanted"))
			return strArgs("plain"), nil
		}
		for i := 1; i <= 3; i++ {
			if err := inv.Progress(strArgs(strconv.Itoa(i))); err != nil {
				return wamp.Payload{}, err
			}
		}
		return strArgs("done"), nil
	}, client.RegisterOptions{}); err != nil {
		t.Fatal(err)
	}
	caller := dialV2(t, nx.url, client.Options{})
	var got []string
	res, err := caller.CallV2(ctx, "com.ex.count", wamp.Payload{}, client.CallOptions{
		ReceiveProgress: func(p wamp.Payload) { got = append(got, string(p.Args)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "final", res.Args, `["done"]`)
	if want := []string{`["1"]`, `["2"]`, `["3"]`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("progress %q, want %q", got, want)
	}
	// Without receive_progress the handler's Progress fails.
	res, err = caller.CallV2(ctx, "com.ex.count", wamp.Payload{}, client.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "plain", res.Args, `["plain"]`)
	if err := recv(t, progressErr, "the Progress error"); err == nil {
		t.Fatal("Progress without receive_progress succeeded")
	}
}

// blockingHandler reports each invocation's start on started and the cause
// of its context's end on ended, and returns the context's error.
func blockingHandler(started chan<- client.Invocation, ended chan<- error) client.Handler {
	return func(ctx context.Context, inv client.Invocation) (wamp.Payload, error) {
		started <- inv
		<-ctx.Done()
		ended <- context.Cause(ctx)
		return wamp.Payload{}, ctx.Err()
	}
}

// The router's call timeout fails the call and interrupts the handler.
func TestV2CallTimeout(t *testing.T) {
	nx := startNexus(t, nil)
	ctx := ctx5(t)
	started, ended := make(chan client.Invocation, 1), make(chan error, 1)
	callee := dialV2(t, nx.url, client.Options{})
	if _, err := callee.Register(ctx, "com.ex.slow", blockingHandler(started, ended), client.RegisterOptions{}); err != nil {
		t.Fatal(err)
	}
	caller := dialV2(t, nx.url, client.Options{})
	begin := time.Now()
	_, err := caller.CallV2(ctx, "com.ex.slow", wamp.Payload{}, client.CallOptions{Timeout: 150 * time.Millisecond})
	var ce *client.CallError
	if !errors.As(err, &ce) || ce.URI != wamp.URITimeout {
		t.Fatalf("CallV2 with a timeout: %v", err)
	}
	if d := time.Since(begin); d < 100*time.Millisecond || d > 3*time.Second {
		t.Fatalf("the call took %v", d)
	}
	recv(t, started, "the invocation")
	if cause := recv(t, ended, "the interrupt"); cause == nil || !strings.Contains(cause.Error(), "INTERRUPT") {
		t.Fatalf("handler context cause %v", cause)
	}
	call := nx.log.find(t, "CALL with a timeout", func(m nw.Message) bool { _, ok := m.(*nw.Call); return ok }).(*nw.Call)
	if ms, _ := nw.AsInt64(call.Options["timeout"]); ms != 150 {
		t.Fatalf("CALL options %v", call.Options)
	}
}

// Canceling ctx sends CANCEL, and the handler's context ends.
func TestV2Cancel(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last: after the router and the clients are gone
	nx := startNexus(t, nil)
	started, ended := make(chan client.Invocation, 1), make(chan error, 1)
	callee := dialV2(t, nx.url, client.Options{})
	if _, err := callee.Register(ctx5(t), "com.ex.slow", blockingHandler(started, ended), client.RegisterOptions{}); err != nil {
		t.Fatal(err)
	}
	caller := dialV2(t, nx.url, client.Options{})
	for _, mode := range []wamp.CancelMode{wamp.CancelKillNoWait, wamp.CancelKill} {
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-started
			cancel()
		}()
		_, err := caller.CallV2(ctx, "com.ex.slow", wamp.Payload{}, client.CallOptions{CancelMode: mode})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: CallV2 after cancel: %v", mode, err)
		}
		recv(t, ended, "the interrupt")
		cm := nx.log.find(t, "CANCEL "+mode.String(), func(m nw.Message) bool {
			c, ok := m.(*nw.Cancel)
			return ok && c.Options["mode"] == mode.String()
		})
		if cm == nil {
			t.Fatal("no CANCEL")
		}
	}
	// The caller goes on working.
	if _, err := callee.Register(ctx5(t), "com.ex.echo", echoHandler, client.RegisterOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := caller.Call(ctx5(t), "com.ex.echo", "still here")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "echo", res, `"still here"`)
}

// Ticket and wampcra, plain and salted; refusals are ABORTs.
func TestV2Auth(t *testing.T) {
	users := keyStore{
		"alice": {ticket: "t0ken", role: "user"},
		"bob":   {secret: "s3cret", role: "admin"},
		"carol": {secret: "pa55", role: "user", salt: "NaCl", iterations: 100, keyLen: 32},
	}
	nx := startNexus(t, nil, &router.RealmConfig{
		URI: "auth",
		Authenticators: []auth.Authenticator{
			auth.NewTicketAuthenticator(users, time.Second),
			auth.NewCRAuthenticator(users, time.Second),
		},
	})
	ctx := ctx5(t)
	var minted atomic.Int32
	for _, c := range []struct {
		name         string
		opts         client.Options
		method, role string
	}{
		{"ticket", client.Options{AuthID: "alice", Ticket: "t0ken"}, "ticket", "user"},
		{"TicketFunc", client.Options{AuthID: "alice", TicketFunc: func() (string, error) {
			minted.Add(1)
			return "t0ken", nil
		}}, "ticket", "user"},
		{"wampcra", client.Options{AuthID: "bob", Secret: "s3cret"}, "wampcra", "admin"},
		{"wampcra salted", client.Options{AuthID: "carol", Secret: "pa55"}, "wampcra", "user"},
		{"AuthMethods", client.Options{AuthID: "alice", Ticket: "t0ken", Secret: "unused", AuthMethods: []string{"ticket"}}, "ticket", "user"},
	} {
		for _, proto := range v2Protocols {
			c.opts.Realm, c.opts.Protocol = "auth", proto
			cl := dialV2(t, nx.url, c.opts)
			wd := cl.WelcomeDetails()
			if wd.AuthID != c.opts.AuthID || wd.AuthMethod != c.method || wd.AuthRole != c.role || wd.AuthProvider != "test" {
				t.Fatalf("%s %s: WelcomeDetails %+v", c.name, proto, wd)
			}
			cl.Close()
		}
	}
	if minted.Load() != int32(len(v2Protocols)) {
		t.Fatalf("TicketFunc called %d times", minted.Load())
	}
	hello := nx.log.find(t, "HELLO from bob", func(m nw.Message) bool {
		h, ok := m.(*nw.Hello)
		return ok && h.Details["authid"] == "bob"
	}).(*nw.Hello)
	if methods := hello.Details["authmethods"]; fmt.Sprint(methods) != "[wampcra]" {
		t.Fatalf("HELLO authmethods %v", hello.Details["authmethods"])
	}

	for _, c := range []struct {
		name string
		opts client.Options
	}{
		{"wrong ticket", client.Options{AuthID: "alice", Ticket: "nope"}},
		{"wrong secret", client.Options{AuthID: "bob", Secret: "nope"}},
		{"wrong salted secret", client.Options{AuthID: "carol", Secret: "nope"}},
		{"no credentials", client.Options{}},
	} {
		c.opts.Realm, c.opts.Protocol = "auth", client.ProtocolV2JSON
		// nexus v3.3.0 sometimes drops its queued ABORT when it closes the
		// socket (websocketPeer.Close discards what is queued) and sends
		// only CLOSE 1000 "goodbye": dial again then.
		var err error
		for range 5 {
			if _, err = client.Dial(ctx, nx.url, c.opts); err == nil || !strings.Contains(err.Error(), "before WELCOME: websocket: close 1000: goodbye") {
				break
			}
		}
		var ae *client.AbortError
		if !errors.As(err, &ae) || ae.Reason != wamp.URIAuthenticationFailed {
			t.Fatalf("%s: Dial: %v", c.name, err)
		}
		if ce := client.ClassifyError(err); ce.Reason != client.CheckForbidden {
			t.Fatalf("%s: classified as %s", c.name, ce.Reason)
		}
	}
	// A CHALLENGE the client cannot answer fails the Dial.
	_, err := client.Dial(ctx, nx.url, client.Options{Protocol: client.ProtocolV2JSON, Realm: "auth", AuthID: "bob", AuthMethods: []string{"wampcra"}})
	if err == nil || !strings.Contains(err.Error(), "Secret is empty") {
		t.Fatalf("wampcra without a secret: %v", err)
	}
}

// A HELLO for a realm the router does not have is an ABORT; so Check and
// Dial say.
func TestV2AbortAndCheck(t *testing.T) {
	nx := startNexus(t, nil)
	ctx := ctx5(t)
	_, err := client.Dial(ctx, nx.url, client.Options{Protocol: client.ProtocolV2JSON, Realm: "nope"})
	var ae *client.AbortError
	if !errors.As(err, &ae) || ae.Reason != wamp.URINoSuchRealm {
		t.Fatalf("Dial to a bad realm: %v", err)
	}
	if !strings.Contains(err.Error(), wamp.URINoSuchRealm) {
		t.Fatalf("error text %q", err)
	}
	err = client.Check(ctx, nx.url, client.Options{Protocol: client.ProtocolV2MsgPack, Realm: "nope"})
	var ce *client.CheckError
	if !errors.As(err, &ce) || ce.Reason != client.CheckProtocol || !errors.As(err, &ae) {
		t.Fatalf("Check of a bad realm: %v", err)
	}
	begin := time.Now()
	id, err := client.CheckSession(ctx, nx.url, client.Options{Protocol: client.ProtocolV2JSON})
	if err != nil || id == "" {
		t.Fatalf("CheckSession: %q, %v", id, err)
	}
	if d := time.Since(begin); d > 400*time.Millisecond {
		t.Fatalf("a v2 Check took %v", d)
	}
	if _, err := client.Dial(ctx, nx.url, client.Options{Protocol: "wamp.3.json"}); err == nil ||
		client.ClassifyError(err).Reason != client.CheckURL {
		t.Fatalf("an unknown protocol: %v", err)
	}
}

// HELLO announces the four client roles with the features implemented.
func TestV2HelloRoles(t *testing.T) {
	nx := startNexus(t, nil)
	dialV2(t, nx.url, client.Options{AuthID: "someone"})
	hello := nx.log.find(t, "HELLO", func(m nw.Message) bool { _, ok := m.(*nw.Hello); return ok }).(*nw.Hello)
	if hello.Realm != "realm1" || hello.Details["agent"] == nil || hello.Details["authid"] != "someone" {
		t.Fatalf("HELLO %+v", hello)
	}
	roles, _ := hello.Details["roles"].(nw.Dict)
	want := map[string][]string{
		"publisher":  {"publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing"},
		"subscriber": {"pattern_based_subscription", "publisher_identification", "subscription_revocation"},
		"caller":     {"call_canceling", "call_timeout", "caller_identification", "progressive_call_results"},
		"callee": {"call_canceling", "call_timeout", "caller_identification", "pattern_based_registration",
			"progressive_call_results", "registration_revocation", "shared_registration"},
	}
	for role, features := range want {
		r, _ := roles[role].(nw.Dict)
		f, _ := r["features"].(nw.Dict)
		for _, name := range features {
			if f[name] != true {
				t.Errorf("role %s lacks feature %s: %v", role, name, r)
			}
		}
	}
}

// Close says GOODBYE with wamp.close.normal and does not wait out a timer.
func TestV2GoodbyeOnClose(t *testing.T) {
	nx := startNexus(t, nil)
	c := dialV2(t, nx.url, client.Options{})
	begin := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	bye := nx.log.find(t, "GOODBYE", func(m nw.Message) bool { _, ok := m.(*nw.Goodbye); return ok }).(*nw.Goodbye)
	if bye.Reason != wamp.URICloseNormal {
		t.Fatalf("GOODBYE reason %q", bye.Reason)
	}
	if c.GoodbyeReason() != "" {
		t.Fatalf("GoodbyeReason after our own GOODBYE: %q", c.GoodbyeReason())
	}
	if err := c.Subscribe("com.ex.after"); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if _, err := c.CallV2(t.Context(), "com.ex.x", wamp.Payload{}, client.CallOptions{}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("CallV2 after Close: %v", err)
	}
}

// A router that ends the session gets its GOODBYE answered, and the
// pending requests fail.
func TestV2RouterGoodbye(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last: after the router and the clients are gone
	answered := make(chan wamp.Message, 2)
	f := newFakeV2(t, func(p *fakeV2Peer) {
		if _, ok := p.next().(*wamp.Call); !ok {
			p.t.Error("fake router: expected a CALL")
			return
		}
		p.send(&wamp.Goodbye{Details: json.RawMessage(`{"message":"going down"}`), Reason: wamp.URISystemShutdown})
		answered <- p.next() // the GOODBYE
		answered <- p.next() // the WebSocket CLOSE
		p.closeWS()
	})
	c := dialV2(t, f.url(), client.Options{})
	if c.SessionNumber() != 7 || c.ServerIdent() != "fake/1" {
		t.Fatalf("session %d, ident %q", c.SessionNumber(), c.ServerIdent())
	}
	_, err := c.Call(ctx5(t), "com.ex.pending")
	if !errors.Is(err, client.ErrClosed) || !strings.Contains(err.Error(), wamp.URISystemShutdown) {
		t.Fatalf("the pending call: %v", err)
	}
	bye, ok := recv(t, answered, "the GOODBYE answer").(*wamp.Goodbye)
	if !ok || bye.Reason != wamp.URIGoodbyeAndOut {
		t.Fatalf("the client answered %#v", bye)
	}
	if cl, ok := recv(t, answered, "the CLOSE").(*closeFrame); !ok || cl.code != 1000 {
		t.Fatalf("then sent %#v", cl)
	}
	waitDone(t, c)
	if c.GoodbyeReason() != wamp.URISystemShutdown {
		t.Fatalf("GoodbyeReason %q", c.GoodbyeReason())
	}
}

// A session the router kills (wamp.session.kill) ends with its reason.
func TestV2RouterKill(t *testing.T) {
	nx := startNexus(t, nil)
	victim := dialV2(t, nx.url, client.Options{})
	killer := dialV2(t, nx.url, client.Options{})
	_, err := killer.CallV2(ctx5(t), "wamp.session.kill", wamp.Payload{
		Args:   json.RawMessage("[" + victim.SessionID() + "]"),
		Kwargs: json.RawMessage(`{"reason":"com.ex.kicked","message":"bye"}`),
	}, client.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, victim)
	if victim.GoodbyeReason() != "com.ex.kicked" {
		t.Fatalf("GoodbyeReason %q", victim.GoodbyeReason())
	}
}

// Close cancels the running handlers and returns once they have.
func TestV2HandlersEndOnClose(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last: after the router and the clients are gone
	nx := startNexus(t, nil)
	started, ended := make(chan client.Invocation, 1), make(chan error, 1)
	callee := dialV2(t, nx.url, client.Options{})
	var returned atomic.Bool
	if _, err := callee.Register(ctx5(t), "com.ex.slow", func(ctx context.Context, inv client.Invocation) (wamp.Payload, error) {
		defer returned.Store(true)
		return blockingHandler(started, ended)(ctx, inv)
	}, client.RegisterOptions{}); err != nil {
		t.Fatal(err)
	}
	caller := dialV2(t, nx.url, client.Options{})
	var wg sync.WaitGroup
	wg.Add(1)
	var callErr error
	go func() {
		defer wg.Done()
		_, callErr = caller.CallV2(ctx5(t), "com.ex.slow", wamp.Payload{}, client.CallOptions{})
	}()
	inv := recv(t, started, "the invocation")
	if inv.Procedure != "com.ex.slow" || inv.Request == 0 || inv.Registration == 0 {
		t.Fatalf("invocation %+v", inv)
	}
	if err := callee.Close(); err != nil {
		t.Fatal(err)
	}
	if !returned.Load() {
		t.Fatal("Close returned before the handler")
	}
	if cause := recv(t, ended, "the handler's end"); !errors.Is(cause, context.Canceled) {
		t.Fatalf("handler context cause %v", cause)
	}
	wg.Wait()
	// The handler's answer went out before the GOODBYE.
	var ce *client.CallError
	if !errors.As(callErr, &ce) || ce.URI != wamp.URICanceled {
		t.Fatalf("the call: %v", callErr)
	}
}

// The v2-only methods refuse a v1 session.
func TestV2MethodsOnV1(t *testing.T) {
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	ctx := t.Context()
	if c.SessionNumber() != 0 || c.GoodbyeReason() != "" || c.WelcomeDetails().AuthID != "" {
		t.Fatal("v2 accessors on a v1 session")
	}
	if _, err := c.SubscribeWith(ctx, "t", client.SubscribeOptions{}); !errors.Is(err, client.ErrNotV2) {
		t.Fatalf("SubscribeWith: %v", err)
	}
	if err := c.UnsubscribeID(ctx, 1); !errors.Is(err, client.ErrNotV2) {
		t.Fatalf("UnsubscribeID: %v", err)
	}
	if _, err := c.PublishV2(ctx, "t", wamp.Payload{}, client.PublishOptions{}); !errors.Is(err, client.ErrNotV2) {
		t.Fatalf("PublishV2: %v", err)
	}
	if _, err := c.CallV2(ctx, "p", wamp.Payload{}, client.CallOptions{}); !errors.Is(err, client.ErrNotV2) {
		t.Fatalf("CallV2: %v", err)
	}
	if _, err := c.Register(ctx, "p", echoHandler, client.RegisterOptions{}); !errors.Is(err, client.ErrNotV2) {
		t.Fatalf("Register: %v", err)
	}
	if err := c.Unregister(ctx, 1); !errors.Is(err, client.ErrNotV2) {
		t.Fatalf("Unregister: %v", err)
	}
}

// A Reconnecting speaks v2 too: it resubscribes on a new router.
func TestV2Reconnecting(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	nx1 := startNexus(t, ln)
	mine := newRecorder()
	opts := mine.options()
	opts.Protocol = client.ProtocolV2JSON
	r := client.NewReconnecting(nx1.url, opts, client.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond})
	defer r.Close()
	ctx := ctx5(t)
	if err := r.Subscribe("com.ex.mine"); err != nil {
		t.Fatal(err)
	}
	if err := r.Publish(ctx, "com.ex.mine", "a"); err != nil {
		t.Fatal(err)
	}
	// A topic the router refuses is an error, and is not kept for the
	// next session.
	var re *client.RequestError
	if err := r.Subscribe("com..bad"); !errors.As(err, &re) || re.URI != wamp.URIInvalidURI {
		t.Fatalf("Subscribe to an invalid topic: %v", err)
	}
	// A topic the next router refuses (it checks URIs strictly) does not
	// keep the Reconnecting from restoring the others.
	if err := r.Subscribe("com.ex.Loose"); err != nil {
		t.Fatal(err)
	}
	if got := mine.nextEvent(t); got != (event{"com.ex.mine", `"a"`}) {
		t.Fatalf("got %+v", got)
	}
	nx1.stop()
	deadline := time.Now().Add(5 * time.Second)
	for r.Connected() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r.Connected() {
		t.Fatal("still connected after the router went away")
	}
	startNexus(t, listen(t, addr), &router.RealmConfig{URI: "realm1", AnonymousAuth: true, StrictURI: true})
	// Publish waits for the new session, which has subscribed again.
	if err := r.Publish(ctx, "com.ex.mine", "b"); err != nil {
		t.Fatal(err)
	}
	if got := mine.nextEvent(t); got != (event{"com.ex.mine", `"b"`}) {
		t.Fatalf("after the restart got %+v", got)
	}
}

// A SUBSCRIBE given up before its answer is undone when the answer comes;
// a revoked subscription delivers nothing more.
func TestV2AbandonedAndRevoked(t *testing.T) {
	gaveUp := make(chan struct{})
	unsubscribed := make(chan *wamp.Unsubscribe, 1)
	f := newFakeV2(t, func(p *fakeV2Peer) {
		late, ok := p.next().(*wamp.Subscribe)
		if !ok {
			p.t.Error("fake router: expected a SUBSCRIBE")
			return
		}
		<-gaveUp
		p.send(&wamp.Subscribed{Request: late.Request, Subscription: 99})
		u, _ := p.next().(*wamp.Unsubscribe)
		unsubscribed <- u
		// Two live subscriptions; the router revokes the first.
		for id := uint64(100); id <= 101; id++ {
			s, ok := p.next().(*wamp.Subscribe)
			if !ok {
				p.t.Error("fake router: expected a SUBSCRIBE")
				return
			}
			p.send(&wamp.Subscribed{Request: s.Request, Subscription: id})
		}
		p.send(&wamp.Unsubscribed{Details: json.RawMessage(`{"subscription":100,"reason":"gone"}`)})
		p.send(&wamp.Event{Subscription: 100, Publication: 1, Payload: strArgs("revoked")})
		p.send(&wamp.Event{Subscription: 101, Publication: 2, Payload: strArgs("live")})
		// Then the router aborts the session.
		if _, ok := p.next().(*wamp.Call); ok {
			p.send(&wamp.Abort{Details: json.RawMessage(`{"message":"enough"}`), Reason: wamp.URIProtocolViolation})
		}
		p.next() // the CLOSE
		p.closeWS()
	})
	events := newEvRec()
	opts := events.options("")
	opts.RequestTimeout = 50 * time.Millisecond
	c := dialV2(t, f.url(), opts)
	if err := c.Subscribe("com.ex.late"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Subscribe with no answer: %v", err)
	}
	close(gaveUp)
	if u := recv(t, unsubscribed, "the UNSUBSCRIBE"); u == nil || u.Subscription != 99 {
		t.Fatalf("the client sent %+v, want an UNSUBSCRIBE of 99", u)
	}
	for _, topic := range []string{"com.ex.a", "com.ex.b"} {
		if err := c.Subscribe(topic); err != nil {
			t.Fatal(err)
		}
	}
	if ev := events.next(t); ev.Topic != "com.ex.b" || ev.Subscription != 101 {
		t.Fatalf("event %+v, want only the live subscription's", ev)
	}
	_, err := c.Call(ctx5(t), "com.ex.x")
	var ae *client.AbortError
	if !errors.Is(err, client.ErrClosed) || !errors.As(err, &ae) || ae.Reason != wamp.URIProtocolViolation || ae.Message != "enough" {
		t.Fatalf("the call pending at the ABORT: %v", err)
	}
	waitDone(t, c)
	if c.GoodbyeReason() != wamp.URIProtocolViolation {
		t.Fatalf("GoodbyeReason %q", c.GoodbyeReason())
	}
}
