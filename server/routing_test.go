package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/heraldws/herald/wamp"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/topic"
)

// oroRoutes are OroPlatform's nine routes, as its BC loader normalises
// them (wildcard: true becomes `P|\*`).
func oroRoutes() []*topic.Route {
	r := func(name, pattern string, req map[string]string) *topic.Route {
		return &topic.Route{Name: name, Pattern: pattern, Callback: name, Requirements: req}
	}
	return []*topic.Route{
		r("oro_sync.ping", "oro/ping", nil),
		r("oro_sync.data_update", "oro/data/update", nil),
		r("oro_sync.maintenance", "oro/maintenance", nil),
		r("oro_email.event", "oro/email_event/{user_id}/{organization_id}", map[string]string{"user_id": `\d+`, "organization_id": `\d+|\*`}),
		r("oro_entity_config.attribute_import", "oro/attribute_import/{user_id}/{config_model_id}", map[string]string{"user_id": `\d+`, "config_model_id": `\d+`}),
		r("oro_imap.sync_fail", "oro/imap_sync_fail/{user_id}", map[string]string{"user_id": `\d+|\*`}),
		r("oro_message_queue.message_queue_heartbeat", "oro/message_queue_heartbeat", nil),
		r("oro_reminder.remind", "oro/reminder_remind/{user_id}", map[string]string{"user_id": `\d+`}),
		r("oro_user.outdated_user_page", "oro/outdated_user_page", nil),
	}
}

func newRouter(t testing.TB, routes ...*topic.Route) *topic.Router {
	t.Helper()
	r, err := topic.NewRouter(routes, topic.Options{})
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r
}

// testAuthenticator trusts headers, standing in for tickets: X-Test-User
// is the user id, X-Test-Backend marks a backend connection.
var testAuthenticator = AuthenticatorFunc(func(r *http.Request, _ string) (Identity, error) {
	if r.Header.Get("X-Test-Refuse") != "" {
		return Identity{}, errors.New("refused by the test authenticator")
	}
	id := Identity{Anonymous: true, Backend: r.Header.Get("X-Test-Backend") != ""}
	if user := r.Header.Get("X-Test-User"); user != "" {
		id = Identity{UserID: user, Username: "user" + user, Roles: []string{"ROLE_USER"}}
	}
	return id, nil
})

// dialAs connects with extra request headers.
func dialAs(t testing.TB, addr string, headers ...string) *peer {
	t.Helper()
	req := strings.TrimSuffix(gosRequest(addr, "wamp"), "\r\n")
	for _, h := range headers {
		req += h + "\r\n"
	}
	return dialRequest(t, addr, req+"\r\n")
}

func user(id string) string { return "X-Test-User: " + id }

func TestOroRoutesThroughRealConnections(t *testing.T) {
	ts := startServer(t, Config{
		Router:        newRouter(t, oroRoutes()...),
		Authenticator: testAuthenticator,
		Handlers:      map[string]Binding{"oro_sync.ping": {Handler: Ping{Interval: 30 * time.Millisecond}}},
	})
	backend := dialAs(t, ts.addr, "X-Test-Backend: 1")

	t.Run("secured accepts the user of the channel", func(t *testing.T) {
		u5 := dialAs(t, ts.addr, user("5"))
		u5.subscribe("oro/email_event/5/7")
		u5.sync()
		backend.send(`[7,"oro/email_event/5/7",{"hasNewEmail":true}]`)
		backend.sync()
		if got := u5.sync(); len(got) != 1 || got[0] != eventFrame("oro/email_event/5/7", `{"hasNewEmail":true}`) {
			t.Fatalf("user 5 got %q", got)
		}
	})
	t.Run("secured refuses another user and anonymous", func(t *testing.T) {
		for _, p := range []*peer{dialAs(t, ts.addr, user("6")), dial(t, ts.addr)} {
			p.subscribe("oro/reminder_remind/5")
			if got := p.sync(); len(got) != 1 || got[0] != `You are not allowed to subscribe on topic "oro/reminder_remind/5".` {
				t.Fatalf("got %q, want Oro's refusal text", got)
			}
			backend.send(`[7,"oro/reminder_remind/5","secret"]`)
			backend.sync()
			p.expectNothing()
		}
		if n := ts.hub.count("oro/reminder_remind/5"); n != 0 {
			t.Fatalf("%d subscribers left on the refused topic", n)
		}
	})
	t.Run("sync_fail allows the wildcard channel", func(t *testing.T) {
		anon := dial(t, ts.addr)
		anon.subscribe("oro/imap_sync_fail/*")
		anon.subscribe("oro/imap_sync_fail/5")
		if got := anon.sync(); len(got) != 1 || !strings.Contains(got[0], `"oro/imap_sync_fail/5"`) {
			t.Fatalf("got %q, want one refusal for the user channel", got)
		}
		backend.send(`[7,"oro/imap_sync_fail/*",{"username":"a","host":"h"}]`)
		backend.sync()
		if got := anon.sync(); len(got) != 1 {
			t.Fatalf("wildcard subscriber got %q", got)
		}
	})
	t.Run("broadcast topics relay with exclude and eligible", func(t *testing.T) {
		a, b := dial(t, ts.addr), dial(t, ts.addr)
		a.subscribe("oro/data/update")
		b.subscribe("oro/data/update")
		a.sync()
		b.sync()
		backend.send(fmt.Sprintf(`[7,"oro/data/update",[{"username":"u","tagname":"t"}],[%q],[]]`, a.session))
		backend.sync()
		a.expectNothing()
		if got := b.sync(); len(got) != 1 {
			t.Fatalf("b got %q", got)
		}
	})
	t.Run("ping broadcasts while subscribed and ignores publications", func(t *testing.T) {
		p := dial(t, ts.addr)
		p.subscribe("oro/ping")
		p.send(`[7,"oro/ping","not relayed"]`)
		for range 3 {
			p.expectText(eventFrame("oro/ping", `"Connection keep alive"`))
		}
		p.send(`[6,"oro/ping"]`)
		p.sync()
		waitFor(t, "the ping timer to stop", func() bool {
			ts.timers.mu.Lock()
			defer ts.timers.mu.Unlock()
			return len(ts.timers.running) == 0
		})
	})
}

func TestUnknownTopicPolicies(t *testing.T) {
	routes := func() *topic.Router {
		return newRouter(t, &topic.Route{Name: "acme.chat", Pattern: "acme/chat/{room}", Callback: "acme.chat"})
	}
	handlers := map[string]Binding{"acme.chat": {Handler: Broadcast{}}}
	t.Run("close", func(t *testing.T) {
		ts := startServer(t, Config{Router: routes(), Handlers: handlers})
		for _, msg := range []string{`[5,"acme/chats/1"]`, `[7,"nope","x"]`, `[2,"c","nope"]`} {
			p := dial(t, ts.addr)
			p.send(msg)
			p.expectClose(ws.CloseInvalidPayload)
		}
	})
	t.Run("error", func(t *testing.T) {
		ts := startServer(t, Config{Router: routes(), Handlers: handlers, UnknownTopic: UnknownError})
		p := dial(t, ts.addr)
		p.subscribe("acme/chats/1")
		p.expectText(`[4,"acme/chats/1","acme/chats/1","No route matches \"acme/chats/1\".",{"code":404}]`)
		p.send(`[2,7,"nope"]`)
		p.expectText(`[4,7,"nope","No route matches \"nope\".",{"code":404}]`)
		if ts.hub.count("acme/chats/1") != 0 {
			t.Fatal("an unknown topic was subscribed")
		}
		p.subscribe("acme/chat/1")
		p.send(`[7,"acme/chat/1","routed"]`)
		p.expectText(eventFrame("acme/chat/1", `"routed"`))
	})
	t.Run("allow", func(t *testing.T) {
		ts := startServer(t, Config{Router: routes(), Handlers: handlers, UnknownTopic: UnknownAllow})
		p := dial(t, ts.addr)
		p.subscribe("anything/goes")
		p.send(`[7,"anything/goes","open"]`)
		p.expectText(eventFrame("anything/goes", `"open"`))
	})
}

func TestUnmappedCallbacksAreAStartupError(t *testing.T) {
	r := newRouter(t,
		&topic.Route{Name: "a", Pattern: "a", Callback: "acme.topic", Source: topic.Source{File: "routing.yml", Line: 1}},
		&topic.Route{Name: "b", Pattern: "b", Callback: "acme.topic", Source: topic.Source{File: "routing.yml", Line: 5}},
		&topic.Route{Name: "c", Pattern: "c", Callback: "acme.rpc", Source: topic.Source{File: "rpc.yml", Line: 2}},
		&topic.Route{Name: "d", Pattern: "oro/ping", Callback: "oro_sync.ping"},
	)
	_, err := New(Config{Router: r, Logger: discardLogger()})
	if err == nil {
		t.Fatal("New accepted unmapped callbacks")
	}
	for _, want := range []string{`"acme.rpc", used by rpc.yml:2: route "c"`, `"acme.topic", used by routing.yml:1: route "a", routing.yml:5: route "b"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "oro_sync.ping") {
		t.Errorf("error names Oro's callback, which is mapped by default: %v", err)
	}
}

func TestAccessPolicies(t *testing.T) {
	ts := startServer(t, Config{
		Router: newRouter(t,
			&topic.Route{Name: "news", Pattern: "acme/news", Callback: "acme.news"},
			&topic.Route{Name: "members", Pattern: "acme/members", Callback: "acme.members"},
			&topic.Route{Name: "closed", Pattern: "acme/closed", Callback: "acme.closed"},
		),
		Authenticator: testAuthenticator,
		Handlers: map[string]Binding{
			"acme.news":    {Handler: Broadcast{}, Policy: Policy{Publish: Backend}},
			"acme.members": {Handler: Broadcast{}, Policy: Policy{Subscribe: Authenticated}},
			"acme.closed":  {Handler: Broadcast{}, Policy: Policy{Subscribe: Nobody, Publish: Nobody}},
		},
	})
	anon, member, backend := dial(t, ts.addr), dialAs(t, ts.addr, user("9")), dialAs(t, ts.addr, "X-Test-Backend: 1")

	anon.subscribe("acme/news")
	anon.send(`[7,"acme/news","from a browser"]`)
	anon.expectText(`[4,"acme/news","acme/news","You are not authorized to publish to \"acme/news\": backend only.",{"code":401}]`)
	backend.send(`[7,"acme/news","from the backend"]`)
	backend.sync()
	anon.expectText(eventFrame("acme/news", `"from the backend"`))

	anon.subscribe("acme/members")
	anon.expectText(`[4,"acme/members","acme/members","You are not authorized to subscribe to \"acme/members\": authenticated only.",{"code":401}]`)
	member.subscribe("acme/members")
	member.send(`[7,"acme/members","hello members"]`)
	member.expectText(eventFrame("acme/members", `"hello members"`))

	for _, p := range []*peer{anon, member, backend} {
		p.subscribe("acme/closed")
		if got := p.sync(); len(got) != 1 || !strings.Contains(got[0], "nobody only") {
			t.Fatalf("got %q, want a refusal", got)
		}
	}
	// A refused authentication, Oro's way (the default): WELCOME, the
	// Symfony response dump holding 403, then CLOSE.
	p := dialAs(t, ts.addr, "X-Test-Refuse: 1")
	op, frame := p.next()
	if op != ws.OpText || !strings.HasPrefix(string(frame), "HTTP/1.0 200 OK\r\nCache-Control: no-cache, private\r\nDate:          ") || !strings.HasSuffix(string(frame), "GMT\r\n\r\n403") {
		t.Fatalf("refusal frame %q", frame)
	}
	p.expectClose(ws.CloseNormal)
	// A refused client that publishes at once, in the same write as its
	// upgrade request, publishes nothing.
	watcher := dial(t, ts.addr)
	watcher.subscribe("acme/news")
	watcher.sync()
	var key [4]byte
	pipelined := strings.Replace(gosRequest(ts.addr, "wamp"), "\r\n\r\n", "\r\nX-Test-Refuse: 1\r\nX-Test-Backend: 1\r\n\r\n", 1) +
		string(ws.AppendMaskedFrame(nil, ws.OpText, []byte(`[7,"acme/news","smuggled"]`), key))
	refused := connectRaw(t, ts.addr, pipelined)
	for {
		op, payload := refused.next()
		if op == ws.OpText && strings.HasSuffix(string(payload), "\r\n\r\n403") {
			break
		}
	}
	refused.expectClose(ws.CloseNormal)
	watcher.expectNothing()
	if got := metricValue(t, ts, `herald_handshake_failures_total{reason="auth"}`); got != "2" {
		t.Fatalf("auth failures metric %q, want 2", got)
	}
}

// rpcHandler answers calls by procedure parameter, for the RPC tests.
type rpcHandler struct{}

func (rpcHandler) OnCall(_ context.Context, s Session, t *Topic, c *CallEvent) (wamp.Payload, error) {
	switch t.Params["method"] {
	case "echo":
		return wamp.PayloadOfV1(c.Params()), nil
	case "answer":
		return wamp.PayloadOfV1(json.RawMessage(`42`)), nil
	case "whoami":
		b, err := json.Marshal(map[string]any{"session": s.ID(), "route": t.RouteName()})
		return wamp.PayloadOfV1(b), err
	case "nothing":
		return wamp.PayloadOfV1(json.RawMessage(`null`)), nil
	case "forbidden":
		return wamp.Payload{}, &Denial{Code: 403, Reason: "not for you"}
	}
	return wamp.Payload{}, errors.New("boom")
}

func TestRPC(t *testing.T) {
	ts := startServer(t, Config{
		Router: newRouter(t,
			&topic.Route{Name: "acme.rpc", Pattern: "acme/rpc/{method}", Callback: "acme.rpc"},
			&topic.Route{Name: "acme.topic", Pattern: "acme/topic", Callback: "acme.topic"},
		),
		Handlers: map[string]Binding{"acme.rpc": {Handler: rpcHandler{}}, "acme.topic": {Handler: Broadcast{}}},
	})
	p := dial(t, ts.addr)
	cases := []struct{ call, want string }{
		{`[2,"1","acme/rpc/echo",{"a":1}]`, `[3,"1",{"a":1}]`},
		{`[2,"2","acme/rpc/echo",1,2]`, `[3,"2",[1,2]]`},
		{`[2,"3","acme/rpc/echo"]`, `[3,"3",[]]`},
		{`[2,4,"acme/rpc/answer"]`, `[3,4,[42]]`},
		{`[2,"5","acme/rpc/whoami"]`, fmt.Sprintf(`[3,"5",{"route":"acme.rpc","session":%q}]`, p.session)},
		{`[2,"6","acme/rpc/nothing"]`, `[4,"6","acme/rpc/nothing","RPC Error",{"code":500}]`},
		{`[2,"7","acme/rpc/forbidden"]`, `[4,"7","acme/rpc/forbidden","not for you",{"code":403}]`},
		{`[2,"8","acme/rpc/other"]`, `[4,"8","acme/rpc/other","boom",{"code":500}]`},
		{`[2,"9","acme/topic"]`, `[4,"9","acme/topic","A RPC handler for the \"acme.topic\" route has not been registered.",{"code":404}]`},
	}
	for _, c := range cases {
		p.send(c.call)
		p.expectText(c.want)
	}
}

// recordingHandler records unsubscriptions with the count at that moment.
type recordingHandler struct {
	Broadcast
	mu     sync.Mutex
	counts []int
}

func (h *recordingHandler) OnUnsubscribe(_ context.Context, _ Session, t *Topic) {
	h.mu.Lock()
	h.counts = append(h.counts, t.Subscribers())
	h.mu.Unlock()
}

func TestUnsubscribeHandlerOnDisconnect(t *testing.T) {
	h := &recordingHandler{}
	ts := startServer(t, Config{
		Router:   newRouter(t, &topic.Route{Name: "r", Pattern: "acme/{x}", Callback: "acme"}),
		Handlers: map[string]Binding{"acme": {Handler: h}},
	})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.subscribe("acme/1")
	a.subscribe("acme/2")
	b.subscribe("acme/1")
	a.sync()
	b.sync()
	a.conn.Close()
	waitFor(t, "two OnUnsubscribe calls", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.counts) == 2
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts[0]+h.counts[1] != 1 {
		t.Fatalf("counts at unsubscribe %v, want 1 (acme/1, b left) and 0 (acme/2)", h.counts)
	}
}

func TestPush(t *testing.T) {
	ts := startServer(t, Config{
		Router: newRouter(t,
			&topic.Route{Name: "news", Pattern: "acme/news", Callback: "acme.news"},
			&topic.Route{Name: "ping", Pattern: "oro/ping", Callback: "oro_sync.ping"},
			&topic.Route{Name: "closed", Pattern: "acme/closed", Callback: "acme.closed"},
		),
		Handlers: map[string]Binding{"acme.news": {Handler: Broadcast{}}, "acme.closed": {Handler: Deny{}}},
	})
	p := dial(t, ts.addr)
	p.subscribe("acme/news")
	p.sync()
	ctx := context.Background()
	if err := ts.Push(ctx, "acme/news", &PushEvent{Payload: wamp.PayloadOfV1(json.RawMessage(`{"pushed":1}`)), Provider: "amqp"}); err != nil {
		t.Fatalf("Push: %v", err)
	}
	p.expectText(eventFrame("acme/news", `{"pushed":1}`))
	if err := ts.Push(ctx, "acme/nope", &PushEvent{Payload: wamp.PayloadOfV1(json.RawMessage(`1`)), Provider: "amqp"}); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("Push to an unknown topic: %v, want ErrNoRoute", err)
	}
	if err := ts.Push(ctx, "oro/ping", &PushEvent{Payload: wamp.PayloadOfV1(json.RawMessage(`1`)), Provider: "amqp"}); err == nil || !strings.Contains(err.Error(), "does not accept pushes") {
		t.Fatalf("Push to ping: %v", err)
	}
	var d *Denial
	if err := ts.Push(ctx, "acme/closed", &PushEvent{Payload: wamp.PayloadOfV1(json.RawMessage(`1`)), Provider: "amqp"}); !errors.As(err, &d) {
		t.Fatalf("Push to a deny route: %v, want a Denial", err)
	}
}

// oldCallHandler has OnCall with the signature of an older herald.
type oldCallHandler struct{ Broadcast }

func (oldCallHandler) OnCall(context.Context, Session, *Topic, json.RawMessage) (json.RawMessage, error) {
	return nil, nil
}

// A handler whose OnCall (or any handler method) has the wrong signature
// is refused at start-up, instead of being ignored.
func TestHandlerWithAWrongSignatureIsRefused(t *testing.T) {
	_, err := New(Config{Logger: discardLogger(), Handlers: map[string]Binding{"acme.rpc": {Handler: oldCallHandler{}}}})
	if err == nil || !strings.Contains(err.Error(), `handler binding "acme.rpc": server.oldCallHandler has a method OnCall`) ||
		!strings.Contains(err.Error(), "*server.CallEvent") {
		t.Fatalf("New: %v", err)
	}
}
