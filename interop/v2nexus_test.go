package interop_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"testing"
	"time"

	nexus "github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	nwamp "github.com/gammazero/nexus/v3/wamp"
)

// The nexus v3.3.0 Go client against `herald serve`, in each of its
// serializations: pub/sub with options and a pattern subscription, RPC
// with progressive results, an error URI and a timeout, ticket
// authentication and the meta API.
func TestV2NexusClient(t *testing.T) {
	r := startHeraldV2(t)
	for _, ser := range []struct {
		name string
		s    serialize.Serialization
	}{{"json", serialize.JSON}, {"msgpack", serialize.MSGPACK}, {"cbor", serialize.CBOR}} {
		t.Run(ser.name, func(t *testing.T) { testNexusClient(t, r, ser.s) })
	}
}

func testNexusClient(t *testing.T, r *v2Router, s serialize.Serialization) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(cfg nexus.Config) *nexus.Client {
		t.Helper()
		cfg.Realm, cfg.Serialization = r.Realm, s
		cfg.Logger = log.New(io.Discard, "", 0)
		c, err := nexus.ConnectNet(ctx, r.URL, cfg)
		if err != nil {
			t.Fatalf("nexus client: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	sub := dial(nexus.Config{})
	pub := dial(nexus.Config{AuthHandlers: map[string]nexus.AuthFunc{
		"ticket": func(*nwamp.Challenge) (string, nwamp.Dict) { return ticketSecret, nwamp.Dict{} },
	}, HelloDetails: nwamp.Dict{"authid": ticketAuthID}})

	events := make(chan *nwamp.Event, 16)
	if err := sub.SubscribeChan("com.nexus.news", events, nil); err != nil {
		t.Fatal(err)
	}
	if err := sub.SubscribeChan("com.nexus.", events, nwamp.Dict{"match": "prefix"}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("com.nexus.news", nwamp.Dict{"acknowledge": true, "disclose_me": true}, nwamp.List{"hello", 2}, nwamp.Dict{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	var sawExact, sawPattern bool
	for range 2 {
		select {
		case e := <-events:
			if len(e.Arguments) != 2 || e.Arguments[0] != "hello" || e.ArgumentsKw["k"] != "v" {
				t.Fatalf("event %+v", e)
			}
			if e.Details["publisher_authid"] != ticketAuthID {
				t.Errorf("event details %v, want the publisher disclosed", e.Details)
			}
			if e.Details["topic"] == "com.nexus.news" {
				sawPattern = true
			} else {
				sawExact = true
			}
		case <-ctx.Done():
			t.Fatal("no event")
		}
	}
	if !sawExact || !sawPattern {
		t.Fatalf("exact %v, pattern %v: want one event each", sawExact, sawPattern)
	}
	// exclude_authid: the ticket user publishing with its own authid
	// excluded reaches the anonymous subscriber; eligible_authid of the
	// ticket user reaches nobody subscribed.
	pub.Publish("com.nexus.news", nwamp.Dict{"eligible_authid": nwamp.List{ticketAuthID}}, nwamp.List{"nobody"}, nil)
	pub.Publish("com.nexus.news", nwamp.Dict{"exclude_authid": nwamp.List{ticketAuthID}, "acknowledge": true}, nwamp.List{"marker"}, nil)
	for range 2 { // the marker, exact and pattern
		select {
		case e := <-events:
			if e.Arguments[0] != "marker" {
				t.Fatalf("got %v, want the marker only", e.Arguments)
			}
		case <-ctx.Done():
			t.Fatal("no marker")
		}
	}

	// RPC: progressive results, an application error, a timeout.
	err := sub.Register("com.nexus.count", func(ctx context.Context, inv *nwamp.Invocation) nexus.InvokeResult {
		if len(inv.Arguments) > 0 && inv.Arguments[0] == "fail" {
			return nexus.InvokeResult{Err: "com.nexus.error.failed", Args: nwamp.List{"as asked"}}
		}
		if len(inv.Arguments) > 0 && inv.Arguments[0] == "sleep" {
			<-ctx.Done()
			return nexus.InvocationCanceled
		}
		for i := range 3 {
			sub.SendProgress(ctx, nwamp.List{i}, nil)
		}
		return nexus.InvokeResult{Args: nwamp.List{"done"}}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var progress []any
	res, err := pub.Call(ctx, "com.nexus.count", nil, nil, nil, func(r *nwamp.Result) { progress = append(progress, r.Arguments[0]) })
	if err != nil || res.Arguments[0] != "done" || fmt.Sprint(progress) != "[0 1 2]" {
		t.Fatalf("call: %v, %v, progress %v", res, err, progress)
	}
	_, err = pub.Call(ctx, "com.nexus.count", nil, nwamp.List{"fail"}, nil, nil)
	if re, ok := err.(nexus.RPCError); !ok || re.Err.Error != "com.nexus.error.failed" {
		t.Fatalf("call error %#v, want com.nexus.error.failed", err)
	}
	// The nexus callee bounds the invocation by the timeout herald passes
	// on, so which of the two ends it first is a race: herald's timer
	// (wamp.error.timeout) or the callee's ERROR (wamp.error.canceled).
	_, err = pub.Call(ctx, "com.nexus.count", nwamp.Dict{"timeout": 100}, nwamp.List{"sleep"}, nil, nil)
	if re, ok := err.(nexus.RPCError); !ok || (re.Err.Error != "wamp.error.timeout" && re.Err.Error != "wamp.error.canceled") {
		t.Fatalf("timed-out call %v (%+v), want wamp.error.timeout", err, err.(nexus.RPCError).Err)
	}

	// Meta API.
	count, err := pub.Call(ctx, "wamp.session.count", nil, nil, nil, nil)
	if err != nil || len(count.Arguments) != 1 {
		t.Fatalf("wamp.session.count: %v %v", count, err)
	}
	if n, _ := nwamp.AsInt64(count.Arguments[0]); n < 2 {
		t.Fatalf("wamp.session.count %v, want at least these two", count.Arguments)
	}
	got, err := pub.Call(ctx, "wamp.session.get", nil, nwamp.List{pub.ID()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Arguments[0].(map[string]any); d == nil || d["authid"] != ticketAuthID || d["authrole"] != ticketRole {
		t.Fatalf("wamp.session.get %v", got.Arguments)
	}
}
