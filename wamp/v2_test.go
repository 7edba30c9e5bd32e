package wamp_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldws/herald/wamp"
)

var v2Codecs = []wamp.Codec{wamp.V2JSON{}, wamp.V2MsgPack{}, wamp.V2CBOR{}}

// wire returns the message written as JSON in the codec's serialization.
func wire(t testing.TB, c wamp.Codec, js string) []byte {
	t.Helper()
	var (
		b   []byte
		err error
	)
	switch c.(type) {
	case wamp.V2MsgPack:
		b, err = wamp.JSONToMsgPack([]byte(js))
	case wamp.V2CBOR:
		b, err = wamp.JSONToCBOR([]byte(js))
	default:
		return []byte(js)
	}
	if err != nil {
		t.Fatalf("transcoding %s: %v", js, err)
	}
	return b
}

// v2Corpus is one message of each v2 type, in every form (payload or
// not, revocation or not), with its exact JSON encoding.
var v2Corpus = []struct {
	name string
	json string
	msg  wamp.Message
}{
	{"hello", `[1,"realm1",{"roles":{"subscriber":{},"publisher":{"features":{"publisher_exclusion":true}}}}]`,
		&wamp.Hello{Realm: "realm1", Details: raw(`{"roles":{"subscriber":{},"publisher":{"features":{"publisher_exclusion":true}}}}`)}},
	{"welcome", `[2,9007199254740992,{"roles":{"broker":{}}}]`,
		&wamp.Welcome{Session: 9007199254740992, Details: raw(`{"roles":{"broker":{}}}`)}},
	{"abort", `[3,{"message":"no such realm"},"wamp.error.no_such_realm"]`,
		&wamp.Abort{Details: raw(`{"message":"no such realm"}`), Reason: "wamp.error.no_such_realm"}},
	{"challenge", `[4,"wampcra",{"challenge":"{\"nonce\":\"x\"}","salt":"s","iterations":1000,"keylen":32}]`,
		&wamp.Challenge{AuthMethod: "wampcra", Extra: raw(`{"challenge":"{\"nonce\":\"x\"}","salt":"s","iterations":1000,"keylen":32}`)}},
	{"authenticate", `[5,"c2lnbmF0dXJl",{}]`, &wamp.Authenticate{Signature: "c2lnbmF0dXJl", Extra: raw(`{}`)}},
	{"goodbye", `[6,{},"wamp.close.close_realm"]`, &wamp.Goodbye{Details: raw(`{}`), Reason: "wamp.close.close_realm"}},
	{"error", `[8,32,2,{},"wamp.error.not_authorized"]`,
		&wamp.Error{RequestType: 32, Request: 2, Details: raw(`{}`), URI: "wamp.error.not_authorized"}},
	{"error args", `[8,48,3,{"x":1},"com.myapp.error",["bad"]]`,
		&wamp.Error{RequestType: 48, Request: 3, Details: raw(`{"x":1}`), URI: "com.myapp.error", Payload: wamp.Payload{Args: raw(`["bad"]`)}}},
	{"error kwargs", `[8,68,4,{},"com.myapp.error",[],{"code":7}]`,
		&wamp.Error{RequestType: 68, Request: 4, Details: raw(`{}`), URI: "com.myapp.error", Payload: wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{"code":7}`)}}},
	{"publish", `[16,1,{},"com.myapp.topic1"]`, &wamp.Publish{Request: 1, Options: raw(`{}`), Topic: "com.myapp.topic1"}},
	{"publish args", `[16,2,{"acknowledge":true},"acme/channel/42",[{"msg":"hi"}]]`,
		&wamp.Publish{Request: 2, Options: raw(`{"acknowledge":true}`), Topic: "acme/channel/42", Payload: wamp.Payload{Args: raw(`[{"msg":"hi"}]`)}}},
	{"publish kwargs", `[16,3,{"exclude":[7,8]},"t",[1,"é"],{"a":[true,null]}]`,
		&wamp.Publish{Request: 3, Options: raw(`{"exclude":[7,8]}`), Topic: "t", Payload: wamp.Payload{Args: raw(`[1,"é"]`), Kwargs: raw(`{"a":[true,null]}`)}}},
	{"published", `[17,2,4503599627370496]`, &wamp.Published{Request: 2, Publication: 4503599627370496}},
	{"subscribe", `[32,1,{"match":"prefix"},"acme/channel/"]`,
		&wamp.Subscribe{Request: 1, Options: raw(`{"match":"prefix"}`), Topic: "acme/channel/"}},
	{"subscribed", `[33,1,5]`, &wamp.Subscribed{Request: 1, Subscription: 5}},
	{"unsubscribe", `[34,2,5]`, &wamp.Unsubscribe{Request: 2, Subscription: 5}},
	{"unsubscribed", `[35,2]`, &wamp.Unsubscribed{Request: 2}},
	{"unsubscribed revocation", `[35,0,{"subscription":5,"reason":"gone"}]`,
		&wamp.Unsubscribed{Request: 0, Details: raw(`{"subscription":5,"reason":"gone"}`)}},
	{"event", `[36,5,6,{}]`, &wamp.Event{Subscription: 5, Publication: 6, Details: raw(`{}`)}},
	{"event args", `[36,5,6,{"topic":"a.b"},[1.0,-2,"\u0000AQID"]]`,
		&wamp.Event{Subscription: 5, Publication: 6, Details: raw(`{"topic":"a.b"}`), Payload: wamp.Payload{Args: raw(`[1.0,-2,"\u0000AQID"]`)}}},
	{"event kwargs", `[36,5,6,{"publisher":9},[],{"k":"v"}]`,
		&wamp.Event{Subscription: 5, Publication: 6, Details: raw(`{"publisher":9}`), Payload: wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{"k":"v"}`)}}},
	{"call", `[48,7,{},"com.myapp.ping"]`, &wamp.Call{Request: 7, Options: raw(`{}`), Procedure: "com.myapp.ping"}},
	{"call args", `[48,8,{"timeout":1000},"com.myapp.add",[2,3]]`,
		&wamp.Call{Request: 8, Options: raw(`{"timeout":1000}`), Procedure: "com.myapp.add", Payload: wamp.Payload{Args: raw(`[2,3]`)}}},
	{"call kwargs", `[48,9,{"receive_progress":true},"p",[],{"n":1}]`,
		&wamp.Call{Request: 9, Options: raw(`{"receive_progress":true}`), Procedure: "p", Payload: wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{"n":1}`)}}},
	{"cancel", `[49,9,{"mode":"kill"}]`, &wamp.Cancel{Request: 9, Options: raw(`{"mode":"kill"}`)}},
	{"result", `[50,7,{}]`, &wamp.Result{Request: 7, Details: raw(`{}`)}},
	{"result args", `[50,8,{"progress":true},[5]]`,
		&wamp.Result{Request: 8, Details: raw(`{"progress":true}`), Payload: wamp.Payload{Args: raw(`[5]`)}}},
	{"result kwargs", `[50,9,{},[],{"sum":5}]`,
		&wamp.Result{Request: 9, Details: raw(`{}`), Payload: wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{"sum":5}`)}}},
	{"register", `[64,1,{"invoke":"roundrobin"},"com.myapp.add"]`,
		&wamp.Register{Request: 1, Options: raw(`{"invoke":"roundrobin"}`), Procedure: "com.myapp.add"}},
	{"registered", `[65,1,7]`, &wamp.Registered{Request: 1, Registration: 7}},
	{"unregister", `[66,2,7]`, &wamp.Unregister{Request: 2, Registration: 7}},
	{"unregistered", `[67,2]`, &wamp.Unregistered{Request: 2}},
	{"unregistered revocation", `[67,0,{"registration":7}]`, &wamp.Unregistered{Details: raw(`{"registration":7}`)}},
	{"invocation", `[68,1,7,{}]`, &wamp.Invocation{Request: 1, Registration: 7, Details: raw(`{}`)}},
	{"invocation args", `[68,2,7,{"caller":3},[2,3]]`,
		&wamp.Invocation{Request: 2, Registration: 7, Details: raw(`{"caller":3}`), Payload: wamp.Payload{Args: raw(`[2,3]`)}}},
	{"invocation kwargs", `[68,3,7,{},[2],{"x":{}}]`,
		&wamp.Invocation{Request: 3, Registration: 7, Details: raw(`{}`), Payload: wamp.Payload{Args: raw(`[2]`), Kwargs: raw(`{"x":{}}`)}}},
	{"interrupt", `[69,3,{"mode":"killnowait"}]`, &wamp.Interrupt{Request: 3, Options: raw(`{"mode":"killnowait"}`)}},
	{"yield", `[70,1,{}]`, &wamp.Yield{Request: 1, Options: raw(`{}`)}},
	{"yield args", `[70,2,{"progress":true},[1]]`,
		&wamp.Yield{Request: 2, Options: raw(`{"progress":true}`), Payload: wamp.Payload{Args: raw(`[1]`)}}},
	{"yield kwargs", `[70,3,{},[],{"r":"ok"}]`,
		&wamp.Yield{Request: 3, Options: raw(`{}`), Payload: wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{"r":"ok"}`)}}},
}

func TestV2DecodeAndAppend(t *testing.T) {
	t.Parallel()
	for _, c := range v2Codecs {
		for _, tt := range v2Corpus {
			t.Run(c.Subprotocol()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				in := wire(t, c, tt.json)
				got, err := c.Decode(in)
				if err != nil {
					t.Fatalf("Decode(%s): %v", tt.json, err)
				}
				if !reflect.DeepEqual(got, tt.msg) {
					t.Fatalf("Decode(%s)\n got %#v\nwant %#v", tt.json, got, tt.msg)
				}
				out, err := c.Append([]byte("prefix"), tt.msg)
				if err != nil {
					t.Fatalf("Append(%#v): %v", tt.msg, err)
				}
				if string(out[:6]) != "prefix" || string(out[6:]) != string(in) {
					t.Fatalf("Append(%#v)\n got %x\nwant %x (%s)", tt.msg, out[6:], in, tt.json)
				}
			})
		}
	}
}

// Every type code of the model's corpus is covered, so that a new message
// type cannot be added without a test.
func TestV2CorpusCoversAllTypes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tt := range v2Corpus {
		seen[tt.msg.Kind()] = true
	}
	for _, kind := range []string{"HELLO", "WELCOME", "ABORT", "CHALLENGE", "AUTHENTICATE", "GOODBYE", "ERROR",
		"PUBLISH", "PUBLISHED", "SUBSCRIBE", "SUBSCRIBED", "UNSUBSCRIBE", "UNSUBSCRIBED", "EVENT", "CALL",
		"CANCEL", "RESULT", "REGISTER", "REGISTERED", "UNREGISTER", "UNREGISTERED", "INVOCATION", "INTERRUPT", "YIELD"} {
		if !seen[kind] {
			t.Errorf("no corpus message of kind %s", kind)
		}
	}
}

// The binary encodings of a few messages, written out by hand from the
// msgpack and CBOR specifications.
func TestV2BinaryExactBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		c       wamp.Codec
		msg     wamp.Message
		wantHex string
	}{
		// fixarray 4, 32, 1, fixmap 0, fixstr "a.b"
		{"msgpack subscribe", wamp.V2MsgPack{}, &wamp.Subscribe{Request: 1, Topic: "a.b"}, "94200180a3612e62"},
		// array(4), uint8 32, 1, map(0), text(3) "a.b"
		{"cbor subscribe", wamp.V2CBOR{}, &wamp.Subscribe{Request: 1, Topic: "a.b"}, "84182001a063612e62"},
		// fixarray 5, 36, 300 as uint16, 2^53 as uint64, fixmap 0,
		// fixarray [float64 1.5, bin8 [1,2]]
		{"msgpack event", wamp.V2MsgPack{}, &wamp.Event{Subscription: 300, Publication: 1 << 53,
			Payload: wamp.Payload{Args: raw(`[1.5,"\u0000AQI="]`)}},
			"9524cd012ccf0020000000000000" + "80" + "92cb3ff8000000000000c4020102"},
		{"cbor event", wamp.V2CBOR{}, &wamp.Event{Subscription: 300, Publication: 1 << 53,
			Payload: wamp.Payload{Args: raw(`[1.5,"\u0000AQI="]`)}},
			"85182419012c1b0020000000000000" + "a0" + "82fb3ff8000000000000420102"},
		// Negative integers and a 40-byte string (str8 / text(24+)).
		{"msgpack yield", wamp.V2MsgPack{}, &wamp.Yield{Request: 1, Payload: wamp.Payload{
			Args: raw(`[-1,-33,-129,"` + strings.Repeat("x", 40) + `"]`)}},
			"944601" + "80" + "94ffd0dfd1ff7fd928" + strings.Repeat("78", 40)},
		{"cbor yield", wamp.V2CBOR{}, &wamp.Yield{Request: 1, Payload: wamp.Payload{
			Args: raw(`[-1,-33,-129,"` + strings.Repeat("x", 40) + `"]`)}},
			"84184601" + "a0" + "84203820388078" + "28" + strings.Repeat("78", 40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.c.Append(nil, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tt.wantHex {
				t.Fatalf("Append(%#v)\n got %x\nwant %s", tt.msg, got, tt.wantHex)
			}
		})
	}
}

// Decoding keeps the JSON codec's raw dicts and payloads byte for byte,
// white space included, and does not retain the input.
func TestV2JSONDecodeKeepsRawBytes(t *testing.T) {
	t.Parallel()
	in := []byte(" [ 16 , 1 , { \"acknowledge\" : true } , \"t\" , [ 1 , 2 ] , { } ] \n")
	m, err := wamp.V2JSON{}.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &wamp.Publish{Request: 1, Options: raw(`{ "acknowledge" : true }`), Topic: "t",
		Payload: wamp.Payload{Args: raw(`[ 1 , 2 ]`), Kwargs: raw(`{ }`)}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %#v\nwant %#v", m, want)
	}
	for i := range in {
		in[i] = 'x'
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("Decode retained its input: %#v", m)
	}
	out, err := wamp.V2JSON{}.Append(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `[16,1,{ "acknowledge" : true },"t",[ 1 , 2 ],{ }]` {
		t.Fatalf("Append = %s", out)
	}
}

// Other decodings that are valid but not in the corpus: escapes in
// strings, null payload elements as nexus sends them.
func TestV2DecodeValidVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want wamp.Message
	}{
		{"escaped topic", `[32,1,{},"a\/b\u00e9\ud83d\ude00"]`, &wamp.Subscribe{Request: 1, Options: raw(`{}`), Topic: "a/bé😀"}},
		{"null args before kwargs", `[16,1,{},"t",null,{"k":1}]`,
			&wamp.Publish{Request: 1, Options: raw(`{}`), Topic: "t", Payload: wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{"k":1}`)}}},
		{"null args alone", `[16,1,{},"t",null]`, &wamp.Publish{Request: 1, Options: raw(`{}`), Topic: "t"}},
		{"null kwargs", `[50,1,{},[1],null]`, &wamp.Result{Request: 1, Details: raw(`{}`), Payload: wamp.Payload{Args: raw(`[1]`)}}},
		{"unsubscribed revocation with request", `[35,3,{}]`, &wamp.Unsubscribed{Request: 3, Details: raw(`{}`)}},
		{"empty strings", `[3,{},""]`, &wamp.Abort{Details: raw(`{}`), Reason: ""}},
		{"deep payload", `[36,1,1,{},` + strings.Repeat("[", wamp.MaxDepth-1) + strings.Repeat("]", wamp.MaxDepth-1) + `]`,
			&wamp.Event{Subscription: 1, Publication: 1, Details: raw(`{}`), Payload: wamp.Payload{
				Args: raw(strings.Repeat("[", wamp.MaxDepth-1) + strings.Repeat("]", wamp.MaxDepth-1))}}},
	}
	for _, c := range v2Codecs {
		for _, tt := range tests {
			t.Run(c.Subprotocol()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := c.Decode(wire(t, c, tt.in))
				if err != nil {
					t.Fatalf("Decode(%s): %v", tt.in, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Decode(%s)\n got %#v\nwant %#v", tt.in, got, tt.want)
				}
			})
		}
	}
}

// checkInvalid asserts that err is a *ProtocolError wrapping
// ErrInvalidMessage with the given syntax flag.
func checkInvalid(t *testing.T, m wamp.Message, err error, syntax bool, reason string) *wamp.ProtocolError {
	t.Helper()
	if err == nil {
		t.Fatalf("decoded %#v, want an error", m)
	}
	if m != nil {
		t.Fatalf("returned %#v with error %v", m, err)
	}
	if !errors.Is(err, wamp.ErrInvalidMessage) {
		t.Fatalf("error %v does not wrap ErrInvalidMessage", err)
	}
	pe, ok := errors.AsType[*wamp.ProtocolError](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *ProtocolError", err, err)
	}
	if pe.Syntax != syntax {
		t.Fatalf("error %v: Syntax = %v, want %v", err, pe.Syntax, syntax)
	}
	if !strings.Contains(pe.Reason, reason) {
		t.Fatalf("error reason %q does not contain %q", pe.Reason, reason)
	}
	return pe
}

// Messages that are well-formed in every serialization but not WAMP v2
// messages. Each runs through the three codecs.
func TestV2DecodeInvalidShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, reason string
		typ              int
	}{
		{"empty list", `[]`, "empty list", 0},
		{"not a list", `{"0":32}`, "must be a list", 0},
		{"number", `32`, "must be a list", 0},
		{"type null", `[null]`, "message type must be an integer", 0},
		{"type string", `["32",1,{},"t"]`, "message type must be an integer", 0},
		{"type float", `[32.0,1,{},"t"]`, "message type must be an integer", 0},
		{"type negative", `[-32,1,{},"t"]`, "message type must be an integer", 0},
		{"type huge", `[18446744073709551615,1]`, "unknown message type 18446744073709551615", 0},
		{"unknown type 0", `[0,1]`, "unknown message type 0", 0},
		{"unknown type 7", `[7,1]`, "unknown message type 7", 0},
		{"unknown type 99", `[99,1]`, "unknown message type 99", 0},
		{"unknown type 1000", `[1000,1]`, "unknown message type 1000", 0},
		{"too many elements", `[16,1,{},"t",[],{},1,2]`, "more than 7 elements", 0},

		{"hello short", `[1,"r"]`, "HELLO: want 3 elements, got 2", 1},
		{"hello long", `[1,"r",{},1]`, "HELLO: want 3 elements, got 4", 1},
		{"hello realm number", `[1,1,{}]`, "Realm must be a string, not an integer", 1},
		{"hello details list", `[1,"r",[]]`, "Details must be a dict, not a list", 1},
		{"hello details null", `[1,"r",null]`, "Details must be a dict, not null", 1},
		{"welcome session 0", `[2,0,{}]`, "Session 0 out of range", 2},
		{"welcome session string", `[2,"1",{}]`, "Session must be an id, not a string", 2},
		{"welcome session 2^53+1", `[2,9007199254740993,{}]`, "Session 9007199254740993 out of range", 2},
		{"abort details string", `[3,"m","wamp.error.x"]`, "Details must be a dict", 3},
		{"abort reason dict", `[3,{},{}]`, "Reason must be a string, not a dict", 3},
		{"challenge method number", `[4,1,{}]`, "AuthMethod must be a string", 4},
		{"authenticate extra list", `[5,"s",[]]`, "Extra must be a dict", 5},
		{"goodbye short", `[6,{}]`, "GOODBYE: want 3 elements, got 2", 6},
		{"error short", `[8,32,1,{}]`, "ERROR: want 5 to 7 elements, got 4", 8},
		{"error type string", `[8,"32",1,{},"e"]`, "REQUEST.Type must be an integer", 8},
		{"error type not a request", `[8,33,1,{},"e"]`, "REQUEST.Type 33 is not a request", 8},
		{"error request 0", `[8,32,0,{},"e"]`, "Request 0 out of range", 8},
		{"error uri number", `[8,32,1,{},1]`, "Error must be a string", 8},
		{"error args dict", `[8,32,1,{},"e",{}]`, "Arguments must be a list, not a dict", 8},
		{"publish short", `[16,1,{}]`, "PUBLISH: want 4 to 6 elements, got 3", 16},
		{"publish long", `[16,1,{},"t",[],{},1]`, "PUBLISH: want 4 to 6 elements, got 7", 16},
		{"publish request 0", `[16,0,{},"t"]`, "Request 0 out of range", 16},
		{"publish request negative", `[16,-1,{},"t"]`, "Request must be an id, not a number", 16},
		{"publish request float", `[16,1.5,{},"t"]`, "Request must be an id, not a number", 16},
		{"publish request exponent", `[16,1e3,{},"t"]`, "Request must be an id, not a number", 16},
		{"publish request bool", `[16,true,{},"t"]`, "Request must be an id, not a bool", 16},
		{"publish request max uint64", `[16,18446744073709551615,{},"t"]`, "Request 18446744073709551615 out of range", 16},
		{"publish options null", `[16,1,null,"t"]`, "Options must be a dict, not null", 16},
		{"publish topic list", `[16,1,{},["t"]]`, "Topic must be a string, not a list", 16},
		{"publish args string", `[16,1,{},"t","x"]`, "Arguments must be a list, not a string", 16},
		{"publish args dict", `[16,1,{},"t",{"a":1}]`, "Arguments must be a list, not a dict", 16},
		{"publish kwargs list", `[16,1,{},"t",[],[]]`, "ArgumentsKw must be a dict, not a list", 16},
		{"published publication 0", `[17,1,0]`, "Publication 0 out of range", 17},
		{"subscribe short", `[32,1,{}]`, "SUBSCRIBE: want 4 elements, got 3", 32},
		{"subscribe long", `[32,1,{},"t",[]]`, "SUBSCRIBE: want 4 elements, got 5", 32},
		{"subscribe request 2^53+1", `[32,9007199254740993,{},"t"]`, "out of range", 32},
		{"subscribe options list", `[32,1,[],"t"]`, "Options must be a dict, not a list", 32},
		{"subscribed subscription string", `[33,1,"5"]`, "Subscription must be an id", 33},
		{"unsubscribe subscription 0", `[34,1,0]`, "Subscription 0 out of range", 34},
		{"unsubscribed request 0", `[35,0]`, "Request 0 out of range [1, 2^53]", 35},
		{"unsubscribed short", `[35]`, "UNSUBSCRIBED: want 2 to 3 elements, got 1", 35},
		{"unsubscribed details list", `[35,0,[]]`, "Details must be a dict", 35},
		{"event short", `[36,1,2]`, "EVENT: want 4 to 6 elements, got 3", 36},
		{"event subscription 0", `[36,0,1,{}]`, "Subscription 0 out of range", 36},
		{"event publication 0", `[36,1,0,{}]`, "Publication 0 out of range", 36},
		{"event args number", `[36,1,2,{},1]`, "Arguments must be a list, not an integer", 36},
		{"call procedure null", `[48,1,{},null]`, "Procedure must be a string, not null", 48},
		{"call args bool", `[48,1,{},"p",true]`, "Arguments must be a list, not a bool", 48},
		{"cancel options list", `[49,1,[]]`, "Options must be a dict", 49},
		{"result short", `[50,1]`, "RESULT: want 3 to 5 elements, got 2", 50},
		{"register options string", `[64,1,"x","p"]`, "Options must be a dict, not a string", 64},
		{"registered registration 0", `[65,1,0]`, "Registration 0 out of range", 65},
		{"unregister long", `[66,1,2,3]`, "UNREGISTER: want 3 elements, got 4", 66},
		{"unregistered request 0", `[67,0]`, "Request 0 out of range", 67},
		{"invocation registration 0", `[68,1,0,{}]`, "Registration 0 out of range", 68},
		{"interrupt short", `[69,1]`, "INTERRUPT: want 3 elements, got 2", 69},
		{"yield args dict", `[70,1,{},{}]`, "Arguments must be a list, not a dict", 70},
	}
	for _, c := range v2Codecs {
		for _, tt := range tests {
			t.Run(c.Subprotocol()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				m, err := c.Decode(wire(t, c, tt.in))
				pe := checkInvalid(t, m, err, false, tt.reason)
				if pe.Type != tt.typ {
					t.Fatalf("Type = %d, want %d (%v)", pe.Type, tt.typ, err)
				}
				ab := pe.Abort()
				if ab.Reason != wamp.URIProtocolViolation {
					t.Fatalf("Abort reason %q", ab.Reason)
				}
				var details struct{ Message string }
				if err := json.Unmarshal(ab.Details, &details); err != nil || details.Message != pe.Reason {
					t.Fatalf("Abort details %s (%v), want the message %q", ab.Details, err, pe.Reason)
				}
			})
		}
	}
}

// Integers beyond 64 bits are integers in JSON, floats in the binary
// codecs (see TestTranscodeJSONToBinary): both are refused as ids.
func TestV2JSONDecodeHugeIntegers(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, reason string }{
		{`[18446744073709551616,1]`, "unknown message type 18446744073709551616"},
		{`[16,18446744073709551616,{},"t"]`, "PUBLISH: Request 18446744073709551616 out of range [1, 2^53]"},
		{`[8,184467440737095516160,1,{},"e"]`, "REQUEST.Type 184467440737095516160 is not a request"},
	}
	for _, tt := range tests {
		m, err := wamp.V2JSON{}.Decode([]byte(tt.in))
		checkInvalid(t, m, err, false, tt.reason)
	}
}

// JSON that is not JSON, or not the JSON the decoder accepts.
func TestV2JSONDecodeInvalidSyntax(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, reason string }{
		{"empty", ``, "unexpected end"},
		{"space", `  `, "unexpected end"},
		{"garbage", `hello`, "invalid value"},
		{"bare word", `nul`, "invalid literal"},
		{"trailing data", `[32,1,{},"t"] x`, "trailing data"},
		{"two messages", `[32,1,{},"t"][32,1,{},"t"]`, "trailing data"},
		{"trailing after scalar", `5 5`, "trailing data"},
		{"unterminated", `[32,1,{},"t"`, "expected ',' or ']'"},
		{"unterminated string", `[32,1,{},"t]`, "unterminated string"},
		{"trailing comma", `[32,1,{},"t",]`, "invalid value"},
		{"missing comma", `[32 1]`, "expected ',' or ']'"},
		{"leading zero", `[16,1,{},"t",[01]]`, "expected ',' or ']'"},
		{"bad number", `[16,1,{},"t",[1.]]`, "invalid number"},
		{"bad exponent", `[16,1,{},"t",[1e]]`, "invalid number"},
		{"single quotes", `[16,1,{},'t']`, "invalid value"},
		{"unquoted key", `[16,1,{a:1},"t"]`, "expected a string key"},
		{"missing colon", `[16,1,{"a" 1},"t"]`, "expected ':'"},
		{"control char", "[16,1,{},\"a\tb\"]", "control character"},
		{"invalid UTF-8", "[16,1,{},\"\xff\"]", "invalid UTF-8"},
		{"surrogate in UTF-8", "[16,1,{},\"\xed\xa0\x80\"]", "invalid UTF-8"},
		{"lone high surrogate", `[16,1,{},"\ud800"]`, "lone surrogate"},
		{"lone low surrogate", `[16,1,{},"\udc00x"]`, "lone surrogate"},
		{"high then non-low", `[16,1,{},"\ud800\u0041"]`, "lone surrogate"},
		{"bad escape", `[16,1,{},"\x"]`, "invalid escape"},
		{"bad unicode escape", `[16,1,{},"\u12g4"]`, "invalid \\u escape"},
		{"truncated literal", `[16,1,{},"t",[tru]]`, "invalid literal"},
		{"too deep", `[36,1,1,{},` + strings.Repeat("[", wamp.MaxDepth) + strings.Repeat("]", wamp.MaxDepth) + `]`, "nested too deeply"},
		{"too deep dict", `[36,1,1,` + strings.Repeat(`{"a":`, wamp.MaxDepth) + "1" + strings.Repeat("}", wamp.MaxDepth) + `]`, "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := wamp.V2JSON{}.Decode([]byte(tt.in))
			checkInvalid(t, m, err, true, tt.reason)
		})
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// msgpack and CBOR inputs that are not valid in their serialization, or
// that the decoders refuse.
func TestV2BinaryDecodeInvalidSyntax(t *testing.T) {
	t.Parallel()
	deep := func(open string) string { return strings.Repeat(open, wamp.MaxDepth) }
	tests := []struct {
		name   string
		c      wamp.Codec
		hex    string
		reason string
	}{
		{"empty", wamp.V2MsgPack{}, "", "empty input"},
		{"list longer than the message", wamp.V2MsgPack{}, "94 20 01 80", "list longer than the message"},
		{"trailing bytes", wamp.V2MsgPack{}, "94 20 01 80 a1 74 00", "trailing bytes"},
		{"trailing after scalar", wamp.V2MsgPack{}, "20 20", "trailing bytes"},
		{"truncated uint16", wamp.V2MsgPack{}, "92 20 cd 01", "truncated"},
		{"truncated float", wamp.V2MsgPack{}, "95 24 01 01 80 91 cb 3ff0", "truncated"},
		{"string beyond end", wamp.V2MsgPack{}, "94 20 01 80 d9 ff 74", "beyond the end"},
		{"list beyond end", wamp.V2MsgPack{}, "dd ffffffff 20", "list longer than the message"},
		{"inner list beyond end", wamp.V2MsgPack{}, "95 24 01 01 80 dd 7fffffff", "list longer than the message"},
		{"dict beyond end", wamp.V2MsgPack{}, "94 20 01 df 7fffffff a1 74", "dict longer than the message"},
		{"invalid UTF-8", wamp.V2MsgPack{}, "94 20 01 80 a1 ff", "invalid UTF-8"},
		{"invalid UTF-8 key", wamp.V2MsgPack{}, "94 20 01 81 a1 ff 01 a1 74", "invalid UTF-8"},
		{"int key", wamp.V2MsgPack{}, "94 20 01 81 01 01 a1 74", "dict key is not a string"},
		{"bin key", wamp.V2MsgPack{}, "94 20 01 81 c4 01 61 01 a1 74", "dict key is not a string"},
		{"ext", wamp.V2MsgPack{}, "95 24 01 01 80 91 d4 01 00", "extension types"},
		{"timestamp ext", wamp.V2MsgPack{}, "95 24 01 01 80 91 d6 ff 00000000", "extension types"},
		{"never used byte", wamp.V2MsgPack{}, "95 24 01 01 80 91 c1", "invalid byte 0xc1"},
		{"NaN", wamp.V2MsgPack{}, "95 24 01 01 80 91 cb 7ff8000000000000", "NaN"},
		{"infinity float32", wamp.V2MsgPack{}, "95 24 01 01 80 91 ca 7f800000", "NaN"},
		{"too deep", wamp.V2MsgPack{}, "95 24 01 01 80" + deep("91") + "c0", "nested too deeply"},
		{"not a list garbage", wamp.V2MsgPack{}, "c1", "invalid byte"},

		{"cbor empty", wamp.V2CBOR{}, "", "empty input"},
		{"cbor truncated", wamp.V2CBOR{}, "84 18 20 01 a0", "truncated"},
		{"cbor trailing bytes", wamp.V2CBOR{}, "84 18 20 01 a0 61 74 00", "trailing bytes"},
		{"cbor text beyond end", wamp.V2CBOR{}, "84 18 20 01 a0 78 ff 74", "beyond the end"},
		{"cbor list beyond end", wamp.V2CBOR{}, "85 18 24 01 01 a0 9a 7fffffff", "container longer than the message"},
		{"cbor map beyond end", wamp.V2CBOR{}, "84 18 20 01 ba 7fffffff 61 74", "container longer than the message"},
		{"cbor invalid UTF-8", wamp.V2CBOR{}, "84 18 20 01 a0 61 ff", "invalid UTF-8"},
		{"cbor int key", wamp.V2CBOR{}, "84 18 20 01 a1 01 01 61 74", "dict key is not a string"},
		{"cbor bytes key", wamp.V2CBOR{}, "84 18 20 01 a1 41 61 01 61 74", "dict key is not a string"},
		{"cbor tag", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 c1 01", "tags are not supported"},
		{"cbor bignum tag", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 c2 41 01", "tags are not supported"},
		{"cbor undefined", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 f7", "simple values"},
		{"cbor simple 16", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 f0", "simple values"},
		{"cbor simple 1-byte", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 f8 20", "simple values"},
		{"cbor reserved ai", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 1c", "invalid additional information"},
		{"cbor indefinite uint", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 1f", "invalid indefinite length"},
		{"cbor unexpected break", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 ff", "unexpected break"},
		{"cbor unterminated indefinite list", wamp.V2CBOR{}, "9f 18 24 01 01 a0", "truncated"},
		{"cbor bad chunk", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 7f 41 61 ff", "invalid chunk"},
		{"cbor nested indefinite chunk", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 7f 7f ff ff", "invalid chunk"},
		{"cbor NaN half", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 f9 7e00", "NaN"},
		{"cbor infinity", wamp.V2CBOR{}, "85 18 24 01 01 a0 81 fb 7ff0000000000000", "NaN"},
		{"cbor too deep", wamp.V2CBOR{}, "85 18 24 01 01 a0" + deep("81") + "f6", "nested too deeply"},
		{"cbor too deep indefinite", wamp.V2CBOR{}, "85 18 24 01 01 a0" + deep("9f") + "f6", "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := tt.c.Decode(mustHex(t, tt.hex))
			checkInvalid(t, m, err, true, tt.reason)
		})
	}
}

// A binary value where the message needs a string is refused even though
// its JSON form is a string.
func TestV2BinaryDecodeBinaryIsNotAString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		c   wamp.Codec
		hex string
	}{
		{wamp.V2MsgPack{}, "94 20 01 80 c4 01 74"},
		{wamp.V2CBOR{}, "84 18 20 01 a0 41 74"},
	} {
		m, err := tt.c.Decode(mustHex(t, tt.hex))
		checkInvalid(t, m, err, false, "Topic must be a string, not binary")
	}
}

// CBOR's indefinite lengths and non-shortest heads decode like their
// definite, shortest forms.
func TestV2CBORDecodeLengthForms(t *testing.T) {
	t.Parallel()
	want := &wamp.Event{Subscription: 5, Publication: 6, Details: raw(`{"k":"ab"}`),
		Payload: wamp.Payload{Args: raw(`["abc","\u0000AQID",[1,2],1.5]`)}}
	tests := []struct{ name, hex string }{
		{"definite", "85 18 24 05 06 a1 61 6b 62 61 62 84 63 61 62 63 43 010203 82 01 02 f9 3e00"},
		{"indefinite message", "9f 18 24 05 06 a1 61 6b 62 61 62 84 63 61 62 63 43 010203 82 01 02 f9 3e00 ff"},
		{"indefinite everything", "9f 18 24 05 06 bf 7f 61 6b ff 7f 61 61 61 62 ff ff 9f 7f 62 61 62 61 63 ff 5f 41 01 42 0203 ff 9f 01 02 ff fa 3fc00000 ff ff"},
		{"long heads", "98 05 19 0024 1a 00000005 1b 0000000000000006 b9 0001 78 01 6b 62 61 62 84 63 61 62 63 43 010203 82 18 01 02 fb 3ff8000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wamp.V2CBOR{}.Decode(mustHex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v\nwant %#v", got, want)
			}
		})
	}
}

// msgpack's longer forms decode like the shortest ones.
func TestV2MsgPackDecodeLengthForms(t *testing.T) {
	t.Parallel()
	want := &wamp.Event{Subscription: 5, Publication: 6, Details: raw(`{"k":"ab"}`),
		Payload: wamp.Payload{Args: raw(`["abc","\u0000AQID",[1,-2],1.5]`)}}
	tests := []struct{ name, hex string }{
		{"shortest", "95 24 05 06 81 a1 6b a2 61 62 94 a3 61 62 63 c4 03 010203 92 01 fe ca 3fc00000"},
		{"long forms", "dc 0005 cc 24 cd 0005 cf 0000000000000006 de 0001 d9 01 6b da 0002 61 62 dd 00000004 db 00000003 61 62 63 c6 00000003 010203 92 d3 0000000000000001 d1 fffe cb 3ff8000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wamp.V2MsgPack{}.Decode(mustHex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v\nwant %#v", got, want)
			}
		})
	}
}

func TestV2AppendInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		msg    wamp.Message
		reason string
	}{
		{"nil", nil, "nil message"},
		{"v1 only", &wamp.Prefix{Prefix: "p", URI: "u"}, "cannot encode PREFIX"},
		{"callresult", &wamp.CallResult{}, "cannot encode CALLRESULT"},
		{"request 0", &wamp.Subscribe{Topic: "t"}, "Request 0 out of range"},
		{"id too big", &wamp.Published{Request: 1, Publication: 1<<53 + 1}, "Publication 9007199254740993 out of range"},
		{"welcome session 0", &wamp.Welcome{SessionID: "v1", Details: raw(`{}`)}, "Session 0 out of range"},
		{"unsubscribed 0 without details", &wamp.Unsubscribed{}, "Request 0 out of range"},
		{"details not a dict", &wamp.Event{Subscription: 1, Publication: 1, Details: raw(`[]`)}, "Details must be a dict"},
		{"args not a list", &wamp.Call{Request: 1, Procedure: "p", Payload: wamp.Payload{Args: raw(`{}`)}}, "Arguments must be a list"},
		{"kwargs not a dict", &wamp.Yield{Request: 1, Payload: wamp.Payload{Kwargs: raw(`[]`)}}, "ArgumentsKw must be a dict"},
		{"error request type", &wamp.Error{RequestType: 33, Request: 1, URI: "e"}, "RequestType 33"},
		{"error negative request type", &wamp.Error{RequestType: -1, Request: 1, URI: "e"}, "RequestType -1"},
	}
	for _, c := range v2Codecs {
		for _, tt := range tests {
			t.Run(c.Subprotocol()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				out, err := c.Append([]byte("keep"), tt.msg)
				if err == nil {
					t.Fatalf("Append(%#v) = %x, want an error", tt.msg, out)
				}
				if !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("Append error %q does not contain %q", err, tt.reason)
				}
				if string(out) != "keep" {
					t.Fatalf("Append changed dst to %q on error", out)
				}
			})
		}
	}
}

// The binary encoders check the JSON they transcode; the JSON encoder
// copies it unread.
func TestV2BinaryAppendInvalidJSON(t *testing.T) {
	t.Parallel()
	for _, payload := range []string{`[1,`, `[1]x`, `["\ud800"]`, "[\"\xff\"]", `[1e999]`, `[-1e999]`,
		strings.Repeat("[", wamp.MaxDepth) + strings.Repeat("]", wamp.MaxDepth)} {
		m := &wamp.Event{Subscription: 1, Publication: 1, Payload: wamp.Payload{Args: raw(payload)}}
		for _, c := range []wamp.Codec{wamp.V2MsgPack{}, wamp.V2CBOR{}} {
			if out, err := c.Append(nil, m); err == nil {
				t.Errorf("%s Append of payload %q = %x, want an error", c.Subprotocol(), payload, out)
			}
		}
	}
}

// Strings that are not valid UTF-8 are written with U+FFFD in every
// codec, one per invalid byte.
func TestV2AppendInvalidUTF8String(t *testing.T) {
	t.Parallel()
	m := &wamp.Subscribe{Request: 1, Topic: "a\xff\xfeb"}
	for _, c := range v2Codecs {
		b, err := c.Append(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", c.Subprotocol(), err)
		}
		if topic := got.(*wamp.Subscribe).Topic; topic != "a\uFFFD\uFFFDb" {
			t.Errorf("%s: topic %q", c.Subprotocol(), topic)
		}
	}
}

func TestCodecFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		want   wamp.Codec
		binary bool
	}{
		{"wamp", wamp.V1{}, false},
		{"wamp.2.json", wamp.V2JSON{}, false},
		{"wamp.2.msgpack", wamp.V2MsgPack{}, true},
		{"wamp.2.cbor", wamp.V2CBOR{}, true},
	}
	for _, tt := range tests {
		c, ok := wamp.CodecFor(tt.name)
		if !ok || c != tt.want {
			t.Fatalf("CodecFor(%q) = %v, %v", tt.name, c, ok)
		}
		if c.Subprotocol() != tt.name || c.Binary() != tt.binary {
			t.Fatalf("%T: Subprotocol %q Binary %v", c, c.Subprotocol(), c.Binary())
		}
	}
	for _, name := range []string{"", "WAMP", "wamp.2.JSON", "wamp.2.json.batched", "wamp.2.ubjson"} {
		if c, ok := wamp.CodecFor(name); ok || c != nil {
			t.Fatalf("CodecFor(%q) = %v, %v", name, c, ok)
		}
	}
}

// V1 keeps refusing the v2-only messages.
func TestV1RefusesV2Messages(t *testing.T) {
	t.Parallel()
	for _, tt := range v2Corpus {
		switch tt.msg.(type) {
		case *wamp.Welcome, *wamp.Subscribe, *wamp.Unsubscribe, *wamp.Publish, *wamp.Event, *wamp.Call:
			continue // shared with v1
		}
		if b, err := (wamp.V1{}).Append(nil, tt.msg); err == nil {
			t.Errorf("V1 Append(%s) = %s, want an error", tt.name, b)
		}
	}
}
