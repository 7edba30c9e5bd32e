package wamp_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/heraldws/herald/wamp"
)

// FuzzDecodeV1 checks that Decode never panics, that its errors wrap
// ErrInvalidMessage, and that a decoded message survives Append and a
// second Decode unchanged.
func FuzzDecodeV1(f *testing.F) {
	for _, s := range []string{
		`[0,"sid",1,"Ratchet\/0.4.4"]`,
		`[1,"calc","http://example.com/calc#"]`,
		`[2,"id","sample/sum",{"a":1}]`,
		`[2,"id","p",1,2]`,
		`[2,3,"p"]`,
		`[3,"id",{"r":[1]}]`,
		`[4,"id","uri","desc"]`,
		`[4,"id","uri","desc",{"code":500}]`,
		`[5,"acme/channel"]`,
		`["5","t"]`,
		`[5.0,"t"]`,
		`[6,"acme/channel"]`,
		`[7,"t",{"m":1}]`,
		`[7,"t","x",true]`,
		`[7,"t","x","0"]`,
		`[7,"t","x",["a"],["b"]]`,
		`[7,"t","x",{"k":"a"},[1]]`,
		`[7,"t","x",true,["b"]]`,
		`[8,"t","é\u2028"]`,
		`{"0":5}`, `null`, `[]`, `[5,{}]`, `[9]`, `[`, "[5,\"\xff\"]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := wamp.V1{}.Decode(data)
		if err != nil {
			if !errors.Is(err, wamp.ErrInvalidMessage) {
				t.Fatalf("Decode(%q) error %v does not wrap ErrInvalidMessage", data, err)
			}
			if m != nil {
				t.Fatalf("Decode(%q) returned a message with an error", data)
			}
			return
		}
		if m == nil {
			t.Fatalf("Decode(%q) returned nil, nil", data)
		}
		if c, ok := m.(*wamp.Call); ok && !json.Valid(c.Params()) {
			t.Fatalf("Params of %q = %s is not JSON", data, c.Params())
		}
		if p, ok := m.(*wamp.Publish); ok && p.ExcludeMe && (len(p.Exclude) > 0 || len(p.Eligible) > 0) {
			// [7,t,e,true,[…]] has no equivalent in the model's wire
			// form: Append refuses ExcludeMe with lists.
			if _, err := (wamp.V1{}).Append(nil, m); err == nil {
				t.Fatalf("Append accepted ExcludeMe with lists")
			}
			return
		}
		out, err := wamp.V1{}.Append(nil, m)
		if err != nil {
			t.Fatalf("Append(Decode(%q)) = %v", data, err)
		}
		if !json.Valid(out) {
			t.Fatalf("Append(Decode(%q)) = %q is not JSON", data, out)
		}
		m2, err := wamp.V1{}.Decode(out)
		if err != nil {
			t.Fatalf("Decode(Append(Decode(%q))) = %v; appended %q", data, err, out)
		}
		if !reflect.DeepEqual(normalize(m), normalize(m2)) {
			t.Fatalf("round trip of %q via %q:\n got %#v\nwant %#v", data, out, m2, m)
		}
	})
}

// normalize maps messages that mean the same thing to one form: empty
// exclude and eligible lists are nil.
func normalize(m wamp.Message) wamp.Message {
	if p, ok := m.(*wamp.Publish); ok {
		c := *p
		if len(c.Exclude) == 0 {
			c.Exclude = nil
		}
		if len(c.Eligible) == 0 {
			c.Eligible = nil
		}
		return &c
	}
	if c, ok := m.(*wamp.Call); ok && len(c.Args) == 0 {
		cc := *c
		cc.Args = nil
		return &cc
	}
	return m
}
