package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/heraldws/herald/topic"
	"github.com/heraldws/herald/wamp"
)

func (p *v2peer) register(procedure, options string) uint64 {
	p.t.Helper()
	req := p.nextReq()
	p.sendMsg(&wamp.Register{Request: req, Procedure: procedure, Options: json.RawMessage(options)})
	m := p.recv()
	r, ok := m.(*wamp.Registered)
	if !ok || r.Request != req || r.Registration == 0 {
		p.t.Fatalf("got %s %+v, want REGISTERED %d", m.Kind(), m, req)
	}
	return r.Registration
}

func (p *v2peer) call(procedure, options, args string) uint64 {
	p.t.Helper()
	req := p.nextReq()
	p.sendMsg(&wamp.Call{Request: req, Procedure: procedure, Options: json.RawMessage(options), Payload: wamp.Payload{Args: json.RawMessage(args)}})
	return req
}

func (p *v2peer) expectInvocation() *wamp.Invocation {
	p.t.Helper()
	m := p.recv()
	inv, ok := m.(*wamp.Invocation)
	if !ok {
		p.t.Fatalf("got %s %+v, want INVOCATION", m.Kind(), m)
	}
	return inv
}

func (p *v2peer) expectResult(req uint64, args string, progress bool) {
	p.t.Helper()
	m := p.recv()
	r, ok := m.(*wamp.Result)
	if !ok || r.Request != req || compactJSON(p.t, r.Payload.Args) != args {
		p.t.Fatalf("got %s %+v, want RESULT %d %s", m.Kind(), m, req, args)
	}
	if got := compactJSON(p.t, r.Details) == `{"progress":true}`; got != progress {
		p.t.Fatalf("RESULT details %s, want progress %v", r.Details, progress)
	}
}

func (p *v2peer) expectInterrupt(req uint64) {
	p.t.Helper()
	m := p.recv()
	if i, ok := m.(*wamp.Interrupt); !ok || i.Request != req {
		p.t.Fatalf("got %s %+v, want INTERRUPT %d", m.Kind(), m, req)
	}
}

func joinedV2(t *testing.T, ts *testServer, subprotocol string) *v2peer {
	p := dialV2(t, ts.addr, "", subprotocol)
	p.join("realm1", "")
	return p
}

func TestV2CallsReachCallees(t *testing.T) {
	ts := startServer(t, Config{})
	callee, caller := joinedV2(t, ts, "wamp.2.msgpack"), joinedV2(t, ts, "wamp.2.json")
	reg := callee.register("acme.add", `{}`)

	req := caller.call("acme.add", `{"disclose_me":true}`, `[1,2]`)
	inv := callee.expectInvocation()
	if inv.Registration != reg || compactJSON(t, inv.Payload.Args) != `[1,2]` {
		t.Fatalf("INVOCATION %+v", inv)
	}
	if d := compactJSON(t, inv.Details); d != fmt.Sprintf(`{"caller":%d,"caller_authid":"%s","caller_authrole":"anonymous"}`, caller.number, ts.ids.forNumber(caller.number)) {
		t.Fatalf("INVOCATION details %s", d)
	}
	callee.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`[3]`)}})
	caller.expectResult(req, `[3]`, false)

	// A v1 CALL reaches the v2 callee, and gets Gos's CALLRESULT shape.
	v1 := dial(t, ts.addr)
	v1.send(`[2,"c1","acme.add",4,5]`)
	inv = callee.expectInvocation()
	if compactJSON(t, inv.Payload.Args) != `[4,5]` {
		t.Fatalf("INVOCATION from v1 %+v", inv)
	}
	callee.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`[9]`)}})
	v1.expectText(`[3,"c1",[9]]`)
	// An application error, to both versions.
	v1.send(`[2,"c2","acme.add",0]`)
	inv = callee.expectInvocation()
	callee.sendMsg(&wamp.Error{RequestType: wamp.V2Invocation, Request: inv.Request, Details: json.RawMessage(`{}`), URI: "acme.error.zero", Payload: wamp.Payload{Args: json.RawMessage(`["zero is not allowed"]`)}})
	v1.expectText(`[4,"c2","acme.add","acme.error.zero: zero is not allowed",{"code":500}]`)
	req = caller.call("acme.add", `{}`, `[0]`)
	inv = callee.expectInvocation()
	callee.sendMsg(&wamp.Error{RequestType: wamp.V2Invocation, Request: inv.Request, Details: json.RawMessage(`{}`), URI: "acme.error.zero", Payload: wamp.Payload{Args: json.RawMessage(`["no"]`), Kwargs: json.RawMessage(`{"n":0}`)}})
	if e := caller.expectError(wamp.V2Call, req, "acme.error.zero"); compactJSON(t, e.Payload.Kwargs) != `{"n":0}` {
		t.Fatalf("ERROR payload %+v", e.Payload)
	}

	// Unregistered, the procedure has no callee (and no route handler).
	req = callee.nextReq()
	callee.sendMsg(&wamp.Unregister{Request: req, Registration: reg})
	if u, ok := callee.recv().(*wamp.Unregistered); !ok || u.Request != req {
		t.Fatalf("want UNREGISTERED")
	}
	req = caller.call("acme.add", `{}`, `[1]`)
	caller.expectError(wamp.V2Call, req, wamp.URINoSuchProcedure)
	req = callee.nextReq()
	callee.sendMsg(&wamp.Unregister{Request: req, Registration: reg})
	callee.expectError(wamp.V2Unregister, req, wamp.URINoSuchRegistration)
}

func TestV2ProgressTimeoutAndCancel(t *testing.T) {
	ts := startServer(t, Config{})
	callee, caller := joinedV2(t, ts, "wamp.2.json"), joinedV2(t, ts, "wamp.2.cbor")
	callee.register("acme.slow", `{}`)

	// Progressive results, then the final one.
	req := caller.call("acme.slow", `{"receive_progress":true}`, `[]`)
	inv := callee.expectInvocation()
	if d := compactJSON(t, inv.Details); d != `{"receive_progress":true}` {
		t.Fatalf("INVOCATION details %s", d)
	}
	for i := range 2 {
		callee.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{"progress":true}`), Payload: wamp.Payload{Args: json.RawMessage(fmt.Sprintf(`[%d]`, i))}})
		caller.expectResult(req, fmt.Sprintf(`[%d]`, i), true)
	}
	callee.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`["done"]`)}})
	caller.expectResult(req, `["done"]`, false)

	// A timeout: the caller is told, the callee interrupted, and its late
	// YIELD dropped.
	req = caller.call("acme.slow", `{"timeout":50}`, `[]`)
	inv = callee.expectInvocation()
	caller.expectError(wamp.V2Call, req, wamp.URITimeout)
	callee.expectInterrupt(inv.Request)
	callee.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{}`)})
	caller.expectNothing()

	// CANCEL: killnowait (the default) answers at once and interrupts;
	// skip leaves the callee alone; kill waits for the callee's ERROR.
	req = caller.call("acme.slow", `{}`, `[]`)
	inv = callee.expectInvocation()
	caller.sendMsg(&wamp.Cancel{Request: req, Options: json.RawMessage(`{}`)})
	caller.expectError(wamp.V2Call, req, wamp.URICanceled)
	callee.expectInterrupt(inv.Request)

	req = caller.call("acme.slow", `{}`, `[]`)
	inv = callee.expectInvocation()
	caller.sendMsg(&wamp.Cancel{Request: req, Options: json.RawMessage(`{"mode":"skip"}`)})
	caller.expectError(wamp.V2Call, req, wamp.URICanceled)
	callee.expectNothing()

	req = caller.call("acme.slow", `{}`, `[]`)
	inv = callee.expectInvocation()
	caller.sendMsg(&wamp.Cancel{Request: req, Options: json.RawMessage(`{"mode":"kill"}`)})
	callee.expectInterrupt(inv.Request)
	caller.expectNothing()
	callee.sendMsg(&wamp.Error{RequestType: wamp.V2Invocation, Request: inv.Request, Details: json.RawMessage(`{}`), URI: wamp.URICanceled})
	caller.expectError(wamp.V2Call, req, wamp.URICanceled)

	// The callee leaves while a call runs: the caller is told.
	req = caller.call("acme.slow", `{}`, `[]`)
	callee.expectInvocation()
	callee.conn.Close()
	caller.expectError(wamp.V2Call, req, wamp.URICanceled)
	// ...and its registration is gone.
	req = caller.call("acme.slow", `{}`, `[]`)
	caller.expectError(wamp.V2Call, req, wamp.URINoSuchProcedure)
}

func TestV2SharedAndPatternRegistrations(t *testing.T) {
	ts := startServer(t, Config{})
	a, b, caller := joinedV2(t, ts, "wamp.2.json"), joinedV2(t, ts, "wamp.2.json"), joinedV2(t, ts, "wamp.2.json")
	ra := a.register("acme.shared", `{"invoke":"roundrobin"}`)
	if rb := b.register("acme.shared", `{"invoke":"roundrobin"}`); rb != ra {
		t.Fatalf("shared registration ids %d and %d", ra, rb)
	}
	// Another policy, or a single registration taken: refused.
	req := caller.nextReq()
	caller.sendMsg(&wamp.Register{Request: req, Procedure: "acme.shared", Options: json.RawMessage(`{"invoke":"first"}`)})
	caller.expectError(wamp.V2Register, req, wamp.URIProcedureAlreadyExists)
	a.register("acme.single", `{}`)
	req = b.nextReq()
	b.sendMsg(&wamp.Register{Request: req, Procedure: "acme.single", Options: json.RawMessage(`{}`)})
	b.expectError(wamp.V2Register, req, wamp.URIProcedureAlreadyExists)
	// Round robin takes turns.
	for _, want := range []*v2peer{a, b, a} {
		req := caller.call("acme.shared", `{}`, `[]`)
		inv := want.expectInvocation()
		want.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`[1]`)}})
		caller.expectResult(req, `[1]`, false)
	}
	// A prefix registration names the procedure called.
	b.register("acme.files.", `{"match":"prefix"}`)
	req = caller.call("acme.files.read", `{}`, `[]`)
	inv := b.expectInvocation()
	if d := compactJSON(t, inv.Details); d != `{"procedure":"acme.files.read"}` {
		t.Fatalf("INVOCATION details %s", d)
	}
	b.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{}`)})
	m := caller.recv()
	if r, ok := m.(*wamp.Result); !ok || r.Request != req {
		t.Fatalf("got %+v, want RESULT", m)
	}
	// Reserved and invalid URIs.
	req = a.nextReq()
	a.sendMsg(&wamp.Register{Request: req, Procedure: "wamp.session.count", Options: json.RawMessage(`{}`)})
	a.expectError(wamp.V2Register, req, wamp.URIInvalidURI)
}

// A callee that announces neither call_canceling nor
// progressive_call_results gets no receive_progress and no INTERRUPT, and
// a kill CANCEL of its call is answered at once.
func TestV2CalleeWithoutFeatures(t *testing.T) {
	ts := startServer(t, Config{})
	callee := dialV2(t, ts.addr, "", "wamp.2.json")
	callee.sendMsg(&wamp.Hello{Realm: "realm1", Details: json.RawMessage(`{"roles":{"callee":{"features":{"progressive_call_results":true}}}}`)})
	callee.expectWelcome()
	caller := joinedV2(t, ts, "wamp.2.json")
	callee.register("acme.plain", `{}`)

	req := caller.call("acme.plain", `{"receive_progress":true}`, `[]`)
	inv := callee.expectInvocation()
	if d := compactJSON(t, inv.Details); d != `{}` {
		t.Fatalf("INVOCATION details %s, want no receive_progress", d)
	}
	callee.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`[1]`)}})
	caller.expectResult(req, `[1]`, false)

	req = caller.call("acme.plain", `{}`, `[]`)
	callee.expectInvocation()
	caller.sendMsg(&wamp.Cancel{Request: req, Options: json.RawMessage(`{"mode":"kill"}`)})
	caller.expectError(wamp.V2Call, req, wamp.URICanceled)
	callee.expectNothing()
}

// A session may not hold more registrations than max_subscriptions, nor
// more calls in flight than maxCallsInFlight.
func TestV2RPCLimits(t *testing.T) {
	ts := startServer(t, Config{MaxSubscriptions: 2})
	callee, caller := joinedV2(t, ts, "wamp.2.json"), joinedV2(t, ts, "wamp.2.msgpack")
	callee.register("acme.a", `{}`)
	callee.register("acme.b", `{}`)
	callee.sendMsg(&wamp.Register{Request: callee.nextReq(), Procedure: "acme.c", Options: json.RawMessage(`{}`)})
	callee.expectClosed()

	callee = joinedV2(t, ts, "wamp.2.json")
	callee.register("acme.never", `{}`)
	for range maxCallsInFlight {
		caller.call("acme.never", `{}`, `[]`)
	}
	req := caller.call("acme.never", `{}`, `[]`)
	caller.expectError(wamp.V2Call, req, errorURITooManyCalls)
}

// A v2 CALL that no callee registered goes to the route's handler, as a v1
// CALL does; a registered callee takes precedence.
func TestV2CallsReachRouteHandlers(t *testing.T) {
	ts := startServer(t, Config{
		Router:   newRouter(t, &topic.Route{Name: "acme.rpc", Pattern: "acme/rpc/{method}", Callback: "acme.rpc"}),
		Handlers: map[string]Binding{"acme.rpc": {Handler: rpcHandler{}}},
	})
	p := joinedV2(t, ts, "wamp.2.json")
	for _, c := range []struct{ args, method, want, uri string }{
		{`[{"a":1}]`, "echo", `[{"a":1}]`, ""},
		{`[1,2]`, "echo", `[[1,2]]`, ""},
		{`[]`, "answer", `[42]`, ""},
		{`[]`, "whoami", fmt.Sprintf(`[{"route":"acme.rpc","session":"%s"}]`, ts.ids.forNumber(p.number)), ""},
		{`[]`, "forbidden", "", wamp.URINotAuthorized},
		{`[]`, "other", "", "wamp.error.runtime_error"},
	} {
		req := p.call("acme/rpc/"+c.method, `{}`, c.args)
		if c.uri != "" {
			if e := p.expectError(wamp.V2Call, req, c.uri); compactJSON(t, e.Details) == "" {
				t.Errorf("%s: ERROR without details", c.method)
			}
			continue
		}
		p.expectResult(req, c.want, false)
	}
	// An unknown procedure under routing: ERROR, not a close.
	req := p.call("acme/nothing", `{}`, `[]`)
	p.expectError(wamp.V2Call, req, wamp.URINoSuchProcedure)

	callee := joinedV2(t, ts, "wamp.2.json")
	callee.register("acme/rpc/answer", `{}`)
	req = p.call("acme/rpc/answer", `{}`, `[]`)
	inv := callee.expectInvocation()
	callee.sendMsg(&wamp.Yield{Request: inv.Request, Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`["from the callee"]`)}})
	p.expectResult(req, `["from the callee"]`, false)
}
