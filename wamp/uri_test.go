package wamp_test

import (
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/wamp/crsign"

	nw "github.com/gammazero/nexus/v3/wamp"

	"github.com/heraldws/herald/wamp"
)

func TestValidURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri           string
		loose, strict bool
	}{
		{"com.myapp.topic1", true, true},
		{"a", true, true},
		{"com.my_app.v2", true, true},
		{"acme/channel/42", true, false}, // herald v1 topics
		{"acme/chat/lobby", true, false},
		{"http://example.com/simple", true, false},
		{"Com.MyApp", true, false},
		{"é.ü", true, false},
		{"com.my-app", true, false},
		{"", false, false},
		{".", false, false},
		{"com.", false, false},
		{".com", false, false},
		{"com..topic", false, false},
		{"com.my app", false, false},
		{"com.my\tapp", false, false},
		{"com.my\napp", false, false},
		{"com.my\u00a0app", false, false}, // Unicode white space
		{"com.my\u2003app", false, false},
		{"com.my\x1capp", false, false}, // Python's \s
		{"com.topic#1", false, false},
		{"http://example.com/simple#foo", false, false},
	}
	for _, tt := range tests {
		if got := wamp.ValidURI(tt.uri, false); got != tt.loose {
			t.Errorf("ValidURI(%q, loose) = %v", tt.uri, got)
		}
		if got := wamp.ValidURI(tt.uri, true); got != tt.strict {
			t.Errorf("ValidURI(%q, strict) = %v", tt.uri, got)
		}
		if got := wamp.ValidPattern(tt.uri, wamp.MatchPolicyExact, false); got != tt.loose {
			t.Errorf("ValidPattern(%q, exact, loose) = %v", tt.uri, got)
		}
	}
}

func TestValidPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern                string
		prefixLoose, wildLoose bool
		prefixStrict, wildStr  bool
	}{
		{"com.myapp", true, true, true, true},
		{"com.myapp.", true, true, true, true},
		{"", true, true, true, true},
		{"com..update", false, true, false, true},
		{".com", false, true, false, true},
		{"..", false, true, false, true},
		{"acme/chat/", true, true, false, false},
		{"acme/chat/.", true, true, false, false},
		{"com.my app.", false, false, false, false},
		{"com.#.x", false, false, false, false},
		{"Com..x", false, true, false, false},
	}
	for _, tt := range tests {
		if got := wamp.ValidPattern(tt.pattern, wamp.MatchPolicyPrefix, false); got != tt.prefixLoose {
			t.Errorf("ValidPattern(%q, prefix, loose) = %v", tt.pattern, got)
		}
		if got := wamp.ValidPattern(tt.pattern, wamp.MatchPolicyWildcard, false); got != tt.wildLoose {
			t.Errorf("ValidPattern(%q, wildcard, loose) = %v", tt.pattern, got)
		}
		if got := wamp.ValidPattern(tt.pattern, wamp.MatchPolicyPrefix, true); got != tt.prefixStrict {
			t.Errorf("ValidPattern(%q, prefix, strict) = %v", tt.pattern, got)
		}
		if got := wamp.ValidPattern(tt.pattern, wamp.MatchPolicyWildcard, true); got != tt.wildStr {
			t.Errorf("ValidPattern(%q, wildcard, strict) = %v", tt.pattern, got)
		}
	}
}

// The URI rules agree with the spec's regular expressions (as nexus
// applies them) on ASCII input, where Go's \s and Python's differ only
// by \v and \x1c-\x1f.
func TestURIRulesAgreeWithSpecRegexps(t *testing.T) {
	t.Parallel()
	const ws = `[\s\v\x1c-\x1f]`
	loose := regexp.MustCompile(`^([^` + ws[1:len(ws)-1] + `\.#]+\.)*([^` + ws[1:len(ws)-1] + `\.#]+)$`)
	looseLast := regexp.MustCompile(`^([^` + ws[1:len(ws)-1] + `\.#]+\.)*([^` + ws[1:len(ws)-1] + `\.#]*)$`)
	looseEmpty := regexp.MustCompile(`^(([^` + ws[1:len(ws)-1] + `\.#]+\.)|\.)*([^` + ws[1:len(ws)-1] + `\.#]+)?$`)
	strict := regexp.MustCompile(`^([0-9a-z_]+\.)*([0-9a-z_]+)$`)
	strictLast := regexp.MustCompile(`^([0-9a-z_]+\.)*([0-9a-z_]*)$`)
	strictEmpty := regexp.MustCompile(`^(([0-9a-z_]+\.)|\.)*([0-9a-z_]+)?$`)
	alphabet := []string{"a", "Z", "0", "_", ".", "#", " ", "\t", "\v", "\x1d", "/", "-"}
	var gen func(prefix string, n int)
	gen = func(s string, n int) {
		checks := []struct {
			name string
			got  bool
			re   *regexp.Regexp
		}{
			{"loose exact", wamp.ValidPattern(s, wamp.MatchPolicyExact, false), loose},
			{"loose prefix", wamp.ValidPattern(s, wamp.MatchPolicyPrefix, false), looseLast},
			{"loose wildcard", wamp.ValidPattern(s, wamp.MatchPolicyWildcard, false), looseEmpty},
			{"strict exact", wamp.ValidPattern(s, wamp.MatchPolicyExact, true), strict},
			{"strict prefix", wamp.ValidPattern(s, wamp.MatchPolicyPrefix, true), strictLast},
			{"strict wildcard", wamp.ValidPattern(s, wamp.MatchPolicyWildcard, true), strictEmpty},
		}
		for _, c := range checks {
			if c.got != c.re.MatchString(s) {
				t.Errorf("%s %q: got %v, regexp %v", c.name, s, c.got, !c.got)
			}
		}
		if n == 0 {
			return
		}
		for _, a := range alphabet {
			gen(s+a, n-1)
		}
	}
	gen("", 4)
}

func TestMatchWildcard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, uri string
		want         bool
	}{
		{"com..update", "com.a.update", true},
		{"com..update", "com.b.update", true},
		{"com..update", "com.a.b.update", false},
		{"com..update", "com.a.delete", false},
		{"com..update", "com..update", true},
		{"..", "a.b.c", true},
		{"..", "a.b", false},
		{"", "a", true},
		{"", "a.b", false},
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b.cd", false},
		{"acme/chat/.", "acme/chat/.x", true},
		{"a.", "a.b", true},
		{"a.", "a", false},
	}
	for _, tt := range tests {
		if got := wamp.MatchWildcard(tt.pattern, tt.uri); got != tt.want {
			t.Errorf("MatchWildcard(%q, %q) = %v", tt.pattern, tt.uri, got)
		}
		if got := wamp.MatchPolicyWildcard.Match(tt.pattern, tt.uri); got != tt.want {
			t.Errorf("MatchPolicyWildcard.Match(%q, %q) = %v", tt.pattern, tt.uri, got)
		}
		// nexus's matcher, as a second opinion.
		if got := nw.URI(tt.uri).WildcardMatch(nw.URI(tt.pattern)); got != tt.want {
			t.Errorf("nexus WildcardMatch(%q, %q) = %v: test table is wrong", tt.pattern, tt.uri, got)
		}
	}
}

func TestMatchPolicyMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p            wamp.MatchPolicy
		pattern, uri string
		want         bool
	}{
		{wamp.MatchPolicyExact, "a.b", "a.b", true},
		{wamp.MatchPolicyExact, "a.b", "a.b.c", false},
		{wamp.MatchPolicyPrefix, "com.myapp.topic.emerg", "com.myapp.topic.emergency.11", true},
		{wamp.MatchPolicyPrefix, "acme/chat/", "acme/chat/42", true},
		{wamp.MatchPolicyPrefix, "acme/chat/", "acme/chats", false},
		{wamp.MatchPolicyPrefix, "", "anything", true},
		{wamp.MatchPolicyWildcard, "a..c", "a.b.c", true},
	}
	for _, tt := range tests {
		if got := tt.p.Match(tt.pattern, tt.uri); got != tt.want {
			t.Errorf("%v.Match(%q, %q) = %v", tt.p, tt.pattern, tt.uri, got)
		}
	}
}

func TestReservedURI(t *testing.T) {
	t.Parallel()
	for uri, want := range map[string]bool{"wamp": true, "wamp.session.list": true, "wamp.error.x": true,
		"wampy.x": false, "com.wamp": false, "": false, "acme/wamp": false} {
		if got := wamp.ReservedURI(uri); got != want {
			t.Errorf("ReservedURI(%q) = %v", uri, got)
		}
	}
}

func TestPayloadV1Mapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    wamp.Payload
		want string
	}{
		{"first arg", wamp.Payload{Args: raw(`[{"msg":"hi"},2]`)}, `{"msg":"hi"}`},
		{"first arg with space", wamp.Payload{Args: raw(` [ "x" , 2 ] `)}, `"x"`},
		{"single scalar", wamp.Payload{Args: raw(`[5]`)}, `5`},
		{"nested list", wamp.Payload{Args: raw(`[[1,[2]],3]`)}, `[1,[2]]`},
		{"args win over kwargs", wamp.Payload{Args: raw(`[null]`), Kwargs: raw(`{"a":1}`)}, `null`},
		{"kwargs", wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{"a":1}`)}, `{"a":1}`},
		{"kwargs alone", wamp.Payload{Kwargs: raw(`{"a":1}`)}, `{"a":1}`},
		{"empty kwargs", wamp.Payload{Args: raw(`[]`), Kwargs: raw(`{ }`)}, `null`},
		{"nothing", wamp.Payload{}, `null`},
		{"empty args", wamp.Payload{Args: raw(`[ ]`)}, `null`},
	}
	for _, tt := range tests {
		if got := tt.p.V1Event(); string(got) != tt.want {
			t.Errorf("%s: V1Event() = %s, want %s", tt.name, got, tt.want)
		}
	}
	for event, want := range map[string]string{`{"msg":"hi"}`: `[{"msg":"hi"}]`, `5`: `[5]`, ``: `[null]`, `[1,2]`: `[[1,2]]`} {
		p := wamp.PayloadOfV1(raw(event))
		if string(p.Args) != want || p.Kwargs != nil {
			t.Errorf("PayloadOfV1(%s) = %+v, want Args %s", event, p, want)
		}
		// v1 → v2 → v1 is the identity.
		if event != "" && string(p.V1Event()) != event {
			t.Errorf("PayloadOfV1(%s).V1Event() = %s", event, p.V1Event())
		}
	}
	if !(wamp.Payload{}).IsZero() || (wamp.Payload{Args: raw(`[]`)}).IsZero() {
		t.Error("IsZero")
	}
	for _, tt := range []struct {
		p    wamp.Payload
		want string // "" when the payload is not a single argument
	}{
		{wamp.Payload{Args: raw(`[5]`)}, `5`},
		{wamp.Payload{Args: raw(` [ {"a":[1,2]} ] `)}, `{"a":[1,2]}`},
		{wamp.Payload{Args: raw(`[5]`), Kwargs: raw(`{ }`)}, `5`},
		{wamp.Payload{Args: raw(`[5,6]`)}, ``},
		{wamp.Payload{Args: raw(`[5]`), Kwargs: raw(`{"a":1}`)}, ``},
		{wamp.Payload{Args: raw(`[]`)}, ``},
		{wamp.Payload{Kwargs: raw(`{"a":1}`)}, ``},
		{wamp.Payload{}, ``},
	} {
		got, ok := tt.p.SingleArg()
		if ok != (tt.want != "") || string(got) != tt.want {
			t.Errorf("SingleArg(%+v) = %s, %v; want %q", tt.p, got, ok, tt.want)
		}
	}
}

func TestCRA(t *testing.T) {
	t.Parallel()
	// autobahn's test vector for derive_key, confirmed with Python's
	// hashlib.pbkdf2_hmac.
	key, err := wamp.CRADeriveKey("L3L1YUE8Txlw", "salt123", 1000, 32)
	if err != nil || key != "qzcdsr9uu/L5hnss3kjNTRe490ETgA70ZBaB5rvnJ5Y=" {
		t.Fatalf("CRADeriveKey = %q, %v", key, err)
	}
	if k, _ := wamp.CRADeriveKey("L3L1YUE8Txlw", "salt123", 0, 0); k != key {
		t.Fatalf("defaults give %q", k)
	}
	if k, _ := wamp.CRADeriveKey("secret", "pepper", 100, 16); k != "Q2MiYs0cNb0AXqdnFynWnA==" {
		t.Fatalf("CRADeriveKey(100, 16) = %q", k)
	}
	if _, err := wamp.CRADeriveKey("s", "s", -1, 32); err == nil {
		t.Fatal("negative iterations accepted")
	}
	const challenge = `{"authid":"joe","nonce":"x"}`
	tests := []struct{ key, want string }{
		{key, "11EkTT8CLs2f/5W55pxqa/+a9MDxWazD+TN4+FpAHOc="}, // Python hmac
		{"secret123", "LgEqPHjol91G0I1awTz+LYutZf4V4YvusKcHlOiEeB4="},
	}
	for _, tt := range tests {
		sig := wamp.CRASign([]byte(tt.key), challenge)
		if sig != tt.want {
			t.Errorf("CRASign(%q) = %q, want %q", tt.key, sig, tt.want)
		}
		if !wamp.CRAVerify([]byte(tt.key), challenge, sig) {
			t.Error("CRAVerify refused a good signature")
		}
		if wamp.CRAVerify([]byte(tt.key), challenge+" ", sig) || wamp.CRAVerify([]byte(tt.key+"x"), challenge, sig) ||
			wamp.CRAVerify([]byte(tt.key), challenge, "not base64!") {
			t.Error("CRAVerify accepted a bad signature")
		}
		// nexus's client signs the same way.
		if nx := crsign.SignChallenge(challenge, []byte(tt.key)); nx != sig {
			t.Errorf("nexus signs %q", nx)
		}
	}

	// A full salted exchange with nexus's client code as the peer.
	extra := (&wamp.CRAExtra{Challenge: challenge, Salt: "salt123"}).JSON()
	var dict map[string]any
	if err := json.Unmarshal(extra, &dict); err != nil {
		t.Fatal(err)
	}
	answer := crsign.RespondChallenge("L3L1YUE8Txlw", &nw.Challenge{AuthMethod: "wampcra", Extra: dict}, sha256.New)
	if !wamp.CRAVerify([]byte(key), challenge, answer) {
		t.Errorf("nexus's answer %q does not verify", answer)
	}

	c := wamp.CRAChallenge{AuthID: "joe", AuthRole: "user", AuthProvider: "static", Nonce: "bm9uY2U=",
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600)), Session: 42}
	want := `{"authid":"joe","authrole":"user","authmethod":"wampcra","authprovider":"static","nonce":"bm9uY2U=",` +
		`"timestamp":"2026-01-02T02:04:05.006Z","session":42}`
	if got := c.String(); got != want || !json.Valid([]byte(got)) {
		t.Errorf("CRAChallenge.String() =\n %s\nwant %s", got, want)
	}
}
