package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

// v2peer is a raw WAMP v2 client over a peer: it encodes and decodes
// messages with its codec, so tests see exactly what the server sends.
type v2peer struct {
	*peer
	codec   wamp.Codec
	number  uint64
	details map[string]any
	req     uint64
}

// dialV2 connects offering subprotocols (the first must be v2) and checks
// the server chose the first.
func dialV2(t testing.TB, addr, query string, subprotocols ...string) *v2peer {
	t.Helper()
	req := gosRequest(addr, strings.Join(subprotocols, ", "))
	if query != "" {
		req = strings.Replace(req, "GET ws://"+addr+"/ ", "GET /?"+query+" ", 1)
	}
	p := connectRaw(t, addr, req)
	if p.resp.StatusCode != 101 {
		t.Fatalf("handshake status %d", p.resp.StatusCode)
	}
	got := p.resp.Header.Get("Sec-WebSocket-Protocol")
	if got != subprotocols[0] {
		t.Fatalf("server chose subprotocol %q, want %q", got, subprotocols[0])
	}
	codec, ok := wamp.CodecFor(got)
	if !ok {
		t.Fatalf("no codec for %q", got)
	}
	return &v2peer{peer: p, codec: codec}
}

func (p *v2peer) sendMsg(m wamp.Message) {
	p.t.Helper()
	b, err := p.codec.Append(nil, m)
	if err != nil {
		p.t.Fatalf("encoding %s: %v", m.Kind(), err)
	}
	op := byte(ws.OpText)
	if p.codec.Binary() {
		op = ws.OpBinary
	}
	p.sendFrame(op, b)
}

// recv reads the next data message and decodes it.
func (p *v2peer) recv() wamp.Message {
	p.t.Helper()
	for {
		op, data := p.next()
		if op != ws.OpText && op != ws.OpBinary {
			if op == ws.OpClose {
				p.t.Fatalf("connection closed, want a message")
			}
			continue
		}
		if want := p.codec.Binary(); want != (op == ws.OpBinary) {
			p.t.Fatalf("opcode %d for %s", op, p.codec.Subprotocol())
		}
		m, err := p.codec.Decode(data)
		if err != nil {
			p.t.Fatalf("decoding %q: %v", data, err)
		}
		return m
	}
}

// expectClosed reads until the server's CLOSE.
func (p *v2peer) expectClosed() {
	p.t.Helper()
	for {
		op, _, err := p.tryNext(5 * time.Second)
		if err != nil || op == ws.OpClose {
			return
		}
	}
}

func (p *v2peer) nextReq() uint64 { p.req++; return p.req }

func helloDetails(extra string) json.RawMessage {
	d := `{"roles":{"publisher":{},"subscriber":{},"caller":{},"callee":{"features":{"progressive_call_results":true,"call_canceling":true}}}`
	if extra != "" {
		d += "," + extra
	}
	return json.RawMessage(d + "}")
}

// join sends HELLO and expects WELCOME.
func (p *v2peer) join(realm, extra string) {
	p.t.Helper()
	p.sendMsg(&wamp.Hello{Realm: realm, Details: helloDetails(extra)})
	p.expectWelcome()
}

func (p *v2peer) expectWelcome() {
	p.t.Helper()
	m := p.recv()
	w, ok := m.(*wamp.Welcome)
	if !ok {
		p.t.Fatalf("got %s %+v, want WELCOME", m.Kind(), m)
	}
	p.number = w.Session
	if err := json.Unmarshal(w.Details, &p.details); err != nil {
		p.t.Fatalf("WELCOME details %s: %v", w.Details, err)
	}
}

func (p *v2peer) expectAbort(reason string) *wamp.Abort {
	p.t.Helper()
	m := p.recv()
	a, ok := m.(*wamp.Abort)
	if !ok || a.Reason != reason {
		p.t.Fatalf("got %s %+v, want ABORT %s", m.Kind(), m, reason)
	}
	p.expectClosed()
	return a
}

func (p *v2peer) subscribeV2(topic, options string) uint64 {
	p.t.Helper()
	req := p.nextReq()
	p.sendMsg(&wamp.Subscribe{Request: req, Topic: topic, Options: json.RawMessage(options)})
	m := p.recv()
	s, ok := m.(*wamp.Subscribed)
	if !ok || s.Request != req {
		p.t.Fatalf("got %s %+v, want SUBSCRIBED %d", m.Kind(), m, req)
	}
	return s.Subscription
}

func (p *v2peer) expectEvent() *wamp.Event {
	p.t.Helper()
	m := p.recv()
	e, ok := m.(*wamp.Event)
	if !ok {
		p.t.Fatalf("got %s %+v, want EVENT", m.Kind(), m)
	}
	return e
}

func (p *v2peer) expectError(reqType int, req uint64, uri string) *wamp.Error {
	p.t.Helper()
	m := p.recv()
	e, ok := m.(*wamp.Error)
	if !ok || e.RequestType != reqType || e.Request != req || e.URI != uri {
		p.t.Fatalf("got %s %+v, want ERROR %d %d %s", m.Kind(), m, reqType, req, uri)
	}
	return e
}

// expectNothing checks that no data message waits for p.
func (p *v2peer) expectNothing() {
	p.t.Helper()
	if got := p.sync(); len(got) > 0 {
		p.t.Fatalf("unexpected messages: %q", got)
	}
}

func compactJSON(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	if len(raw) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("JSON %q: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestV2NegotiatesTheClientsFirstChoice(t *testing.T) {
	ts := startServer(t, Config{})
	for _, offer := range [][]string{
		{"wamp.2.json"}, {"wamp.2.msgpack", "wamp.2.json"}, {"wamp.2.cbor", "wamp"}, {"wamp.2.json", "wamp.2.msgpack", "wamp.2.cbor"},
	} {
		p := dialV2(t, ts.addr, "", offer...)
		p.join("realm1", "")
		if p.number == 0 || p.number > wamp.MaxID {
			t.Errorf("%v: session id %d", offer, p.number)
		}
	}
	// "wamp" first, or nothing herald speaks: WAMP v1, as before.
	for _, offer := range []string{"wamp, wamp.2.json", "wamp", "", "mqtt"} {
		p := dialRequest(t, ts.addr, gosRequest(ts.addr, offer))
		want := ""
		if strings.HasPrefix(offer, "wamp") {
			want = "wamp"
		}
		if got := p.resp.Header.Get("Sec-WebSocket-Protocol"); got != want {
			t.Errorf("offer %q: subprotocol %q, want %q", offer, got, want)
		}
	}
}

func TestV2WelcomeAndGoodbye(t *testing.T) {
	ts := startServer(t, Config{ServerIdent: "herald/test"})
	p := dialV2(t, ts.addr, "", "wamp.2.json")
	p.join("realm1", "")
	roles, _ := p.details["roles"].(map[string]any)
	broker, _ := roles["broker"].(map[string]any)
	features, _ := broker["features"].(map[string]any)
	if features["publisher_exclusion"] != true || features["subscriber_blackwhite_listing"] != true || p.details["agent"] != "herald/test" {
		t.Fatalf("WELCOME details %v", p.details)
	}
	if p.details["authmethod"] != "anonymous" || p.details["authrole"] != "anonymous" {
		t.Fatalf("anonymous WELCOME details %v", p.details)
	}
	// The session's two ids are one: the v1 string form names the same
	// integer, and the server knows it by both.
	sess := ts.lookup(ts.ids.forNumber(p.number))
	if sess == nil || sess.Number() != p.number {
		t.Fatalf("no session %d on the server", p.number)
	}
	p.sendMsg(&wamp.Goodbye{Details: json.RawMessage(`{}`), Reason: wamp.URICloseNormal})
	if g, ok := p.recv().(*wamp.Goodbye); !ok || g.Reason != wamp.URIGoodbyeAndOut {
		t.Fatalf("got %+v, want GOODBYE %s", g, wamp.URIGoodbyeAndOut)
	}
	p.expectClosed()
	waitFor(t, "the session to end", func() bool { return ts.lookup(ts.ids.forNumber(p.number)) == nil })
}

func TestV2ProtocolViolationsAbort(t *testing.T) {
	ts := startServer(t, Config{Realms: []string{"realm1", "acme"}})
	for _, c := range []struct {
		name   string
		joined bool
		send   func(p *v2peer)
		reason string
	}{
		{"SUBSCRIBE before HELLO", false, func(p *v2peer) {
			p.sendMsg(&wamp.Subscribe{Request: 1, Topic: "a", Options: json.RawMessage(`{}`)})
		}, wamp.URIProtocolViolation},
		{"unknown realm", false, func(p *v2peer) {
			p.sendMsg(&wamp.Hello{Realm: "nope", Details: helloDetails("")})
		}, wamp.URINoSuchRealm},
		{"HELLO without roles", false, func(p *v2peer) {
			p.send(`[1,"realm1",{}]`)
		}, wamp.URIProtocolViolation},
		{"not JSON", false, func(p *v2peer) { p.send(`[1,"realm1"`) }, wamp.URIProtocolViolation},
		{"HELLO twice", true, func(p *v2peer) {
			p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails("")})
		}, wamp.URIProtocolViolation},
		{"a router's message", true, func(p *v2peer) { p.send(`[36,1,2,{}]`) }, wamp.URIProtocolViolation},
		{"unknown type", true, func(p *v2peer) { p.send(`[99,1]`) }, wamp.URIProtocolViolation},
		{"request id 0", true, func(p *v2peer) { p.send(`[32,0,{},"acme/x"]`) }, wamp.URIProtocolViolation},
		{"AUTHENTICATE unasked", true, func(p *v2peer) { p.send(`[5,"sig",{}]`) }, wamp.URIProtocolViolation},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := dialV2(t, ts.addr, "", "wamp.2.json")
			if c.joined {
				p.join("acme", "")
			}
			c.send(p)
			a := p.expectAbort(c.reason)
			var d map[string]any
			if err := json.Unmarshal(a.Details, &d); err != nil || d["message"] == "" || d["message"] == nil {
				t.Errorf("ABORT details %s: want a message", a.Details)
			}
		})
	}
	t.Run("msgpack garbage", func(t *testing.T) {
		p := dialV2(t, ts.addr, "", "wamp.2.msgpack")
		p.sendFrame(ws.OpBinary, []byte{0xc1, 0x00})
		p.expectAbort(wamp.URIProtocolViolation)
	})
}

// v1 and v2 clients share topics, in both directions and in every v2
// serialization; v2 subscribers of one topic share its subscription id.
func TestV2SharesTopicsWithV1(t *testing.T) {
	ts := startServer(t, Config{})
	v1 := dial(t, ts.addr)
	v1.subscribe("acme/chat")
	v1.sync()
	var v2 []*v2peer
	var subs []uint64
	for _, sp := range []string{"wamp.2.json", "wamp.2.msgpack", "wamp.2.cbor"} {
		p := dialV2(t, ts.addr, "", sp)
		p.join("realm1", "")
		subs = append(subs, p.subscribeV2("acme/chat", `{}`))
		v2 = append(v2, p)
	}
	if subs[0] == 0 || subs[0] != subs[1] || subs[1] != subs[2] {
		t.Fatalf("subscription ids %v: want one, shared", subs)
	}

	v1.send(`[7,"acme/chat",{"text":"from v1"}]`)
	var pubID uint64
	for _, p := range v2 {
		e := p.expectEvent()
		if e.Subscription != subs[0] || compactJSON(t, e.Payload.Args) != `[{"text":"from v1"}]` || len(e.Payload.Kwargs) != 0 {
			t.Fatalf("%s: EVENT %+v args %s", p.codec.Subprotocol(), e, e.Payload.Args)
		}
		if pubID == 0 {
			pubID = e.Publication
		} else if e.Publication != pubID {
			t.Fatalf("publication ids %d and %d for one publication", pubID, e.Publication)
		}
	}
	v1.expectText(eventFrame("acme/chat", `{"text":"from v1"}`)) // v1 publishers are not excluded unless they ask

	// A v2 publication with several arguments and keyword arguments: v1
	// gets the first argument; exclude_me (by default) spares the
	// publisher; acknowledge gets PUBLISHED with the id subscribers see.
	pub := v2[1]
	req := pub.nextReq()
	pub.sendMsg(&wamp.Publish{Request: req, Topic: "acme/chat", Options: json.RawMessage(`{"acknowledge":true}`),
		Payload: wamp.Payload{Args: json.RawMessage(`["hello",2]`), Kwargs: json.RawMessage(`{"lang":"en"}`)}})
	ack, ok := pub.recv().(*wamp.Published)
	if !ok || ack.Request != req || ack.Publication == 0 {
		t.Fatalf("PUBLISHED %+v", ack)
	}
	for _, p := range []*v2peer{v2[0], v2[2]} {
		e := p.expectEvent()
		if e.Publication != ack.Publication || compactJSON(t, e.Payload.Args) != `["hello",2]` || compactJSON(t, e.Payload.Kwargs) != `{"lang":"en"}` {
			t.Fatalf("%s: EVENT %+v", p.codec.Subprotocol(), e)
		}
	}
	v1.expectText(eventFrame("acme/chat", `"hello"`))
	pub.expectNothing()
	// Keyword arguments only: v1 gets them as its event.
	v2[0].sendMsg(&wamp.Publish{Request: v2[0].nextReq(), Topic: "acme/chat", Options: json.RawMessage(`{}`), Payload: wamp.Payload{Kwargs: json.RawMessage(`{"k":1}`)}})
	v1.expectText(eventFrame("acme/chat", `{"k":1}`))

	// UNSUBSCRIBE by id; an unknown id is an ERROR.
	p := v2[2]
	req = p.nextReq()
	p.sendMsg(&wamp.Unsubscribe{Request: req, Subscription: subs[2]})
	for {
		m := p.recv()
		if _, ok := m.(*wamp.Event); ok {
			continue // the kwargs-only publication, sent before
		}
		if u, ok := m.(*wamp.Unsubscribed); !ok || u.Request != req {
			t.Fatalf("got %+v, want UNSUBSCRIBED %d", m, req)
		}
		break
	}
	req = p.nextReq()
	p.sendMsg(&wamp.Unsubscribe{Request: req, Subscription: subs[2]})
	p.expectError(wamp.V2Unsubscribe, req, wamp.URINoSuchSubscription)
}

func TestV2PublishOptions(t *testing.T) {
	ts := identityServer(t)
	alice, bob, anon := dialV2(t, ts.addr, "user=alice&role=ROLE_ADMIN", "wamp.2.json"), dialV2(t, ts.addr, "user=bob&role=ROLE_USER", "wamp.2.msgpack"), dialV2(t, ts.addr, "", "wamp.2.json")
	v1 := dialRequest(t, ts.addr, strings.Replace(gosRequest(ts.addr, "wamp"), "GET ws://"+ts.addr+"/ ", "GET /?user=carol&role=ROLE_USER ", 1))
	v1Number, _ := sessionNumber(v1.session)
	peers := map[string]*v2peer{"alice": alice, "bob": bob, "anon": anon}
	for name, p := range peers {
		p.join("realm1", "")
		p.subscribeV2("acme/news", `{}`)
		if name == "alice" && (p.details["authid"] != "alice" || p.details["authrole"] != "ROLE_ADMIN" || p.details["authmethod"] != "ticket") {
			t.Fatalf("alice's WELCOME details %v", p.details)
		}
	}
	v1.subscribe("acme/news")
	v1.sync()
	id := func(p *v2peer) string { return strconv.FormatUint(p.number, 10) }
	for i, c := range []struct {
		name    string
		options string
		want    string // who gets it, in order alice, anon, bob, carol (v1)
	}{
		{"exclude_me by default", `{}`, "anon bob carol"},
		{"exclude_me false", `{"exclude_me":false}`, "alice anon bob carol"},
		{"exclude", `{"exclude":[` + id(bob) + `]}`, "anon carol"},
		{"exclude a v1 session by its number", fmt.Sprintf(`{"exclude":[%d]}`, v1Number), "anon bob"},
		{"eligible", `{"eligible":[` + id(bob) + `,` + id(anon) + `]}`, "anon bob"},
		{"eligible empty: nobody", `{"eligible":[]}`, ""},
		{"exclude_authid", `{"exclude_authid":["bob"]}`, "anon carol"},
		{"eligible_authid", `{"eligible_authid":["carol"]}`, "carol"},
		{"exclude_authrole", `{"exclude_authrole":["ROLE_USER"]}`, "anon"},
		{"eligible_authrole", `{"eligible_authrole":["anonymous","ROLE_USER"]}`, "anon bob carol"},
	} {
		alice.sendMsg(&wamp.Publish{Request: alice.nextReq(), Topic: "acme/news", Options: json.RawMessage(c.options), Payload: wamp.Payload{Args: json.RawMessage(`[` + strconv.Itoa(i) + `]`)}})
		var got []string
		for _, name := range []string{"alice", "anon", "bob"} {
			if frames := peers[name].sync(); len(frames) > 0 {
				got = append(got, name)
			}
		}
		if frames := v1.sync(); len(frames) > 0 {
			got = append(got, "carol")
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: delivered to %q, want %q", c.name, strings.Join(got, " "), c.want)
		}
	}

	// disclose_me names the publisher to v2 subscribers.
	bob.sendMsg(&wamp.Publish{Request: bob.nextReq(), Topic: "acme/news", Options: json.RawMessage(`{"disclose_me":true}`), Payload: wamp.Payload{Args: json.RawMessage(`["hi"]`)}})
	e := alice.expectEvent()
	if got := compactJSON(t, e.Details); got != fmt.Sprintf(`{"publisher":%d,"publisher_authid":"bob","publisher_authrole":"ROLE_USER"}`, bob.number) {
		t.Fatalf("EVENT details %s", got)
	}
	anon.expectEvent()
	v1.expectText(eventFrame("acme/news", `"hi"`))

	// Bad options and URIs are errors when acknowledge is asked, else
	// dropped.
	req := anon.nextReq()
	anon.send(fmt.Sprintf(`[16,%d,{"acknowledge":true,"exclude":"x"},"acme/news",[1]]`, req))
	anon.expectError(wamp.V2Publish, req, wamp.URIInvalidArgument)
	req = anon.nextReq()
	anon.send(fmt.Sprintf(`[16,%d,{"acknowledge":true},"wamp.session.on_join",[1]]`, req))
	anon.expectError(wamp.V2Publish, req, wamp.URIInvalidURI)
	anon.send(fmt.Sprintf(`[16,%d,{},"acme..news",[1]]`, anon.nextReq()))
	anon.expectNothing()
}

func TestV2TicketAndWAMPCRA(t *testing.T) {
	key := []byte("jwt-secret")
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ts := startServer(t, Config{
		Authenticator: &TicketAuth{JWT: &auth.JWTVerifier{Algorithms: []string{"HS256"}, HMACSecret: key}},
		CRAUsers: []CRAUser{
			{AuthID: "backend", Secret: "s3cret", Role: "ROLE_BACKEND"},
			{AuthID: "salty", Secret: "pepper", Salt: "salt123", Iterations: 100, KeyLen: 16},
		},
	})
	exp := time.Now().Add(time.Hour).Unix()

	// Without credentials and without anonymous access: ABORT, saying
	// which methods would do.
	p := dialV2(t, ts.addr, "", "wamp.2.json")
	p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails(`"authmethods":["anonymous"]`)})
	if a := p.expectAbort(wamp.URINotAuthorized); !strings.Contains(string(a.Details), "ticket") {
		t.Errorf("ABORT details %s: want the methods this server takes", a.Details)
	}

	// ticket: a JWT as the ticket.
	p = dialV2(t, ts.addr, "", "wamp.2.msgpack")
	p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails(`"authmethods":["ticket"],"authid":"ignored"`)})
	if c, ok := p.recv().(*wamp.Challenge); !ok || c.AuthMethod != "ticket" {
		t.Fatalf("got %+v, want CHALLENGE ticket", c)
	}
	p.sendMsg(&wamp.Authenticate{Signature: sign(jwt.MapClaims{"sub": "42", "username": "zed", "roles": []string{"ROLE_USER"}, "exp": exp}), Extra: json.RawMessage(`{}`)})
	p.expectWelcome()
	if p.details["authmethod"] != "ticket" || p.details["authrole"] != "ROLE_USER" {
		t.Fatalf("WELCOME details %v", p.details)
	}
	// A bad ticket.
	p = dialV2(t, ts.addr, "", "wamp.2.json")
	p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails(`"authmethods":["ticket"]`)})
	p.recv()
	p.sendMsg(&wamp.Authenticate{Signature: "not-a-token", Extra: json.RawMessage(`{}`)})
	p.expectAbort(wamp.URIAuthenticationFailed)

	// wampcra, plain and salted; the client's order of methods counts.
	for _, u := range []struct{ authid, secret, role string }{{"backend", "s3cret", "ROLE_BACKEND"}, {"salty", "pepper", "user"}} {
		p = dialV2(t, ts.addr, "", "wamp.2.json")
		p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails(`"authmethods":["wampcra","ticket"],"authid":"` + u.authid + `"`)})
		c, ok := p.recv().(*wamp.Challenge)
		if !ok || c.AuthMethod != "wampcra" {
			t.Fatalf("got %+v, want CHALLENGE wampcra", c)
		}
		var extra struct {
			Challenge  string `json:"challenge"`
			Salt       string `json:"salt"`
			Iterations int    `json:"iterations"`
			KeyLen     int    `json:"keylen"`
		}
		if err := json.Unmarshal(c.Extra, &extra); err != nil {
			t.Fatal(err)
		}
		secret := u.secret
		if extra.Salt != "" {
			var err error
			if secret, err = wamp.CRADeriveKey(u.secret, extra.Salt, extra.Iterations, extra.KeyLen); err != nil {
				t.Fatal(err)
			}
		}
		p.sendMsg(&wamp.Authenticate{Signature: wamp.CRASign([]byte(secret), extra.Challenge), Extra: json.RawMessage(`{}`)})
		p.expectWelcome()
		if p.details["authid"] != u.authid || p.details["authrole"] != u.role || p.details["authmethod"] != "wampcra" {
			t.Fatalf("WELCOME details %v", p.details)
		}
	}
	// A wrong signature.
	p = dialV2(t, ts.addr, "", "wamp.2.json")
	p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails(`"authmethods":["wampcra"],"authid":"backend"`)})
	p.recv()
	p.sendMsg(&wamp.Authenticate{Signature: wamp.CRASign([]byte("wrong"), "x"), Extra: json.RawMessage(`{}`)})
	p.expectAbort(wamp.URIAuthenticationFailed)
	// An unknown authid offers no wampcra: no method left.
	p = dialV2(t, ts.addr, "", "wamp.2.json")
	p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails(`"authmethods":["wampcra"],"authid":"mallory"`)})
	p.expectAbort(wamp.URINotAuthorized)

	// A token in the upgrade request's URL authenticates the session
	// before HELLO.
	p = dialV2(t, ts.addr, "token="+sign(jwt.MapClaims{"sub": "7", "username": "ann", "exp": exp}), "wamp.2.json")
	p.join("realm1", "")
	if p.details["authid"] != "ann" {
		t.Fatalf("WELCOME details %v", p.details)
	}
}

func TestV2CallWithoutHandler(t *testing.T) {
	ts := startServer(t, Config{})
	p := dialV2(t, ts.addr, "", "wamp.2.json")
	p.join("realm1", "")
	req := p.nextReq()
	p.sendMsg(&wamp.Call{Request: req, Procedure: "acme.add", Options: json.RawMessage(`{}`), Payload: wamp.Payload{Args: json.RawMessage(`[1,2]`)}})
	p.expectError(wamp.V2Call, req, wamp.URINoSuchProcedure)
}

func TestV2ShutdownSaysGoodbye(t *testing.T) {
	ts := startServer(t, Config{})
	p := joinedV2(t, ts, "wamp.2.msgpack")
	waiting := dialV2(t, ts.addr, "", "wamp.2.json") // no HELLO yet: nothing to say goodbye to
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(t.Context()) }()
	if g, ok := p.recv().(*wamp.Goodbye); !ok || g.Reason != wamp.URISystemShutdown {
		t.Fatalf("got %+v, want GOODBYE %s", g, wamp.URISystemShutdown)
	}
	p.expectClosed()
	if op, _, err := waiting.tryNext(5 * time.Second); err != nil || op != ws.OpClose {
		t.Fatalf("a session before HELLO: got opcode %d (%v), want a CLOSE", op, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// An Oro ticket authenticates a v2 session in AUTHENTICATE, as it does a
// v1 connection in its URL; a v2 client without credentials is not
// refused at the upgrade (it may authenticate in the session), even under
// AuthFailureHTTP, and the policies then see the user.
func TestV2OroTicket(t *testing.T) {
	ts := ticketServer(t, Config{AuthFailure: AuthFailureHTTP}, &TicketAuth{})
	p := dialV2(t, ts.addr, "", "wamp.2.json")
	p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails(`"authmethods":["ticket"]`)})
	if c, ok := p.recv().(*wamp.Challenge); !ok || c.AuthMethod != "ticket" {
		t.Fatalf("got %+v, want CHALLENGE ticket", c)
	}
	p.sendMsg(&wamp.Authenticate{Signature: auth.MintTicket(testSecret, "jane", "$2y$13$janeHash", time.Now()), Extra: json.RawMessage(`{}`)})
	p.expectWelcome()
	if p.details["authid"] != "jane" || p.details["authmethod"] != "ticket" {
		t.Fatalf("WELCOME details %v", p.details)
	}
	// oro/reminder_remind/{user_id} is jane's own topic only.
	p.subscribeV2("oro/reminder_remind/5", `{}`) // jane is user 5
	req := p.nextReq()
	p.sendMsg(&wamp.Subscribe{Request: req, Topic: "oro/reminder_remind/999", Options: json.RawMessage(`{}`)})
	p.expectError(wamp.V2Subscribe, req, wamp.URINotAuthorized)

	// Without a ticket, anonymous is not allowed here.
	p = dialV2(t, ts.addr, "", "wamp.2.json")
	p.join2Abort(wamp.URINotAuthorized)
	// A v1 client without a ticket is still refused at the upgrade.
	if c := connectRaw(t, ts.addr, gosRequest(ts.addr, "wamp")); c.resp.StatusCode != 403 {
		t.Fatalf("v1 without a ticket: %d, want 403", c.resp.StatusCode)
	}
}

func (p *v2peer) join2Abort(reason string) {
	p.t.Helper()
	p.sendMsg(&wamp.Hello{Realm: "realm1", Details: helloDetails("")})
	p.expectAbort(reason)
}
