package wamp_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldws/herald/wamp"
)

// jsonValue decodes JSON for comparison, numbers as float64.
func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// JSON → msgpack → JSON and JSON → CBOR → JSON give the canonical JSON of
// the value: same value, same kinds (an integer stays an integer, a float
// a float), binary kept.
func TestTranscodeJSONRoundTrip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200)  // str16 / text with a 2-byte head
	big := strings.Repeat("x", 70000) // str32 / text with a 4-byte head
	list20 := "[" + strings.Repeat("1,", 19) + "1]"
	map20 := "{"
	for i := range 20 {
		if i > 0 {
			map20 += ","
		}
		map20 += `"` + string(rune('a'+i)) + `":` + "null"
	}
	map20 += "}"
	tests := []struct {
		in      string
		want    string // canonical form, when it differs from in
		msgpack string // msgpack's result, when it differs from want
	}{
		{in: `0`}, {in: `-0`, want: `0`}, {in: `1`}, {in: `-1`}, {in: `127`}, {in: `128`}, {in: `255`},
		{in: `256`}, {in: `65535`}, {in: `65536`}, {in: `4294967295`}, {in: `4294967296`},
		{in: `9007199254740993`}, {in: `9223372036854775807`}, {in: `9223372036854775808`},
		{in: `18446744073709551615`}, {in: `-32`}, {in: `-33`}, {in: `-128`}, {in: `-129`},
		{in: `-32768`}, {in: `-32769`}, {in: `-2147483648`}, {in: `-2147483649`},
		{in: `-9223372036854775808`},
		// Beyond msgpack's integers: CBOR still has them.
		{in: `-9223372036854775809`, msgpack: `-9.223372036854776e+18`},
		{in: `-18446744073709551616`, msgpack: `-1.8446744073709552e+19`},
		// Beyond both: floats.
		{in: `-18446744073709551617`, want: `-1.8446744073709552e+19`},
		{in: `18446744073709551616`, want: `1.8446744073709552e+19`},
		{in: `1.0`}, {in: `-0.0`}, {in: `0.5`}, {in: `0.1`}, {in: `3.141592653589793`},
		{in: `1e2`, want: `100.0`}, {in: `1E-7`, want: `1e-07`}, {in: `1.5e300`, want: `1.5e+300`},
		{in: `5e-324`}, {in: `1.7976931348623157e308`, want: `1.7976931348623157e+308`},
		{in: `100000000000000000000.0`, want: `1e+20`}, {in: `2.5E+3`, want: `2500.0`},
		{in: `""`}, {in: `"é"`}, {in: `"\u00e9"`, want: `"é"`}, {in: `"😀"`}, {in: `"\ud83d\ude00"`, want: `"😀"`},
		{in: `"\u2028\u2029"`}, {in: `"a\"b\\c\/d"`, want: `"a\"b\\c/d"`}, {in: `"\n\t\r\b\f"`, want: `"\n\t\r\u0008\u000c"`},
		{in: `"\u0001\u001f"`}, {in: `"<&>"`}, {in: `"` + long + `"`}, {in: `"` + big + `"`},
		// Binary, by the spec's convention.
		{in: `"\u0000"`}, {in: `"\u0000AQID"`}, {in: `"\u0000AQI="`}, {in: `"\u0000AQ=="`},
		{in: `"\u0000EOP\/kFMHXFJvX8BtT+N82w=="`, want: `"\u0000EOP/kFMHXFJvX8BtT+N82w=="`},
		// Not canonical base64: strings.
		{in: `"\u0000AQJ="`}, {in: `"\u0000AQ"`}, {in: `"\u0000!!!!"`}, {in: `"\u0000AQ\nI="`}, {in: `"\u0000\u0000"`},
		{in: `true`}, {in: `false`}, {in: `null`},
		{in: `[]`}, {in: `{}`}, {in: `[[],[[]],{}]`}, {in: ` [ 1 , { "a" : [ ] } ] `, want: `[1,{"a":[]}]`},
		{in: `{"a":[1,{"b":null}],"c":{}}`}, {in: `{"z":1,"a":2}`}, {in: `{"a":1,"a":2}`},
		{in: `{"\u0000AQID":"\u0000AQID"}`}, {in: `{"é\n":1}`},
		{in: list20}, {in: map20},
		{in: `[` + strings.Repeat(`[`, wamp.MaxDepth-1) + strings.Repeat(`]`, wamp.MaxDepth-1) + `]`},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if want == "" {
				want = tt.in
			}
			for _, f := range []struct {
				name string
				to   func([]byte) ([]byte, error)
				from func([]byte) ([]byte, error)
				want string
			}{
				{"msgpack", wamp.JSONToMsgPack, wamp.MsgPackToJSON, tt.msgpack},
				{"cbor", wamp.JSONToCBOR, wamp.CBORToJSON, ""},
			} {
				if f.want == "" {
					f.want = want
				}
				bin, err := f.to([]byte(tt.in))
				if err != nil {
					t.Fatalf("%s: JSON to binary: %v", f.name, err)
				}
				out, err := f.from(bin)
				if err != nil {
					t.Fatalf("%s: binary %x to JSON: %v", f.name, bin, err)
				}
				if string(out) != f.want {
					t.Fatalf("%s: %s → %x → %s, want %s", f.name, tt.in, bin, out, f.want)
				}
				if !reflect.DeepEqual(jsonValue(t, out), jsonValue(t, []byte(tt.in))) {
					t.Fatalf("%s: %s changed value: %s", f.name, tt.in, out)
				}
				// The canonical form is a fixed point.
				again, err := f.to(out)
				if err != nil || !bytes.Equal(again, bin) {
					t.Fatalf("%s: canonical %s → %x, first pass gave %x (%v)", f.name, out, again, bin, err)
				}
			}
		})
	}
}

// Binary becomes msgpack bin and CBOR byte strings on the wire, and
// nothing else does.
func TestTranscodeBinaryWireTypes(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, msgpack, cbor string }{
		{`"\u0000AQID"`, "\xc4\x03\x01\x02\x03", "\x43\x01\x02\x03"},
		{`"\u0000"`, "\xc4\x00", "\x40"},
		{`"\u0000AQJ="`, "\xa5\x00AQJ=", "\x65\x00AQJ="},
		{`{"\u0000AQID":1}`, "\x81\xa5\x00AQID\x01", "\xa1\x65\x00AQID\x01"},
	}
	for _, tt := range tests {
		mp, err := wamp.JSONToMsgPack([]byte(tt.in))
		if err != nil || string(mp) != tt.msgpack {
			t.Errorf("msgpack of %s = %x, %v; want %x", tt.in, mp, err, tt.msgpack)
		}
		cb, err := wamp.JSONToCBOR([]byte(tt.in))
		if err != nil || string(cb) != tt.cbor {
			t.Errorf("CBOR of %s = %x, %v; want %x", tt.in, cb, err, tt.cbor)
		}
	}
}

// Binary-only values map to the JSON the spec and the float rule give.
func TestTranscodeBinaryToJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, hex, want string
		cbor            bool
	}{
		{"msgpack float32 widened exactly", "ca3dcccccd", "0.10000000149011612", false},
		{"msgpack float32 integral", "ca3f800000", "1.0", false},
		{"msgpack float64 -0", "cb8000000000000000", "-0.0", false},
		{"msgpack bin16", "c50003010203", `"\u0000AQID"`, false},
		{"msgpack int8 -1", "d0ff", "-1", false},
		{"msgpack uint64 max", "cfffffffffffffffff", "18446744073709551615", false},
		{"msgpack negative fixint", "e0", "-32", false},
		{"cbor half 1.0", "f93c00", "1.0", true},
		{"cbor half smallest subnormal", "f90001", "5.960464477539063e-08", true},
		{"cbor half -2", "f9c000", "-2.0", true},
		{"cbor half max", "f97bff", "65504.0", true},
		{"cbor single", "fa3fc00000", "1.5", true},
		{"cbor negint -2^64", "3bffffffffffffffff", "-18446744073709551616", true},
		{"cbor negint -1", "20", "-1", true},
		{"cbor indefinite bytes", "5f4101420203ff", `"\u0000AQID"`, true},
		{"cbor indefinite empty text", "7fff", `""`, true},
		{"cbor text with escapes", "6422220a7f", "\"\\\"\\\"\\n\x7f\"", true}, // DEL needs no escape
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from := wamp.MsgPackToJSON
			if tt.cbor {
				from = wamp.CBORToJSON
			}
			got, err := from(mustHex(t, tt.hex))
			if err != nil || string(got) != tt.want {
				t.Fatalf("%s → %s, %v; want %s", tt.hex, got, err, tt.want)
			}
		})
	}
}

// roundTripCorpus adds to v2Corpus messages built in Go, with canonical
// JSON in their raw fields, so that every codec gives them back as they
// are.
var roundTripCorpus = []wamp.Message{
	&wamp.Event{Subscription: 1, Publication: wamp.MaxID, Details: raw(`{"topic":"acme/chat/é","publisher":7}`),
		Payload: wamp.Payload{Args: raw(`[{"msg":"héllo 😀","n":[1,-1,1.5,-0.0,1e+300]},"\u0000AQID",null,true,"\u2028"]`),
			Kwargs: raw(`{"deep":[[[[{"a":[]}]]]],"":""}`)}},
	&wamp.Publish{Request: 42, Options: raw(`{"exclude":[1,2],"eligible_authrole":["admin"],"exclude_me":false}`),
		Topic: "acme/channel/42", Payload: wamp.Payload{Args: raw(`["` + strings.Repeat("x", 300) + `"]`)}},
	&wamp.Call{Request: 1, Options: raw(`{}`), Procedure: "com.myapp.echo", Payload: wamp.Payload{Kwargs: raw(`{"k":18446744073709551615}`), Args: raw(`[]`)}},
	&wamp.Error{RequestType: wamp.V2Call, Request: 1, Details: raw(`{}`), URI: wamp.URINoSuchProcedure,
		Payload: wamp.Payload{Args: raw(`["no such procedure: com.myapp.echo"]`)}},
	&wamp.Welcome{Session: 1, Details: (&wamp.WelcomeDetails{Agent: "herald", AuthRole: "anonymous",
		Roles: map[string][]string{wamp.RoleBroker: {wamp.FeaturePublisherExclusion}, wamp.RoleDealer: nil}}).JSON()},
	&wamp.Abort{Details: wamp.MessageDetails("PUBLISH: Options must be a dict"), Reason: wamp.URIProtocolViolation},
	&wamp.Invocation{Request: 3, Registration: 4, Details: (&wamp.InvocationDetails{Caller: 9, ReceiveProgress: true}).JSON(),
		Payload: wamp.Payload{Args: raw(`[1,2]`)}},
}

// decode(encode(m)) == m for every codec, over both corpora.
func TestV2RoundTrip(t *testing.T) {
	t.Parallel()
	msgs := append([]wamp.Message(nil), roundTripCorpus...)
	for _, tt := range v2Corpus {
		msgs = append(msgs, tt.msg)
	}
	for _, c := range v2Codecs {
		for _, m := range msgs {
			b, err := c.Append(nil, m)
			if err != nil {
				t.Fatalf("%s Append(%#v): %v", c.Subprotocol(), m, err)
			}
			got, err := c.Decode(b)
			if err != nil {
				t.Fatalf("%s Decode(Append(%#v)) = %v; bytes %x", c.Subprotocol(), m, err, b)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("%s round trip\n got %#v\nwant %#v", c.Subprotocol(), got, m)
			}
		}
	}
}

// A message decoded from one codec encodes in each other to the same
// message: what a router does when a msgpack publisher reaches JSON and
// CBOR subscribers.
func TestV2CrossCodec(t *testing.T) {
	t.Parallel()
	for _, m := range roundTripCorpus {
		for _, from := range v2Codecs {
			b, err := from.Append(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := from.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, to := range v2Codecs {
				b2, err := to.Append(nil, decoded)
				if err != nil {
					t.Fatalf("%s → %s: %v", from.Subprotocol(), to.Subprotocol(), err)
				}
				got, err := to.Decode(b2)
				if err != nil {
					t.Fatalf("%s → %s: %v", from.Subprotocol(), to.Subprotocol(), err)
				}
				if !reflect.DeepEqual(got, m) {
					t.Fatalf("%s → %s\n got %#v\nwant %#v", from.Subprotocol(), to.Subprotocol(), got, m)
				}
			}
		}
	}
}

// The decoders' JSON scanner accepts only what encoding/json accepts.
func TestScanJSONAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`1`, `-0.5e+3`, `"x"`, `[1,{"a":null}]`, ` {} `, `[`, `]`, `{"a"}`, `01`, `1.`,
		`.5`, `+1`, `-`, `"\u12"`, `tru`, `nulls`, `[1,]`, `{"a":1,}`, `"\a"`, `[1 2]`, "\"\x7f\"", `"é"`} {
		scanOK := wamp.ScanJSON([]byte(s)) == nil
		if scanOK != json.Valid([]byte(s)) {
			t.Errorf("ScanJSON(%q) ok = %v, json.Valid = %v", s, scanOK, !scanOK)
		}
	}
}
