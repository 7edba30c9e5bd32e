package wamp_test

// Interoperability with a real peer: the serializers of the nexus router
// (github.com/gammazero/nexus/v3, ugorji codecs), a test-only import.

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gammazero/nexus/v3/transport/serialize"
	nw "github.com/gammazero/nexus/v3/wamp"

	"github.com/heraldws/herald/wamp"
)

var nexusPairs = []struct {
	herald wamp.Codec
	nexus  serialize.Serializer
}{
	{wamp.V2JSON{}, &serialize.JSONSerializer{}},
	{wamp.V2MsgPack{}, &serialize.MessagePackSerializer{}},
	{wamp.V2CBOR{}, &serialize.CBORSerializer{}},
}

// nexusList lists a nexus message's elements as nexus puts them on the
// wire: the type code, then the fields, without trailing empty
// "omitempty" ones.
func nexusList(m nw.Message) []any {
	v := reflect.ValueOf(m).Elem()
	last := v.NumField() - 1
	for ; last > 0; last-- {
		if !strings.Contains(v.Type().Field(last).Tag.Get("wamp"), "omitempty") || v.Field(last).Len() > 0 {
			break
		}
	}
	out := []any{int(m.MessageType())}
	for i := 0; i <= last; i++ {
		out = append(out, v.Field(i).Interface())
	}
	return out
}

// norm maps a decoded value to one form to compare: numbers as float64,
// byte slices as the JSON form of binary, maps and slices recursively.
func norm(x any) any {
	if x == nil {
		return nil
	}
	if b, ok := x.([]byte); ok {
		return "\x00" + base64.StdEncoding.EncodeToString(b)
	}
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool()
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Slice, reflect.Array:
		if v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = norm(v.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[norm(k.Interface()).(string)] = norm(v.MapIndex(k).Interface())
		}
		return out
	case reflect.Interface, reflect.Pointer:
		return norm(v.Elem().Interface())
	}
	panic("norm: unexpected " + v.Type().String())
}

// heraldList lists a herald message's elements through its JSON encoding.
func heraldList(t *testing.T, m wamp.Message) any {
	t.Helper()
	b, err := wamp.V2JSON{}.Append(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	var list []any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return norm(list)
}

// nexusSkips are the corpus messages nexus v3.3.0 does not model.
func nexusSkips(name string) bool { return strings.HasSuffix(name, "revocation") }

// Bytes herald encodes decode in nexus to the same message.
func TestNexusDecodesHerald(t *testing.T) {
	t.Parallel()
	for _, p := range nexusPairs {
		for _, tt := range v2Corpus {
			if nexusSkips(tt.name) {
				continue
			}
			t.Run(p.herald.Subprotocol()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b, err := p.herald.Append(nil, tt.msg)
				if err != nil {
					t.Fatal(err)
				}
				nm, err := p.nexus.Deserialize(b)
				if err != nil {
					t.Fatalf("nexus Deserialize(%x): %v", b, err)
				}
				got, want := norm(nexusList(nm)), heraldList(t, tt.msg)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("nexus decoded %x as\n %#v\nwant %#v", b, got, want)
				}
			})
		}
	}
}

// Bytes nexus encodes decode in herald to the same message. The nexus
// messages are nexus's own reading of the corpus JSON.
func TestHeraldDecodesNexus(t *testing.T) {
	t.Parallel()
	for _, p := range nexusPairs {
		for _, tt := range v2Corpus {
			if nexusSkips(tt.name) {
				continue
			}
			t.Run(p.herald.Subprotocol()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				nm, err := (&serialize.JSONSerializer{}).Deserialize([]byte(tt.json))
				if err != nil {
					t.Fatalf("nexus Deserialize(%s): %v", tt.json, err)
				}
				b, err := p.nexus.Serialize(nm)
				if err != nil {
					t.Fatal(err)
				}
				m, err := p.herald.Decode(b)
				if err != nil {
					t.Fatalf("herald Decode(%x) of nexus %#v: %v", b, nm, err)
				}
				got, want := heraldList(t, m), norm(nexusList(nm))
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("herald decoded %x as\n %#v\nwant %#v", b, got, want)
				}
			})
		}
	}
}

// nexus messages built from Go values, with what herald must read:
// nexus's native types (signed and unsigned integers, floats, byte
// slices, nil arguments).
func TestHeraldDecodesNexusValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		msg    nw.Message
		binary bool // holds []byte, which nexus's JSON writes as plain base64
		want   wamp.Message
	}{
		{"event values", &nw.Event{Subscription: 5, Publication: 1 << 53,
			Details:   nw.Dict{"f": 1.0}, // one key: nexus writes maps in random order
			Arguments: nw.List{"é😀\u2028", -3, 1.5, uint64(1) << 60, int64(math.MinInt64), true, nil, nw.List{}, nw.Dict{"k": nw.List{0.25}}}},
			false, &wamp.Event{Subscription: 5, Publication: 1 << 53, Details: raw(`{"f":1.0}`),
				Payload: wamp.Payload{Args: raw(`["é😀\u2028",-3,1.5,1152921504606846976,-9223372036854775808,true,null,[],{"k":[0.25]}]`)}}},
		{"publish kwargs only", &nw.Publish{Request: 1, Options: nw.Dict{}, Topic: "a.b", ArgumentsKw: nw.Dict{"k": 1}},
			false, &wamp.Publish{Request: 1, Options: raw(`{}`), Topic: "a.b", Payload: wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{"k":1}`)}}},
		{"yield binary", &nw.Yield{Request: 2, Options: nw.Dict{}, Arguments: nw.List{[]byte{1, 2, 3}, []byte{}}},
			true, &wamp.Yield{Request: 2, Options: raw(`{}`), Payload: wamp.Payload{Args: raw(`["\u0000AQID","\u0000"]`)}}},
	}
	for _, p := range nexusPairs {
		for _, tt := range tests {
			if tt.binary && !p.herald.Binary() {
				continue
			}
			t.Run(p.herald.Subprotocol()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b, err := p.nexus.Serialize(tt.msg)
				if err != nil {
					t.Fatal(err)
				}
				got, err := p.herald.Decode(b)
				if err != nil {
					t.Fatalf("Decode(%x): %v", b, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Decode(%x)\n got %#v\nwant %#v", b, got, tt.want)
				}
			})
		}
	}
}

// What nexus reads from herald's binary encodings, typed: floats stay
// floats (1.0 too), integers stay integers, binary is []byte.
func TestNexusDecodesHeraldValues(t *testing.T) {
	t.Parallel()
	m := &wamp.Event{Subscription: 1, Publication: 2, Details: raw(`{}`),
		Payload: wamp.Payload{Args: raw(`[1.0,7,-7,18446744073709551615,"\u0000AQID","\u0000not base64","é"]`)}}
	for _, p := range nexusPairs[1:] {
		b, err := p.herald.Append(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		nm, err := p.nexus.Deserialize(b)
		if err != nil {
			t.Fatalf("%s: nexus Deserialize(%x): %v", p.herald.Subprotocol(), b, err)
		}
		args := nm.(*nw.Event).Arguments
		if f, ok := args[0].(float64); !ok || f != 1 {
			t.Errorf("%s: 1.0 read as %T %v", p.herald.Subprotocol(), args[0], args[0])
		}
		for i, want := range []float64{7, -7, 18446744073709551615} {
			switch v := args[i+1].(type) {
			case int64:
				if float64(v) != want {
					t.Errorf("%s: arg %d = %v", p.herald.Subprotocol(), i+1, v)
				}
			case uint64:
				if float64(v) != want {
					t.Errorf("%s: arg %d = %v", p.herald.Subprotocol(), i+1, v)
				}
			default:
				t.Errorf("%s: integer %v read as %T", p.herald.Subprotocol(), want, v)
			}
		}
		if bin, ok := args[4].([]byte); !ok || string(bin) != "\x01\x02\x03" {
			t.Errorf("%s: binary read as %T %v", p.herald.Subprotocol(), args[4], args[4])
		}
		if s, ok := args[5].(string); !ok || s != "\x00not base64" {
			t.Errorf("%s: string with a NUL read as %T %q", p.herald.Subprotocol(), args[5], args[5])
		}
		if s, ok := args[6].(string); !ok || s != "é" {
			t.Errorf("%s: string read as %T %q", p.herald.Subprotocol(), args[6], args[6])
		}
	}
}
