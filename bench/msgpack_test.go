package bench

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/wamp"
)

// mp decodes a test's hex (spaces allowed).
func mp(t testing.TB, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatalf("bad test hex %q: %v", h, err)
	}
	return b
}

func TestMsgPackScannerInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"00", 0, true},
		{"7f", 127, true},
		{"ff", -1, true},
		{"e0", -32, true},
		{"cc ff", 255, true},
		{"cd 01 00", 256, true},
		{"ce 00 01 00 00", 65536, true},
		{"cf 18 7b 72 e3 6a f7 ed 15", 1764130000123456789, true},
		{"cf 7f ff ff ff ff ff ff ff", math.MaxInt64, true},
		{"cf 80 00 00 00 00 00 00 00", 0, false}, // beyond int64
		{"d0 80", -128, true},
		{"d1 ff 00", -256, true},
		{"d2 ff ff 00 00", -65536, true},
		{"d3 80 00 00 00 00 00 00 00", math.MinInt64, true},
		{"ca 40 00 00 00", 2, true},              // float32 2.0
		{"cb 40 09 21 fb 54 44 2d 18", 3, true},  // float64 π
		{"cb 43 b8 7b 4b 6e 0e 7b 9b", 0, true},  // checked below: a large float
		{"cb 7f f8 00 00 00 00 00 01", 0, false}, // NaN
		{"cb 7f f0 00 00 00 00 00 00", 0, false}, // +Inf
		{"cb 43 e0 00 00 00 00 00 00", 0, false}, // 2^63
		{"a1 73", 0, false},                      // a string
		{"c0", 0, false},                         // nil
		{"cc", 0, false},                         // truncated
		{"cd 01", 0, false},                      // truncated
		{"cf 00 00 00 00 00 00 00", 0, false},    // truncated
		{"cb 40 09 21 fb 54 44 2d", 0, false},    // truncated
		{"", 0, false},
	} {
		s := mpScanner{b: mp(t, tc.in)}
		got, ok := s.int()
		if tc.in == "cb 43 b8 7b 4b 6e 0e 7b 9b" {
			tc.want = int64(math.Float64frombits(0x43b87b4b6e0e7b9b))
		}
		if ok != tc.ok || got != tc.want {
			t.Errorf("int(%s) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && s.i != len(s.b) {
			t.Errorf("int(%s) consumed %d of %d bytes", tc.in, s.i, len(s.b))
		}
	}
}

func TestMsgPackScannerStrAndContainers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"a0", "", true},
		{"a1 73", "s", true},
		{"d9 03 61 62 63", "abc", true},
		{"da 00 02 68 69", "hi", true},
		{"db 00 00 00 01 7a", "z", true},
		{"a3 61 62", "", false},          // truncated
		{"d9 05 61", "", false},          // truncated
		{"db ff ff ff ff 61", "", false}, // a length beyond the message
		{"c4 01 61", "", false},          // bin is not a string
		{"01", "", false},
		{"", "", false},
	} {
		s := mpScanner{b: mp(t, tc.in)}
		got, ok := s.str()
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("str(%s) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in    string
		isMap bool
		want  int
		ok    bool
	}{
		{"90", false, 0, true},
		{"9f", false, 15, true},
		{"dc 00 10" + strings.Repeat(" 00", 16), false, 16, true},
		{"dd 00 00 00 02", false, 2, true},
		{"80", true, 0, true},
		{"83", true, 3, true},
		{"de 00 01", true, 1, true},
		{"df 00 00 00 01", true, 1, true},
		{"83", false, 0, false}, // a map is not an array
		{"93", true, 0, false},  // nor an array a map
		{"dc 00", false, 0, false},
		{"dd ff ff ff ff", false, 0, false}, // more elements than bytes
		{"", false, 0, false},
	} {
		s := mpScanner{b: mp(t, tc.in)}
		got, ok := s.container(tc.isMap)
		if ok != tc.ok || got != tc.want {
			t.Errorf("container(%s, map %v) = %d, %v; want %d, %v", tc.in, tc.isMap, got, ok, tc.want, tc.ok)
		}
	}
}

// skip steps over exactly one value of every kind, and fails on
// truncated or impossible input.
func TestMsgPackScannerSkip(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"00", true}, {"ff", true}, {"c0", true}, {"c2", true}, {"c3", true},
		{"cc 01", true}, {"cd 00 01", true}, {"ce 00 00 00 01", true}, {"cf 00 00 00 00 00 00 00 01", true},
		{"d0 01", true}, {"d1 00 01", true}, {"d2 00 00 00 01", true}, {"d3 00 00 00 00 00 00 00 01", true},
		{"ca 00 00 00 00", true}, {"cb 00 00 00 00 00 00 00 00", true},
		{"a2 61 62", true}, {"d9 01 61", true}, {"da 00 01 61", true}, {"db 00 00 00 01 61", true},
		{"c4 02 00 01", true}, {"c5 00 01 00", true}, {"c6 00 00 00 01 00", true},
		{"d4 01 00", true}, {"d5 01 00 00", true}, {"d6 01 00 00 00 00", true}, {"d7 01 00 00 00 00 00 00 00 00", true},
		{"d8 01" + strings.Repeat(" 00", 16), true},
		{"c7 02 01 00 00", true}, {"c8 00 01 01 00", true}, {"c9 00 00 00 01 01 00", true},
		{"92 01 a1 61", true}, {"dc 00 02 01 02", true}, {"dd 00 00 00 01 c0", true},
		{"82 a1 61 01 a1 62 92 01 81 a1 63 c0", true}, // {"a":1,"b":[1,{"c":nil}]}
		{"de 00 01 a1 61 01", true}, {"df 00 00 00 01 a1 61 01", true},
		{"91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 90", true}, // deep nesting, no recursion
		{"c1", false}, // never used
		{"", false},
		{"92 01", false}, {"82 a1 61 01", false}, {"a2 61", false}, {"cb 00", false}, {"c4 05 00", false},
		{"d8 01 00", false}, {"c7 05 01 00", false},
		{"dd ff ff ff ff 00", false}, {"df 7f ff ff ff 00", false}, // counts beyond the message
	} {
		b := mp(t, tc.in)
		// A trailing marker: skip must stop right before it.
		s := mpScanner{b: append(b, 0xc0)}
		if !tc.ok {
			s.b = b
		}
		ok := s.skip()
		if ok != tc.ok || (ok && s.i != len(b)) {
			t.Errorf("skip(%s) = %v at %d; want %v at %d", tc.in, ok, s.i, tc.ok, len(b))
		}
	}
}

// heraldEvent is the msgpack EVENT herald sends a msgpack subscriber for
// a publication whose args are argsJSON: the wamp package's own encoder.
func heraldEvent(t testing.TB, details, argsJSON, kwargsJSON string) []byte {
	t.Helper()
	ev := &wamp.Event{Subscription: 5512315355, Publication: 4429313566, Details: json.RawMessage(details),
		Payload: wamp.Payload{Args: json.RawMessage(argsJSON)}}
	if kwargsJSON != "" {
		ev.Payload.Kwargs = json.RawMessage(kwargsJSON)
	}
	b, err := wamp.V2MsgPack{}.Append(nil, ev)
	if err != nil {
		t.Fatalf("encoding %s: %v", argsJSON, err)
	}
	return b
}

// The EVENTs a msgpack subscriber reads: herald's (transcoded from a JSON
// publication, any key order, floats, kwargs), the bench's own, and
// malformed ones, which are not read.
func TestMsgPackEventPayload(t *testing.T) {
	now := time.Now().UnixNano()
	// [36,1,2,{},[payload]] with the bench's own payload encoding.
	own := append(mp(t, "95 24 01 02 80 91"), appendPayloadMsgPack(nil, 41, now, 60)...)
	for _, tc := range []struct {
		name      string
		msg       []byte
		seq, sent int64
		ok        bool
	}{
		{"herald", heraldEvent(t, `{}`, `[{"s":12,"t":1764130000123456789,"p":"xx"}]`, ""), 12, 1764130000123456789, true},
		{"the bench's own", own, 41, now, true},
		{"keys in another order, details, kwargs", heraldEvent(t, `{"publisher":3,"topic":"a,[b]"}`, `[{"p":"","x":{"y":[1,{"z":"]"}]},"t":34,"s":15},2]`, `{"k":1}`), 15, 34, true},
		{"floats", heraldEvent(t, `{}`, `[{"t":1.5e3,"s":2.0}]`, ""), 2, 1500, true},
		{"a probe", heraldEvent(t, `{}`, `[{"s":-1,"t":7}]`, ""), -1, 7, true},
		{"array 16 and map 16 headers", mp(t, "dc 00 05 24 01 02 de 00 00 dc 00 01 de 00 02 a1 73 05 a1 74 06"), 5, 6, true},
		{"no args", mp(t, "94 24 01 02 80"), 0, 0, false},
		{"empty args", mp(t, "95 24 01 02 80 90"), 0, 0, false},
		{"args[0] not a map", heraldEvent(t, `{}`, `["{\"s\":1,\"t\":2}"]`, ""), 0, 0, false},
		{"no t", heraldEvent(t, `{}`, `[{"s":1,"p":"x"}]`, ""), 0, 0, false},
		{"s a string", heraldEvent(t, `{}`, `[{"s":"1","t":2}]`, ""), 0, 0, false},
		{"a non-string key", mp(t, "95 24 01 02 80 91 82 01 01 a1 74 02"), 0, 0, false},
		{"a count beyond the message", mp(t, "95 24 01 02 80 91 df 00 00 ff ff a1 73 01"), 0, 0, false},
		{"the list says 5, holds 4", mp(t, "95 24 01 02 80"), 0, 0, false},
		{"sub not an integer", mp(t, "95 24 a1 31 02 80 91 82 a1 73 01 a1 74 02"), 0, 0, false},
		{"details truncated", mp(t, "95 24 01 02 81 a1"), 0, 0, false},
		{"ids beyond int64", mp(t, "95 24 cf ff ff ff ff ff ff ff ff 02 80 91 82 a1 73 01 a1 74 02"), 0, 0, false},
	} {
		m, ok := readMessage(WAMP2MsgPack, tc.msg)
		if !ok || m.typ != v2Event {
			t.Errorf("%s: readMessage(% x) = type %d, %v", tc.name, tc.msg, m.typ, ok)
			continue
		}
		seq, sent, ok := m.event(WAMP2MsgPack)
		if ok != tc.ok || seq != tc.seq || sent != tc.sent {
			t.Errorf("%s: event(% x) = %d, %d, %v; want %d, %d, %v", tc.name, tc.msg, seq, sent, ok, tc.seq, tc.sent, tc.ok)
		}
	}
	for _, msg := range []string{"", "80", "a4 5b 33 36 5d", "90", "91 a1 24", "91 c0", "c1", "dc 00"} {
		if m, ok := readMessage(WAMP2MsgPack, mp(t, msg)); ok {
			t.Errorf("readMessage(%s) = type %d: not a WAMP message", msg, m.typ)
		}
	}
	if _, ok := readMessage(WAMP2MsgPack, []byte(`[36,1,2,{},[{"s":1,"t":2}]]`)); ok {
		t.Error("a JSON message was taken for msgpack")
	}

	// Every truncation of a good EVENT: never a panic, and no event until
	// the "t" value is whole (the scan stops once it has "s" and "t").
	full := heraldEvent(t, `{"topic":"bench/0"}`, `[{"s":300,"t":1764130000123456789,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`, `{"k":[1,2]}`)
	end := bytes.Index(full, mp(t, "a1 70")) // the "p" key, right after t's value
	for n := range len(full) {
		m, ok := readMessage(WAMP2MsgPack, full[:n])
		if !ok {
			continue
		}
		if _, _, ok := m.event(WAMP2MsgPack); ok && n < end {
			t.Errorf("an event read from the first %d bytes of % x", n, full)
		}
	}
}

// A PUBLISHED or the ERROR of a PUBLISH answers its request; nothing else
// does.
func TestMsgPackAnsweredRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string
		want uint64
	}{
		{"PUBLISHED", "93 11 07 cf 00 00 00 01 00 00 00 00", 7},
		{"ERROR of a PUBLISH", "95 08 10 cd 01 00 80 b8 77 61 6d 70 2e 65 72 72 6f 72 2e 6e 6f 74 5f 61 75 74 68 6f 72 69 7a 65 64", 256},
		{"ERROR of a SUBSCRIBE", "95 08 20 09 80 a1 78", 0},
		{"ERROR too short", "94 08 10 09 80", 0},
		{"PUBLISHED too short", "92 11 07", 0},
		{"request 0", "93 11 00 01", 0},
		{"negative request", "93 11 ff 01", 0},
		{"request a string", "93 11 a1 37 01", 0},
	} {
		m, ok := readMessage(WAMP2MsgPack, mp(t, tc.msg))
		if !ok {
			t.Fatalf("%s: not read", tc.name)
		}
		if got := m.request(WAMP2MsgPack); got != tc.want {
			t.Errorf("%s: request %d, want %d", tc.name, got, tc.want)
		}
	}
}

// The msgpack frames the bench sends are the JSON ones in msgpack: each
// decodes with the wamp package's codec to the message the JSON encoder
// writes.
func TestMsgPackFramesMatchJSON(t *testing.T) {
	now := time.Now().UnixNano()
	for _, tc := range []struct {
		name     string
		mp, json []byte
	}{
		{"HELLO", appendHello(nil, WAMP2MsgPack, "realm1"), appendHello(nil, WAMP2, "realm1")},
		{"SUBSCRIBE", appendSubscribe(nil, WAMP2MsgPack, 7, "bench/0"), appendSubscribe(nil, WAMP2, 7, "bench/0")},
		{"PUBLISH", appendPublish(nil, WAMP2MsgPack, 9, false, "bench/1", appendPayloadMsgPack(nil, 3, now, 0)),
			appendPublish(nil, WAMP2, 9, false, "bench/1", appendPayload(nil, 3, now, 0))},
		{"PUBLISH acknowledge", appendPublish(nil, WAMP2MsgPack, 1<<40, true, "bench/1", appendPayloadMsgPack(nil, -1, now, 0)),
			appendPublish(nil, WAMP2, 1<<40, true, "bench/1", appendPayload(nil, -1, now, 0))},
	} {
		m, err := wamp.V2MsgPack{}.Decode(tc.mp)
		if err != nil {
			t.Errorf("%s: % x does not decode: %v", tc.name, tc.mp, err)
			continue
		}
		got, err := wamp.V2JSON{}.Append(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(tc.json, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the msgpack frame reads as %s, want %s", tc.name, got, tc.json)
		}
	}
	if subprotocol(WAMP2MsgPack) != "wamp.2.msgpack" || frameOp(WAMP2MsgPack) != 2 || frameOp(WAMP2) != 1 || frameOp(WAMP1) != 1 {
		t.Error("subprotocol or frame opcode")
	}
}

// The msgpack payload is about size bytes, reads back, and is the JSON
// payload in msgpack: the same keys, the same values.
func TestAppendPayloadMsgPackSize(t *testing.T) {
	now := time.Now().UnixNano()
	base := len(appendPayloadMsgPack(nil, 299, now, 0))
	for _, size := range []int{0, 10, base, base + 1, base + 2, 40, 64, base + 32, base + 33, base + 34, 290, 291, 300, 4000, 70000} {
		p := appendPayloadMsgPack(nil, 299, now, size)
		want := max(size, base)
		// A string header grows at 32 and 256 bytes: one byte short at
		// those sizes.
		if len(p) != want && len(p) != want-1 {
			t.Errorf("size %d: payload of %d bytes, want %d", size, len(p), want)
		}
		seq, sent, ok := mpParsePayload(mpScanner{b: p})
		if !ok || seq != 299 || sent != now {
			t.Errorf("size %d: reads back as %d, %d, %v", size, seq, sent, ok)
		}
		s := mpScanner{b: p}
		if !s.skip() || s.i != len(p) {
			t.Errorf("size %d: the payload is not one msgpack value", size)
		}
	}
	for _, seq := range []int64{-1, 0, 127, 128, 65535, 1 << 31} {
		m, err := wamp.V2MsgPack{}.Decode(appendPublish(nil, WAMP2MsgPack, 1, false, "t", appendPayloadMsgPack(nil, seq, now, 50)))
		if err != nil {
			t.Fatal(err)
		}
		args := m.(*wamp.Publish).Payload.Args
		var got, want []map[string]any
		json.Unmarshal(args, &got)
		json.Unmarshal(append(append([]byte("["), appendPayload(nil, seq, now, 0)...), ']'), &want)
		if len(got) != 1 || got[0]["s"] != want[0]["s"] || got[0]["t"] != want[0]["t"] {
			t.Errorf("seq %d: args %s", seq, args)
		}
	}
}

// A msgpack subscriber counts a malformed EVENT as unexpected and logs
// it, shown as hex, as the JSON path does; a message that is not WAMP is
// logged.
func TestMsgPackSubscriberMalformed(t *testing.T) {
	r := &runner{cfg: Config{Messages: 100, Protocol: WAMP2MsgPack, TopicPrefix: "bench/"}, shards: make([]shard, numShards)}
	s := &subscriber{r: r, id: 3, seen: make([]uint64, 2), maxSeq: -1}
	sh := &r.shards[0]
	s.message(heraldEvent(t, `{}`, `[{"s":5,"t":1}]`, ""), sh)
	s.message(mp(t, "95 24 01 02 80 91 81 a1 73"), sh)   // truncated
	s.message(mp(t, "95 24 01 02 80 91 a1 73"), sh)      // args[0] not a map
	s.message([]byte(`[36,1,2,{},[{"s":6,"t":1}]]`), sh) // JSON on a msgpack session
	s.message(heraldEvent(t, `{}`, `[{"s":7,"t":1}]`, ""), sh)
	if s.unique != 2 || s.unexpected != 2 || sh.unique.Load() != 2 {
		t.Errorf("unique %d, unexpected %d", s.unique, s.unexpected)
	}
	msgs, total := r.errs.list()
	all := strings.Join(msgs, "\n")
	if total != 3 || !strings.Contains(all, `subscriber 3 received an event without "s" and "t": msgpack 9524010280918`) ||
		!strings.Contains(all, "subscriber 3 received a message that is not WAMP: msgpack 5b33362c") {
		t.Errorf("errors %d %q", total, msgs)
	}
	// A message that decodes is shown as its JSON form.
	if got := showMessage(WAMP2MsgPack, heraldEvent(t, `{}`, `[{"s":5}]`, "")); got != `[36,5512315355,4429313566,{},[{"s":5}]]` {
		t.Errorf("showMessage = %s", got)
	}
}

// Parsing a msgpack EVENT and counting it allocates nothing.
func TestMsgPackEventAllocs(t *testing.T) {
	r := &runner{cfg: Config{Messages: 1 << 16, Protocol: WAMP2MsgPack, TopicPrefix: "bench/"}, shards: make([]shard, numShards)}
	s := &subscriber{r: r, seen: make([]uint64, 1<<10), maxSeq: -1}
	now := time.Now().UnixNano()
	s.fr.now = now
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = heraldEvent(t, `{}`, "["+string(appendPayload(nil, int64(i), now-1000, 40))+"]", "")
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		s.message(frames[i%len(frames)], &r.shards[0])
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per msgpack EVENT", allocs)
	}
	if s.unique != int32(len(frames)) || s.duplicates != int32(1001-len(frames)) || s.unexpected != 0 {
		t.Errorf("unique %d, duplicates %d, unexpected %d", s.unique, s.duplicates, s.unexpected)
	}
}

// BenchmarkSubscriberEventMsgPack is BenchmarkSubscriberEvent for a
// msgpack subscriber reading herald's msgpack EVENTs.
func BenchmarkSubscriberEventMsgPack(b *testing.B) {
	const m = 1 << 20
	r := &runner{cfg: Config{Messages: m, Protocol: WAMP2MsgPack, TopicPrefix: "bench/"}, shards: make([]shard, numShards)}
	s := &subscriber{r: r, seen: make([]uint64, m/64), maxSeq: -1}
	now := time.Now().UnixNano()
	s.fr.now = now
	frames := make([][]byte, 1024)
	for i := range frames {
		frames[i] = heraldEvent(b, `{}`, "["+string(appendPayload(nil, int64(i), now-int64(i)*1000, 40))+"]", "")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(frames) == 0 {
			clear(s.seen)
		}
		s.message(frames[i%len(frames)], &r.shards[0])
	}
	b.StopTimer()
	if s.unique == 0 || s.unexpected != 0 {
		b.Fatalf("unique %d, unexpected %d", s.unique, s.unexpected)
	}
}

// FuzzMsgPackEvent: no input makes the msgpack scan panic, and skip
// never reads past the end.
func FuzzMsgPackEvent(f *testing.F) {
	f.Add(heraldEvent(f, `{"topic":"x"}`, `[{"s":1,"t":2,"p":"x"},[1,2.5,null,true]]`, `{"a":{}}`))
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x80, 0x91, 0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x93, 0x11, 0x07, 0x01})
	f.Fuzz(func(t *testing.T, p []byte) {
		if m, ok := readMessage(WAMP2MsgPack, p); ok {
			m.event(WAMP2MsgPack)
			m.request(WAMP2MsgPack)
		}
		s := mpScanner{b: p}
		if s.skip() && s.i > len(p) {
			t.Fatalf("skip went to %d of %d", s.i, len(p))
		}
	})
}

// A v2 subscriber's SUBSCRIBE is answered by SUBSCRIBED or an ERROR, in
// either serialization; the probes wait for it (awaitAnswered). In v1
// nothing answers a SUBSCRIBE.
func TestSubscribeAnswered(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		msg      []byte
		answered bool
	}{
		{WAMP2, []byte(`[33,1,5512315355]`), true},
		{WAMP2, []byte(`[8,32,1,{},"wamp.error.not_authorized"]`), true},
		{WAMP2, []byte(`[17,1,2]`), false},
		{WAMP2MsgPack, mp(t, "93 21 01 cf 00 00 00 01 48 8c 2e db"), true},
		{WAMP2MsgPack, append(mp(t, "95 08 20 01 80 b8"), "wamp.error.not_authorized"...), true},
		{WAMP2MsgPack, []byte(`[33,1,5512315355]`), false},
		{WAMP1, []byte(`[33,1,5512315355]`), false},
	} {
		r := &runner{cfg: Config{Messages: 1, Protocol: tc.protocol, TopicPrefix: "bench/"}, shards: make([]shard, numShards)}
		s := &subscriber{r: r, seen: make([]uint64, 1), maxSeq: -1}
		s.message(tc.msg, &r.shards[0])
		if got := s.flags.Load()&fAnswered != 0; got != tc.answered {
			t.Errorf("%s %q: answered %v, want %v", tc.protocol, tc.msg, got, tc.answered)
		}
	}
}
