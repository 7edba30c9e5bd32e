package server

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/wamp"
)

// Fan-out encodes a publication once per wire codec, however many
// subscribers speak it; a codec that cannot encode it costs its
// subscribers that event only, and is tried once.
func TestFanoutEncodesOncePerCodec(t *testing.T) {
	const n = 20
	srv, err := New(Config{Logger: discardLogger(), DisableMemoryTrim: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	codecs := []wireCodec{wireV1, wireV2JSON, wireV2MsgPack, wireV2CBOR}
	for _, c := range codecs {
		for range n {
			var proto protocol = newWAMPV2(c)
			if c == wireV1 {
				proto = newWAMPV1(0)
			}
			s := newSession(srv, srv.ids.next(), Identity{Anonymous: true}, proto, &discardConn{}, nil)
			srv.subscribe(subscription{topic: &Topic{srv: srv, Name: "codec/topic"}, binding: openBinding}, s)
		}
	}
	saved := eventEncoders
	defer func() { eventEncoders = saved }()
	calls := map[wireCodec]int{}
	for _, c := range codecs {
		eventEncoders[c] = func(s *Server, e *eventFrames, c wireCodec) ([]byte, error) {
			calls[c]++
			return saved[c](s, e, c)
		}
	}
	if got := srv.fanout(Publication{Topic: "codec/topic", Payload: wamp.PayloadOfV1(json.RawMessage(`1`))}); got != n*len(codecs) {
		t.Fatalf("delivered %d, want %d", got, n*len(codecs))
	}
	for _, c := range codecs {
		if calls[c] != 1 {
			t.Errorf("codec %d encoded %d times, want once", c, calls[c])
		}
	}
	clear(calls)
	eventEncoders[wireV2MsgPack] = func(*Server, *eventFrames, wireCodec) ([]byte, error) {
		calls[wireV2MsgPack]++
		return nil, errors.New("cannot encode")
	}
	if got := srv.fanout(Publication{Topic: "codec/topic", Payload: wamp.PayloadOfV1(json.RawMessage(`2`))}); got != n*(len(codecs)-1) || calls[wireV2MsgPack] != 1 {
		t.Fatalf("a failing codec: delivered %d with %d attempts; want %d with 1", got, calls[wireV2MsgPack], n*(len(codecs)-1))
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

// Fan-out to v2 subscribers while others subscribe to and leave the same
// topic: encoding a v2 EVENT needs the topic's subscription id, which it
// must not take from the hub under the topic's lock (a SUBSCRIBE takes the
// shard's lock, then the topic's).
func TestV2FanoutDuringSubscribes(t *testing.T) {
	srv, err := New(Config{Logger: discardLogger(), DisableMemoryTrim: true, MaxQueueSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	topic := &Topic{srv: srv, Name: "race/topic"}
	sub := subscription{topic: topic, binding: openBinding}
	for range 4 {
		srv.subscribe(sub, newSession(srv, srv.ids.next(), Identity{Anonymous: true}, newWAMPV2(wireV2JSON), &discardConn{}, nil))
	}
	churn := make([]*session, 8)
	for i := range churn {
		churn[i] = newSession(srv, srv.ids.next(), Identity{Anonymous: true}, newWAMPV2(wireV2MsgPack), &discardConn{}, nil)
	}
	stop := make(chan struct{})
	var churning sync.WaitGroup
	for g := range 2 {
		churning.Go(func() {
			for i := g; ; i += 2 {
				select {
				case <-stop:
					return
				default:
				}
				s := churn[i%len(churn)]
				srv.subscribe(sub, s)
				srv.unsubscribe(sub, s)
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for range 20000 {
			srv.fanout(Publication{Topic: "race/topic", Payload: wamp.PayloadOfV1(json.RawMessage(`1`))})
		}
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		// A deadlock also holds what Shutdown needs: end the binary here,
		// with every goroutine's stack.
		panic("fan-out stuck: a lock-order deadlock between fan-out and SUBSCRIBE")
	}
	close(stop)
	churning.Wait()
}
