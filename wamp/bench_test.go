package wamp_test

import (
	"strings"
	"testing"

	"github.com/heraldws/herald/wamp"
)

// benchEvent is a typical fan-out EVENT: a pattern subscription's topic in
// the details and a JSON object payload with strings, numbers and a list.
func benchEvent() *wamp.Event {
	d := wamp.EventDetails{Topic: "acme.chat.lobby", Publisher: 4242}
	return &wamp.Event{Subscription: 123456789, Publication: 7 << 40, Details: d.JSON(),
		Payload: wamp.Payload{Args: raw(`[{"user":"joe","msg":"héllo, world \"quoted\"","n":42,"ratio":0.75,` +
			`"tags":["a","b","c"],"ok":true,"ref":null}]`)}}
}

// Encoding the EVENT of a publication allocates nothing beyond the growth
// of dst, in every codec, and so do the helpers on the fan-out path.
func TestHotPathAllocations(t *testing.T) {
	m := benchEvent()
	buf := make([]byte, 0, 1024)
	for _, c := range v2Codecs {
		if n := testing.AllocsPerRun(200, func() {
			var err error
			if buf, err = c.Append(buf[:0], m); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Append(EVENT) allocates %v times", c.Subprotocol(), n)
		}
	}
	d := wamp.EventDetails{Publisher: 7, PublisherAuthID: "joe", Topic: "a.b"}
	if n := testing.AllocsPerRun(200, func() { buf = d.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("EventDetails.AppendJSON allocates %v times", n)
	}
	if n := testing.AllocsPerRun(200, func() { wamp.MatchWildcard("com..update", "com.a.update") }); n != 0 {
		t.Errorf("MatchWildcard allocates %v times", n)
	}
	p := wamp.Payload{Args: raw(`[{"a":1},2]`)}
	if n := testing.AllocsPerRun(200, func() { _ = p.V1Event() }); n != 0 {
		t.Errorf("V1Event allocates %v times", n)
	}
	// Binary in a payload is decoded from base64 in place.
	bin := &wamp.Event{Subscription: 1, Publication: 1, Payload: wamp.Payload{Args: raw(`["\u0000` + strings.Repeat("AQID", 64) + `"]`)}}
	for _, c := range v2Codecs[1:] {
		if n := testing.AllocsPerRun(200, func() { buf, _ = c.Append(buf[:0], bin) }); n != 0 {
			t.Errorf("%s: Append(EVENT with binary) allocates %v times", c.Subprotocol(), n)
		}
	}
}

// BenchmarkAppendEventV2 is BenchmarkAppendEvent (v1_test.go, V1) for the
// v2 codecs: -bench AppendEvent runs both.
func BenchmarkAppendEventV2(b *testing.B) {
	m := benchEvent()
	for _, c := range v2Codecs {
		b.Run(c.Subprotocol(), func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = c.Append(buf[:0], m); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkDecodePublish(b *testing.B) {
	const js = `[16,381,{"acknowledge":true,"exclude_me":false},"acme.chat.lobby",` +
		`[{"user":"joe","msg":"héllo, world \"quoted\"","n":42,"ratio":0.75,"tags":["a","b","c"],"ok":true,"ref":null}]]`
	for _, c := range v2Codecs {
		b.Run(c.Subprotocol(), func(b *testing.B) {
			in := wire(b, c, js)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("options", func(b *testing.B) {
		opts := raw(`{"acknowledge":true,"exclude_me":false}`)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wamp.ParsePublishOptions(opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
