package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/wamp"
)

type event struct {
	topic string
	event string
}

// recorder collects what the client's callbacks receive.
type recorder struct {
	events chan event
	texts  chan string
}

func newRecorder() *recorder {
	return &recorder{events: make(chan event, 100), texts: make(chan string, 100)}
}

func (r *recorder) options() client.Options {
	return client.Options{
		OnEvent: func(topic string, ev json.RawMessage) { r.events <- event{topic, string(ev)} },
		OnText:  func(data []byte) { r.texts <- string(data) },
	}
}

func (r *recorder) nextEvent(t *testing.T) event {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return event{}
}

func (r *recorder) noEvent(t *testing.T) {
	t.Helper()
	select {
	case e := <-r.events:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
}

func dial(t *testing.T, f *fakeServer, opts client.Options) *client.Client {
	t.Helper()
	c, err := client.Dial(t.Context(), f.url("/ws"), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func received(t *testing.T, f *fakeServer) wamp.Message {
	t.Helper()
	select {
	case m := <-f.received:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("the server received nothing")
	}
	return nil
}

// recv receives from ch or fails the test after 5 s.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func waitDone(t *testing.T, c *client.Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not end")
	}
}

func TestDialWelcome(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{Header: http.Header{"Origin": {"https://example.com"}}})
	if c.SessionID() != fakeSessionID || c.ServerIdent() != "x" || c.Protocol() != "wamp" {
		t.Fatalf("session %q ident %q protocol %q", c.SessionID(), c.ServerIdent(), c.Protocol())
	}
	req := recv(t, f.requests, "the request")
	if req.URL.Path != "/ws" || req.Header.Get("Origin") != "https://example.com" || req.Header.Get("Sec-WebSocket-Protocol") != "wamp" {
		t.Fatalf("request %s, headers %v", req.URL, req.Header)
	}
	if code, _ := c.CloseStatus(); code != 0 {
		t.Fatalf("CloseStatus before any close = %d", code)
	}
}

func TestDialNoProtocol(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{Protocols: []string{}})
	if c.Protocol() != "" {
		t.Fatalf("Protocol = %q", c.Protocol())
	}
	if req := recv(t, f.requests, "the request"); req.Header.Get("Sec-WebSocket-Protocol") != "" {
		t.Fatalf("offered %q", req.Header.Get("Sec-WebSocket-Protocol"))
	}
}

func TestDialPingBeforeWelcome(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c, err := client.Dial(t.Context(), f.url("/?first=ping"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The server turns the client's PONG into an EVENT ["pong","early"],
	// which arrives after Dial: nothing to check here but that Dial
	// succeeded and the session is usable.
	if _, err := c.Call(t.Context(), "echo", 1); err != nil {
		t.Fatal(err)
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	for _, tt := range []struct{ name, url, want string }{
		{"event first", f.url("/?first=event"), "not WELCOME"},
		{"text first", f.url("/?first=text"), "not WELCOME"},
		{"binary first", f.url("/?first=binary"), "not WELCOME"},
		{"close first", f.url("/?first=close"), "1008"},
		{"bad scheme", strings.Replace(f.url("/"), "ws", "http", 1), "scheme"},
		{"no host", "ws:///x", "no host"},
		{"bad URL", "ws://[::1", "client:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.Dial(t.Context(), tt.url, client.Options{})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestDialHandshakeRefused(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	_, err := client.Dial(t.Context(), f.url("/?status=403"), client.Options{})
	var he *client.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("got %v, want a *HandshakeError", err)
	}
	if he.StatusCode != 403 || !strings.Contains(he.Body, "Forbidden origin") {
		t.Fatalf("got %+v", he)
	}
}

func TestDialTimeout(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	start := time.Now()
	_, err := client.Dial(t.Context(), f.url("/?first=none"), client.Options{DialTimeout: 100 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("DialTimeout was not applied")
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := client.Dial(ctx, f.url("/?first=none"), client.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestDialTLS(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, true)
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	rec := newRecorder()
	opts := rec.options()
	opts.TLSConfig = &tls.Config{RootCAs: pool}
	c := dial(t, f, opts)
	if !strings.HasPrefix(f.url("/"), "wss://") || c.SessionID() != fakeSessionID {
		t.Fatalf("url %s session %q", f.url("/"), c.SessionID())
	}
	if err := c.Publish("t", 1); err != nil {
		t.Fatal(err)
	}
	if e := rec.nextEvent(t); e != (event{"t", "1"}) {
		t.Fatalf("event %+v", e)
	}
	// Without the test CA the certificate is refused.
	if _, err := client.Dial(t.Context(), f.url("/"), client.Options{}); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("Dial with an unknown CA: %v", err)
	}
}

func TestSubscribePublishEvent(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	rec := newRecorder()
	c := dial(t, f, rec.options())
	if err := c.Prefix("acme", "http://acme.example/"); err != nil {
		t.Fatal(err)
	}
	if m := received(t, f); !reflect.DeepEqual(m, &wamp.Prefix{Prefix: "acme", URI: "http://acme.example/"}) {
		t.Fatalf("server received %#v", m)
	}
	if err := c.Subscribe("acme/channel"); err != nil {
		t.Fatal(err)
	}
	if m := received(t, f); !reflect.DeepEqual(m, &wamp.Subscribe{Topic: "acme/channel"}) {
		t.Fatalf("server received %#v", m)
	}

	if err := c.Publish("acme/channel", map[string]any{"msg": "hi", "n": 1}); err != nil {
		t.Fatal(err)
	}
	if e := rec.nextEvent(t); e.topic != "acme/channel" || e.event != `{"msg":"hi","n":1}` {
		t.Fatalf("event %+v", e)
	}
	received(t, f)
	if err := c.Publish("acme/channel", json.RawMessage(` [1, 2] `)); err != nil {
		t.Fatal(err)
	}
	if e := rec.nextEvent(t); e.event != `[1, 2]` {
		t.Fatalf("raw event %+v", e)
	}
	received(t, f)
	if err := c.Publish("acme/channel", json.RawMessage(`{bad`)); err == nil {
		t.Fatal("invalid json.RawMessage accepted")
	}
	if err := c.Publish("acme/channel", func() {}); err == nil {
		t.Fatal("unencodable event accepted")
	}
	if err := c.Unsubscribe("acme/channel"); err != nil {
		t.Fatal(err)
	}
	if m := received(t, f); !reflect.DeepEqual(m, &wamp.Unsubscribe{Topic: "acme/channel"}) {
		t.Fatalf("server received %#v", m)
	}
}

func TestPublishOptions(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	rec := newRecorder()
	c := dial(t, f, rec.options())
	tests := []struct {
		name    string
		opts    []client.PublishOption
		want    *wamp.Publish
		delived bool
	}{
		{"none", nil, &wamp.Publish{Topic: "t", Event: json.RawMessage(`"e"`)}, true},
		{"exclude me", []client.PublishOption{client.ExcludeMe()},
			&wamp.Publish{Topic: "t", Event: json.RawMessage(`"e"`), ExcludeMe: true}, false},
		{"exclude", []client.PublishOption{client.Exclude("a", "b"), client.Exclude("c")},
			&wamp.Publish{Topic: "t", Event: json.RawMessage(`"e"`), Exclude: []string{"a", "b", "c"}, Eligible: []string{}}, true},
		{"eligible other", []client.PublishOption{client.Eligible("a")},
			&wamp.Publish{Topic: "t", Event: json.RawMessage(`"e"`), Exclude: []string{}, Eligible: []string{"a"}}, false},
		{"eligible me", []client.PublishOption{client.Eligible(fakeSessionID)},
			&wamp.Publish{Topic: "t", Event: json.RawMessage(`"e"`), Exclude: []string{}, Eligible: []string{fakeSessionID}}, true},
		{"exclude me with eligible", []client.PublishOption{client.ExcludeMe(), client.Eligible(fakeSessionID, "b")},
			&wamp.Publish{Topic: "t", Event: json.RawMessage(`"e"`), Exclude: []string{fakeSessionID}, Eligible: []string{fakeSessionID, "b"}}, false},
	}
	for _, tt := range tests {
		if err := c.Publish("t", "e", tt.opts...); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if m := received(t, f); !reflect.DeepEqual(m, tt.want) {
			t.Fatalf("%s: server received %#v, want %#v", tt.name, m, tt.want)
		}
		if tt.delived {
			if e := rec.nextEvent(t); e != (event{"t", `"e"`}) {
				t.Fatalf("%s: event %+v", tt.name, e)
			}
		}
	}
	rec.noEvent(t)
}

func TestCall(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	tests := []struct {
		args []any
		want string
	}{
		{[]any{map[string]int{"a": 1}}, `{"a":1}`},
		{[]any{1, 2}, `[1,2]`},
		{nil, `[]`},
		{[]any{"x"}, `["x"]`},
		{[]any{json.RawMessage(`[true]`)}, `[true]`},
	}
	for _, tt := range tests {
		got, err := c.Call(t.Context(), "echo", tt.args...)
		if err != nil || string(got) != tt.want {
			t.Fatalf("Call(echo, %v) = %s, %v; want %s", tt.args, got, err, tt.want)
		}
	}
	// Call ids are unique strings.
	ids := map[string]bool{}
	for range len(tests) {
		call := recv(t, f.received, "a CALL").(*wamp.Call)
		var id string
		if err := json.Unmarshal(call.CallID, &id); err != nil || id == "" || ids[id] {
			t.Fatalf("call id %s is not a fresh string", call.CallID)
		}
		ids[id] = true
	}
}

func TestCallConcurrent(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			got, err := c.Call(t.Context(), "echo", i, "x")
			if want := fmt.Sprintf(`[%d,"x"]`, i); err != nil || string(got) != want {
				t.Errorf("call %d = %s, %v; want %s", i, got, err, want)
			}
		})
	}
	wg.Wait()
}

func TestCallError(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	_, err := c.Call(t.Context(), "fail", 7)
	var ce *client.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *CallError", err)
	}
	if ce.URI != "fail" || ce.Description != "RPC Error" || string(ce.Details) != `{"code":500,"params":[7]}` {
		t.Fatalf("got %+v", ce)
	}
	if !strings.Contains(ce.Error(), "RPC Error") {
		t.Fatalf("Error() = %q", ce.Error())
	}
	_, err = c.Call(t.Context(), "fail-nodetails")
	if !errors.As(err, &ce) || ce.Details != nil || ce.Description != "Unable to find that command" {
		t.Fatalf("got %v (%+v)", err, ce)
	}
	if _, err := c.Call(t.Context(), "echo", func() {}); err == nil {
		t.Fatal("unencodable argument accepted")
	}
}

func TestCallContext(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Call(ctx, "never"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := c.Call(ctx, "echo"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// The session still works.
	if got, err := c.Call(t.Context(), "echo", 1); err != nil || string(got) != "[1]" {
		t.Fatalf("Call after a timeout = %s, %v", got, err)
	}
}

func TestCloseStatus1007(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	if err := c.WriteRaw(ws.OpText, []byte(`{"not":"a list"}`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	if code, _ := c.CloseStatus(); code != ws.CloseInvalidPayload {
		t.Fatalf("CloseStatus = %d, want 1007", code)
	}
	// The client echoed the code.
	if code := recv(t, f.closes, "the client's CLOSE"); code != ws.CloseInvalidPayload {
		t.Fatalf("client answered with %d", code)
	}
	if err := c.Subscribe("t"); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Subscribe after close: %v", err)
	}
	if _, err := c.Call(t.Context(), "echo"); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Call after close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after the server closed: %v", err)
	}
}

func TestPendingCallFailsOnClose(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), "never")
		errc <- err
	}()
	received(t, f) // the CALL is pending on the server
	if _, err := c.Call(t.Context(), "unrouted"); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("the call that made the server close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, client.ErrClosed) || !strings.Contains(err.Error(), "1007") {
			t.Fatalf("pending call: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pending call did not fail")
	}
}

func TestServerCloseCodes(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	for _, tt := range []struct {
		topic  string
		code   uint16
		answer uint16
	}{
		{"close:1000", 1000, 1000},
		{"close:1013", 1013, 1013},
		{"close:4001", 4001, 4001},
		{"emptyclose", ws.CloseNoStatus, ws.CloseNoStatus},
		{"badclose", 999, ws.CloseProtocolError},
	} {
		c := dial(t, f, client.Options{})
		if err := c.Subscribe(tt.topic); err != nil {
			t.Fatal(err)
		}
		waitDone(t, c)
		if code, _ := c.CloseStatus(); code != tt.code {
			t.Fatalf("%s: CloseStatus = %d, want %d", tt.topic, code, tt.code)
		}
		recv(t, f.received, "the SUBSCRIBE")
		if code := recv(t, f.closes, "the client's CLOSE"); code != tt.answer {
			t.Fatalf("%s: client answered %d, want %d", tt.topic, code, tt.answer)
		}
	}
}

func TestCloseHandshake(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v with a prompt server", d)
	}
	select {
	case code := <-f.closes:
		if code != ws.CloseNormal {
			t.Fatalf("server received CLOSE %d", code)
		}
	default:
		t.Fatal("the server received no CLOSE")
	}
	waitDone(t, c)
	if code, _ := c.CloseStatus(); code != ws.CloseNormal {
		t.Fatalf("CloseStatus = %d, want the server's echo 1000", code)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Publish("t", 1); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if err := c.WriteRaw(ws.OpText, []byte("x")); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("WriteRaw after Close: %v", err)
	}
}

func TestCloseUnresponsiveServer(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c, err := client.Dial(t.Context(), f.url("/?deaf=1"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waits two seconds for the server's CLOSE, then gives up.
	if d := time.Since(start); d < 1900*time.Millisecond || d > 4*time.Second {
		t.Fatalf("Close took %v", d)
	}
	waitDone(t, c)
	if code, _ := c.CloseStatus(); code != 0 {
		t.Fatalf("CloseStatus = %d with no CLOSE from the server", code)
	}
}

func TestPingAnswered(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	rec := newRecorder()
	c := dial(t, f, rec.options())
	if err := c.Subscribe("ping:hello"); err != nil {
		t.Fatal(err)
	}
	if e := rec.nextEvent(t); e != (event{"pong", `"hello"`}) {
		t.Fatalf("event %+v, want the server's report of our PONG", e)
	}
	// Client PINGs get the server's PONG, which the client ignores.
	if err := c.WriteRaw(ws.OpPing, []byte("p")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Call(t.Context(), "echo", 1); err != nil || string(got) != "[1]" {
		t.Fatalf("Call after a ping: %s %v", got, err)
	}
}

func TestOnText(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	rec := newRecorder()
	c := dial(t, f, rec.options())
	if err := c.Subscribe("raw"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-rec.texts:
		if s != `You are not allowed to subscribe on topic "raw".` {
			t.Fatalf("OnText got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnText not called")
	}
	if err := c.Subscribe("welcome"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, rec.texts, "OnText"); s != `[0,"again",1,"x"]` {
		t.Fatalf("OnText got %q", s)
	}
}

func TestMaxMessageSize(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	rec := newRecorder()
	opts := rec.options()
	opts.MaxMessageSize = 1000
	c := dial(t, f, opts)
	if err := c.Subscribe("big:900"); err != nil {
		t.Fatal(err)
	}
	if e := rec.nextEvent(t); len(e.event) != 902 {
		t.Fatalf("event of %d bytes", len(e.event))
	}
	if err := c.Subscribe("big:2000"); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	rec.noEvent(t)
	received(t, f)
	received(t, f)
	select {
	case code := <-f.closes:
		if code != ws.CloseMessageTooBig {
			t.Fatalf("client closed with %d, want 1009", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client sent no CLOSE")
	}
}

func TestWriteRawBytes(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	// An unmasked frame from a client is a protocol error.
	if err := c.WriteRawBytes(ws.AppendFrame(nil, ws.OpText, []byte(`[5,"t"]`))); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	if code, _ := c.CloseStatus(); code != ws.CloseProtocolError {
		t.Fatalf("CloseStatus = %d, want 1002", code)
	}
}

func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, false)
	c := dial(t, f, client.Options{})
	if err := c.WriteRaw(ws.OpText, []byte("[5,\"\xff\"]")); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	if code, _ := c.CloseStatus(); code != ws.CloseInvalidPayload {
		t.Fatalf("CloseStatus = %d, want 1007", code)
	}
}
