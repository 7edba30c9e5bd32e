package wamp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldws/herald/wamp"
)

// v2Seeds are the seed messages of the v2 fuzz targets, as JSON: the
// corpus, the malformed shapes, and edge values.
func v2Seeds() []string {
	seeds := []string{
		`[]`, `[null]`, `[16]`, `[99,1]`, `{"a":1}`, `5`, `"x"`, `[16,1,{},"t",null,{"k":1}]`,
		`[16,0,{},"t"]`, `[16,9007199254740993,{},"t"]`, `[16,1,[],"t"]`, `[16,1,{},"t",{}]`,
		`[36,1,2,{},[1.0,-0.0,1e300,-9223372036854775809,18446744073709551615,"\u0000AQID","\u0000AQJ=","\ud83d\ude00"]]`,
		`[36,1,2,{"\u0000":{"":[[],{}]}},[],{"a":"\u2028"}]`,
		`[35,0,{"subscription":1}]`, `[8,48,1,{},"e",[],{}]`, `[8,33,1,{},"e"]`,
		`[36,1,1,{},` + strings.Repeat("[", wamp.MaxDepth-1) + strings.Repeat("]", wamp.MaxDepth-1) + `]`,
	}
	for _, tt := range v2Corpus {
		seeds = append(seeds, tt.json)
	}
	return seeds
}

// fuzzDecode is the property the three targets check: Decode never
// panics; its errors are *ProtocolError wrapping ErrInvalidMessage; what
// decodes re-encodes, and decodes to the same message, in the same codec
// and in each of others.
func fuzzDecode(t *testing.T, c wamp.Codec, data []byte, others ...wamp.Codec) {
	m, err := c.Decode(data)
	if err != nil {
		if m != nil {
			t.Fatalf("Decode(%x) returned %#v with error %v", data, m, err)
		}
		if _, ok := errors.AsType[*wamp.ProtocolError](err); !ok || !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Fatalf("Decode(%x) error %v (%T) is not a *ProtocolError wrapping ErrInvalidMessage", data, err, err)
		}
		return
	}
	if m == nil {
		t.Fatalf("Decode(%x) returned nil, nil", data)
	}
	for _, c2 := range append([]wamp.Codec{c}, others...) {
		out, err := c2.Append(nil, m)
		if err != nil {
			t.Fatalf("%s Append(%s Decode(%x)) = %v", c2.Subprotocol(), c.Subprotocol(), data, err)
		}
		m2, err := c2.Decode(out)
		if err != nil {
			t.Fatalf("%s Decode(Append(Decode(%x))) = %v; appended %x", c2.Subprotocol(), data, err, out)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("%s round trip of %x via %x:\n got %#v\nwant %#v", c2.Subprotocol(), data, out, m2, m)
		}
	}
}

func FuzzDecodeV2JSON(f *testing.F) {
	for _, s := range v2Seeds() {
		f.Add([]byte(s))
	}
	for _, s := range []string{"", " ", "[", "[16,1,{},\"\xff\"]", `[16,1,{},"\ud800"]`, `[32,1,{},"t"] x`, `[1e400]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, wamp.V2JSON{}, data)
		// The JSON codec keeps raw JSON as sent; the binary codecs give
		// its canonical form, which must then be stable.
		m, err := wamp.V2JSON{}.Decode(data)
		if err != nil {
			return
		}
		for _, c := range []wamp.Codec{wamp.V2MsgPack{}, wamp.V2CBOR{}} {
			out, err := c.Append(nil, m)
			if err != nil {
				// JSON numbers beyond float64 have no binary form.
				if !strings.Contains(err.Error(), "number out of range") {
					t.Fatalf("%s Append of %q: %v", c.Subprotocol(), data, err)
				}
				continue
			}
			m2, err := c.Decode(out)
			if err != nil {
				t.Fatalf("%s Decode(Append(%q)) = %v; appended %x", c.Subprotocol(), data, err, out)
			}
			if m.Kind() != m2.Kind() {
				t.Fatalf("%s changed %s into %s", c.Subprotocol(), m.Kind(), m2.Kind())
			}
			fuzzDecode(t, c, out, wamp.V2JSON{})
		}
	})
}

func FuzzDecodeV2MsgPack(f *testing.F) {
	for _, s := range v2Seeds() {
		if b, err := wamp.JSONToMsgPack([]byte(s)); err == nil {
			f.Add(b)
		}
	}
	for _, h := range []string{"", "c1", "94200180", "942001 80a174 00", "9520010180 91d40100", "9520010180 91cb7ff8000000000000",
		"94200181c40161 01a174", "dd ffffffff 20", "92 20 cd 01", "95 24 01 01 80 92 ca 3dcccccd c5 0001 ff"} {
		f.Add(mustHex(f, h))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, wamp.V2MsgPack{}, data, wamp.V2JSON{}, wamp.V2CBOR{})
	})
}

func FuzzDecodeV2CBOR(f *testing.F) {
	for _, s := range v2Seeds() {
		if b, err := wamp.JSONToCBOR([]byte(s)); err == nil {
			f.Add(b)
		}
	}
	for _, h := range []string{"", "ff", "9f 18 24 05 06 bf 7f 61 6b ff 7f 61 61 61 62 ff ff 9f 5f 41 01 42 0203 ff fa 3fc00000 ff ff",
		"85 18 24 01 01 a0 81 c1 01", "85 18 24 01 01 a0 81 f7", "85 18 24 01 01 a0 81 f9 7e00", "85 18 24 01 01 a0 81 3b ffffffffffffffff",
		"98 05 19 0024 1a 00000005 1b 0000000000000006 b9 0001 78 01 6b 62 61 62 81 f9 0001"} {
		f.Add(mustHex(f, h))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// msgpack cannot hold every CBOR integer, so only JSON is a
		// second codec here.
		fuzzDecode(t, wamp.V2CBOR{}, data, wamp.V2JSON{})
	})
}

// FuzzTranscodeJSON checks the JSON scanner and the JSON → binary → JSON
// transcoders on arbitrary text: the scanner accepts only JSON, and a
// value's canonical form is a fixed point of both transcoders.
func FuzzTranscodeJSON(f *testing.F) {
	for _, s := range v2Seeds() {
		f.Add([]byte(s))
	}
	for _, s := range []string{`1e2`, `-0`, `"\u0000"`, `{"a":1,"a":2}`, `[1,]`, `01`, "\"\x7f\"", `"\ud800\udc00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if wamp.ScanJSON(data) != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("ScanJSON accepted %q, which is not JSON", data)
		}
		for _, tc := range []struct {
			to, from func([]byte) ([]byte, error)
		}{{wamp.JSONToMsgPack, wamp.MsgPackToJSON}, {wamp.JSONToCBOR, wamp.CBORToJSON}} {
			bin, err := tc.to(data)
			if err != nil {
				if !strings.Contains(err.Error(), "out of range") && !strings.Contains(err.Error(), "nested too deeply") {
					t.Fatalf("transcoding %q: %v", data, err)
				}
				continue
			}
			canon, err := tc.from(bin)
			if err != nil {
				t.Fatalf("transcoding %q back from %x: %v", data, bin, err)
			}
			if !json.Valid(canon) {
				t.Fatalf("%q → %x → %q is not JSON", data, bin, canon)
			}
			bin2, err := tc.to(canon)
			if err != nil || !bytes.Equal(bin, bin2) {
				t.Fatalf("%q → %x → %q → %x (%v): not a fixed point", data, bin, canon, bin2, err)
			}
		}
	})
}
