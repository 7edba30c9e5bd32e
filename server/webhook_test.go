package server

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"github.com/heraldws/herald/wamp"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/topic"
)

// webhookApp is the application side of a webhook: it checks signatures,
// records every request and answers by topic.
type webhookApp struct {
	t       *testing.T
	secret  string
	release chan struct{} // closes to let blocked requests answer

	mu       sync.Mutex
	requests []WebhookRequest
}

func (a *webhookApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !hmac.Equal([]byte(r.Header.Get(WebhookSignatureHeader)), []byte(Sign(a.secret, body))) {
		a.t.Errorf("bad signature %q", r.Header.Get(WebhookSignatureHeader))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var req WebhookRequest
	if err := json.Unmarshal(body, &req); err != nil {
		a.t.Errorf("request body %s: %v", body, err)
	}
	a.mu.Lock()
	a.requests = append(a.requests, req)
	a.mu.Unlock()
	if r.Header.Get("X-Herald-Event") != req.Event {
		a.t.Errorf("X-Herald-Event %q for event %q", r.Header.Get("X-Herald-Event"), req.Event)
	}
	answer := func(v string) { w.Header().Set("Content-Type", "application/json"); io.WriteString(w, v) }
	switch req.Params["room"] {
	case "private":
		answer(`{"allow":false,"reason":"members only"}`)
	case "loud":
		answer(`{"allow":true,"payload":{"rewritten":true}}`)
	case "slow":
		<-a.release
		answer(`{}`)
	case "broken":
		http.Error(w, "oops", http.StatusInternalServerError)
	case "rpc":
		var params []int
		json.Unmarshal(req.Payload, &params)
		if len(params) == 2 {
			answer(`{"result":` + itoa(params[0]+params[1]) + `}`)
		} else {
			answer(`{"error":{"description":"want two numbers","code":400,"details":{"got":` + string(req.Payload) + `}}}`)
		}
	default:
		answer(``)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (a *webhookApp) events() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.requests {
		out = append(out, r.Event+" "+r.Topic)
	}
	return out
}

func startWebhookServer(t *testing.T, timeout time.Duration) (*testServer, *webhookApp) {
	app := &webhookApp{t: t, secret: "s3cret", release: make(chan struct{})}
	hs := httptest.NewServer(app)
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		select {
		case <-app.release:
		default:
			close(app.release)
		}
	})
	hook, err := NewWebhook(WebhookConfig{URL: hs.URL, Secret: app.secret, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{
		Router:        newRouter(t, &topic.Route{Name: "acme.room", Pattern: "acme/room/{room}", Callback: "acme.room"}),
		Handlers:      map[string]Binding{"acme.room": {Handler: hook}},
		Authenticator: testAuthenticator,
	})
	return ts, app
}

func TestWebhookHandler(t *testing.T) {
	ts, app := startWebhookServer(t, 5*time.Second)
	p := dialAs(t, ts.addr, user("12"))

	// Allowed subscription and publication; the request names the session,
	// identity, route and parameters.
	p.subscribe("acme/room/lobby")
	p.send(`[7,"acme/room/lobby",{"msg":"hi"}]`)
	p.expectText(eventFrame("acme/room/lobby", `{"msg":"hi"}`))
	app.mu.Lock()
	first := app.requests[0]
	app.mu.Unlock()
	if first.Event != "subscribe" || first.Session != p.session || first.Route != "acme.room" ||
		first.Params["room"] != "lobby" || first.Identity == nil || first.Identity.UserID != "12" || first.Timestamp == 0 {
		t.Fatalf("first request %+v", first)
	}

	// Refused subscription: a CALLERROR with the reason, and no
	// subscription.
	p.subscribe("acme/room/private")
	p.expectText(`[4,"acme/room/private","acme/room/private","members only",{"code":403}]`)
	if ts.hub.count("acme/room/private") != 0 {
		t.Fatal("refused subscription was kept")
	}

	// Replaced payload.
	p.subscribe("acme/room/loud")
	p.send(`[7,"acme/room/loud","original"]`)
	p.expectText(eventFrame("acme/room/loud", `{"rewritten":true}`))
	if err := ts.Push(context.Background(), "acme/room/loud", &PushEvent{Payload: wamp.PayloadOfV1(json.RawMessage(`"pushed"`)), Provider: "amqp"}); err != nil {
		t.Fatal(err)
	}
	p.expectText(eventFrame("acme/room/loud", `{"rewritten":true}`))

	// A failing application denies with an error.
	p.send(`[7,"acme/room/broken","x"]`)
	p.expectText(`[4,"acme/room/broken","acme/room/broken","webhook failed: the application answered 500 Internal Server Error",{"code":500}]`)

	// RPC through the webhook.
	p.send(`[2,"c1","acme/room/rpc",2,3]`)
	p.expectText(`[3,"c1",[5]]`)
	p.send(`[2,"c2","acme/room/rpc","x"]`)
	p.expectText(`[4,"c2","acme/room/rpc","want two numbers",{"got":["x"]}]`)

	// Unsubscribing (here by disconnecting) is reported too.
	p.conn.Close()
	waitFor(t, "the unsubscribe events", func() bool {
		n := 0
		for _, e := range app.events() {
			if e == "unsubscribe acme/room/lobby" || e == "unsubscribe acme/room/loud" {
				n++
			}
		}
		return n == 2
	})
	if got := metricValue(t, ts, `herald_webhook_failures_total{event="publish",reason="status"}`); got != "1" {
		t.Fatalf("webhook failure metric %q, want 1", got)
	}
}

// A webhook that does not answer denies after its timeout and stalls only
// the session waiting for it.
func TestWebhookTimeoutStallsNoOtherSession(t *testing.T) {
	ts, app := startWebhookServer(t, 300*time.Millisecond)
	slow, other := dial(t, ts.addr), dial(t, ts.addr)
	slow.subscribe("acme/room/slow")
	// While the application holds the slow request, other sessions work.
	waitFor(t, "the slow request to arrive", func() bool { return len(app.events()) == 1 })
	other.subscribe("acme/room/lobby")
	other.send(`[7,"acme/room/lobby","meanwhile"]`)
	other.expectText(eventFrame("acme/room/lobby", `"meanwhile"`))
	slow.expectText(`[4,"acme/room/slow","acme/room/slow","webhook failed: no answer within 300ms",{"code":504}]`)
	close(app.release)
	if got := metricValue(t, ts, `herald_webhook_failures_total{event="subscribe",reason="timeout"}`); got != "1" {
		t.Fatalf("timeout metric %q, want 1", got)
	}
	if ts.hub.count("acme/room/slow") != 0 {
		t.Fatal("the timed-out subscription was kept")
	}
}

// WAMP v2 clients go through the same webhook: their identity and their
// payload (the v1 form, and args and kwargs when one value cannot carry
// them); a refusal is an ERROR with the reason.
func TestWebhookHandlerForV2(t *testing.T) {
	ts, app := startWebhookServer(t, 5*time.Second)
	p := dialV2(t, ts.addr, "", "wamp.2.json")
	p.join("realm1", "")
	p.subscribeV2("acme/room/lobby", `{}`)
	p.sendMsg(&wamp.Publish{Request: p.nextReq(), Topic: "acme/room/lobby", Options: json.RawMessage(`{"exclude_me":false}`),
		Payload: wamp.Payload{Args: json.RawMessage(`["hi",2]`), Kwargs: json.RawMessage(`{"k":true}`)}})
	if e := p.expectEvent(); compactJSON(t, e.Payload.Args) != `["hi",2]` || compactJSON(t, e.Payload.Kwargs) != `{"k":true}` {
		t.Fatalf("EVENT %+v", e)
	}
	app.mu.Lock()
	pub := app.requests[len(app.requests)-1]
	app.mu.Unlock()
	if pub.Event != "publish" || string(pub.Payload) != `"hi"` || compactJSON(t, pub.Args) != `["hi",2]` || compactJSON(t, pub.Kwargs) != `{"k":true}` ||
		pub.Session != ts.ids.forNumber(p.number) {
		t.Fatalf("publish request %+v", pub)
	}
	req := p.nextReq()
	p.sendMsg(&wamp.Subscribe{Request: req, Topic: "acme/room/private", Options: json.RawMessage(`{}`)})
	if e := p.expectError(wamp.V2Subscribe, req, wamp.URINotAuthorized); compactJSON(t, e.Payload.Args) != `["members only"]` {
		t.Fatalf("ERROR args %s", e.Payload.Args)
	}
	req = p.call("acme/room/rpc", `{}`, `[2,3]`)
	p.expectResult(req, `[5]`, false)
}
