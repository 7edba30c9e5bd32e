package push

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/topic"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEnvelope(t *testing.T) {
	for _, c := range []struct {
		data any
		want string
	}{
		{map[string]any{"a": 1}, `{"topic":"acme/t","data":{"a":1}}`},
		{[]int{1, 2}, `{"topic":"acme/t","data":[1,2]}`},
		{"hello", `{"topic":"acme/t","data":["hello"]}`}, // Gos 2.x/3.x wraps a string
		{json.RawMessage(`"raw"`), `{"topic":"acme/t","data":["raw"]}`},
		{json.RawMessage(`{"x":null}`), `{"topic":"acme/t","data":{"x":null}}`},
	} {
		got, err := Encode("acme/t", c.data)
		if err != nil || string(got) != c.want {
			t.Errorf("Encode(%v) = %s, %v; want %s", c.data, got, err, c.want)
		}
	}
	if _, err := Encode("t", json.RawMessage(`{bad`)); err == nil {
		t.Error("Encode accepted invalid raw JSON")
	}

	m, err := Decode([]byte(`{"topic":"acme\/t","data":{"a":[1]}}`))
	if err != nil || m.Topic != "acme/t" || string(m.Data) != `{"a":[1]}` {
		t.Fatalf("Decode: %+v, %v", m, err)
	}
	for _, bad := range []string{`nope`, `[]`, `{"data":1}`, `{"topic":"","data":1}`, `{"topic":5,"data":1}`, `{"topic":"t"}`} {
		if _, err := Decode([]byte(bad)); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Decode(%s) = %v, want ErrInvalidMessage", bad, err)
		}
	}
	if m, err := Decode([]byte(`{"topic":"t","data":null}`)); err != nil || string(m.Data) != "null" {
		t.Errorf("null data: %+v %v", m, err)
	}
}

// herald runs a real server with the given routes (open broadcast topics
// when none) and the API on.
func herald(t *testing.T, routes ...*topic.Route) (*server.Server, string) {
	t.Helper()
	cfg := server.Config{APIKey: "k", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if len(routes) > 0 {
		r, err := topic.NewRouter(routes, topic.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Router = r
		cfg.Handlers = map[string]server.Binding{"acme.chat": {Handler: server.Broadcast{}}}
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Shutdown(context.Background())
	})
	return srv, hs.Listener.Addr().String()
}

// subscriber connects a WAMP v1 client subscribed to topic and returns a
// channel of its events, once the server counts the subscription.
func subscriber(t *testing.T, srv *server.Server, addr, topic string) <-chan string {
	t.Helper()
	events := make(chan string, 100)
	c, err := client.Dial(context.Background(), "ws://"+addr+"/", client.Options{
		OnEvent: func(tp string, ev json.RawMessage) { events <- tp + " " + string(ev) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	before := srv.Stats().Subscriptions
	c.Subscribe(topic)
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Subscriptions == before {
		if time.Now().After(deadline) {
			t.Fatal("the subscription did not arrive")
		}
		time.Sleep(time.Millisecond)
	}
	return events
}

func next(t *testing.T, events <-chan string) string {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return ""
	}
}

func TestDeliver(t *testing.T) {
	srv, addr := herald(t, &topic.Route{Name: "chat", Pattern: "acme/chat/{room}", Callback: "acme.chat"})
	events := subscriber(t, srv, addr, "acme/chat/1")
	ctx := context.Background()

	ev := Deliver(ctx, "test", []byte(`{"topic":"acme/chat/1","data":{"n":1}}`), srv)
	if !ev.Success() || ev.Topic != "acme/chat/1" || ev.Provider != "test" {
		t.Fatalf("event %+v", ev)
	}
	if got := next(t, events); got != `acme/chat/1 {"n":1}` {
		t.Fatalf("subscriber got %q", got)
	}
	if ev := Deliver(ctx, "test", []byte(`not json`), srv); ev.Success() || !errors.Is(ev.Err, ErrInvalidMessage) || ev.Topic != "" {
		t.Fatalf("undecodable: %+v", ev)
	}
	if ev := Deliver(ctx, "test", []byte(`{"topic":"acme/other","data":1}`), srv); !errors.Is(ev.Err, server.ErrNoRoute) || ev.Topic != "acme/other" {
		t.Fatalf("unroutable: %+v", ev)
	}
}

func TestHTTPPusher(t *testing.T) {
	route := &topic.Route{Name: "chat", Pattern: "acme/chat/{room}", Callback: "acme.chat", Requirements: map[string]string{"room": `\d+`}}
	srv, addr := herald(t, route)
	events := subscriber(t, srv, addr, "acme/chat/7")
	router, _ := topic.NewRouter([]*topic.Route{{Name: "chat", Pattern: "acme/chat/{room}", Callback: "acme.chat", Requirements: map[string]string{"room": `\d+`}}}, topic.Options{})
	ctx := context.Background()

	local := &HTTPPusher{URL: "http://" + addr, Key: "k", Router: router}
	if err := local.Push(ctx, map[string]int{"n": 1}, "chat", map[string]string{"room": "7"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := next(t, events); got != `acme/chat/7 {"n":1}` {
		t.Fatalf("got %q", got)
	}
	remote := &HTTPPusher{URL: "http://" + addr, Key: "k"} // the server generates the channel
	if err := remote.Push(ctx, "text", "chat", map[string]string{"room": "7"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := next(t, events); got != `acme/chat/7 ["text"]` {
		t.Fatalf("got %q", got)
	}
	if err := remote.Push(ctx, 1, "chat", map[string]string{"room": "x"}, nil); err == nil || !strings.Contains(err.Error(), "422 bad_params") {
		t.Fatalf("bad parameter: %v", err)
	}
	if err := local.Push(ctx, 1, "chat", map[string]string{"room": "x"}, nil); err == nil {
		t.Fatal("local generation accepted a bad parameter")
	}
	wrongKey := &HTTPPusher{URL: "http://" + addr, Key: "nope"}
	if err := wrongKey.Push(ctx, 1, "acme/chat/7", nil, nil); err == nil || !strings.Contains(err.Error(), "403 forbidden") {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestEvents(t *testing.T) {
	var got []string
	var mu sync.Mutex
	var e Events
	e.On(func(ev Event) { mu.Lock(); got = append(got, "a:"+ev.Topic); mu.Unlock() })
	e.On(func(ev Event) { mu.Lock(); got = append(got, "b:"+ev.Topic); mu.Unlock() })
	e.Report(Event{Topic: "t"})
	if strings.Join(got, ",") != "a:t,b:t" {
		t.Fatalf("callbacks saw %v", got)
	}

	var bodies []map[string]any
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		bodies = append(bodies, m)
		mu.Unlock()
	}))
	defer app.Close()
	hook := NewEventWebhook(app.URL, slog.New(slog.NewTextHandler(io.Discard, nil)))
	hook.Report(Event{Provider: "amqp", Topic: "t", Body: []byte(`{"topic":"t"}`)})
	hook.Report(Event{Provider: "zmq", Body: []byte(`x`), Err: errors.New("boom")})
	hook.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0]["event"] != "push_success" || bodies[1]["event"] != "push_fail" || bodies[1]["error"] != "boom" || bodies[0]["provider"] != "amqp" {
		t.Fatalf("webhook got %v", bodies)
	}
	if hook.Failed() != 0 || hook.Dropped() != 0 {
		t.Fatalf("failed %d dropped %d", hook.Failed(), hook.Dropped())
	}
}

func TestWAMPPusher(t *testing.T) {
	srv, addr := herald(t, &topic.Route{Name: "chat", Pattern: "acme/chat/{room}", Callback: "acme.chat"})
	events := subscriber(t, srv, addr, "acme/chat/3")
	router, _ := topic.NewRouter([]*topic.Route{{Name: "chat", Pattern: "acme/chat/{room}", Callback: "acme.chat"}}, topic.Options{})
	ctx := context.Background()

	gos := NewWAMPPusher("ws://"+addr+"/", client.Options{}, router, false)
	defer gos.Close()
	if err := gos.Push(ctx, map[string]int{"n": 1}, "chat", map[string]string{"room": "3"}, nil); err != nil {
		t.Fatal(err)
	}
	// Gos's WampPusher publishes the serialized data: a JSON string.
	if got := next(t, events); got != `acme/chat/3 "{\"n\":1}"` {
		t.Fatalf("got %q", got)
	}
	oro := NewWAMPPusher("ws://"+addr+"/", client.Options{}, router, true)
	defer oro.Close()
	if err := oro.Push(ctx, map[string]int{"n": 2}, "chat", map[string]string{"room": "3"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := next(t, events); got != `acme/chat/3 {"n":2}` {
		t.Fatalf("got %q", got)
	}
	if err := oro.Push(ctx, 1, "nope", nil, nil); err == nil {
		t.Fatal("an unknown route was pushed")
	}
}
