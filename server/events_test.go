package server

import (
	"encoding/json"
	"errors"
	"github.com/heraldws/herald/wamp"
	"testing"
)

// Fan-out encodes a publication once per wire codec, however many
// subscribers speak it; a codec that cannot encode it costs its
// subscribers that event only, and is tried once.
func TestFanoutEncodesOncePerCodec(t *testing.T) {
	const n = 50
	srv, err := New(Config{Logger: discardLogger(), DisableMemoryTrim: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	for range n {
		s := newSession(srv, srv.ids.next(), Identity{Anonymous: true}, newWAMPV1(0), &discardConn{}, nil)
		srv.subscribe(subscription{topic: &Topic{srv: srv, Name: "codec/topic"}, binding: openBinding}, s)
	}
	v1 := eventEncoders[wireV1]
	defer func() { eventEncoders[wireV1] = v1 }()
	calls := 0
	eventEncoders[wireV1] = func(p *Publication) ([]byte, error) {
		calls++
		return v1(p)
	}
	if got := srv.fanout(Publication{Topic: "codec/topic", Payload: wamp.PayloadOfV1(json.RawMessage(`1`))}); got != n || calls != 1 {
		t.Fatalf("delivered %d with %d encodings; want %d with 1", got, calls, n)
	}
	calls = 0
	eventEncoders[wireV1] = func(*Publication) ([]byte, error) {
		calls++
		return nil, errors.New("cannot encode")
	}
	if got := srv.fanout(Publication{Topic: "codec/topic", Payload: wamp.PayloadOfV1(json.RawMessage(`2`))}); got != 0 || calls != 1 {
		t.Fatalf("a failing codec: delivered %d with %d attempts; want 0 with 1", got, calls)
	}
}

// A WAMP v1 subscriber gets a publication's v1 form: its first positional
// argument, or its keyword arguments when it has none; a v1 event comes
// back unchanged.
func TestV1SubscribersGetThePayloadsV1Form(t *testing.T) {
	ts := startServer(t, Config{})
	p := dial(t, ts.addr)
	p.subscribe("acme/v2")
	p.sync()
	for _, tc := range []struct {
		payload wamp.Payload
		want    string
	}{
		{wamp.Payload{Args: json.RawMessage(`[1,"two"]`), Kwargs: json.RawMessage(`{"k":3}`)}, `1`},
		{wamp.Payload{Kwargs: json.RawMessage(`{"k":3}`)}, `{"k":3}`},
		{wamp.Payload{}, `null`},
		{wamp.PayloadOfV1(json.RawMessage(`{"n":[1,2]}`)), `{"n":[1,2]}`},
	} {
		if err := ts.Publish(t.Context(), Publication{Topic: "acme/v2", Payload: tc.payload}); err != nil {
			t.Fatal(err)
		}
		p.expectText(eventFrame("acme/v2", tc.want))
	}
}
