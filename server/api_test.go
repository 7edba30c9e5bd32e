package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/heraldws/herald/topic"
)

func apiServer(t *testing.T) *testServer {
	return startServer(t, Config{
		APIKey:     "k3y",
		APIMaxBody: 4096,
		Router: newRouter(t, append(oroRoutes(),
			&topic.Route{Name: "acme.closed", Pattern: "acme/closed", Callback: "acme.closed"},
			&topic.Route{Name: "acme.chat", Pattern: "acme/chat/{room}", Callback: "acme.chat", Requirements: map[string]string{"room": "[a-z]+"}})...),
		Handlers:      map[string]Binding{"acme.closed": {Handler: Deny{}}, "acme.chat": {Handler: Broadcast{}}},
		Authenticator: testAuthenticator,
	})
}

// api sends a request and returns the status and the decoded JSON body.
func api(t *testing.T, ts *testServer, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+ts.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(key, "header:"):
		req.Header.Set("X-API-Key", strings.TrimPrefix(key, "header:"))
	case key != "":
		req.Header.Set("Authorization", "apikey "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s answered %d %q: %v", method, path, resp.StatusCode, data, err)
	}
	return resp.StatusCode, out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestAPIPublish(t *testing.T) {
	ts := apiServer(t)
	u5, other := dialAs(t, ts.addr, user("5")), dialAs(t, ts.addr, user("6"))
	u5.subscribe("oro/email_event/5/7")
	other.subscribe("oro/maintenance")
	u5.sync()
	other.sync()

	status, body := api(t, ts, "POST", "/api/publish", "k3y", `{"topic":"oro/maintenance","data":{"isOn":true,"userId":null}}`)
	if status != 200 || body["ok"] != true || body["topic"] != "oro/maintenance" {
		t.Fatalf("publish by topic: %d %v", status, body)
	}
	other.expectText(eventFrame("oro/maintenance", `{"isOn":true,"userId":null}`))

	// By route and parameters, generated through the routing files.
	status, body = api(t, ts, "POST", "/api/publish", "header:k3y", `{"route":"oro_email.event","params":{"user_id":"5","organization_id":"7"},"data":{"hasNewEmail":true}}`)
	if status != 200 || body["topic"] != "oro/email_event/5/7" {
		t.Fatalf("publish by route: %d %v", status, body)
	}
	u5.expectText(eventFrame("oro/email_event/5/7", `{"hasNewEmail":true}`))

	// Eligible lists work as in a PUBLISH.
	third := dial(t, ts.addr)
	third.subscribe("oro/maintenance")
	third.sync()
	api(t, ts, "POST", "/api/publish", "k3y", fmt.Sprintf(`{"topic":"oro/maintenance","data":1,"eligible":[%q]}`, third.session))
	third.expectText(eventFrame("oro/maintenance", `1`))
	other.expectNothing()
}

func TestAPIErrors(t *testing.T) {
	ts := apiServer(t)
	cases := []struct {
		name, method, path, key, body string
		status                        int
		code                          string
	}{
		{"missing key", "POST", "/api/publish", "", `{"topic":"oro/maintenance","data":1}`, 401, "unauthorized"},
		{"wrong key", "POST", "/api/publish", "nope", `{"topic":"oro/maintenance","data":1}`, 403, "forbidden"},
		{"wrong method", "GET", "/api/publish", "k3y", ``, 405, "method_not_allowed"},
		{"oversized body", "POST", "/api/publish", "k3y", `{"topic":"oro/maintenance","data":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large"},
		{"not JSON", "POST", "/api/publish", "k3y", `{"topic":`, 400, "bad_request"},
		{"unknown field", "POST", "/api/publish", "k3y", `{"topic":"oro/maintenance","data":1,"colour":"red"}`, 400, "bad_request"},
		{"no data", "POST", "/api/publish", "k3y", `{"topic":"oro/maintenance"}`, 400, "bad_request"},
		{"topic and route", "POST", "/api/publish", "k3y", `{"topic":"a","route":"b","data":1}`, 400, "bad_request"},
		{"no route matches the topic", "POST", "/api/publish", "k3y", `{"topic":"acme/nothing","data":1}`, 404, "no_route"},
		{"unknown route name", "POST", "/api/publish", "k3y", `{"route":"acme.nothing","data":1}`, 404, "unknown_route"},
		{"missing parameter", "POST", "/api/publish", "k3y", `{"route":"oro_email.event","params":{"user_id":"5"},"data":1}`, 422, "bad_params"},
		{"parameter breaks its requirement", "POST", "/api/publish", "k3y", `{"route":"oro_reminder.remind","params":{"user_id":"abc"},"data":1}`, 422, "bad_params"},
		// Only by case: the generator checks as the matcher does, so this
		// is refused up front rather than generated and then unmatched.
		{"parameter breaks its requirement by case", "POST", "/api/publish", "k3y", `{"route":"acme.chat","params":{"room":"BAD"},"data":1}`, 422, "bad_params"},
		{"refused by the handler", "POST", "/api/publish", "k3y", `{"topic":"acme/closed","data":1}`, 403, "refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := api(t, ts, c.method, c.path, c.key, c.body)
			if status != c.status || errCode(body) != c.code {
				t.Fatalf("got %d %v, want %d %s", status, body, c.status, c.code)
			}
		})
	}
	off := startServer(t, Config{})
	if status, body := api(t, off, "POST", "/api/publish", "k3y", `{"topic":"t","data":1}`); status != 404 || errCode(body) != "api_disabled" {
		t.Fatalf("API without a key: %d %v", status, body)
	}
}

// The bad_params and unknown_route messages say what to fix, without the
// Go package prefix.
func TestAPIGenerationMessages(t *testing.T) {
	ts := apiServer(t)
	sub := dial(t, ts.addr)
	sub.subscribe("acme/chat/lobby")
	sub.sync()
	cases := []struct {
		body, code, message string
	}{
		{`{"route":"acme.chat","params":{"room":"BAD"},"data":1}`, "bad_params", `cannot generate a channel for route "acme.chat": parameter "room" must match "[a-z]+" ("BAD" given)`},
		{`{"route":"oro_email.event","params":{"user_id":"5"},"data":1}`, "bad_params", `cannot generate a channel for route "oro_email.event": missing parameters "organization_id"`},
		{`{"route":"acme.nothing","data":1}`, "unknown_route", `unknown route "acme.nothing"`},
	}
	for _, c := range cases {
		_, body := api(t, ts, "POST", "/api/publish", "k3y", c.body)
		e, _ := body["error"].(map[string]any)
		if e["code"] != c.code || e["message"] != c.message {
			t.Errorf("%s: error %v, want %s %q", c.body, e, c.code, c.message)
		}
	}
	// In a batch, the bad one fails alone and the good one is delivered.
	status, body := api(t, ts, "POST", "/api/batch", "k3y", `[{"route":"acme.chat","params":{"room":"BAD"},"data":1},{"route":"acme.chat","params":{"room":"lobby"},"data":2}]`)
	results, _ := body["results"].([]any)
	if status != 200 || len(results) != 2 || errCode(results[0].(map[string]any)) != "bad_params" || results[1].(map[string]any)["ok"] != true {
		t.Fatalf("batch: %d %v", status, body)
	}
	if got := sub.sync(); len(got) != 1 || got[0] != eventFrame("acme/chat/lobby", "2") {
		t.Fatalf("subscriber got %q", got)
	}
}

// A body that is not JSON, or not a publication, is explained with the
// byte where the problem is, never with Go's own message.
func TestAPIJSONErrors(t *testing.T) {
	ts := apiServer(t)
	cases := []struct {
		path, body, message string
	}{
		{"/api/publish", `nul`, "the body is not a publication: byte 1: invalid JSON: the bare word nul is not a JSON value (strings take double quotes; the only bare words are true, false and null)"},
		{"/api/publish", `{"topic":"oro/maintenance","data":{"isOn":tru}}`, "the body is not a publication: byte 43: invalid JSON: the bare word tru is not a JSON value"},
		{"/api/publish", `{"topic":`, "the body is not a publication: invalid JSON: the input ends after byte 9, where a value was expected"},
		{"/api/publish", "{\n  \"topic\": \"oro/maintenance\",\n  \"data\": 1,\n}", "the body is not a publication: byte 46 (line 4, column 1): invalid JSON: found '}' where a key string was expected (JSON allows no comma before a closing bracket)"},
		{"/api/publish", `{"topic":"oro/maintenance","data":1}]`, "the body is not a publication: byte 37: invalid JSON: found ']' after the end of the value (one JSON value only)"},
		{"/api/publish", `{"topic":"oro/maintenance","data":1} {}`, "the body is not a publication: byte 38: invalid JSON: found '{' after the end of the value"},
		{"/api/publish", `{"topic": 5, "data": 1}`, `the body is not a publication: byte 11: "topic" must be a string, not a number`},
		{"/api/publish", `{"route":"oro_email.event","params":{"user_id":5},"data":1}`, `the body is not a publication: byte 48: "params" must be a string, not a number`},
		{"/api/publish", `{"topic":"oro/maintenance","data":1,"colour":"red"}`, `the body is not a publication: unknown field "colour"`},
		{"/api/publish", `[]`, `the body is not a publication: byte 1: expected an object, not an array`},
		{"/api/batch", `[{"topic":"oro/maintenance","data":1},`, `the body is neither a list of publications nor {"publications": [...]}: invalid JSON: the input ends after byte 38, where a value was expected`},
		{"/api/batch", `[1]`, `the body is neither a list of publications nor {"publications": [...]}: byte 2: expected an object, not a number`},
		{"/api/batch", `{"publications": 5}`, `the body is neither a list of publications nor {"publications": [...]}: byte 18: "publications" must be an array, not a number`},
		{"/api/batch", ` {"publications": [{"topic": true}]}`, `byte 30: "publications.topic" must be a string, not true or false`},
	}
	for _, c := range cases {
		status, body := api(t, ts, "POST", c.path, "k3y", c.body)
		e, _ := body["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if status != 400 || e["code"] != "bad_request" || !strings.HasPrefix(msg, c.message) && !strings.HasSuffix(msg, c.message) {
			t.Errorf("%s %s: %d %v\nwant 400 bad_request %q", c.path, c.body, status, e, c.message)
		}
		for _, goism := range []string{"invalid character", "json:", "Go value", "Go struct", "unexpected EOF"} {
			if strings.Contains(msg, goism) {
				t.Errorf("%s %s: message %q has Go's %q", c.path, c.body, msg, goism)
			}
		}
	}
}

func TestAPIBatchAndInfo(t *testing.T) {
	ts := apiServer(t)
	p := dial(t, ts.addr)
	p.subscribe("oro/maintenance")
	p.subscribe("oro/data/update")
	p.sync()
	status, body := api(t, ts, "POST", "/api/batch", "k3y", `[{"topic":"oro/maintenance","data":1},{"topic":"acme/nothing","data":2},{"route":"oro_sync.data_update","data":[3]}]`)
	results, _ := body["results"].([]any)
	if status != 200 || len(results) != 3 {
		t.Fatalf("batch: %d %v", status, body)
	}
	if r := results[1].(map[string]any); r["ok"] != false || errCode(r) != "no_route" {
		t.Fatalf("second result %v", r)
	}
	if got := p.sync(); len(got) != 2 || got[0] != eventFrame("oro/maintenance", "1") || got[1] != eventFrame("oro/data/update", "[3]") {
		t.Fatalf("subscriber got %q", got)
	}
	if status, _ := api(t, ts, "POST", "/api/batch", "k3y", `{"publications":[{"topic":"oro/maintenance","data":4}]}`); status != 200 {
		t.Fatalf("wrapped batch: %d", status)
	}
	p.expectText(eventFrame("oro/maintenance", "4"))

	status, info := api(t, ts, "GET", "/api/info", "k3y", "")
	topics, _ := info["topics"].([]any)
	if status != 200 || info["connections"] != 1.0 || info["subscriptions"] != 2.0 || len(topics) != 2 {
		t.Fatalf("info: %d %v", status, info)
	}
	if first := topics[0].(map[string]any); first["topic"] != "oro/data/update" || first["subscribers"] != 1.0 {
		t.Fatalf("first topic %v", first)
	}
	if node, _ := info["node"].(string); len(node) != 8 || !strings.HasPrefix(p.session, node) {
		t.Fatalf("node %v for session %s", info["node"], p.session)
	}
	// A single node lists itself among the cluster's nodes.
	nodes, _ := info["nodes"].([]any)
	if len(nodes) != 1 || nodes[0].(map[string]any)["node"] != info["node"] {
		t.Fatalf("nodes %v", info["nodes"])
	}
	// Nobody may publish on the nodes' own topic (without routing, where
	// every topic is otherwise open).
	open := dial(t, startServer(t, Config{}).addr)
	open.send(`[7,"\u0000herald/nodes",{"node":"forged"}]`)
	if got := open.sync(); len(got) != 1 || !strings.Contains(got[0], "reserved") {
		t.Fatalf("publishing on the reserved topic got %q", got)
	}
}
