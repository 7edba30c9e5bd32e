package wamp_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/wamp"
)

func checkOptionError(t *testing.T, err error, key, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s: %s", key, reason)
	}
	if !errors.Is(err, wamp.ErrInvalidOption) {
		t.Fatalf("error %v does not wrap ErrInvalidOption", err)
	}
	oe, ok := errors.AsType[*wamp.OptionError](err)
	if !ok {
		t.Fatalf("error %v is %T, not *OptionError", err, err)
	}
	if oe.Key != key || !strings.Contains(oe.Reason, reason) {
		t.Fatalf("error %v: key %q reason %q, want %q and %q", err, oe.Key, oe.Reason, key, reason)
	}
}

func TestParsePublishOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want wamp.PublishOptions
	}{
		{"nil", ``, wamp.PublishOptions{ExcludeMe: true}},
		{"empty", `{}`, wamp.PublishOptions{ExcludeMe: true}},
		{"all", `{"acknowledge":true,"exclude_me":false,"disclose_me":true,"exclude":[1,2],"eligible":[3],
			"exclude_authid":["joe"],"eligible_authid":["ann","bob"],"exclude_authrole":["guest"],"eligible_authrole":[]}`,
			wamp.PublishOptions{Acknowledge: true, DiscloseMe: true, Exclude: []uint64{1, 2}, Eligible: []uint64{3},
				ExcludeAuthID: []string{"joe"}, EligibleAuthID: []string{"ann", "bob"},
				ExcludeAuthRole: []string{"guest"}, EligibleAuthRole: []string{}}},
		{"unknown options ignored", `{"_x_custom":[{}],"retain":true,"exclude_me":true}`, wamp.PublishOptions{ExcludeMe: true}},
		{"escaped key", `{"acknowledg\u0065":true}`, wamp.PublishOptions{Acknowledge: true, ExcludeMe: true}},
		{"empty eligible", `{"eligible":[]}`, wamp.PublishOptions{ExcludeMe: true, Eligible: []uint64{}}},
		{"white space", ` { "acknowledge" : true , "exclude" : [ 9007199254740992 ] } `,
			wamp.PublishOptions{Acknowledge: true, ExcludeMe: true, Exclude: []uint64{wamp.MaxID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wamp.ParsePublishOptions(raw(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseOptionsErrors(t *testing.T) {
	t.Parallel()
	pub := func(s string) error { _, err := wamp.ParsePublishOptions(raw(s)); return err }
	sub := func(s string) error { _, err := wamp.ParseSubscribeOptions(raw(s)); return err }
	call := func(s string) error { _, err := wamp.ParseCallOptions(raw(s)); return err }
	reg := func(s string) error { _, err := wamp.ParseRegisterOptions(raw(s)); return err }
	yield := func(s string) error { _, err := wamp.ParseYieldOptions(raw(s)); return err }
	cancel := func(s string) error { _, err := wamp.ParseCancelOptions(raw(s)); return err }
	hello := func(s string) error { _, err := wamp.ParseHelloDetails(raw(s)); return err }
	tests := []struct {
		name        string
		parse       func(string) error
		in          string
		key, reason string
	}{
		{"not a dict", pub, `[]`, "Options", "must be a dict"},
		{"invalid JSON", pub, `{"a":}`, "Options", "not valid JSON"},
		{"trailing data", pub, `{} {}`, "Options", "not valid JSON"},
		{"acknowledge int", pub, `{"acknowledge":1}`, "acknowledge", "must be a bool"},
		{"exclude_me string", pub, `{"exclude_me":"false"}`, "exclude_me", "must be a bool"},
		{"disclose_me null", pub, `{"disclose_me":null}`, "disclose_me", "must be a bool"},
		{"exclude not a list", pub, `{"exclude":5}`, "exclude", "must be a list of ids"},
		{"exclude strings", pub, `{"exclude":["5"]}`, "exclude", "must be an id"},
		{"exclude 0", pub, `{"exclude":[0]}`, "exclude", "out of range"},
		{"eligible too big", pub, `{"eligible":[9007199254740993]}`, "eligible", "out of range"},
		{"eligible float", pub, `{"eligible":[1.0]}`, "eligible", "must be an id"},
		{"exclude_authid not strings", pub, `{"exclude_authid":[1]}`, "exclude_authid", "list of strings"},
		{"eligible_authrole string", pub, `{"eligible_authrole":"admin"}`, "eligible_authrole", "list of strings"},
		{"match unknown", sub, `{"match":"regex"}`, "match", `"regex" is not exact, prefix or wildcard`},
		{"match not a string", sub, `{"match":1}`, "match", "must be a string"},
		{"timeout negative", call, `{"timeout":-1}`, "timeout", "non-negative"},
		{"timeout string", call, `{"timeout":"1000"}`, "timeout", "non-negative"},
		{"timeout huge", call, `{"timeout":1e300}`, "timeout", "out of range"},
		{"receive_progress string", call, `{"receive_progress":"yes"}`, "receive_progress", "must be a bool"},
		{"invoke unknown", reg, `{"invoke":"all"}`, "invoke", `"all" is not single`},
		{"invoke number", reg, `{"invoke":1}`, "invoke", "must be a string"},
		{"register match", reg, `{"match":"glob"}`, "match", "is not exact"},
		{"disclose_caller int", reg, `{"disclose_caller":0}`, "disclose_caller", "must be a bool"},
		{"progress string", yield, `{"progress":"true"}`, "progress", "must be a bool"},
		{"mode unknown", cancel, `{"mode":"abort"}`, "mode", `"abort" is not skip, kill or killnowait`},
		{"mode bool", cancel, `{"mode":true}`, "mode", "must be a string"},
		{"hello no roles", hello, `{}`, "roles", "at least one role"},
		{"hello empty roles", hello, `{"roles":{}}`, "roles", "at least one role"},
		{"hello roles list", hello, `{"roles":["caller"]}`, "roles", "must be a dict"},
		{"hello role not a dict", hello, `{"roles":{"caller":true}}`, "roles.caller", "must be a dict"},
		{"hello features list", hello, `{"roles":{"caller":{"features":[]}}}`, "roles.caller.features", "must be a dict"},
		{"hello authmethods string", hello, `{"roles":{"caller":{}},"authmethods":"wampcra"}`, "authmethods", "list of strings"},
		{"hello authid number", hello, `{"roles":{"caller":{}},"authid":7}`, "authid", "must be a string"},
		{"hello authextra list", hello, `{"roles":{"caller":{}},"authextra":[]}`, "authextra", "must be a dict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkOptionError(t, tt.parse(tt.in), tt.key, tt.reason)
		})
	}
}

func TestParseOtherOptions(t *testing.T) {
	t.Parallel()
	if o, err := wamp.ParseSubscribeOptions(nil); err != nil || o.Match != wamp.MatchPolicyExact {
		t.Fatalf("subscribe default: %+v, %v", o, err)
	}
	for in, want := range map[string]wamp.MatchPolicy{`{"match":"exact"}`: wamp.MatchPolicyExact,
		`{"match":"prefix"}`: wamp.MatchPolicyPrefix, `{"match":"wildcard"}`: wamp.MatchPolicyWildcard} {
		if o, err := wamp.ParseSubscribeOptions(raw(in)); err != nil || o.Match != want {
			t.Fatalf("%s: %+v, %v", in, o, err)
		}
	}

	callTests := []struct {
		in   string
		want wamp.CallOptions
	}{
		{``, wamp.CallOptions{}},
		{`{"timeout":0}`, wamp.CallOptions{}},
		{`{"timeout":1500,"receive_progress":true,"disclose_me":true}`,
			wamp.CallOptions{Timeout: 1500 * time.Millisecond, ReceiveProgress: true, DiscloseMe: true}},
		{`{"timeout":2.5}`, wamp.CallOptions{Timeout: 2500 * time.Microsecond}},
	}
	for _, tt := range callTests {
		if o, err := wamp.ParseCallOptions(raw(tt.in)); err != nil || o != tt.want {
			t.Fatalf("call %s: %+v, %v; want %+v", tt.in, o, err, tt.want)
		}
	}

	regTests := []struct {
		in   string
		want wamp.RegisterOptions
	}{
		{`{}`, wamp.RegisterOptions{Match: wamp.MatchPolicyExact, Invoke: wamp.InvokeSingle}},
		{`{"match":"wildcard","invoke":"roundrobin","disclose_caller":true}`,
			wamp.RegisterOptions{Match: wamp.MatchPolicyWildcard, Invoke: wamp.InvokeRoundRobin, DiscloseCaller: true}},
		{`{"invoke":"random"}`, wamp.RegisterOptions{Invoke: wamp.InvokeRandom}},
		{`{"invoke":"first"}`, wamp.RegisterOptions{Invoke: wamp.InvokeFirst}},
		{`{"invoke":"last"}`, wamp.RegisterOptions{Invoke: wamp.InvokeLast}},
		{`{"invoke":"single"}`, wamp.RegisterOptions{Invoke: wamp.InvokeSingle}},
	}
	for _, tt := range regTests {
		if o, err := wamp.ParseRegisterOptions(raw(tt.in)); err != nil || o != tt.want {
			t.Fatalf("register %s: %+v, %v; want %+v", tt.in, o, err, tt.want)
		}
	}

	if o, err := wamp.ParseYieldOptions(raw(`{"progress":true}`)); err != nil || !o.Progress {
		t.Fatalf("yield: %+v, %v", o, err)
	}
	if o, err := wamp.ParseYieldOptions(nil); err != nil || o.Progress {
		t.Fatalf("yield default: %+v, %v", o, err)
	}

	for in, want := range map[string]wamp.CancelMode{``: wamp.CancelKillNoWait, `{}`: wamp.CancelKillNoWait,
		`{"mode":"skip"}`: wamp.CancelSkip, `{"mode":"kill"}`: wamp.CancelKill, `{"mode":"killnowait"}`: wamp.CancelKillNoWait} {
		if o, err := wamp.ParseCancelOptions(raw(in)); err != nil || o.Mode != want {
			t.Fatalf("cancel %s: %+v, %v", in, o, err)
		}
	}
	for p, s := range map[interface{ String() string }]string{wamp.MatchPolicyPrefix: "prefix", wamp.InvokeRoundRobin: "roundrobin",
		wamp.CancelSkip: "skip", wamp.MatchPolicyExact: "exact", wamp.InvokeLast: "last", wamp.CancelKillNoWait: "killnowait"} {
		if p.String() != s {
			t.Fatalf("%#v.String() = %q, want %q", p, p.String(), s)
		}
	}
}

func TestParseHelloDetails(t *testing.T) {
	t.Parallel()
	in := `{"agent":"AutobahnJS-20.1.1","authid":"joe","authmethods":["wampcra","anonymous"],"authextra":{"k":1},
		"roles":{"caller":{"features":{"caller_identification":true,"call_canceling":false,"x":"yes"}},
		"subscriber":{},"publisher":{"features":{}}}}`
	d, err := wamp.ParseHelloDetails(raw(in))
	if err != nil {
		t.Fatal(err)
	}
	want := wamp.HelloDetails{
		Roles: map[string]wamp.Features{
			"caller":     {"caller_identification": true},
			"subscriber": {},
			"publisher":  {},
		},
		AuthMethods: []string{"wampcra", "anonymous"},
		AuthID:      "joe",
		AuthExtra:   raw(`{"k":1}`),
		Agent:       "AutobahnJS-20.1.1",
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("got %#v\nwant %#v", d, want)
	}
	if !d.Has(wamp.RoleCaller) || d.Has(wamp.RoleCallee) {
		t.Fatal("Has")
	}
	if !d.Feature(wamp.RoleCaller, wamp.FeatureCallerIdentification) || d.Feature(wamp.RoleCaller, wamp.FeatureCallCanceling) ||
		d.Feature(wamp.RoleCallee, wamp.FeatureCallerIdentification) || d.Feature(wamp.RoleCaller, "x") {
		t.Fatal("Feature")
	}
}

func TestPublishOptionsAdmits(t *testing.T) {
	t.Parallel()
	const pub = 1
	tests := []struct {
		opts     string
		session  uint64
		authid   string
		authrole string
		want     bool
	}{
		{`{}`, 2, "a", "r", true},
		{`{}`, pub, "a", "r", false},
		{`{"exclude_me":false}`, pub, "a", "r", true},
		{`{"exclude":[2]}`, 2, "a", "r", false},
		{`{"exclude":[3]}`, 2, "a", "r", true},
		{`{"eligible":[2]}`, 2, "a", "r", true},
		{`{"eligible":[3]}`, 2, "a", "r", false},
		{`{"eligible":[]}`, 2, "a", "r", false},
		{`{"exclude_authid":["a"]}`, 2, "a", "r", false},
		{`{"exclude_authrole":["r"]}`, 2, "a", "r", false},
		{`{"eligible_authid":["b"]}`, 2, "a", "r", false},
		{`{"eligible_authid":["a"],"eligible_authrole":["r"]}`, 2, "a", "r", true},
		{`{"eligible_authid":["a"],"eligible_authrole":["x"]}`, 2, "a", "r", false},
		{`{"eligible":[2],"exclude":[2]}`, 2, "a", "r", false},
	}
	for _, tt := range tests {
		o, err := wamp.ParsePublishOptions(raw(tt.opts))
		if err != nil {
			t.Fatal(err)
		}
		if got := o.Admits(pub, tt.session, tt.authid, tt.authrole); got != tt.want {
			t.Errorf("%s Admits(%d, %q, %q) = %v", tt.opts, tt.session, tt.authid, tt.authrole, got)
		}
	}
}

// The options parsers read dicts from every codec the same way: their
// JSON form.
func TestParseOptionsFromBinaryCodecs(t *testing.T) {
	t.Parallel()
	for _, c := range v2Codecs {
		m, err := c.Decode(wire(t, c, `[16,1,{"acknowledge":true,"exclude":[5],"exclude_me":false},"t"]`))
		if err != nil {
			t.Fatal(err)
		}
		o, err := wamp.ParsePublishOptions(m.(*wamp.Publish).Options)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Acknowledge || o.ExcludeMe || !reflect.DeepEqual(o.Exclude, []uint64{5}) {
			t.Fatalf("%s: %+v", c.Subprotocol(), o)
		}
	}
}

func TestDetailsBuilders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  json.RawMessage
		want string
	}{
		{"message", wamp.MessageDetails(`bad "x"`), `{"message":"bad \"x\""}`},
		{"message empty", wamp.MessageDetails(""), `{}`},
		{"welcome", (&wamp.WelcomeDetails{
			Agent: "herald/1.0",
			Roles: map[string][]string{
				wamp.RoleDealer: {wamp.FeatureCallerIdentification, wamp.FeatureProgressiveCallResults},
				wamp.RoleBroker: {wamp.FeaturePublisherExclusion},
			},
			AuthID: "joe", AuthRole: "user", AuthMethod: wamp.AuthWAMPCRA, AuthProvider: "static",
			AuthExtra: raw(`{"x":1}`),
		}).JSON(), `{"agent":"herald/1.0","roles":{"broker":{"features":{"publisher_exclusion":true}},` +
			`"dealer":{"features":{"caller_identification":true,"progressive_call_results":true}}},` +
			`"authid":"joe","authrole":"user","authmethod":"wampcra","authprovider":"static","authextra":{"x":1}}`},
		{"welcome minimal", (&wamp.WelcomeDetails{Roles: map[string][]string{wamp.RoleBroker: nil}}).JSON(),
			`{"roles":{"broker":{"features":{}}}}`},
		{"event zero", (&wamp.EventDetails{}).JSON(), `{}`},
		{"event", (&wamp.EventDetails{Publisher: 7, PublisherAuthID: "joe", PublisherAuthRole: "user", Topic: "a.b.c"}).JSON(),
			`{"publisher":7,"publisher_authid":"joe","publisher_authrole":"user","topic":"a.b.c"}`},
		{"event topic only", (&wamp.EventDetails{Topic: "acme/é"}).JSON(), `{"topic":"acme/é"}`},
		{"invocation", (&wamp.InvocationDetails{Caller: 3, CallerAuthID: "ann", CallerAuthRole: "r", Procedure: "com.p",
			ReceiveProgress: true, Timeout: 1500 * time.Millisecond}).JSON(),
			`{"caller":3,"caller_authid":"ann","caller_authrole":"r","procedure":"com.p","receive_progress":true,"timeout":1500}`},
		{"invocation zero", (&wamp.InvocationDetails{}).JSON(), `{}`},
		{"result", (&wamp.ResultDetails{Progress: true}).JSON(), `{"progress":true}`},
		{"result final", (&wamp.ResultDetails{}).JSON(), `{}`},
		{"cra extra", (&wamp.CRAExtra{Challenge: `{"nonce":"n"}`}).JSON(), `{"challenge":"{\"nonce\":\"n\"}"}`},
		{"cra extra salted", (&wamp.CRAExtra{Challenge: "c", Salt: "s"}).JSON(),
			`{"challenge":"c","salt":"s","iterations":1000,"keylen":32}`},
		{"cra extra salted custom", (&wamp.CRAExtra{Challenge: "c", Salt: "s", Iterations: 10, KeyLen: 16}).JSON(),
			`{"challenge":"c","salt":"s","iterations":10,"keylen":16}`},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
		if !json.Valid(tt.got) {
			t.Errorf("%s: invalid JSON %s", tt.name, tt.got)
		}
	}
}
