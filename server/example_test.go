package server_test

import (
	"context"
	"encoding/json"
	"log"
	"net/http"

	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/topic"
	"github.com/heraldws/herald/wamp"
)

// sum answers calls to acme/sum with the sum of its numeric params, and
// only lets authenticated users subscribe to its topics.
type sum struct{ server.Broadcast }

func (sum) OnCall(_ context.Context, _ server.Session, _ *server.Topic, c *server.CallEvent) (wamp.Payload, error) {
	var numbers []float64
	if err := json.Unmarshal(c.Params(), &numbers); err != nil {
		return wamp.Payload{}, &server.Denial{Code: 400, Reason: "acme/sum wants a list of numbers"}
	}
	total := 0.0
	for _, n := range numbers {
		total += n
	}
	b, err := json.Marshal(total)
	return wamp.PayloadOfV1(b), err
}

func (sum) OnSubscribe(_ context.Context, s server.Session, t *server.Topic) error {
	if !s.Identity().Authenticated() {
		return &server.Denial{Code: 401, Reason: "log in to follow " + t.Name}
	}
	return nil
}

// Embedding herald with a handler written in Go: a route names the
// callback "acme.sum", and the binding gives that callback its behaviour.
func Example_customHandler() {
	router, err := topic.NewRouter([]*topic.Route{
		{Name: "acme_sum", Pattern: "acme/sum", Callback: "acme.sum"},
	}, topic.Options{})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Router:   router,
		Handlers: map[string]server.Binding{"acme.sum": {Handler: sum{}, Policy: server.Policy{Publish: server.Backend}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	hs := srv.HTTPServer("127.0.0.1:8080")
	go hs.ListenAndServe()
	defer hs.Shutdown(context.Background())
	_ = http.Handler(srv)
}
