package server

import (
	"encoding/json"
	"github.com/heraldws/herald/wamp"
	"runtime"
	"testing"
	"unsafe"
)

// The fan-out path allocates per publication (the event's frame), never
// per subscriber: a publication to 1,000 subscribers, queued and written
// by the writers, costs a handful of allocations once the queues are warm.
func TestFanoutAllocatesNothingPerSubscriber(t *testing.T) {
	const n = 1000
	srv, err := New(Config{Logger: discardLogger(), MaxQueueSize: 64 << 20, DisableMemoryTrim: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	sessions := make([]*session, n)
	for i := range n {
		sessions[i] = newSession(srv, srv.ids.next(), Identity{Anonymous: true}, newWAMPV1(0), &discardConn{}, nil)
		srv.subscribe(subscription{topic: &Topic{srv: srv, Name: "alloc/topic"}, binding: openBinding}, sessions[i])
	}
	event := json.RawMessage(`{"seq":1}`)
	publish := func() {
		if got := srv.fanout(Publication{Topic: "alloc/topic", Payload: wamp.PayloadOfV1(event)}); got != n {
			t.Fatalf("delivered %d, want %d", got, n)
		}
		for _, s := range sessions {
			for !s.out.isIdle() {
				runtime.Gosched()
			}
		}
	}
	for range 20 {
		publish() // warm the queues and the writers' lists
	}
	if allocs := testing.AllocsPerRun(50, publish); allocs > 16 {
		t.Fatalf("%.0f allocations per publication to %d subscribers, want a handful", allocs, n)
	}
}

// isIdle reports whether nobody writes the outbox (tests).
func (o *outbox) isIdle() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.state == outboxIdle
}

// A session stays within the 576-byte allocation class: the next class is
// 640 bytes, 64 more per idle connection (the 19,000-connection memory
// figure). State only some sessions need belongs behind a pointer
// (sessionExtra, sessionLife) or in the protocol's own value.
func TestSessionFitsItsSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(session{}); size > 576 {
		t.Fatalf("a session is %d bytes, over the 576-byte size class", size)
	}
}
