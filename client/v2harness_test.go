package client_test

// The WAMP v2 peers of the v2 tests: the nexus router in process
// (github.com/gammazero/nexus/v3, a test-only import), with a log of
// what it receives, and a scripted fake router for what nexus will not
// do on cue.

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"
	nw "github.com/gammazero/nexus/v3/wamp"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

var v2Protocols = []string{client.ProtocolV2JSON, client.ProtocolV2MsgPack, client.ProtocolV2CBOR}

// nexusRouter is a nexus router served over WebSocket on loopback.
type nexusRouter struct {
	url  string
	log  *msgLog
	stop func() // closes the router and its port; idempotent
}

// startNexus serves a nexus router with realm1 (anonymous, disclosure
// allowed, session kill enabled; unless realms has one of its own) and
// the extra realms, until the test ends. ln, when not nil, is the
// listener to serve on.
func startNexus(t *testing.T, ln net.Listener, realms ...*router.RealmConfig) *nexusRouter {
	t.Helper()
	cfg := &router.Config{RealmConfigs: realms}
	if !slices.ContainsFunc(realms, func(r *router.RealmConfig) bool { return r.URI == "realm1" }) {
		cfg.RealmConfigs = append([]*router.RealmConfig{{
			URI:            "realm1",
			AnonymousAuth:  true,
			AllowDisclose:  true,
			EnableMetaKill: true,
		}}, realms...)
	}
	r, err := router.NewRouter(cfg, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatalf("nexus router: %v", err)
	}
	l := &msgLog{}
	hs := httptest.NewUnstartedServer(router.NewWebsocketServer(recordingRouter{r, l}))
	if ln != nil {
		hs.Listener.Close()
		hs.Listener = ln
	}
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			r.Close() // ends every session and its connection
			hs.Close()
		})
	}
	t.Cleanup(stop)
	return &nexusRouter{url: "ws://" + hs.Listener.Addr().String() + "/", log: l, stop: stop}
}

// msgLog records the messages a router received.
type msgLog struct {
	mu   sync.Mutex
	msgs []nw.Message
}

func (l *msgLog) add(m nw.Message) {
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	l.mu.Unlock()
}

// find returns the first message received that satisfies ok, waiting up
// to 5 s for it.
func (l *msgLog) find(t *testing.T, what string, ok func(nw.Message) bool) nw.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		for _, m := range l.msgs {
			if ok(m) {
				l.mu.Unlock()
				return m
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the router received no %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recordingRouter wraps every peer so that what it sends is logged.
type recordingRouter struct {
	router.Router
	log *msgLog
}

func (rr recordingRouter) AttachClient(p nw.Peer, details nw.Dict) error {
	return rr.Router.AttachClient(newRecordingPeer(p, rr.log), details)
}

type recordingPeer struct {
	nw.Peer
	out    chan nw.Message
	closed chan struct{}
	once   sync.Once
}

func newRecordingPeer(p nw.Peer, l *msgLog) *recordingPeer {
	rp := &recordingPeer{Peer: p, out: make(chan nw.Message), closed: make(chan struct{})}
	go func() {
		defer close(rp.out)
		for m := range p.Recv() {
			l.add(m)
			select {
			case rp.out <- m:
			case <-rp.closed:
				return
			}
		}
	}()
	return rp
}

func (rp *recordingPeer) Recv() <-chan nw.Message { return rp.out }

func (rp *recordingPeer) Close() {
	rp.once.Do(func() { close(rp.closed) })
	rp.Peer.Close()
}

// keyStore is a nexus KeyStore of test users.
type keyStore map[string]testUser

type testUser struct {
	ticket, secret, role string
	salt                 string
	iterations, keyLen   int
}

func (k keyStore) AuthKey(authid, method string) ([]byte, error) {
	u, ok := k[authid]
	if !ok {
		return nil, errors.New("no such user")
	}
	switch method {
	case "ticket":
		return []byte(u.ticket), nil
	case "wampcra":
		if u.salt == "" {
			return []byte(u.secret), nil
		}
		// The salted key, derived here independently of package wamp.
		dk, err := pbkdf2.Key(sha256.New, u.secret, []byte(u.salt), u.iterations, u.keyLen)
		if err != nil {
			return nil, err
		}
		return []byte(base64.StdEncoding.EncodeToString(dk)), nil
	}
	return nil, errors.New("no key")
}

func (k keyStore) PasswordInfo(authid string) (salt string, keylen int, iterations int) {
	u := k[authid]
	return u.salt, u.keyLen, u.iterations
}

func (k keyStore) AuthRole(authid string) (string, error) {
	u, ok := k[authid]
	if !ok {
		return "", errors.New("no such user")
	}
	return u.role, nil
}

func (k keyStore) Provider() string { return "test" }

var _ auth.KeyStore = keyStore{}

// dialV2 dials url with opts (Protocol defaults to wamp.2.json) and
// closes the client when the test ends.
func dialV2(t *testing.T, url string, opts client.Options) *client.Client {
	t.Helper()
	if opts.Protocol == "" {
		opts.Protocol = client.ProtocolV2JSON
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", opts.Protocol, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// evRec records v2 events.
type evRec struct{ ch chan client.Event }

func newEvRec() *evRec { return &evRec{ch: make(chan client.Event, 100)} }

func (r *evRec) options(protocol string) client.Options {
	return client.Options{Protocol: protocol, OnEventV2: func(ev client.Event) { r.ch <- ev }}
}

func (r *evRec) next(t *testing.T) client.Event {
	t.Helper()
	return recv(t, r.ch, "an event")
}

// labels drains events up to the one whose first argument is the string
// marker and returns the first arguments of those before it.
func (r *evRec) labels(t *testing.T, marker string) []string {
	t.Helper()
	var got []string
	for {
		ev := r.next(t)
		var args []string
		if err := json.Unmarshal(ev.Payload.Args, &args); err != nil || len(args) == 0 {
			t.Fatalf("event payload %s: want a string argument", ev.Payload.Args)
		}
		if args[0] == marker {
			return got
		}
		got = append(got, args[0])
	}
}

// sameJSON fails the test unless got and want hold the same JSON value
// (key order, spacing and number formatting aside).
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %q is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want %q is not JSON: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fakeV2 is a scripted WAMP v2 JSON router: it answers the upgrade,
// welcomes the HELLO as session 7, then runs the test's script.
type fakeV2 struct {
	t      *testing.T
	srv    *httptest.Server
	script func(p *fakeV2Peer)
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newFakeV2(t *testing.T, script func(p *fakeV2Peer)) *fakeV2 {
	f := &fakeV2{t: t, script: script}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *fakeV2) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/" }

func (f *fakeV2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		f.t.Errorf("hijack: %v", err)
		return
	}
	f.wg.Add(1)
	defer f.wg.Done()
	f.mu.Lock()
	f.conns = append(f.conns, conn)
	f.mu.Unlock()
	defer conn.Close()
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + ws.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n" +
		"Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
	if _, err := conn.Write([]byte(resp)); err != nil {
		return
	}
	p := &fakeV2Peer{t: f.t, conn: conn, rd: ws.NewReader(brw.Reader)}
	p.rd.Masked = true
	if _, ok := p.next().(*wamp.Hello); !ok {
		f.t.Errorf("fake router: the first message is not HELLO")
		return
	}
	p.send(&wamp.Welcome{Session: 7, Details: json.RawMessage(`{"agent":"fake/1","roles":{"broker":{},"dealer":{}}}`)})
	f.script(p)
}

// fakeV2Peer is the client's connection as the fake router sees it.
type fakeV2Peer struct {
	t    *testing.T
	conn net.Conn
	rd   *ws.Reader
}

func (p *fakeV2Peer) send(m wamp.Message) {
	b, err := wamp.V2JSON{}.Append(nil, m)
	if err != nil {
		p.t.Errorf("fake router: %v", err)
		return
	}
	_, _ = p.conn.Write(ws.AppendFrame(nil, ws.OpText, b))
}

// next returns the next WAMP message, or a *closeFrame for a CLOSE, or nil
// when the connection ends or 5 s pass.
func (p *fakeV2Peer) next() wamp.Message {
	_ = p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		op, b, err := p.rd.ReadMessage()
		if err != nil {
			return nil
		}
		switch op {
		case ws.OpClose:
			code, _, _ := ws.ParseClosePayload(b)
			return &closeFrame{code}
		case ws.OpText:
			m, err := wamp.V2JSON{}.Decode(bytes.Clone(b))
			if err != nil {
				p.t.Errorf("fake router: %v", err)
				return nil
			}
			return m
		}
	}
}

// closeWS sends a WebSocket CLOSE 1000.
func (p *fakeV2Peer) closeWS() {
	_, _ = p.conn.Write(ws.AppendFrame(nil, ws.OpClose, ws.ClosePayload(ws.CloseNormal, "")))
}

// closeFrame stands for a WebSocket CLOSE in fakeV2Peer.next.
type closeFrame struct{ code uint16 }

func (*closeFrame) Kind() string { return "CLOSE" }
