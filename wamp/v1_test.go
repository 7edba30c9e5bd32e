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

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestV1DecodeValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want wamp.Message
	}{
		{"welcome", `[0,"sid1",1,"Ratchet\/0.4.4"]`, &wamp.Welcome{SessionID: "sid1", ServerIdent: "Ratchet/0.4.4"}},
		{"welcome padded", `[0,"sid1",1,"x" ]`, &wamp.Welcome{SessionID: "sid1", ServerIdent: "x"}},
		{"prefix", `[1,"calc","http://example.com/simple/calc#"]`, &wamp.Prefix{Prefix: "calc", URI: "http://example.com/simple/calc#"}},
		{"call no args", `[2,"id1","sample/sum"]`, &wamp.Call{CallID: raw(`"id1"`), Procedure: "sample/sum", Args: []json.RawMessage{}}},
		{"call numeric id", `[2,42,"p",1,"two",{"a":1}]`, &wamp.Call{CallID: raw(`42`), Procedure: "p", Args: []json.RawMessage{raw(`1`), raw(`"two"`), raw(`{"a":1}`)}}},
		{"callresult", `[3,"id1",{"x":[1,2]}]`, &wamp.CallResult{CallID: raw(`"id1"`), Result: raw(`{"x":[1,2]}`)}},
		{"callresult null", `[3,"id1",null]`, &wamp.CallResult{CallID: raw(`"id1"`), Result: raw(`null`)}},
		{"callerror", `[4,"id1","sample/sum","RPC Error"]`, &wamp.CallError{CallID: raw(`"id1"`), ErrorURI: "sample/sum", Description: "RPC Error"}},
		{"callerror details", `[4,"id1","sample/sum","RPC Error",{"code":500}]`, &wamp.CallError{CallID: raw(`"id1"`), ErrorURI: "sample/sum", Description: "RPC Error", Details: raw(`{"code":500}`)}},
		{"subscribe", `[5,"acme/channel"]`, &wamp.Subscribe{Topic: "acme/channel"}},
		{"subscribe numeric topic", `[5,12]`, &wamp.Subscribe{Topic: "12"}},
		{"subscribe extra elements", `[5,"t","ignored"]`, &wamp.Subscribe{Topic: "t"}},
		{"unsubscribe", `[6,"acme/channel"]`, &wamp.Unsubscribe{Topic: "acme/channel"}},
		{"publish", `[7,"acme/channel",{"msg":"hi"}]`, &wamp.Publish{Topic: "acme/channel", Event: raw(`{"msg":"hi"}`)}},
		{"publish string event", `[7,"t","{\"a\":1}"]`, &wamp.Publish{Topic: "t", Event: raw(`"{\"a\":1}"`)}},
		{"event", `[8,"acme/channel",[1,2,3]]`, &wamp.Event{Topic: "acme/channel", Event: raw(`[1,2,3]`)}},
		{"whitespace", " \n[ 5 , \"t\" ]\t", &wamp.Subscribe{Topic: "t"}},
		// PHP's loose switch: "5" == 5 and 5.0 == 5.
		{"type as string", `["5","t"]`, &wamp.Subscribe{Topic: "t"}},
		{"type as float", `[5.0,"t"]`, &wamp.Subscribe{Topic: "t"}},
		{"type as exponent", `[5e0,"t"]`, &wamp.Subscribe{Topic: "t"}},
		{"type as float string", `["7.0","t",1]`, &wamp.Publish{Topic: "t", Event: raw(`1`)}},
		{"type string with spaces", `[" 6 ","t"]`, &wamp.Unsubscribe{Topic: "t"}},
		{"type string with sign", `["+5","t"]`, &wamp.Subscribe{Topic: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wamp.V1{}.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode(%s)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestV1DecodeInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"empty input", ``},
		{"invalid JSON", `[5,"t"`},
		{"garbage", `hello`},
		{"trailing garbage", `[5,"t"]x`},
		{"object", `{"0":5,"1":"t"}`},
		{"null", `null`},
		{"string", `"[5,\"t\"]"`},
		{"number", `5`},
		{"true", `true`},
		{"empty list", `[]`},
		{"element 1 object", `[5,{"a":1}]`},
		{"element 1 list", `[5,["t"]]`},
		{"element 1 bool", `[5,true]`},
		{"element 1 false", `[5,false]`},
		{"unknown type 9", `[9,"t"]`},
		{"unknown type 100", `[100,"t"]`},
		{"unknown type negative", `[-1,"t"]`},
		{"unknown type fraction", `[5.5,"t"]`},
		{"unknown type word", `["subscribe","t"]`},
		{"type empty string", `["","t"]`},
		{"type null", `[null,"t"]`},
		{"type bool", `[false,"t"]`},
		{"type list", `[[5],"t"]`},
		{"type object", `[{},"t"]`},
		{"type hex float string", `["0x5p0","t"]`},
		{"type underscore string", `["0_5","t"]`},
		{"type leading numeric string", `["5abc","t"]`},
		{"type infinity string", `["Inf","t"]`},
		{"type NaN string", `["NaN","t"]`},
		{"welcome missing ident", `[0,"sid",1]`},
		{"welcome null sid", `[0,null,1,"x"]`},
		{"prefix missing uri", `[1,"p"]`},
		{"prefix missing prefix", `[1]`},
		{"prefix uri object", `[1,"p",{}]`},
		{"call missing id", `[2]`},
		{"call null id", `[2,null,"p"]`},
		{"call missing procedure", `[2,"id"]`},
		{"call procedure null", `[2,"id",null]`},
		{"call procedure list", `[2,"id",["p"]]`},
		{"callresult missing result", `[3,"id"]`},
		{"callerror missing desc", `[4,"id","uri"]`},
		{"callerror uri object", `[4,"id",{},"d"]`},
		{"subscribe missing topic", `[5]`},
		{"subscribe null topic", `[5,null]`},
		{"unsubscribe missing topic", `[6]`},
		{"publish missing topic", `[7]`},
		{"publish missing event", `[7,"t"]`},
		{"publish eligible scalar", `[7,"t",1,[],"a"]`},
		{"publish eligible true", `[7,"t",1,[],true]`},
		{"event missing event", `[8,"t"]`},
		{"event missing topic", `[8]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := wamp.V1{}.Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%s) = %#v, want an error", tt.in, m)
			}
			if !errors.Is(err, wamp.ErrInvalidMessage) {
				t.Fatalf("Decode(%s) error %v does not wrap ErrInvalidMessage", tt.in, err)
			}
			if m != nil {
				t.Fatalf("Decode(%s) returned %#v with an error", tt.in, m)
			}
		})
	}
}

func TestV1DecodePublishExclude(t *testing.T) {
	t.Parallel()
	tests := []struct {
		exclude   string
		excludeMe bool
		list      []string
	}{
		// Scalars: PHP truthiness of (boolean)$exclude.
		{`true`, true, nil},
		{`1`, true, nil},
		{`-1`, true, nil},
		{`0.5`, true, nil},
		{`"x"`, true, nil},
		{`"0.0"`, true, nil},
		{`"false"`, true, nil},
		{`" "`, true, nil},
		{`"0"`, false, nil},
		{`""`, false, nil},
		{`0`, false, nil},
		{`0.0`, false, nil},
		{`-0`, false, nil},
		{`0e5`, false, nil},
		{`false`, false, nil},
		{`null`, false, nil},
		// Arrays (JSON lists and objects): a list of session ids.
		{`[]`, false, []string{}},
		{`{}`, false, []string{}},
		{`["a"]`, false, []string{"a"}},
		{`["a","b"]`, false, []string{"a", "b"}},
		{`[1]`, false, []string{"1"}},
		{`[1.50]`, false, []string{"1.50"}},
		{`{"k":"a"}`, false, []string{"a"}},
		{`["a",null,true,{},[],"b"]`, false, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.exclude, func(t *testing.T) {
			t.Parallel()
			in := `[7,"t",{"m":1},` + tt.exclude + `]`
			m, err := wamp.V1{}.Decode([]byte(in))
			if err != nil {
				t.Fatalf("Decode(%s): %v", in, err)
			}
			p := m.(*wamp.Publish)
			want := &wamp.Publish{Topic: "t", Event: raw(`{"m":1}`), ExcludeMe: tt.excludeMe, Exclude: tt.list}
			if !reflect.DeepEqual(p, want) {
				t.Fatalf("Decode(%s)\n got %#v\nwant %#v", in, p, want)
			}
		})
	}
}

func TestV1DecodePublishEligible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		excludeMe bool
		exclude   []string
		eligible  []string
	}{
		{`[7,"t",1,[],["a","b"]]`, false, []string{}, []string{"a", "b"}},
		{`[7,"t",1,["x"],["a"]]`, false, []string{"x"}, []string{"a"}},
		{`[7,"t",1,["x"],[]]`, false, []string{"x"}, []string{}},
		{`[7,"t",1,["x"],null]`, false, []string{"x"}, nil},
		{`[7,"t",1,true,["a"]]`, true, nil, []string{"a"}},
		{`[7,"t",1,false,["a"]]`, false, nil, []string{"a"}},
		{`[7,"t",1,[],{"k":"a"}]`, false, []string{}, []string{"a"}},
		{`[7,"t",1,[],[7,"b"]]`, false, []string{}, []string{"7", "b"}},
		{`[7,"t",1,[],["a"],"ignored"]`, false, []string{}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			m, err := wamp.V1{}.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.in, err)
			}
			want := &wamp.Publish{Topic: "t", Event: raw(`1`), ExcludeMe: tt.excludeMe, Exclude: tt.exclude, Eligible: tt.eligible}
			if !reflect.DeepEqual(m, want) {
				t.Fatalf("Decode(%s)\n got %#v\nwant %#v", tt.in, m, want)
			}
		})
	}
}

func TestCallParams(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		// compat.md §1.6 examples.
		{`[2,"id","sample/sum",{"a":1}]`, `{"a":1}`},
		{`[2,"id","p",1,2]`, `[1,2]`},
		{`[2,"id","p"]`, `[]`},
		// One scalar argument is wrapped in a list.
		{`[2,"id","p",1]`, `[1]`},
		{`[2,"id","p","s"]`, `["s"]`},
		{`[2,"id","p",null]`, `[null]`},
		{`[2,"id","p",true]`, `[true]`},
		// One list argument is used as is.
		{`[2,"id","p",[1,2]]`, `[1,2]`},
		{`[2,"id","p",[]]`, `[]`},
		{`[2,"id","p",{}]`, `{}`},
		// Several arguments, lists among them, make a list.
		{`[2,"id","p",[1],{"a":2}]`, `[[1],{"a":2}]`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			m, err := wamp.V1{}.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.in, err)
			}
			got := m.(*wamp.Call).Params()
			if string(got) != tt.want {
				t.Fatalf("Params of %s = %s, want %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("Params of %s = %s is not valid JSON", tt.in, got)
			}
		})
	}
}

func TestCallParamsBuilt(t *testing.T) {
	t.Parallel()
	c := &wamp.Call{Args: []json.RawMessage{raw(" {\"a\":1}")}}
	if got := string(c.Params()); got != ` {"a":1}` {
		t.Fatalf("Params = %s", got)
	}
	c = &wamp.Call{}
	if got := string(c.Params()); got != `[]` {
		t.Fatalf("Params of no args = %s", got)
	}
}

func TestV1Append(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    wamp.Message
		want string
	}{
		{"welcome", &wamp.Welcome{SessionID: "sid1", ServerIdent: "herald/1.0.0"}, `[0,"sid1",1,"herald/1.0.0"]`},
		{"prefix", &wamp.Prefix{Prefix: "calc", URI: "http://example.com/calc#"}, `[1,"calc","http://example.com/calc#"]`},
		{"call", &wamp.Call{CallID: raw(`"c1"`), Procedure: "sample/sum", Args: []json.RawMessage{raw(`1`), raw(`{"a":2}`)}}, `[2,"c1","sample/sum",1,{"a":2}]`},
		{"call no args", &wamp.Call{CallID: raw(`"c1"`), Procedure: "p"}, `[2,"c1","p"]`},
		{"call nil id", &wamp.Call{Procedure: "p"}, `[2,null,"p"]`},
		{"callresult", &wamp.CallResult{CallID: raw(`"c1"`), Result: raw(`[3]`)}, `[3,"c1",[3]]`},
		{"callresult nil result", &wamp.CallResult{CallID: raw(`7`)}, `[3,7,null]`},
		{"callerror", &wamp.CallError{CallID: raw(`"c1"`), ErrorURI: "sample/sum", Description: "RPC Error"}, `[4,"c1","sample/sum","RPC Error"]`},
		{"callerror details", &wamp.CallError{CallID: raw(`"c1"`), ErrorURI: "sample/sum", Description: "RPC Error", Details: raw(`{"code":500}`)}, `[4,"c1","sample/sum","RPC Error",{"code":500}]`},
		{"callerror null details", &wamp.CallError{CallID: raw(`"c1"`), ErrorURI: "u", Description: "d", Details: raw(`null`)}, `[4,"c1","u","d",null]`},
		{"subscribe", &wamp.Subscribe{Topic: "acme/channel"}, `[5,"acme/channel"]`},
		{"unsubscribe", &wamp.Unsubscribe{Topic: "acme/channel"}, `[6,"acme/channel"]`},
		{"publish", &wamp.Publish{Topic: "t", Event: raw(`{"m":1}`)}, `[7,"t",{"m":1}]`},
		{"publish nil event", &wamp.Publish{Topic: "t"}, `[7,"t",null]`},
		{"publish exclude me", &wamp.Publish{Topic: "t", Event: raw(`1`), ExcludeMe: true}, `[7,"t",1,true]`},
		{"publish exclude", &wamp.Publish{Topic: "t", Event: raw(`1`), Exclude: []string{"a", "b"}}, `[7,"t",1,["a","b"],[]]`},
		{"publish eligible", &wamp.Publish{Topic: "t", Event: raw(`1`), Eligible: []string{"a"}}, `[7,"t",1,[],["a"]]`},
		{"publish both", &wamp.Publish{Topic: "t", Event: raw(`1`), Exclude: []string{"x"}, Eligible: []string{"a"}}, `[7,"t",1,["x"],["a"]]`},
		{"event", &wamp.Event{Topic: "acme/channel", Event: raw(`"hi"`)}, `[8,"acme/channel","hi"]`},
		{"event escapes topic", &wamp.Event{Topic: "a\"b\\c", Event: raw(`1`)}, `[8,"a\"b\\c",1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefix := []byte("prefix")
			got, err := wamp.V1{}.Append(prefix, tt.m)
			if err != nil {
				t.Fatalf("Append(%#v): %v", tt.m, err)
			}
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("Append clobbered dst: %q", got)
			}
			got = got[len("prefix"):]
			if string(got) != tt.want {
				t.Fatalf("Append(%#v)\n got %s\nwant %s", tt.m, got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("Append(%#v) = %s is not valid JSON", tt.m, got)
			}
		})
	}
}

func TestV1AppendErrors(t *testing.T) {
	t.Parallel()
	for _, m := range []wamp.Message{
		&wamp.Publish{Topic: "t", Event: raw(`1`), ExcludeMe: true, Exclude: []string{"a"}},
		&wamp.Publish{Topic: "t", Event: raw(`1`), ExcludeMe: true, Eligible: []string{"a"}},
		otherMessage{},
	} {
		if b, err := (wamp.V1{}).Append(nil, m); err == nil {
			t.Errorf("Append(%#v) = %s, want an error", m, b)
		}
	}
}

type otherMessage struct{}

func (otherMessage) Kind() string { return "OTHER" }

// TestV1AppendEmptyRaw checks that empty raw JSON fields still produce valid
// JSON.
func TestV1AppendEmptyRaw(t *testing.T) {
	t.Parallel()
	for _, m := range []wamp.Message{
		&wamp.Call{CallID: raw(`"c"`), Procedure: "p", Args: []json.RawMessage{{}, nil}},
		&wamp.CallError{CallID: raw(`"c"`), ErrorURI: "u", Description: "d", Details: json.RawMessage{}},
		&wamp.Event{Topic: "t"},
		&wamp.CallResult{},
	} {
		b, err := wamp.V1{}.Append(nil, m)
		if err != nil {
			t.Fatalf("Append(%#v): %v", m, err)
		}
		if !json.Valid(b) {
			t.Errorf("Append(%#v) = %s is not valid JSON", m, b)
		}
		if _, err := (wamp.V1{}).Decode(b); err != nil {
			t.Errorf("Decode(Append(%#v)) = %v", m, err)
		}
	}
}

// frameHeaderHasBracket reports whether the header of an unmasked server
// frame carrying n payload bytes contains '[' (0x5B).
func frameHeaderHasBracket(n int) bool {
	switch {
	case n < 126:
		return n == '['
	case n <= 0xFFFF:
		return byte(n>>8) == '[' || byte(n) == '['
	}
	for i := range 8 {
		if byte(uint64(n)>>(8*i)) == '[' {
			return true
		}
	}
	return false
}

func TestV1WelcomeNever91Bytes(t *testing.T) {
	t.Parallel()
	// `[0,"` + sid + `",1,"` + ident + `"]` is 11 bytes of framing.
	ident := "Ratchet/0.4.4"
	sid := strings.Repeat("a", 91-11-len(ident))
	natural := `[0,"` + sid + `",1,"` + ident + `"]`
	if len(natural) != 91 {
		t.Fatalf("test setup: natural length %d", len(natural))
	}
	w := &wamp.Welcome{SessionID: sid, ServerIdent: ident}
	got, err := wamp.V1{}.Append(nil, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 92 {
		t.Fatalf("WELCOME is %d bytes (%s), want 92", len(got), got)
	}
	if !json.Valid(got) {
		t.Fatalf("padded WELCOME %s is not valid JSON", got)
	}
	m, err := wamp.V1{}.Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, w) {
		t.Fatalf("decoded %#v, want %#v", m, w)
	}
	// Appending after existing bytes must count only the message.
	got, _ = wamp.V1{}.Append([]byte("xyz"), w)
	if len(got) != 3+92 {
		t.Fatalf("with a prefix in dst the WELCOME is %d bytes", len(got)-3)
	}
}

// TestV1WelcomeFrameHeader checks WELCOME lengths up to 70000 bytes: no
// byte of the frame header may be '['. Lengths of 126 and more use an
// extended length field, where 0x015B (347) or 0x5Bxx would put a '[' in
// the header just as 91 does.
func TestV1WelcomeFrameHeader(t *testing.T) {
	t.Parallel()
	const ident = "herald/1.0.0"
	var lengths []int
	for n := 11 + len(ident); n <= 70000; n++ {
		// Every length up to 2048, the whole 0x5Bxx range, and the
		// neighbourhood of every xx5B.
		if n <= 2048 || n>>8 == '[' || (n&0xFF >= '['-2 && n&0xFF <= '['+2) {
			lengths = append(lengths, n)
		}
	}
	for _, n := range lengths {
		w := &wamp.Welcome{SessionID: strings.Repeat("0", n-11-len(ident)), ServerIdent: ident}
		got, err := wamp.V1{}.Append(nil, w)
		if err != nil {
			t.Fatal(err)
		}
		if frameHeaderHasBracket(len(got)) {
			t.Fatalf("WELCOME of natural length %d is %d bytes: its frame header contains '['", n, len(got))
		}
		if len(got) < n || len(got) > n+256 {
			t.Fatalf("WELCOME of natural length %d is %d bytes", n, len(got))
		}
		if n == 91 || n == 347 || n == 23296 || n%997 == 0 {
			if m, err := (wamp.V1{}).Decode(got); err != nil || !reflect.DeepEqual(m, w) {
				t.Fatalf("length %d: Decode = %#v, %v", n, m, err)
			}
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	var all strings.Builder
	for b := range 0x80 {
		all.WriteByte(byte(b))
	}
	tests := []string{
		"",
		"plain",
		"acme/channel",
		`quote " and backslash \`,
		"\x00\x01\x1f\x7f",
		"\b\f\n\r\t",
		all.String(),
		"<script>&amp;</script>",
		"héllo wörld ✓ 𝄞",
		"line\u2028sep\u2029para",
		"bad \xff utf8",
		"truncated \xe2\x82",
		"\xc0\xaf overlong",
		"\xed\xa0\x80 surrogate",
		"\xf4\x90\x80\x80 beyond max",
		"\ufffd real replacement",
	}
	for _, s := range tests {
		checkAppendString(t, s)
	}
}

func checkAppendString(t *testing.T, s string) {
	t.Helper()
	ours := wamp.AppendString([]byte("x"), s)
	if ours[0] != 'x' {
		t.Fatalf("AppendString clobbered dst")
	}
	ours = ours[1:]
	std, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var a, b string
	if err := json.Unmarshal(ours, &a); err != nil {
		t.Fatalf("AppendString(%q) = %s: %v", s, ours, err)
	}
	if err := json.Unmarshal(std, &b); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("AppendString(%q) decodes to %q, encoding/json to %q", s, a, b)
	}
	// Line and paragraph separators break JavaScript string literals
	// before ES2019; they must be escaped as encoding/json does.
	if bytes.Contains(ours, []byte("\u2028")) || bytes.Contains(ours, []byte("\u2029")) {
		t.Fatalf("AppendString(%q) = %s leaves U+2028/U+2029 unescaped", s, ours)
	}
	for _, c := range ours {
		if c < 0x20 {
			t.Fatalf("AppendString(%q) = %q leaves a control character", s, ours)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\x00", "\u2028", "\xff", `"\`, "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppendString(t, s)
	})
}

func TestV1Subprotocol(t *testing.T) {
	t.Parallel()
	if got := (wamp.V1{}).Subprotocol(); got != "wamp" {
		t.Fatalf("Subprotocol = %q", got)
	}
}

func TestKinds(t *testing.T) {
	t.Parallel()
	for m, want := range map[wamp.Message]string{
		&wamp.Welcome{}: "WELCOME", &wamp.Prefix{}: "PREFIX", &wamp.Call{}: "CALL",
		&wamp.CallResult{}: "CALLRESULT", &wamp.CallError{}: "CALLERROR",
		&wamp.Subscribe{}: "SUBSCRIBE", &wamp.Unsubscribe{}: "UNSUBSCRIBE",
		&wamp.Publish{}: "PUBLISH", &wamp.Event{}: "EVENT",
	} {
		if got := m.Kind(); got != want {
			t.Errorf("%T.Kind() = %q, want %q", m, got, want)
		}
	}
}

func BenchmarkDecodeV1Publish(b *testing.B) {
	msg := []byte(`[7,"acme/channel/lobby",{"msg":"hello world","user":"alice","n":42},["18042893835f0b2d2a1c7d3412345678"],[]]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := (wamp.V1{}).Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	ev := &wamp.Event{Topic: "acme/channel/lobby", Event: raw(`{"msg":"hello world","user":"alice","n":42}`)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = wamp.V1{}.Append(buf[:0], ev)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
