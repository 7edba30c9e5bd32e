package server

import (
	"encoding/json"
	"errors"
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
	if got := srv.fanout(Publication{Topic: "codec/topic", Event: json.RawMessage(`1`)}); got != n || calls != 1 {
		t.Fatalf("delivered %d with %d encodings; want %d with 1", got, calls, n)
	}
	calls = 0
	eventEncoders[wireV1] = func(*Publication) ([]byte, error) {
		calls++
		return nil, errors.New("cannot encode")
	}
	if got := srv.fanout(Publication{Topic: "codec/topic", Event: json.RawMessage(`2`)}); got != 0 || calls != 1 {
		t.Fatalf("a failing codec: delivered %d with %d attempts; want 0 with 1", got, calls)
	}
}
